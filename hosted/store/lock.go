package store

import (
	"context"
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

// Locker is the grant's refresh lock, exclusive across every process
// sharing the database (SQLite: a lease row with expiry plus an in-process
// mutex; the lease outlives auth.DefaultAttemptTimeout).
func (db *DB) Locker(grantID string) auth.Locker {
	return &leaseLocker{db: db, name: "grant:" + grantID}
}

type leaseLocker struct {
	db   *DB
	name string
}

func (l *leaseLocker) Lock(ctx context.Context) (func(), error) {
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

func (l *leaseLocker) waitError(err error) error {
	return fmt.Errorf("waiting for another sentry-mcp server to finish refreshing the grant's Sentry token: %w", err)
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
