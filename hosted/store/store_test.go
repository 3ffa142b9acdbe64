package store

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/hosted/secrets"
)

func TestOpenCreatesMigratesAndReopens(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		dsn := b.fresh(t)
		var dir string
		if !b.postgres() {
			dir = filepath.Join(t.TempDir(), "data", "sentry-mcp")
			dsn = filepath.Join(dir, "hosted.db")
		}
		keys := secrets.Ephemeral()
		db1 := openAt(t, dsn, keys)
		db2 := openAt(t, dsn, keys) // a second server on the same database: migrations are idempotent
		for _, db := range []*DB{db1, db2} {
			if err := db.Ready(ctx); err != nil {
				t.Errorf("Ready: %v", err)
			}
			if db.Location() != dsn {
				t.Errorf("Location = %q, want %q", db.Location(), dsn)
			}
		}
		var n, v int64
		if err := db2.sql.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		migs, _ := migrations(db2.dialect)
		if want := int64(len(migs)); n != want || v != int64(migs[len(migs)-1].version) {
			t.Errorf("schema_migrations has %d rows, latest %d; want %d, %d", n, v, want, migs[len(migs)-1].version)
		}
		db1.Close()
		db3 := openAt(t, dsn, keys) // reopened after a close
		if err := db3.Ready(ctx); err != nil {
			t.Errorf("Ready after reopening: %v", err)
		}

		if !b.postgres() {
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("directory mode %o, want 700", fi.Mode().Perm())
			}
			for _, f := range []string{dsn, dsn + "-wal", dsn + "-shm"} {
				fi, err := os.Stat(f)
				if err != nil {
					t.Errorf("%s: %v", f, err)
					continue
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s mode %o, want 600", filepath.Base(f), fi.Mode().Perm())
				}
			}
		}

		// Ready notices a migration that is not applied.
		if _, err := db2.sql.ExecContext(ctx, `DELETE FROM schema_migrations`); err != nil {
			t.Fatal(err)
		}
		if err := db2.Ready(ctx); err == nil || !strings.Contains(err.Error(), "migration 0001_init.sql is not applied") {
			t.Errorf("Ready without migrations = %v", err)
		}
		db3.Close()
		if err := db3.Ready(ctx); err == nil {
			t.Error("Ready on a closed database succeeded")
		}
	})
}

func TestOpenTightensAnExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosted.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	openAt(t, path, secrets.Ephemeral())
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v %v, want 0600", fi.Mode().Perm(), err)
	}
}

func TestOpenDSN(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, dsn, want string
	}{
		{"plain path", filepath.Join(dir, "a.db"), filepath.Join(dir, "a.db")},
		{"sqlite:PATH", "sqlite:" + filepath.Join(dir, "b.db"), filepath.Join(dir, "b.db")},
		{"sqlite:///PATH", "sqlite://" + filepath.Join(dir, "c.db"), filepath.Join(dir, "c.db")},
		{"file:PATH", "file:" + filepath.Join(dir, "d.db"), filepath.Join(dir, "d.db")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openAt(t, tc.dsn, secrets.Ephemeral())
			if db.Location() != tc.want {
				t.Errorf("Location = %q, want %q", db.Location(), tc.want)
			}
			if _, err := os.Stat(tc.want); err != nil {
				t.Error(err)
			}
		})
	}

	t.Run("relative path", func(t *testing.T) {
		t.Chdir(dir)
		db := openAt(t, "rel.db", secrets.Ephemeral())
		if db.Location() != filepath.Join(dir, "rel.db") {
			t.Errorf("Location = %q", db.Location())
		}
	})

	t.Run("default", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "xdg")
		t.Setenv("XDG_DATA_HOME", data)
		db := openAt(t, "", secrets.Ephemeral())
		if want := filepath.Join(data, "sentry-mcp", "hosted.db"); db.Location() != want {
			t.Errorf("Location = %q, want %q", db.Location(), want)
		}
	})

	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(filepath.Join(dir, "a.db"), link); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o777)
	for _, tc := range []struct {
		name, dsn, want string
		keys            *secrets.Keys
	}{
		{"postgres, no server", "postgres://admin:hunter2@127.0.0.1:1/mcp?connect_timeout=5", "database postgres://admin@127.0.0.1:1/mcp?connect_timeout=5: ", secrets.Ephemeral()},
		{"postgresql, password parameter", "postgresql://admin@127.0.0.1:1/mcp?password=hunter2&connect_timeout=5", "database postgresql://admin@127.0.0.1:1/mcp?connect_timeout=5: ", secrets.Ephemeral()},
		{"postgres, bad parameter", "postgres://admin:hunter2@127.0.0.1:1/mcp?connect_timeout=soon", "database postgres://admin@127.0.0.1:1/mcp?connect_timeout=soon: ", secrets.Ephemeral()},
		{"postgres, bad pool size", "postgres://admin:hunter2@127.0.0.1:1/mcp?pool_max_conns=many", `pool_max_conns="many": want a number of connections`, secrets.Ephemeral()},
		{"postgres, no key", "postgres://admin:hunter2@127.0.0.1:1/mcp", "no encryption key", nil},
		{"mysql", "mysql://admin:hunter2@db.example/mcp", `"mysql" URLs are not supported`, secrets.Ephemeral()},
		{"query", "sqlite:" + filepath.Join(dir, "q.db") + "?mode=ro", "must not contain '?'", secrets.Ephemeral()},
		{"remote file URL", "sqlite://db.example/x.db", "has no file path", secrets.Ephemeral()},
		{"symlink", link, "is a symbolic link", secrets.Ephemeral()},
		{"world-writable directory", filepath.Join(open, "x.db"), "writable by every user", secrets.Ephemeral()},
		{"no key", filepath.Join(dir, "k.db"), "no encryption key", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(context.Background(), tc.dsn, tc.keys)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("err shows the password: %v", err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(open, "x.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a database was created in the world-writable directory: %v", err)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/srv/data")
	if p, err := DefaultPath(); err != nil || p != "/srv/data/sentry-mcp/hosted.db" {
		t.Errorf("DefaultPath = %q, %v", p, err)
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, xdg := range []string{"", "relative/dir"} { // a relative XDG_DATA_HOME is ignored
		t.Setenv("XDG_DATA_HOME", xdg)
		if p, err := DefaultPath(); err != nil || p != filepath.Join(home, ".local", "share", "sentry-mcp", "hosted.db") {
			t.Errorf("XDG_DATA_HOME=%q: DefaultPath = %q, %v", xdg, p, err)
		}
	}
}

func TestHashToken(t *testing.T) {
	// SHA-256("abc"), FIPS 180-2 appendix B.1.
	if got, want := hex.EncodeToString(HashToken("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("HashToken(abc) = %s, want %s", got, want)
	}
}

// Servers starting at once on a new database: one migrates, the others
// find the migrations applied.
func TestOpenConcurrently(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		dsn := b.fresh(t)
		if !b.postgres() {
			dsn = filepath.Join(t.TempDir(), "new", "hosted.db")
		}
		keys := secrets.Ephemeral()
		const n = 4
		errs := make(chan error, n)
		start := make(chan struct{})
		for range n {
			go func() {
				<-start
				db, err := Open(context.Background(), dsn, keys)
				if err == nil {
					err = db.Ready(context.Background())
					db.Close()
				}
				errs <- err
			}()
		}
		close(start)
		for range n {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		db := openAt(t, dsn, keys)
		var rows int
		db.sql.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&rows)
		if migs, _ := migrations(db.dialect); rows != len(migs) {
			t.Errorf("%d migration rows, want %d", rows, len(migs))
		}
	})
}

// A database a newer release migrated is refused by this one, which would
// misread it.
func TestOpenRefusesANewerSchema(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		dsn := b.fresh(t)
		keys := secrets.Ephemeral()
		db := openAt(t, dsn, keys)
		if _, err := db.sql.Exec(`INSERT INTO schema_migrations (version, applied_ms) VALUES (9999, 0)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err := Open(context.Background(), dsn, keys)
		if err == nil || !strings.Contains(err.Error(), "migrated by a newer sentry-mcp (schema version 9999") {
			t.Errorf("Open: %v", err)
		}
	})
}

// Both backends have the same tables and columns.
func TestMigrationsAgree(t *testing.T) {
	for _, d := range []*dialect{sqliteDialect, postgresDialect} {
		migs, err := migrations(d)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range migs {
			names = append(names, m.name)
		}
		if strings.Join(names, " ") != "0001_init.sql 0002_retired_refresh.sql" {
			t.Errorf("%s migrations %v", d.name, names)
		}
	}
	sqliteCols := columns(t, openAt(t, freshSQLite(t), secrets.Ephemeral()), `SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY 1`)
	pg := newDB(t, postgresBackend)
	pgCols := columns(t, pg, `SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1`)
	if strings.Join(sqliteCols, " ") != strings.Join(pgCols, " ") {
		t.Errorf("the schemas differ:\nSQLite     %v\nPostgreSQL %v", sqliteCols, pgCols)
	}
}

func columns(t *testing.T, db *DB, q string) []string {
	t.Helper()
	rows, err := db.sql.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}
