package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// fakeHome points the user database's home at a temp dir.
func fakeHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	old := userDBHome
	userDBHome = func() string { return home }
	t.Cleanup(func() { userDBHome = old })
	return home
}

// blocked reports whether l cannot be taken within a short wait.
func blocked(t *testing.T, l Locker) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	unlock, err := l.Lock(ctx)
	if err == nil {
		unlock()
		return false
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock: %v", err)
	}
	return true
}

func TestOneLockPerCredentialWhateverTheStoreOrEnvironment(t *testing.T) {
	home := fakeHome(t)
	const host = "https://sentry.example.com"
	// A process with the file store under one XDG_CONFIG_HOME, another
	// with the keyring under another: one lock.
	a, err := CredentialLocker(host, StoreOptions{ConfigDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	b, err := CredentialLocker(host, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := a.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !blocked(t, b) {
		t.Error("two processes of one user took the credential's lock at once")
	}
	unlock()
	if blocked(t, b) {
		t.Error("the lock was not released")
	}
	// Another Sentry has its own lock.
	other, _ := CredentialLocker("https://other.example.com", StoreOptions{})
	unlock, _ = a.Lock(context.Background())
	if blocked(t, other) {
		t.Error("another host's lock is the same")
	}
	unlock()
	if d, _ := CredentialLockDir(); d != filepath.Join(home, ".config", "sentry-mcp") {
		t.Errorf("lock dir %q", d)
	}
}

func TestNewLockExcludesTheOldReleasesLocks(t *testing.T) {
	home := fakeHome(t)
	const host = "https://sentry.example.com"
	cfg := t.TempDir() // XDG_CONFIG_HOME/sentry-mcp of an old file-store process
	l, err := CredentialLocker(host, StoreOptions{ConfigDir: cfg})
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{
		LockPath(cfg, host), // old release, file credential: next to credentials.json
		LockPath(filepath.Join(home, ".config", "sentry-mcp"), host), // old release, keyring credential
	} {
		unlock, err := NewFileLocker(old).Lock(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !blocked(t, l) {
			t.Errorf("a new process could refresh while an old one holds %s", old)
		}
		unlock()
	}
	if blocked(t, l) {
		t.Error("not released")
	}
}

func TestLockPathIsTheOldName(t *testing.T) {
	// The name every release used: sha256(host)[:6] in hex.
	if got := filepath.Base(LockPath("/x", "https://sentry.io")); got != "refresh-"+oldLockName("https://sentry.io") {
		t.Errorf("LockPath = %s", got)
	}
}

func oldLockName(host string) string {
	sum := sha256.Sum256([]byte(host))
	return hex.EncodeToString(sum[:6]) + ".lock"
}
