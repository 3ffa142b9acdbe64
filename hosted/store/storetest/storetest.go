// Package storetest gives tests a throwaway PostgreSQL database on the
// server named by SENTRY_MCP_TEST_POSTGRES (scripts/postgres.sh starts one;
// scripts/test and CI set it). It is for tests only.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver
)

// Server is SENTRY_MCP_TEST_POSTGRES, or "" when it is not set. With
// SENTRY_MCP_REQUIRE_POSTGRES=1 (CI) an unset variable fails the test
// instead: the PostgreSQL tests may not be skipped there.
func Server(t testing.TB) string {
	t.Helper()
	u := os.Getenv("SENTRY_MCP_TEST_POSTGRES")
	if u == "" && os.Getenv("SENTRY_MCP_REQUIRE_POSTGRES") == "1" {
		t.Fatal("SENTRY_MCP_REQUIRE_POSTGRES=1, but SENTRY_MCP_TEST_POSTGRES is not set (start a server with scripts/postgres.sh)")
	}
	return u
}

// FreshDatabase creates the database prefix_<random> on server and returns
// its URL. It is dropped (WITH FORCE: the sessions a test left open, or a
// killed process left behind, are ended) at the test's cleanup; register it
// before the cleanups of whatever uses it, so that it runs after them.
func FreshDatabase(t testing.TB, server, prefix string) string {
	t.Helper()
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("SENTRY_MCP_TEST_POSTGRES is not a postgres:// URL")
	}
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatalf("SENTRY_MCP_TEST_POSTGRES: %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := prefix + "_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("CREATE DATABASE on SENTRY_MCP_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("DROP DATABASE %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
