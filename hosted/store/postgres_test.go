package store

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/hosted/secrets"
)

// withPassword is dsn with a password in its user part (the test server
// trusts every local connection, so any password works).
func withPassword(t *testing.T, dsn, password string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

// The database's password appears in neither Location nor errors.
func TestPostgresPasswordStaysOut(t *testing.T) {
	dsn := postgresBackend.fresh(t)
	db := openAt(t, withPassword(t, dsn, "hunter2"), secrets.Ephemeral())
	if db.Location() != dsn {
		t.Errorf("Location = %q, want %q", db.Location(), dsn)
	}
	u, _ := url.Parse(withPassword(t, dsn, "hunter2"))
	u.Path = "/no_such_database"
	_, err := Open(context.Background(), u.String(), secrets.Ephemeral())
	if err == nil || !strings.Contains(err.Error(), "no_such_database") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Open of a missing database: %v", err)
	}
}

// pool_max_conns sets the size of the connection pool (and is not sent to
// the server, which would refuse it).
func TestPostgresPoolSize(t *testing.T) {
	dsn := postgresBackend.fresh(t)
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("pool_max_conns", "3")
	u.RawQuery = q.Encode()
	for _, tc := range []struct {
		dsn  string
		want int
	}{
		{dsn, DefaultPoolSize},
		{u.String(), 3},
	} {
		db := openAt(t, tc.dsn, secrets.Ephemeral())
		if got := db.sql.Stats().MaxOpenConnections; got != tc.want {
			t.Errorf("%s: %d connections at most, want %d", tc.dsn, got, tc.want)
		}
	}
}

// A Lock that waits past the lock timeout fails with a clear error, whether
// the holder is another server or this one.
func TestPostgresLockTimeout(t *testing.T) {
	a, b := twoServers(t, postgresBackend)
	withGrants(t, a, "g_1")
	a.lockTimeout, b.lockTimeout = 300*time.Millisecond, 300*time.Millisecond
	unlock := lock(t, a, "g_1")
	for name, waiter := range map[string]*DB{"another server": b, "this server": a} {
		waits := recordLockWaits(waiter)
		start := time.Now()
		_, err := waiter.Locker("g_1").Lock(context.Background())
		d := time.Since(start)
		if !errors.Is(err, errLockTimeout) || !strings.Contains(err.Error(), "waiting for another sentry-mcp server to finish refreshing the grant's Sentry token: timed out after 300ms") {
			t.Errorf("%s: Lock = %v, want a timeout", name, err)
		}
		if d < 250*time.Millisecond || d > 3*time.Second {
			t.Errorf("%s: Lock gave up after %v, want 300ms", name, d)
		}
		if ds, errs := waits.get(); len(errs) != 1 || !errors.Is(errs[0], errLockTimeout) || ds[0] < 250*time.Millisecond {
			t.Errorf("%s: OnLockWait got %v %v", name, ds, errs)
		}
		waiter.OnLockWait(nil)
	}
	unlock()
	lock(t, b, "g_1")()
	lock(t, a, "g_1")()
}

// backendPID is the PostgreSQL session holding db's lock of grant.
func backendPID(t *testing.T, db *DB, grant string) int {
	t.Helper()
	var pid int
	held, err := db.inHeldLock(grant, func(tx *sql.Tx) error {
		return tx.QueryRow(`SELECT pg_backend_pid()`).Scan(&pid)
	})
	if !held || err != nil {
		t.Fatalf("the lock's session: held %v, %v", held, err)
	}
	return pid
}

// A server whose connection dies while it holds the lock (the process was
// killed, the network went) releases it: PostgreSQL ends the session's
// transaction, and another server takes the lock at once.
func TestPostgresDeadHolderReleasesTheLock(t *testing.T) {
	a, b := twoServers(t, postgresBackend)
	withGrants(t, a, "g_1")
	cs := a.CredentialStore("g_1", "u", "s")
	unlockA := lock(t, a, "g_1")
	pid := backendPID(t, a, "g_1")
	waiting := lockAsync(b, "g_1")
	select {
	case <-waiting:
		t.Fatal("the second Lock did not wait for the first")
	case <-time.After(150 * time.Millisecond):
	}
	var ok bool
	if err := b.sql.QueryRow(`SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend: %v %v", ok, err)
	}
	select {
	case unlockB, ok := <-waiting:
		if !ok {
			t.Fatal("the second Lock failed")
		}
		defer unlockB()
	case <-time.After(5 * time.Second):
		t.Fatal("the lock of a dead session was not released")
	}
	// The dead holder's store fails at once (no hang, no write outside the
	// lock), and its unlock is harmless.
	c := testGrant("g_1").Credential
	c.AccessToken = "sntryu_AFTER_DEATH"
	start := time.Now()
	if err := cs.Save(c); err == nil {
		t.Error("Save on a dead lock's transaction succeeded")
	}
	// That transaction is over: a Load reads what is stored, not the save
	// that failed (the refresh logic keeps such tokens and saves again).
	if got, err := cs.Load(host); err != nil || got.AccessToken == "sntryu_AFTER_DEATH" {
		t.Errorf("Load after the dead holder's save: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the dead holder's Save and Load took %v", d)
	}
	unlockA()
	if g, err := b.Grant(context.Background(), "g_1"); err != nil || g.Credential.AccessToken == "sntryu_AFTER_DEATH" {
		t.Errorf("after the holder died: %v", err)
	}
	// A goes on with a new connection once the lock is free again.
	if _, err := cs.Load(host); err != nil {
		t.Errorf("Load after unlocking: %v", err)
	}
}

// While one server holds a grant's refresh lock its store loads and saves
// in the lock's transaction; other servers read the committed grant,
// issue tokens of the grant, and wait to write it until unlock.
func TestPostgresLockedGrant(t *testing.T) {
	ctx := context.Background()
	a, b := twoServers(t, postgresBackend)
	withGrants(t, a, "g_1")
	csA, csB := a.CredentialStore("g_1", "u", "s"), b.CredentialStore("g_1", "u", "s")
	unlock := lock(t, a, "g_1")
	c, err := csA.Load(host)
	if err != nil {
		t.Fatal(err)
	}
	// Before the save: B reads the committed grant without waiting.
	if g, err := b.Grant(ctx, "g_1"); err != nil || g.Credential.AccessToken != testGrant("g_1").Credential.AccessToken {
		t.Errorf("B read %v", err)
	}
	// MCP tokens and codes of the grant are issued meanwhile (their foreign
	// key checks do not wait for the refresh).
	tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := b.PutToken(tctx, "at-during-refresh", &Token{Kind: "access", GrantID: "g_1", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Errorf("PutToken while the grant is locked: %v", err)
	}
	if err := b.PutCode(tctx, "code-during-refresh", &Code{GrantID: "g_1", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Errorf("PutCode while the grant is locked: %v", err)
	}
	cancel()
	// B's save waits for the row.
	bc := *c
	bc.AccessToken = "sntryu_SAVED_BY_B"
	saved := make(chan error, 1)
	go func() { saved <- csB.Save(&bc) }()
	select {
	case err := <-saved:
		t.Fatalf("B saved the grant while A held its lock: %v", err)
	case <-time.After(150 * time.Millisecond):
	}
	// A's save goes in the lock's transaction and is committed at once
	// (the caller learns it is stored), which releases the row.
	c.AccessToken = "sntryu_SAVED_UNDER_LOCK"
	start := time.Now()
	if err := csA.Save(c); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Save under our own lock took %v (waited on its own row lock?)", d)
	}
	if err := <-saved; err != nil {
		t.Fatal(err)
	}
	unlock()
	if g, err := a.Grant(ctx, "g_1"); err != nil || g.Credential.AccessToken != "sntryu_SAVED_BY_B" {
		t.Errorf("after A's save and B's: %v", err)
	}

	unlock = lock(t, a, "g_1")
	deleted := make(chan error, 1)
	go func() { deleted <- b.DeleteGrant(ctx, "g_1") }()
	select {
	case err := <-deleted:
		t.Fatalf("the grant was deleted under the refresh lock: %v", err)
	case <-time.After(150 * time.Millisecond):
	}
	if err := csA.Save(c); err != nil {
		t.Errorf("Save under the lock, a revocation waiting: %v", err)
	}
	unlock()
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	if _, err := csA.Load(host); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Load after the revocation: %v", err)
	}
}

// Under the lock a store works as without it; a grant deleted before the
// lock was taken is gone for Load and Save.
func TestCredentialStoreUnderLock(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		a, other := twoServers(t, b)
		withGrants(t, a, "g_1", "g_2")
		cs := a.CredentialStore("g_1", "u", "s")
		unlock := lock(t, a, "g_1")
		c, err := cs.Load(host)
		if err != nil {
			t.Fatal(err)
		}
		c.AccessToken = "sntryu_UNDER_LOCK"
		if err := cs.Save(c); err != nil {
			t.Fatal(err)
		}
		if err := cs.Save(&auth.Credential{Host: "https://evil.example", AccessToken: "x"}); err == nil {
			t.Error("Save for another host succeeded under the lock")
		}
		unlock()
		if g, err := other.Grant(ctx, "g_1"); err != nil || g.Credential.AccessToken != "sntryu_UNDER_LOCK" {
			t.Errorf("after unlock the other server reads %v", err)
		}

		if err := other.DeleteGrant(ctx, "g_2"); err != nil {
			t.Fatal(err)
		}
		cs2 := a.CredentialStore("g_2", "u", "s")
		unlock = lock(t, a, "g_2")
		defer unlock()
		if _, err := cs2.Load(host); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("Load of a deleted grant under the lock: %v", err)
		}
		if err := cs2.Save(c); err == nil || !strings.Contains(err.Error(), "grant g_2 was deleted (revoked)") {
			t.Errorf("Save of a deleted grant under the lock: %v", err)
		}
	})
}

// A server whose default isolation is stricter changes nothing: the store's
// transactions are READ COMMITTED, so the server that waited for the lock
// reads what the holder committed, and concurrent rotations take turns
// (under REPEATABLE READ both would fail to serialise).
func TestPostgresReadCommittedWhateverTheDefault(t *testing.T) {
	ctx := context.Background()
	dsn := postgresBackend.fresh(t)
	u, _ := url.Parse(dsn)
	if _, err := adminDB(t).Exec(`ALTER DATABASE ` + strings.TrimPrefix(u.Path, "/") + ` SET default_transaction_isolation = 'repeatable read'`); err != nil {
		t.Fatal(err)
	}
	keys := secrets.Ephemeral()
	a, b := openAt(t, dsn, keys), openAt(t, dsn, keys)
	var level string
	if err := b.sql.QueryRow(`SHOW default_transaction_isolation`).Scan(&level); err != nil || level != "repeatable read" {
		t.Fatalf("default isolation %q %v", level, err)
	}
	withGrants(t, a, "g_1")
	unlockA := lock(t, a, "g_1")
	waiting := lockAsync(b, "g_1")
	// b's transaction has begun and waits for the row.
	waitForLockWaiter(t, a)
	c, err := a.CredentialStore("g_1", "u", "s").Load(host)
	if err != nil {
		t.Fatal(err)
	}
	c.AccessToken = "sntryu_REFRESHED_BY_A"
	if err := a.CredentialStore("g_1", "u", "s").Save(c); err != nil {
		t.Fatal(err)
	}
	unlockA()
	unlockB, ok := <-waiting
	if !ok {
		t.Fatal("B's Lock failed")
	}
	got, err := b.CredentialStore("g_1", "u", "s").Load(host)
	unlockB()
	if err != nil || got.AccessToken != "sntryu_REFRESHED_BY_A" {
		t.Errorf("B under the lock read %v (stale: %v)", err, got != nil && got.AccessToken != "sntryu_REFRESHED_BY_A")
	}

	exp := time.Now().Add(time.Hour)
	if err := a.PutToken(ctx, "R0", &Token{Kind: "refresh", GrantID: "g_1", ClientID: "c", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	wins := race(t, 4, func() error {
		_, err := b.RotateRefresh(ctx, "R0", "c", Rotation{Access: "A" + randomHex(4), Refresh: "R" + randomHex(4), AccessExpires: exp, RefreshExpires: exp})
		return err
	}, errNever)
	if wins != 4 {
		t.Errorf("%d of 4 concurrent rotations succeeded", wins)
	}
}

var errNever = errors.New("no error is allowed")

// Refresh locks never take the whole pool: with 4 connections at most two
// are held by locks, a third lock waits only as long as its timeout allows,
// and requests still get connections.
func TestPostgresLocksLeaveConnections(t *testing.T) {
	dsn := postgresBackend.fresh(t)
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("pool_max_conns", "4")
	u.RawQuery = q.Encode()
	db := openAt(t, u.String(), secrets.Ephemeral())
	withGrants(t, db, "g_1", "g_2", "g_3")
	db.lockTimeout = 300 * time.Millisecond
	defer lock(t, db, "g_1")()
	defer lock(t, db, "g_2")()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := db.Locker("g_3").Lock(ctx); !errors.Is(err, errLockTimeout) {
		t.Errorf("a third lock with two held: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the third lock waited %v", d)
	}
	if err := db.PutToken(ctx, "at-x", &Token{Kind: "access", GrantID: "g_3", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LookupToken(ctx, "at-x"); err != nil {
		t.Errorf("a request while locks hold their share of the pool: %v", err)
	}
}

// waitForLockWaiter returns once some session of db's database waits for a
// row lock.
func waitForLockWaiter(t *testing.T, db *DB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		if err := db.sql.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no session waits for the row lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
