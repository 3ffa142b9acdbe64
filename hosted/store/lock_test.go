package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func lock(t *testing.T, db *DB, grant string) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	unlock, err := db.Locker(grant).Lock(ctx)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	return unlock
}

// lockAsync starts Lock in the background; the channel yields its unlock.
func lockAsync(db *DB, grant string) <-chan func() {
	ch := make(chan func(), 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if unlock, err := db.Locker(grant).Lock(ctx); err == nil {
			ch <- unlock
		} else {
			close(ch)
		}
	}()
	return ch
}

// withGrants creates grants with these ids (PostgreSQL locks their rows).
func withGrants(t *testing.T, db *DB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		g := testGrant(id)
		g.ID = id
		mustCreateGrant(t, db, g)
	}
}

// lockWaits records what OnLockWait reports.
type lockWaits struct {
	mu    sync.Mutex
	waits []time.Duration
	errs  []error
}

func recordLockWaits(db *DB) *lockWaits {
	w := &lockWaits{}
	db.OnLockWait(func(d time.Duration, err error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.waits = append(w.waits, d)
		w.errs = append(w.errs, err)
	})
	return w
}

func (w *lockWaits) get() ([]time.Duration, []error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.waits), slices.Clone(w.errs)
}

func TestLockerExcludesAcrossHandles(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range []struct {
			name   string
			second func(a, b *DB) *DB
		}{
			{"two processes", func(a, b *DB) *DB { return b }},
			{"one process", func(a, b *DB) *DB { return a }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a, bb := twoServers(t, b)
				withGrants(t, a, "g_1", "g_2")
				second := tc.second(a, bb)
				waits := recordLockWaits(second)
				unlockA := lock(t, a, "g_1")
				waiting := lockAsync(second, "g_1")
				select {
				case <-waiting:
					t.Fatal("the second Lock did not wait for the first")
				case <-time.After(150 * time.Millisecond):
				}
				// Another grant's lock is independent.
				lock(t, bb, "g_2")()
				unlockA()
				select {
				case unlockB, ok := <-waiting:
					if !ok {
						t.Fatal("the second Lock failed")
					}
					unlockB()
				case <-time.After(5 * time.Second):
					t.Fatal("the second Lock did not get the lock after the first unlocked")
				}
				unlockA() // idempotent: must not release anyone else's lock
				if !b.postgres() {
					var n int
					a.sql.QueryRow(`SELECT COUNT(*) FROM locks`).Scan(&n)
					if n != 0 {
						t.Errorf("%d lease rows left after unlocking", n)
					}
				}
				// OnLockWait saw the second handle's two Locks: the one that
				// waited for A (at least 150 ms), and A's own or g_2's.
				d, errs := waits.get()
				if len(d) != 2 {
					t.Fatalf("OnLockWait called %d times, want 2", len(d))
				}
				if slices.Max(d) < 150*time.Millisecond || slices.ContainsFunc(errs, func(e error) bool { return e != nil }) {
					t.Errorf("OnLockWait got %v %v", d, errs)
				}
			})
		}
	})
}

func TestLockerHonoursContext(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, sameHandle := range []bool{false, true} {
			a, bb := twoServers(t, b)
			withGrants(t, a, "g_1")
			unlock := lock(t, a, "g_1")
			waiter := bb
			if sameHandle {
				waiter = a
			}
			waits := recordLockWaits(waiter)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			start := time.Now()
			_, err := waiter.Locker("g_1").Lock(ctx)
			cancel()
			if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for another sentry-mcp server") {
				t.Errorf("same handle %v: Lock = %v, want a deadline error", sameHandle, err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Lock returned %v after its context ended", d)
			}
			if d, errs := waits.get(); len(errs) != 1 || !errors.Is(errs[0], context.DeadlineExceeded) || d[0] < 90*time.Millisecond {
				t.Errorf("OnLockWait got %v %v", d, errs)
			}
			unlock()
			// The failed waiter left nothing behind: the lock is free.
			lock(t, waiter, "g_1")()
		}
	})
}

func TestLockerTakesOverAnExpiredLease(t *testing.T) {
	ctx := context.Background()
	a, b := twoServers(t, sqliteBackend)
	// A server died holding the lease; it expired a second ago.
	if _, err := a.sql.ExecContext(ctx, `INSERT INTO locks (name, holder, expires_ms) VALUES ('grant:g_1', 'dead', $1)`, ms(time.Now().Add(-time.Second))); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	unlock := lock(t, b, "g_1")
	if d := time.Since(start); d > time.Second {
		t.Errorf("taking over an expired lease took %v", d)
	}
	unlock()

	// One that expires shortly is waited for, then taken over.
	if _, err := a.sql.ExecContext(ctx, `INSERT INTO locks (name, holder, expires_ms) VALUES ('grant:g_1', 'dying', $1)`, ms(time.Now().Add(300*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	unlock = lock(t, b, "g_1")
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("a live lease was taken over after %v", d)
	}
	unlock()
}

func TestLockerLease(t *testing.T) {
	ctx := context.Background()
	a, b := twoServers(t, sqliteBackend)
	unlockA := lock(t, a, "g_1")
	var holderA string
	var expires int64
	if err := a.sql.QueryRowContext(ctx, `SELECT holder, expires_ms FROM locks WHERE name = 'grant:g_1'`).Scan(&holderA, &expires); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(time.UnixMilli(expires)); d < 110*time.Second || d > 2*time.Minute {
		t.Errorf("the lease lasts %v, want 2 minutes", d)
	}
	// A's lease ran out (A stalled): B takes over; A's late unlock must not
	// delete B's lease.
	if _, err := a.sql.ExecContext(ctx, `UPDATE locks SET expires_ms = $1`, ms(time.Now().Add(-time.Second))); err != nil {
		t.Fatal(err)
	}
	unlockB := lock(t, b, "g_1")
	unlockA()
	var holder string
	if err := a.sql.QueryRowContext(ctx, `SELECT holder FROM locks WHERE name = 'grant:g_1'`).Scan(&holder); err != nil {
		t.Fatalf("B's lease is gone after A unlocked: %v", err)
	}
	if holder == holderA {
		t.Error("the lease still names A")
	}
	unlockB()
}
