package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
)

// leaseDuration is how long a refresh lock's lease lasts: far longer than
// one refresh attempt (auth.DefaultAttemptTimeout), so a live holder never
// loses it, and short enough that a crashed server's lease is taken over
// soon.
const leaseDuration = 2 * time.Minute

// lockPoll is how often a waiting Lock tries the lease again.
const lockPoll = 20 * time.Millisecond

// unlockTimeout bounds deleting the lease on unlock.
const unlockTimeout = 10 * time.Second

// DefaultLockTimeout bounds the wait for a refresh lock on PostgreSQL
// (lock_timeout, and the wait for this process's other holder).
const DefaultLockTimeout = 30 * time.Second

// Locker is the grant's refresh lock, exclusive across every process
// sharing the database, plus an in-process mutex.
//
// SQLite: a lease row with expiry; the lease outlives
// auth.DefaultAttemptTimeout.
//
// PostgreSQL: Lock takes one of the lock slots (half the pool) and a
// connection, begins a transaction and locks the grant's row (SELECT ...
// FOR NO KEY UPDATE), all within DefaultLockTimeout or until ctx ends.
// While it is held, the grant's CredentialStore (of the same *DB) loads in
// that transaction, and a save goes in it and commits it at once (which
// releases the row); unlock commits if nothing was saved. A server that
// dies releases it: PostgreSQL ends the dead connection's transaction (and
// one left idle in it for over two minutes). Tokens and codes of the grant
// are still issued meanwhile (FOR NO KEY UPDATE leaves their foreign-key
// checks alone); DeleteGrant waits for unlock. A grant that does not exist
// locks nothing; Load then reports it gone.
func (db *DB) Locker(grantID string) auth.Locker {
	if db.dialect.rowLocks {
		return &rowLocker{db: db, grant: grantID}
	}
	return &leaseLocker{db: db, name: "grant:" + grantID}
}

// OnLockWait sets f to be called after every Lock of a Locker of db, with
// how long it waited and its error (nil when it got the lock): for
// metrics. f must be quick; nil removes it.
func (db *DB) OnLockWait(f func(wait time.Duration, err error)) {
	if f == nil {
		db.onLockWait.Store(nil)
		return
	}
	db.onLockWait.Store(&f)
}

func (db *DB) reportLockWait(start time.Time, err error) {
	if f := db.onLockWait.Load(); f != nil {
		(*f)(time.Since(start), err)
	}
}

func waitError(err error) error {
	return fmt.Errorf("waiting for another sentry-mcp server to finish refreshing the grant's Sentry token: %w", err)
}

type leaseLocker struct {
	db   *DB
	name string
}

func (l *leaseLocker) Lock(ctx context.Context) (func(), error) {
	start := time.Now()
	unlock, err := l.lock(ctx)
	l.db.reportLockWait(start, err)
	return unlock, err
}

func (l *leaseLocker) lock(ctx context.Context) (func(), error) {
	release, err := l.db.lockLocal(ctx, l.name)
	if err != nil {
		return nil, l.waitError(err)
	}
	holder := randomHex(16)
	for {
		ok, err := l.db.tryLease(ctx, l.name, holder)
		if err != nil {
			release()
			if ctx.Err() != nil {
				return nil, l.waitError(ctx.Err())
			}
			return nil, fmt.Errorf("refresh lock: %w", err)
		}
		if ok {
			break
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			release()
			return nil, l.waitError(ctx.Err())
		case <-t.C:
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
			defer cancel()
			// Only our own lease: if it expired and was taken over, the
			// new holder's stays.
			l.db.sql.ExecContext(ctx, `DELETE FROM locks WHERE name = $1 AND holder = $2`, l.name, holder)
			release()
		})
	}, nil
}

func (l *leaseLocker) waitError(err error) error { return waitError(err) }

// rowLocker is the PostgreSQL refresh lock: the grant's row, locked in a
// transaction held until unlock.
type rowLocker struct {
	db    *DB
	grant string
}

// rowLock is a refresh lock this process holds on PostgreSQL.
type rowLock struct {
	mu   sync.Mutex // serialises the statements on tx
	tx   *sql.Tx
	done bool // unlocked: tx is finished (mu)
}

// errLockTimeout is what a wait past the lock timeout wraps.
var errLockTimeout = errors.New("timed out")

func (l *rowLocker) Lock(ctx context.Context) (func(), error) {
	start := time.Now()
	unlock, err := l.lock(ctx, start)
	l.db.reportLockWait(start, err)
	return unlock, err
}

func (l *rowLocker) lock(ctx context.Context, start time.Time) (func(), error) {
	db := l.db
	timeout := db.lockTimeout
	timedOut := func() error {
		return waitError(fmt.Errorf("%w after %v", errLockTimeout, timeout))
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	release, err := db.lockLocal(lctx, "grant:"+l.grant)
	cancel()
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, waitError(ctx.Err())
	case err != nil:
		return nil, timedOut()
	}
	left := timeout - time.Since(start)
	if left < time.Millisecond {
		release()
		return nil, timedOut()
	}
	// A slot and a connection, both within what is left of the timeout:
	// a refresh lock never takes the pool's last connections, nor waits
	// for one past its bound.
	wctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	if db.lockSlots != nil {
		select {
		case db.lockSlots <- struct{}{}:
		case <-wctx.Done():
			release()
			if ctx.Err() != nil {
				return nil, waitError(ctx.Err())
			}
			return nil, timedOut()
		}
		inner := release
		release = func() { <-db.lockSlots; inner() }
	}
	conn, err := db.sql.Conn(wctx)
	if err != nil {
		release()
		if ctx.Err() != nil {
			return nil, waitError(ctx.Err())
		}
		if wctx.Err() != nil {
			return nil, timedOut()
		}
		return nil, fmt.Errorf("refresh lock: %w", err)
	}
	// The transaction outlives Lock's ctx (database/sql would roll it back
	// when ctx ends); each statement below still ends with ctx.
	tx, err := conn.BeginTx(context.WithoutCancel(ctx), db.dialect.tx)
	if err != nil {
		conn.Close()
		release()
		return nil, fmt.Errorf("refresh lock: %w", err)
	}
	fail := func(err error) (func(), error) {
		tx.Rollback()
		conn.Close()
		release()
		return nil, err
	}
	// lock_timeout bounds the wait for the row; the idle timeout ends a
	// holder that hangs (its lock outlives any refresh attempt, like the
	// SQLite lease).
	if _, err := tx.ExecContext(ctx, `SELECT set_config('lock_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $2, true)`,
		fmt.Sprintf("%dms", left.Milliseconds()), fmt.Sprintf("%dms", leaseDuration.Milliseconds())); err != nil {
		if ctx.Err() != nil {
			return fail(waitError(ctx.Err()))
		}
		return fail(fmt.Errorf("refresh lock: %w", err))
	}
	var id string
	err = tx.QueryRowContext(ctx, `SELECT id FROM grants WHERE id = $1 FOR NO KEY UPDATE`, l.grant).Scan(&id)
	switch {
	case err == nil, errors.Is(err, sql.ErrNoRows):
	case ctx.Err() != nil:
		return fail(waitError(ctx.Err()))
	case isLockTimeout(err):
		return fail(timedOut())
	default:
		return fail(fmt.Errorf("refresh lock: %w", err))
	}
	h := &rowLock{tx: tx}
	db.mu.Lock()
	db.held[l.grant] = h
	db.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			db.mu.Lock()
			delete(db.held, l.grant)
			db.mu.Unlock()
			h.mu.Lock()
			if !h.done { // nothing was saved (another replica had refreshed, or the refresh failed)
				h.done = true
				if err := tx.Commit(); err != nil {
					// The connection died, or a statement failed: PostgreSQL
					// has rolled back (and released the row).
					tx.Rollback()
				}
			}
			h.mu.Unlock()
			conn.Close()
			release()
		})
	}, nil
}

// commitHeld runs f in the transaction of the grant's refresh lock when
// this process holds it and commits it at once, so that the caller learns
// whether what f wrote is stored (a Save of rotated tokens must know); it
// reports whether it did. The row is released with the commit; the
// process's own lock still holds until unlock.
func (db *DB) commitHeld(grantID string, f func(tx *sql.Tx) error) (bool, error) {
	return db.withHeld(grantID, true, f)
}

// inHeldLock runs f in the transaction of the grant's refresh lock when
// this process holds it (PostgreSQL) and reports whether it did.
func (db *DB) inHeldLock(grantID string, f func(tx *sql.Tx) error) (bool, error) {
	return db.withHeld(grantID, false, f)
}

func (db *DB) withHeld(grantID string, commit bool, f func(tx *sql.Tx) error) (bool, error) {
	db.mu.Lock()
	h := db.held[grantID]
	db.mu.Unlock()
	if h == nil {
		return false, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return false, nil
	}
	if !commit {
		return true, f(h.tx)
	}
	h.done = true
	if err := f(h.tx); err != nil {
		h.tx.Rollback()
		return true, err
	}
	if err := h.tx.Commit(); err != nil {
		return true, fmt.Errorf("database: committing under the refresh lock: %w", err)
	}
	return true, nil
}

// tryLease takes the lease name for holder if nobody holds it or the
// holder's lease has expired.
func (db *DB) tryLease(ctx context.Context, name, holder string) (bool, error) {
	now := db.now()
	res, err := db.sql.ExecContext(ctx,
		`INSERT INTO locks (name, holder, expires_ms) VALUES ($1, $2, $3)
		 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
		 WHERE locks.expires_ms <= $4`,
		name, holder, ms(now.Add(leaseDuration)), ms(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// localLock is a context-aware mutex shared by the Lock calls of one *DB.
type localLock struct {
	ch   chan struct{} // holds a value while locked
	refs int           // Lock calls holding or waiting (db.mu)
}

// lockLocal takes the in-process lock of name, or fails when ctx ends.
func (db *DB) lockLocal(ctx context.Context, name string) (func(), error) {
	db.mu.Lock()
	ll := db.local[name]
	if ll == nil {
		ll = &localLock{ch: make(chan struct{}, 1)}
		db.local[name] = ll
	}
	ll.refs++
	db.mu.Unlock()
	done := func() {
		db.mu.Lock()
		if ll.refs--; ll.refs == 0 {
			delete(db.local, name)
		}
		db.mu.Unlock()
	}
	select {
	case ll.ch <- struct{}{}:
		return func() {
			<-ll.ch
			done()
		}, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
