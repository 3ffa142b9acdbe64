package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sentry-mcp/sentry-mcp/hosted/secrets"
)

// migrationLockKey is the pg_advisory_xact_lock key migrations hold
// ("sentrymc" in ASCII): one server migrates while the others wait, then
// find the migrations applied.
const migrationLockKey = 0x73656e7472796d63

var postgresDialect = &dialect{
	name:             "PostgreSQL",
	migrations:       "migrations/postgres",
	forUpdate:        " FOR UPDATE",
	migrationLock:    fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, int64(migrationLockKey)),
	schemaMigrations: `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)`,
	rowLocks:         true,
	tx:               &sql.TxOptions{Isolation: sql.LevelReadCommitted},
}

func isPostgresURL(dsn string) bool {
	lower := strings.ToLower(strings.TrimSpace(dsn))
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
}

// redactURL is dsn without its password (in the user part or the password
// parameter), for logs and errors.
func redactURL(dsn string) (location, password string) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the PostgreSQL URL", ""
	}
	if u.User != nil {
		password, _ = u.User.Password()
		u.User = url.User(u.User.Username())
	}
	if q := u.Query(); q.Has("password") {
		if password == "" {
			password = q.Get("password")
		}
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String(), password
}

// scrubbed is an error whose message has the database password removed.
type scrubbed struct {
	err      error
	password string
}

func (e *scrubbed) Error() string { return strings.ReplaceAll(e.err.Error(), e.password, "xxxxx") }
func (e *scrubbed) Unwrap() error { return e.err }

func scrub(err error, password string) error {
	if err == nil || password == "" {
		return err
	}
	return &scrubbed{err, password}
}

// openPostgres connects to the PostgreSQL at dsn and migrates it.
func openPostgres(ctx context.Context, dsn string, keys *secrets.Keys) (*DB, error) {
	loc, password := redactURL(dsn)
	dsn, maxConns, err := poolSize(dsn)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", loc, err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", loc, scrub(err, password))
	}
	// A statement whose context ends is cancelled at the server (which
	// ends a lock wait at once and keeps the connection), rather than
	// having its connection closed under it.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 5 * time.Second}
	}
	sdb := stdlib.OpenDB(*cfg)
	sdb.SetMaxOpenConns(maxConns)
	sdb.SetMaxIdleConns(maxConns)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	db := wrapDB(sdb, postgresDialect, keys, loc)
	db.lockSlots = make(chan struct{}, max(1, maxConns/2))
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("database %s: connecting: %w", loc, scrub(err, password))
	}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("database %s: %w", loc, scrub(err, password))
	}
	return db, nil
}

// DefaultPoolSize is how many connections one server opens to PostgreSQL
// at most, unless the URL's pool_max_conns parameter says otherwise. Each
// refresh in progress holds one (its lock's transaction).
const DefaultPoolSize = 25

// poolSize takes the pool_max_conns parameter (as pgxpool names it) out of
// dsn, which libpq does not know.
func poolSize(dsn string) (string, int, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn, DefaultPoolSize, nil // pgx reports the malformed URL
	}
	q := u.Query()
	if !q.Has("pool_max_conns") {
		return dsn, DefaultPoolSize, nil
	}
	n, err := strconv.Atoi(q.Get("pool_max_conns"))
	if err != nil || n < 2 {
		return "", 0, fmt.Errorf("pool_max_conns=%q: want a number of connections, at least 2", q.Get("pool_max_conns"))
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

// isLockTimeout reports a statement PostgreSQL ended at lock_timeout.
func isLockTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03" // lock_not_available
}
