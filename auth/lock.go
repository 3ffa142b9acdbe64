package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// Locker serialises refreshes of one credential across every process (or,
// in a hosted mode, every server) that shares it. The refresh logic only
// knows this interface: a database row lock would do as well as a file lock.
type Locker interface {
	// Lock blocks until the lock is held or ctx ends; unlock releases it.
	Lock(ctx context.Context) (unlock func(), err error)
}

// fileLocker is a flock(2) / LockFileEx lock on one file.
type fileLocker struct {
	path string
	poll time.Duration
}

// NewFileLocker returns a Locker holding an exclusive OS file lock on path.
// The directory is created (mode 0700) when missing and refused when it is
// a symlink, not owned by the current user or writable by others.
func NewFileLocker(path string) Locker { return &fileLocker{path: path, poll: 20 * time.Millisecond} }

func (l *fileLocker) Lock(ctx context.Context) (func(), error) {
	if err := ensureDir(filepath.Dir(l.path)); err != nil {
		return nil, fmt.Errorf("refresh lock: %w", err)
	}
	fl := flock.New(l.path)
	ok, err := fl.TryLockContext(ctx, l.poll)
	if err != nil || !ok {
		return nil, fmt.Errorf("waiting for another sentry-mcp process to finish refreshing the token: %w", errors.Join(err, ctx.Err()))
	}
	return func() { fl.Unlock() }, nil
}

// multiLocker takes several locks in order (and releases them in reverse).
type multiLocker []Locker

func (m multiLocker) Lock(ctx context.Context) (func(), error) {
	var held []func()
	release := func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i]()
		}
	}
	for _, l := range m {
		u, err := l.Lock(ctx)
		if err != nil {
			release()
			return nil, err
		}
		held = append(held, u)
	}
	return release, nil
}

// LockPath is the refresh lock file for host inside dir. The name is the
// one every release has used, so old and new processes meet on it.
func LockPath(dir, host string) string {
	key, err := hostKey(host)
	if err != nil {
		key = host
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, "refresh-"+hex.EncodeToString(sum[:6])+".lock")
}

// CredentialLockDir is where the refresh lock of every credential lives,
// whichever store holds it: ~/.config/sentry-mcp of the OS user as the user
// database names it (not $HOME or $XDG_CONFIG_HOME, which differ between an
// IDE, a desktop app and a shell of the same user). Only when the user
// database has no home for the user (some containers) is $HOME used. There
// is no fallback to a shared directory such as /tmp.
func CredentialLockDir() (string, error) {
	if h := userDBHome(); h != "" && filepath.IsAbs(h) {
		return filepath.Join(h, ".config", "sentry-mcp"), nil
	}
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		return filepath.Join(h, ".config", "sentry-mcp"), nil
	}
	return "", errors.New("refresh lock: the current user has no home directory")
}

// userDBHome is the current user's home in the user database ("" if none);
// a variable for tests.
var userDBHome = func() string {
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return ""
}

// CredentialLocker is the one lock of the credential for host: the file
// LockPath(CredentialLockDir(), host), whichever store the credential is in.
//
// Upgrade: the previous release locked a keyring credential there too, but
// a file credential next to credentials.json, i.e. in opts.Dir(), which
// differs when XDG_CONFIG_HOME (or StoreOptions.ConfigDir) points
// elsewhere. While such older processes may still run, the lock of
// opts.Dir() is taken as well (always after the main one, so two new
// processes cannot deadlock): an old process refreshing a file credential
// holds that one, an old keyring process holds the main one, so no old and
// new process can refresh at the same time. It can be dropped once no
// release older than this one is in use.
func CredentialLocker(host string, opts StoreOptions) (Locker, error) {
	dir, err := CredentialLockDir()
	if err != nil {
		return nil, err
	}
	main := NewFileLocker(LockPath(dir, host))
	if legacy := opts.Dir(); legacy != "" && filepath.IsAbs(legacy) && filepath.Clean(legacy) != filepath.Clean(dir) {
		return multiLocker{main, NewFileLocker(LockPath(legacy, host))}, nil
	}
	return main, nil
}
