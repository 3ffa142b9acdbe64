package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/hosted/secrets"
	"github.com/sentry-mcp/sentry-mcp/hosted/store/storetest"
)

// The store's tests are one contract suite run against each backend:
// SQLite in a temporary directory, and PostgreSQL in a database created
// for the test on the server SENTRY_MCP_TEST_POSTGRES names
// (scripts/postgres.sh starts one), dropped at the end. Without that
// variable the PostgreSQL half is skipped, unless
// SENTRY_MCP_REQUIRE_POSTGRES=1.

// backend makes fresh databases of one kind.
type backend struct {
	name string
	// fresh returns the DSN of a new, empty database that lives until the
	// end of the test; every Open of it is another server on the same data.
	fresh func(t *testing.T) string
}

func (b backend) postgres() bool { return b.name == "PostgreSQL" }

var (
	sqliteBackend   = backend{"SQLite", freshSQLite}
	postgresBackend = backend{"PostgreSQL", freshPostgres}
)

// eachBackend runs f as a subtest for each backend.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range []backend{sqliteBackend, postgresBackend} {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

func freshSQLite(t *testing.T) string {
	return filepath.Join(t.TempDir(), "hosted.db")
}

// postgresServer is the test server's URL, or skips (fails, when
// required) the test without one.
func postgresServer(t *testing.T) string {
	t.Helper()
	u := storetest.Server(t)
	if u == "" {
		t.Skip("SENTRY_MCP_TEST_POSTGRES is not set: skipping the PostgreSQL half (start a server with scripts/postgres.sh)")
	}
	return u
}

var admin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// adminDB is a connection pool to the test server's own database.
func adminDB(t *testing.T) *sql.DB {
	t.Helper()
	server := postgresServer(t)
	admin.once.Do(func() {
		admin.db, admin.err = sql.Open("pgx", server)
		if admin.err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			admin.err = admin.db.PingContext(ctx)
		}
	})
	if admin.err != nil {
		t.Fatalf("the PostgreSQL at SENTRY_MCP_TEST_POSTGRES: %v", admin.err)
	}
	return admin.db
}

func freshPostgres(t *testing.T) string {
	t.Helper()
	return storetest.FreshDatabase(t, postgresServer(t), "sentry_mcp_test")
}

// openAt opens the database at dsn and closes it at the end of the test.
func openAt(t *testing.T, dsn string, keys *secrets.Keys) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn, keys)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newDB opens a fresh database of backend b.
func newDB(t *testing.T, b backend) *DB {
	t.Helper()
	return openAt(t, b.fresh(t), secrets.Ephemeral())
}

// twoServers opens one fresh database through two handles, as two servers
// (replicas) would.
func twoServers(t *testing.T, b backend) (*DB, *DB) {
	t.Helper()
	dsn := b.fresh(t)
	keys := secrets.Ephemeral()
	return openAt(t, dsn, keys), openAt(t, dsn, keys)
}
