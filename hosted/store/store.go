// Package store is the hosted server's database: OAuth clients, pending
// authorizations, grants (each user's Sentry credential, encrypted at
// rest), authorization codes and MCP tokens (stored only as hashes), and the
// refresh lock shared by every process using the database.
//
// Two backends share the SQL (numbered placeholders, ON CONFLICT,
// RETURNING): SQLite (modernc.org/sqlite, pure Go), the embedded default,
// and PostgreSQL (jackc/pgx), which several replicas can share. What
// differs between them is in dialect.
package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sentry-mcp/sentry-mcp/hosted/secrets"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned when the record asked for does not exist (or has
// expired).
var ErrNotFound = errors.New("not found")

// ErrReplayed is returned by UseCode for a code that was used before.
var ErrReplayed = errors.New("authorization code used before")

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// dialect is what differs between the backends.
type dialect struct {
	name       string // "SQLite" or "PostgreSQL", for messages
	migrations string // directory of the embedded migrations
	// forUpdate ends a SELECT inside a transaction whose row must stay
	// locked until commit. SQLite needs none: its write transactions are
	// exclusive (_txlock=immediate).
	forUpdate string
	// migrationLock is run first in the migration transaction, so that
	// servers starting at once migrate one after the other ("" on SQLite,
	// whose write transaction already excludes the others).
	migrationLock string
	// schemaMigrations creates the table of applied migrations.
	schemaMigrations string
	// rowLocks: the refresh lock is a row lock held in a transaction
	// (PostgreSQL), else a lease row (SQLite).
	rowLocks bool
	// tx are the options of every transaction. PostgreSQL's are READ
	// COMMITTED whatever the server's default: a statement after a row
	// lock's wait must see what the holder committed.
	tx *sql.TxOptions
}

var sqliteDialect = &dialect{
	name:             "SQLite",
	migrations:       "migrations/sqlite",
	schemaMigrations: `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)`,
}

// DB is an open, migrated database. It is safe for concurrent use.
type DB struct {
	sql      *sql.DB
	dialect  *dialect
	keys     *secrets.Keys
	location string
	now      func() time.Time

	// lockTimeout bounds a refresh lock's wait on PostgreSQL.
	lockTimeout time.Duration
	onLockWait  atomic.Pointer[func(time.Duration, error)]

	mu    sync.Mutex            // guards local and held
	local map[string]*localLock // in-process half of Locker, by lock name
	held  map[string]*rowLock   // PostgreSQL: refresh locks this process holds, by grant id
	// lockSlots bounds the refresh-lock transactions open at once
	// (PostgreSQL), each holding a connection: the rest of the pool stays
	// for requests.
	lockSlots chan struct{}
}

func wrapDB(sdb *sql.DB, d *dialect, keys *secrets.Keys, location string) *DB {
	return &DB{sql: sdb, dialect: d, keys: keys, location: location, now: time.Now,
		lockTimeout: DefaultLockTimeout, local: map[string]*localLock{}, held: map[string]*rowLock{}}
}

// Open opens and migrates the database (SQLite: creating it and its
// directory, 0700/0600, if missing).
// dsn "": DefaultPath(); "sqlite:PATH", "file:PATH" or a plain path: SQLite;
// "postgres://..." / "postgresql://...": PostgreSQL (pgx; the URL's
// parameters are libpq's, plus pool_max_conns, default DefaultPoolSize),
// migrated under an advisory lock so that replicas starting at once
// migrate once.
func Open(ctx context.Context, dsn string, keys *secrets.Keys) (*DB, error) {
	if keys == nil {
		return nil, errors.New("database: no encryption key loaded")
	}
	if isPostgresURL(dsn) {
		return openPostgres(ctx, strings.TrimSpace(dsn), keys)
	}
	p, err := sqlitePath(dsn)
	if err != nil {
		return nil, err
	}
	if err := prepareFile(p); err != nil {
		return nil, fmt.Errorf("database %s: %w", p, err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate") // writers queue on the busy timeout instead of failing on lock upgrade
	sdb, err := sql.Open("sqlite", p+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", p, err)
	}
	db := wrapDB(sdb, sqliteDialect, keys, p)
	if err := migrateSQLite(ctx, db); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("database %s: %w", p, err)
	}
	// The WAL and shared-memory files exist now; SQLite gives them the
	// database file's mode, tighten them anyway.
	for _, suffix := range []string{"-wal", "-shm"} {
		if fi, err := os.Lstat(p + suffix); err == nil && fi.Mode().IsRegular() {
			os.Chmod(p+suffix, 0o600)
		}
	}
	return db, nil
}

// sqlitePath resolves dsn to an absolute SQLite file path.
func sqlitePath(dsn string) (string, error) {
	dsn = strings.TrimSpace(dsn)
	lower := strings.ToLower(dsn)
	var p string
	switch {
	case dsn == "":
		d, err := DefaultPath()
		if err != nil {
			return "", err
		}
		p = d
	case strings.HasPrefix(lower, "sqlite:"):
		p = fileURLPath(dsn[len("sqlite:"):])
	case strings.HasPrefix(lower, "file:"):
		p = fileURLPath(dsn[len("file:"):])
	case strings.Contains(dsn, "://"):
		scheme, _, _ := strings.Cut(dsn, "://")
		if len(scheme) > 20 || strings.ContainsAny(scheme, "@:/") {
			scheme = "this"
		}
		return "", fmt.Errorf("database: %q URLs are not supported; give a postgres:// URL, a SQLite file path (or sqlite:PATH), or omit --database for the default", scheme)
	default:
		p = dsn
	}
	if p == "" {
		return "", errors.New("database: the SQLite URL has no file path (want sqlite:PATH)")
	}
	if strings.ContainsAny(p, "?#") {
		return "", errors.New("database: the SQLite path must not contain '?' or '#' (query parameters are not supported; the server sets its own)")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("database: %w", err)
	}
	return abs, nil
}

// fileURLPath is the path of "sqlite:PATH", "sqlite:///abs" or
// "sqlite://localhost/abs" after the scheme.
func fileURLPath(s string) string {
	if rest, ok := strings.CutPrefix(s, "//"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 && (rest[:i] == "" || rest[:i] == "localhost") {
			return rest[i:]
		}
		return "" // a host other than localhost is not a local file
	}
	return s
}

// DefaultPath is $XDG_DATA_HOME/sentry-mcp/hosted.db, else
// ~/.local/share/sentry-mcp/hosted.db.
func DefaultPath() (string, error) {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "sentry-mcp", "hosted.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		if u, uerr := user.Current(); uerr == nil && u.HomeDir != "" {
			home = u.HomeDir
		} else {
			return "", errors.New("database: no home directory to keep the default database in; set XDG_DATA_HOME or --database")
		}
	}
	return filepath.Join(home, ".local", "share", "sentry-mcp", "hosted.db"), nil
}

// prepareFile creates the database's directory (0700) and file (0600) when
// missing, refuses a symlinked or non-regular database file and a directory
// any user may replace files in, and makes the file 0600.
func prepareFile(p string) error {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating its directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o002 != 0 && fi.Mode()&os.ModeSticky == 0 {
		return fmt.Errorf("its directory %s is writable by every user; use a directory only this user can write to (chmod o-w)", dir)
	}
	for _, f := range []string{p, p + "-wal", p + "-shm", p + "-journal"} {
		lfi, err := os.Lstat(f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return err
		case lfi.Mode()&os.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link; refusing to follow it (give the real path)", f)
		case !lfi.Mode().IsRegular():
			return fmt.Errorf("%s is not a regular file", f)
		}
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	return os.Chmod(p, 0o600)
}

// migrate applies the embedded migrations not applied yet, in one
// transaction (which also serialises two servers starting at once).
// migrateSQLite is migrate, tried again while another server holds the
// new file: switching a fresh database to WAL needs it alone, and SQLite
// answers SQLITE_BUSY at once instead of waiting out the busy timeout.
func migrateSQLite(ctx context.Context, db *DB) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := db.migrate(ctx)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20*time.Millisecond + time.Duration(mrand.IntN(30))*time.Millisecond):
		}
	}
}

func (db *DB) migrate(ctx context.Context) error {
	migs, err := migrations(db.dialect)
	if err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("starting the migration: %w", err)
	}
	defer tx.Rollback()
	if db.dialect.migrationLock != "" {
		if _, err := tx.ExecContext(ctx, db.dialect.migrationLock); err != nil {
			return fmt.Errorf("waiting for another server's migration: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, db.dialect.schemaMigrations); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	applied, err := appliedVersions(ctx, tx)
	if err != nil {
		return err
	}
	newest := migs[len(migs)-1].version
	for v := range applied {
		if v > newest {
			// An older release would ignore what the newer schema means
			// (retired tokens, say): refuse rather than misread it.
			return fmt.Errorf("the database was migrated by a newer sentry-mcp (schema version %d; this release knows up to %d): run that release or a newer one", v, newest)
		}
	}
	for _, m := range migs {
		if applied[m.version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("applying migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)`, m.version, ms(db.now())); err != nil {
			return fmt.Errorf("recording migration %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing the migrations: %w", err)
	}
	return nil
}

type migration struct {
	version int64
	name    string
	sql     string
}

// migrations are the dialect's embedded migrations in version order; a
// file is named NNNN_description.sql.
func migrations(d *dialect) ([]migration, error) {
	dir := d.migrations
	entries, err := migrationFS.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("embedded migration %s is not named NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return int(a.version - b.version) })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("embedded migrations %s and %s have the same version", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func appliedVersions(ctx context.Context, q querier) (map[int64]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// begin starts a transaction with the dialect's options.
func (db *DB) begin(ctx context.Context) (*sql.Tx, error) {
	return db.sql.BeginTx(ctx, db.dialect.tx)
}

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

// Ready checks the database answers and every embedded migration is
// applied.
func (db *DB) Ready(ctx context.Context) error {
	if db.keys == nil {
		return errors.New("database: no encryption key loaded")
	}
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("database %s does not answer: %w", db.location, err)
	}
	applied, err := appliedVersions(ctx, db.sql)
	if err != nil {
		return fmt.Errorf("database %s: %w", db.location, err)
	}
	migs, err := migrations(db.dialect)
	if err != nil {
		return err
	}
	for _, m := range migs {
		if !applied[m.version] {
			return fmt.Errorf("database %s: migration %s is not applied", db.location, m.name)
		}
	}
	return nil
}

// Location names the database for logs (a path, or a URL without
// password).
func (db *DB) Location() string { return db.location }

// HashToken is the SHA-256 of s: how codes, tokens and states are stored.
func HashToken(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// --- helpers ---

// ms is t in unix milliseconds; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the inverse of ms.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// toJSON encodes v (a nil slice is "null", an empty one "[]").
func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("store: encoding " + fmt.Sprintf("%T", v) + ": " + err.Error()) // only strings and slices of them are encoded
	}
	return string(b)
}

func fromJSON(s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("database: a stored JSON column is corrupt: %w", err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// affected returns ErrNotFound when res changed no row.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
