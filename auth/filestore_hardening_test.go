package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unreadable checks that err is an ErrUnreadable naming location.
func unreadable(t *testing.T, what string, err error, location, reason string) {
	t.Helper()
	var ue *UnreadableError
	if !errors.Is(err, ErrUnreadable) || !errors.As(err, &ue) || ue.Location != location || errors.Is(err, ErrNotFound) {
		t.Errorf("%s: err = %v, want ErrUnreadable at %s", what, err, location)
		return
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("%s: %q does not say %q", what, err, reason)
	}
}

func TestUnreadableStores(t *testing.T) {
	for _, tt := range []struct {
		name, content, reason string
	}{
		{"truncated", `{"https://sentry.io": {"host": "https://sentry.io"`, "corrupt"},
		{"wrong type", `{"https://sentry.io": {"access_token": 5}}`, "corrupt"},
		{"another host", `{"https://sentry.io": {"host": "http://evil.example", "access_token": "a"}}`, "names another Sentry"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "credentials.json")
			os.WriteFile(path, []byte(tt.content), 0o600)
			_, err := NewFileStore(path).Load("https://sentry.io")
			unreadable(t, "file", err, path, tt.reason)
			// The keyring store serving the file says so too.
			_, err = openStore(StoreOptions{ConfigDir: dir}, fakeEnv(newMemKeyring())).Load("https://sentry.io")
			unreadable(t, "file via keyring store", err, path, tt.reason)
		})
	}
	for _, tt := range []struct{ name, entry, reason string }{
		{"corrupt entry", `{"host":`, "not a valid credential"},
		{"another host", `{"host": "http://evil.example", "access_token": "a"}`, "names another Sentry"},
	} {
		t.Run("keyring "+tt.name, func(t *testing.T) {
			b := newMemKeyring()
			b.Set(keyringService, "https://sentry.io", tt.entry)
			_, err := plainKeyringStore(b).Load("https://sentry.io")
			unreadable(t, "keyring", err, LocationKeyring, tt.reason)
		})
	}
}

func TestFileStoreRefusesSymlinks(t *testing.T) {
	skipOnWindows(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	target := filepath.Join(t.TempDir(), "elsewhere.json")
	os.WriteFile(target, []byte(`{}`), 0o644)
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	s := NewFileStore(path)
	_, err := s.Load("https://sentry.io")
	unreadable(t, "Load", err, path, "symlink")
	if err := s.Save(testCredential("https://sentry.io")); err == nil {
		t.Error("Save through a symlink succeeded")
	}
	if m := modeOf(t, target); m != 0o644 {
		t.Errorf("the symlink's target was chmodded to %v", m)
	}
	if data, _ := os.ReadFile(target); string(data) != "{}" {
		t.Errorf("the symlink's target was written: %s", data)
	}
}

func TestFileStoreChecksOwnerAndDirectory(t *testing.T) {
	skipOnWindows(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to create files owned by another user")
	}
	const nobody = 65534
	t.Run("file of another user", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "credentials.json")
		os.WriteFile(path, []byte(`{}`), 0o600)
		os.Chown(path, nobody, nobody)
		_, err := NewFileStore(path).Load("https://sentry.io")
		unreadable(t, "Load", err, path, "another user")
	})
	t.Run("shared world-writable directory", func(t *testing.T) {
		shared := filepath.Join(t.TempDir(), "shared")
		os.Mkdir(shared, 0o777)
		os.Chmod(shared, 0o1777) // like /tmp
		os.Chown(shared, nobody, nobody)
		path := filepath.Join(shared, "credentials.json")
		os.WriteFile(path, []byte(`{}`), 0o600)
		_, err := NewFileStore(path).Load("https://sentry.io")
		unreadable(t, "Load", err, path, "another user")
		os.Remove(path)
		if err := NewFileStore(path).Save(testCredential("https://sentry.io")); err == nil {
			t.Error("Save into a shared directory succeeded")
		}
		if _, err := NewFileLocker(filepath.Join(shared, "x.lock")).Lock(t.Context()); err == nil {
			t.Error("a lock in a shared directory was taken")
		}
	})
	t.Run("own directory open to others is tightened", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cfg")
		os.Mkdir(dir, 0o777)
		os.Chmod(dir, 0o777)
		path := filepath.Join(dir, "credentials.json")
		if err := NewFileStore(path).Save(testCredential("https://sentry.io")); err != nil {
			t.Fatal(err)
		}
		if m := modeOf(t, dir); m != 0o700 {
			t.Errorf("directory mode %v", m)
		}
	})
}

func TestStaleTempFilesAreRemovedOnSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	stale := filepath.Join(dir, ".credentials.json.tmp-111")
	fresh := filepath.Join(dir, ".credentials.json.tmp-222") // a save in flight elsewhere
	os.WriteFile(stale, []byte(`{"https://sentry.io":{"access_token":"live"}}`), 0o600)
	os.WriteFile(fresh, []byte(`{}`), 0o600)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(stale, old, old)
	if err := NewFileStore(path).Save(testCredential("https://sentry.io")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Error("a stale temp file with live tokens is left")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a temp file of a save in flight was removed")
	}
}
