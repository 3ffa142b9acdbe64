package auth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func testCredential(host string) *Credential {
	return &Credential{
		Host:         host,
		AccessToken:  "sntryu_ACCESS_" + host,
		RefreshToken: "REFRESH_" + host,
		TokenType:    "bearer",
		Expiry:       time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC),
		Scopes:       []string{"org:read", "project:read", "event:read"},
		User:         &CredentialUser{ID: "42", Name: "Jane Doe", Email: "jane@example.com"},
		ClientID:     "client-id-123",
		ClientSecret: "CLIENT_SECRET_" + host,
		Kind:         KindOAuth,
	}
}

func sameCredential(t *testing.T, got, want *Credential) {
	t.Helper()
	if got == nil {
		t.Fatalf("got nil credential, want %v", want)
	}
	g, w := *got, *want
	if !g.Expiry.Equal(w.Expiry) {
		t.Errorf("Expiry = %v, want %v", g.Expiry, w.Expiry)
	}
	g.Expiry, w.Expiry = time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		// %#v is redacted: compare the secrets separately.
		t.Errorf("credential differs:\n got %#v\nwant %#v", g, w)
		if g.AccessToken != w.AccessToken || g.RefreshToken != w.RefreshToken || g.ClientSecret != w.ClientSecret {
			t.Errorf("secrets differ")
		}
	}
}

func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func skipOnWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
}

func TestFileStoreRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	s := NewFileStore(path)
	if s.Location() != path {
		t.Errorf("Location = %q, want %q", s.Location(), path)
	}
	want := testCredential("https://sentry.io")
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("https://sentry.io")
	if err != nil {
		t.Fatal(err)
	}
	sameCredential(t, got, want)

	// A fresh store on the same file sees it too.
	got, err = NewFileStore(path).Load("https://sentry.io")
	if err != nil {
		t.Fatal(err)
	}
	sameCredential(t, got, want)

	// Overwrite.
	want.AccessToken = "sntryu_NEW"
	want.Kind = KindToken
	want.RefreshToken = ""
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err = s.Load("https://sentry.io")
	if err != nil {
		t.Fatal(err)
	}
	sameCredential(t, got, want)
}

func TestFileStoreMinimalCredential(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	s := NewFileStore(path)
	want := &Credential{Host: "https://sentry.example.com", AccessToken: "tok", Kind: KindToken}
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, field := range []string{"expiry", "refresh_token", "scopes", "user", "client_secret"} {
		if strings.Contains(string(data), field) {
			t.Errorf("empty field %q written: %s", field, data)
		}
	}
	got, err := s.Load(want.Host)
	if err != nil {
		t.Fatal(err)
	}
	sameCredential(t, got, want)
}

func TestFileStoreTwoHosts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	s := NewFileStore(path)
	a, b := testCredential("https://sentry.io"), testCredential("https://sentry.example.com")
	for _, c := range []*Credential{a, b} {
		if err := s.Save(c); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*Credential{a, b} {
		got, err := s.Load(c.Host)
		if err != nil {
			t.Fatal(err)
		}
		sameCredential(t, got, c)
	}
}

func TestFileStoreHostKey(t *testing.T) {
	s := NewFileStore(filepath.Join(t.TempDir(), "credentials.json"))
	c := testCredential("https://sentry.io/")
	if err := s.Save(c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(" https://sentry.io ")
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != "https://sentry.io" {
		t.Errorf("Host = %q", got.Host)
	}
	if c.Host != "https://sentry.io/" {
		t.Errorf("Save modified the caller's credential: Host = %q", c.Host)
	}
}

func TestFileStoreRejects(t *testing.T) {
	s := NewFileStore(filepath.Join(t.TempDir(), "credentials.json"))
	if err := s.Save(nil); err == nil {
		t.Error("Save(nil) succeeded")
	}
	if err := s.Save(&Credential{AccessToken: "x"}); err == nil {
		t.Error("Save without host succeeded")
	}
	if err := s.Save(&Credential{Host: "https://sentry.io"}); err == nil {
		t.Error("Save without access token succeeded")
	}
	if _, err := s.Load(""); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Load(\"\") = %v, want a usage error", err)
	}
}

func TestFileStoreNotFound(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	path := filepath.Join(dir, "credentials.json")
	s := NewFileStore(path)
	if _, err := s.Load("https://sentry.io"); err != ErrNotFound {
		t.Errorf("Load on missing file = %v, want ErrNotFound", err)
	}
	if err := s.Delete("https://sentry.io"); err != ErrNotFound {
		t.Errorf("Delete on missing file = %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load/Delete created %s", dir)
	}
	if err := s.Save(testCredential("https://sentry.io")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("https://other.example.com"); err != ErrNotFound {
		t.Errorf("Load of other host = %v, want ErrNotFound", err)
	}
}

func TestFileStoreDelete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	s := NewFileStore(path)
	a, b := testCredential("https://sentry.io"), testCredential("https://sentry.example.com")
	for _, c := range []*Credential{a, b} {
		if err := s.Save(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(a.Host); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(a.Host); err != ErrNotFound {
		t.Errorf("Load after Delete = %v, want ErrNotFound", err)
	}
	got, err := s.Load(b.Host)
	if err != nil {
		t.Fatal(err)
	}
	sameCredential(t, got, b)
	if err := s.Delete(a.Host); err != ErrNotFound {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), a.AccessToken) {
		t.Errorf("deleted token still in file")
	}
	// Deleting the last entry removes the file: no plain text left behind.
	if err := s.Delete(b.Host + "/"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file still exists after deleting its last entry: %v", err)
	}
}

func TestFileStoreModes(t *testing.T) {
	skipOnWindows(t)
	dir := filepath.Join(t.TempDir(), "a", "sentry-mcp")
	path := filepath.Join(dir, "credentials.json")
	if err := NewFileStore(path).Save(testCredential("https://sentry.io")); err != nil {
		t.Fatal(err)
	}
	if m := modeOf(t, dir); m != 0o700 {
		t.Errorf("dir mode = %v, want 0700", m)
	}
	if m := modeOf(t, path); m != 0o600 {
		t.Errorf("file mode = %v, want 0600", m)
	}
}

func TestFileStoreRetightensModes(t *testing.T) {
	skipOnWindows(t)
	dir := filepath.Join(t.TempDir(), "sentry-mcp")
	path := filepath.Join(dir, "credentials.json")
	s := NewFileStore(path)
	if err := s.Save(testCredential("https://sentry.io")); err != nil {
		t.Fatal(err)
	}

	// Someone loosened them: a Save re-asserts both.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(testCredential("https://sentry.example.com")); err != nil {
		t.Fatal(err)
	}
	if m := modeOf(t, dir); m != 0o700 {
		t.Errorf("dir mode = %v, want 0700", m)
	}
	if m := modeOf(t, path); m != 0o600 {
		t.Errorf("file mode = %v, want 0600", m)
	}

	// A Load alone tightens the file too.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("https://sentry.io"); err != nil {
		t.Fatal(err)
	}
	if m := modeOf(t, path); m != 0o600 {
		t.Errorf("file mode after Load = %v, want 0600", m)
	}
}

func TestFileStoreRetightensPreexistingFile(t *testing.T) {
	skipOnWindows(t)
	dir := filepath.Join(t.TempDir(), "sentry-mcp")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "credentials.json")
	if err := os.WriteFile(path, []byte(`{"https://old.example.com":{"host":"https://old.example.com","access_token":"old"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	s := NewFileStore(path)
	if err := s.Save(testCredential("https://sentry.io")); err != nil {
		t.Fatal(err)
	}
	if m := modeOf(t, dir); m != 0o700 {
		t.Errorf("dir mode = %v, want 0700", m)
	}
	if m := modeOf(t, path); m != 0o600 {
		t.Errorf("file mode = %v, want 0600", m)
	}
	if c, err := s.Load("https://old.example.com"); err != nil || c.AccessToken != "old" {
		t.Errorf("existing entry lost: %v %v", c, err)
	}
}

func TestFileStoreAtomicWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	s := NewFileStore(path)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Save(testCredential(fmt.Sprintf("https://h%d.example.com", i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 20 {
		if _, err := s.Load(fmt.Sprintf("https://h%d.example.com", i)); err != nil {
			t.Errorf("host %d: %v", i, err)
		}
	}
	for i := range 10 {
		if err := s.Delete(fmt.Sprintf("https://h%d.example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != "credentials.json" {
		t.Errorf("dir holds %v, want only credentials.json (no temp files)", names)
	}
}

func TestFileStoreCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	content := `{"https://sentry.io": {"host": "https://sentry.io", "access_token": "sntryu_SECRET_IN_FILE"`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewFileStore(path)
	_, err := s.Load("https://sentry.io")
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Load of corrupt file = %v, want a corruption error", err)
	}
	for _, want := range []string{path, "corrupt"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error leaks file content: %q", err)
	}
	// Save and Delete refuse rather than overwrite (no silent data loss).
	if err := s.Save(testCredential("https://sentry.example.com")); err == nil {
		t.Error("Save over a corrupt file succeeded")
	}
	if err := s.Delete("https://sentry.io"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Delete on corrupt file = %v", err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != content {
		t.Errorf("corrupt file was modified: %q", data)
	}

	// Wrong types are corruption too.
	if err := os.WriteFile(path, []byte(`{"https://sentry.io": {"access_token": 5}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("https://sentry.io"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("Load of wrongly typed file = %v", err)
	}
	if err := os.WriteFile(path, []byte(`[]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("https://sentry.io"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("Load of array file = %v", err)
	}
}

func TestFileStoreEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewFileStore(path)
	if _, err := s.Load("https://sentry.io"); err != ErrNotFound {
		t.Errorf("Load on empty file = %v, want ErrNotFound", err)
	}
	if err := s.Save(testCredential("https://sentry.io")); err != nil {
		t.Fatal(err)
	}
}

func TestFileStoreNoPath(t *testing.T) {
	s := NewFileStore("")
	if _, err := s.Load("https://sentry.io"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Load with no path = %v", err)
	}
	if err := s.Save(testCredential("https://sentry.io")); err == nil {
		t.Error("Save with no path succeeded")
	}
}

func TestStoreOptionsDir(t *testing.T) {
	if got := (StoreOptions{ConfigDir: "/x/y"}).Dir(); got != "/x/y" {
		t.Errorf("ConfigDir: Dir = %q", got)
	}
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	if got, want := (StoreOptions{}).Dir(), filepath.Join(xdg, "sentry-mcp"); got != want {
		t.Errorf("XDG: Dir = %q, want %q", got, want)
	}
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	if got, want := (StoreOptions{}).Dir(), filepath.Join(home, ".config", "sentry-mcp"); got != want {
		t.Errorf("HOME: Dir = %q, want %q", got, want)
	}
}
