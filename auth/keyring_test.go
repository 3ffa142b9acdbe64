package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

// memKeyring is an in-memory keyringBackend; getErr/setErr/delErr, when
// set, are returned instead.
type memKeyring struct {
	mu                     sync.Mutex
	m                      map[string]string
	getErr, setErr, delErr error
	calls                  atomic.Int32
}

func newMemKeyring() *memKeyring { return &memKeyring{m: map[string]string{}} }

func (k *memKeyring) Get(service, user string) (string, error) {
	k.calls.Add(1)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.getErr != nil {
		return "", k.getErr
	}
	v, ok := k.m[service+"\x00"+user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (k *memKeyring) Set(service, user, pw string) error {
	k.calls.Add(1)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.setErr != nil {
		return k.setErr
	}
	k.m[service+"\x00"+user] = pw
	return nil
}

func (k *memKeyring) Delete(service, user string) error {
	k.calls.Add(1)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.delErr != nil {
		return k.delErr
	}
	key := service + "\x00" + user
	if _, ok := k.m[key]; !ok {
		return keyring.ErrNotFound
	}
	delete(k.m, key)
	return nil
}

func (k *memKeyring) raw(user string) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[keyringService+"\x00"+user]
	return v, ok
}

func (k *memKeyring) setGetErr(err error) {
	k.mu.Lock()
	k.getErr = err
	k.mu.Unlock()
}

// frozenKeyring never answers until the test ends, like a hung Secret Service.
type frozenKeyring struct {
	release chan struct{}
	calls   atomic.Int32
}

func newFrozenKeyring(t *testing.T) *frozenKeyring {
	f := &frozenKeyring{release: make(chan struct{})}
	t.Cleanup(func() { close(f.release) })
	return f
}

func (f *frozenKeyring) Get(string, string) (string, error) {
	f.calls.Add(1)
	<-f.release
	return "", keyring.ErrNotFound
}

func (f *frozenKeyring) Set(string, string, string) error {
	f.calls.Add(1)
	<-f.release
	return nil
}

func (f *frozenKeyring) Delete(string, string) error {
	f.calls.Add(1)
	<-f.release
	return nil
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger() (*slog.Logger, *syncBuffer) {
	buf := new(syncBuffer)
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func fakeEnv(b keyringBackend) keyringEnv { return keyringEnv{backend: b} }

func TestSessionBusError(t *testing.T) {
	env := func(addr string) func(string) string {
		return func(k string) string {
			if k == "DBUS_SESSION_BUS_ADDRESS" {
				return addr
			}
			return ""
		}
	}
	empty := t.TempDir()
	if err := sessionBusError(env(""), empty); err == nil {
		t.Error("no address and no bus socket: want an error")
	} else if !strings.Contains(err.Error(), "D-Bus") {
		t.Errorf("error %q does not mention D-Bus", err)
	}
	if err := sessionBusError(env("autolaunch:"), empty); err == nil {
		t.Error("autolaunch: address (godbus would launch a bus): want an error")
	}
	if err := sessionBusError(env("unix:path=/nonexistent/bus"), empty); err != nil {
		t.Errorf("address set: %v", err)
	}
	withBus := t.TempDir()
	if err := os.WriteFile(filepath.Join(withBus, "bus"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sessionBusError(env(""), withBus); err != nil {
		t.Errorf("runtime dir has bus: %v", err)
	}
	withSession := t.TempDir()
	if err := os.WriteFile(filepath.Join(withSession, "dbus-session"), []byte("DBUS_SESSION_BUS_ADDRESS=unix:abstract=/tmp/x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sessionBusError(env(""), withSession); err != nil {
		t.Errorf("runtime dir has dbus-session: %v", err)
	}
	if usesSecretService("darwin") || usesSecretService("windows") || !usesSecretService("linux") || !usesSecretService("freebsd") {
		t.Error("usesSecretService wrong")
	}
}

func TestOpenStoreNoBusUsesFile(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	runDir := t.TempDir() // no "bus" in it
	backend := newMemKeyring()
	env := keyringEnv{backend: backend, bus: func() error { return sessionBusError(os.Getenv, runDir) }}
	log, buf := testLogger()
	dir := t.TempDir()
	start := time.Now()
	s := openStore(StoreOptions{ConfigDir: dir, KeyringTimeout: 5 * time.Second, Logger: log}, env)
	if d := time.Since(start); d > time.Second {
		t.Errorf("OpenStore took %v without a bus", d)
	}
	path := filepath.Join(dir, "credentials.json")
	if s.Location() != path {
		t.Errorf("Location = %q, want %q", s.Location(), path)
	}
	if n := backend.calls.Load(); n != 0 {
		t.Errorf("keyring touched %d times without a session bus", n)
	}
	out := warnedOnSave(t, s, buf)
	for _, want := range []string{"level=WARN", "plain text", path, "D-Bus"} {
		if !strings.Contains(out, want) {
			t.Errorf("warning %q does not contain %q", out, want)
		}
	}
	// The file store works.
	c := testCredential("https://sentry.io")
	if err := s.Save(c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(c.Host)
	if err != nil {
		t.Fatal(err)
	}
	sameCredential(t, got, c)
	if n := backend.calls.Load(); n != 0 {
		t.Errorf("keyring touched %d times", n)
	}
}

func TestKeyringStoreNoBusDoesNotTouchKeyring(t *testing.T) {
	if !usesSecretService(runtime.GOOS) {
		t.Skip("no D-Bus on this OS")
	}
	if err := sessionBusError(func(string) string { return "" }, fmt.Sprintf("/run/user/%d", os.Getuid())); err == nil {
		t.Skip("this machine has a session bus at /run/user/UID/bus")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	s := NewKeyringStore(200 * time.Millisecond)
	_, err := s.Load("https://sentry.io")
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "D-Bus") {
		t.Errorf("Load without a bus = %v, want a no-D-Bus error", err)
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		t.Error("godbus ran and set DBUS_SESSION_BUS_ADDRESS")
	}
}

func TestOpenStoreKeyringHangFallsBack(t *testing.T) {
	backend := newFrozenKeyring(t)
	log, buf := testLogger()
	dir := t.TempDir()
	const timeout = 200 * time.Millisecond
	start := time.Now()
	s := openStore(StoreOptions{ConfigDir: dir, KeyringTimeout: timeout, Logger: log}, fakeEnv(backend))
	d := time.Since(start)
	if d < timeout || d > 2*time.Second {
		t.Errorf("OpenStore took %v, want about %v", d, timeout)
	}
	if want := filepath.Join(dir, "credentials.json"); s.Location() != want {
		t.Errorf("Location = %q, want %q", s.Location(), want)
	}
	if backend.calls.Load() != 1 {
		t.Errorf("keyring called %d times, want 1 probe", backend.calls.Load())
	}
	out := warnedOnSave(t, s, buf)
	for _, want := range []string{"level=WARN", "plain text", "did not answer", dir} {
		if !strings.Contains(out, want) {
			t.Errorf("warning %q does not contain %q", out, want)
		}
	}
}

func TestKeyringStoreTimeoutEveryCall(t *testing.T) {
	backend := newFrozenKeyring(t)
	const timeout = 200 * time.Millisecond
	k := newKeyringStore(fakeEnv(backend), timeout)
	check := func(what string, err error, d time.Duration) {
		t.Helper()
		if !errors.Is(err, errKeyringTimeout) || !strings.Contains(err.Error(), "did not answer") {
			t.Errorf("%s: err = %v, want a timeout", what, err)
		}
		if d < timeout || d > 2*time.Second {
			t.Errorf("%s took %v", what, d)
		}
	}
	start := time.Now()
	_, err := k.Load("https://sentry.io")
	check("Load", err, time.Since(start))
	c := testCredential("https://sentry.io")
	start = time.Now()
	err = k.Save(c)
	check("Save", err, time.Since(start))
	if strings.Contains(err.Error(), c.AccessToken) || strings.Contains(err.Error(), c.ClientSecret) {
		t.Errorf("error leaks a secret: %v", err)
	}
	start = time.Now()
	err = k.Delete("https://sentry.io")
	check("Delete", err, time.Since(start))
}

func TestOpenStoreUnlockErrorFallsBack(t *testing.T) {
	backend := newMemKeyring()
	backend.getErr = errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'")
	log, buf := testLogger()
	dir := t.TempDir()
	s := openStore(StoreOptions{ConfigDir: dir, Logger: log}, fakeEnv(backend))
	if s.Location() == LocationKeyring {
		t.Fatal("chose an unusable keyring")
	}
	if out := warnedOnSave(t, s, buf); !strings.Contains(out, "failed to unlock") {
		t.Errorf("warning %q does not say why", out)
	}
}

func TestOpenStoreInsecure(t *testing.T) {
	backend := newMemKeyring()
	log, buf := testLogger()
	dir := t.TempDir()
	s := openStore(StoreOptions{ConfigDir: dir, Insecure: true, Logger: log}, fakeEnv(backend))
	if s.Location() != filepath.Join(dir, "credentials.json") {
		t.Errorf("Location = %q", s.Location())
	}
	if backend.calls.Load() != 0 {
		t.Error("keyring touched with Insecure")
	}
	if out := warnedOnSave(t, s, buf); !strings.Contains(out, "insecure-storage") || !strings.Contains(out, "plain text") {
		t.Errorf("warning = %q", out)
	}
}

func TestOpenStoreNilLogger(t *testing.T) {
	backend := newMemKeyring()
	backend.getErr = errors.New("boom")
	s := openStore(StoreOptions{ConfigDir: t.TempDir()}, fakeEnv(backend))
	if s.Location() == LocationKeyring {
		t.Error("chose a failing keyring")
	}
}

func TestOpenStoreChoosesKeyring(t *testing.T) {
	backend := newMemKeyring()
	log, buf := testLogger()
	dir := t.TempDir()
	s := openStore(StoreOptions{ConfigDir: dir, Logger: log}, fakeEnv(backend))
	if s.Location() != LocationKeyring {
		t.Fatalf("Location = %q, want keyring", s.Location())
	}
	if strings.Contains(buf.String(), "WARN") {
		t.Errorf("unexpected warning: %s", buf.String())
	}
	if _, err := s.Load("https://sentry.io"); err != ErrNotFound {
		t.Errorf("Load = %v, want ErrNotFound", err)
	}
	if err := s.Delete("https://sentry.io"); err != ErrNotFound {
		t.Errorf("Delete = %v, want ErrNotFound", err)
	}
	c := testCredential("https://sentry.io")
	if err := s.Save(c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("https://sentry.io/")
	if err != nil {
		t.Fatal(err)
	}
	sameCredential(t, got, c)

	raw, ok := backend.raw("https://sentry.io")
	if !ok {
		t.Fatal("nothing stored under account https://sentry.io")
	}
	if strings.ContainsAny(raw, "\n\t") || strings.Contains(raw, ": ") {
		t.Errorf("stored document is not compact: %s", raw)
	}
	if len(raw) > 1024 {
		t.Errorf("stored document is %d bytes", len(raw))
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(raw), &doc); err != nil || doc["host"] != "https://sentry.io" || doc["access_token"] != c.AccessToken {
		t.Errorf("stored document = %s (%v)", raw, err)
	}
	if _, ok := backend.raw(probeAccount); ok {
		t.Error("the probe entry was written")
	}
	if _, err := os.Stat(filepath.Join(dir, "credentials.json")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a credential file was written while the keyring works")
	}

	if err := s.Delete("https://sentry.io"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("https://sentry.io"); err != ErrNotFound {
		t.Errorf("Load after Delete = %v", err)
	}
}

func TestKeyringStoreLoadFallsBackToFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	old := testCredential("https://sentry.io")
	if err := NewFileStore(path).Save(old); err != nil {
		t.Fatal(err)
	}
	backend := newMemKeyring()
	s := openStore(StoreOptions{ConfigDir: dir}, fakeEnv(backend))
	if s.Location() != LocationKeyring {
		t.Fatal("keyring not chosen")
	}
	got, err := s.Load("https://sentry.io")
	if err != nil {
		t.Fatal(err)
	}
	sameCredential(t, got, old)

	// The keyring failing later: the file copy is still served (it is
	// served first, whatever the keyring says).
	backend.setGetErr(errors.New("dbus: connection closed"))
	got, err = s.Load("https://sentry.io")
	if err != nil {
		t.Fatal(err)
	}
	sameCredential(t, got, old)
	// ...and a host only the (broken) keyring might have is an error, not
	// ErrNotFound: we do not know that it is absent.
	if _, err := s.Load("https://other.example.com"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Load with a broken keyring = %v", err)
	}
}

// warnedOnSave checks that opening the store logged nothing, saves a
// credential and returns what was logged then.
func warnedOnSave(t *testing.T, s Store, buf *syncBuffer) string {
	t.Helper()
	if buf.String() != "" {
		t.Errorf("opening the store logged %q before anything was written", buf.String())
	}
	if err := s.Save(testCredential("https://warn.example.com")); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestNoPlainTextWarningWithoutAWrite(t *testing.T) {
	// No keyring, no file: commands that only read (or find nothing) do
	// not warn about plain-text storage.
	log, buf := testLogger()
	dir := t.TempDir()
	s := openStore(StoreOptions{ConfigDir: dir, Logger: log}, keyringEnv{backend: newMemKeyring(), bus: func() error { return errors.New("no D-Bus") }})
	if _, err := s.Load("https://sentry.io"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if buf.String() != "" {
		t.Errorf("logged %q", buf.String())
	}
	warnedOnSave(t, s, buf)
	if n := strings.Count(buf.String(), "plain text"); n != 1 {
		t.Errorf("%d warnings after one save", n)
	}
}

// TestACredentialStaysInItsStore: a keyring-capable process uses (and saves
// to) the file copy a process without the keyring wrote; it does not move
// it to the keyring or delete it, so the other process stays signed in.
func TestACredentialStaysInItsStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	noBus := keyringEnv{backend: newMemKeyring(), bus: func() error { return errors.New("no D-Bus") }}
	fileProc := openStore(StoreOptions{ConfigDir: dir}, noBus)
	a := testCredential("https://sentry.io")
	if err := fileProc.Save(a); err != nil {
		t.Fatal(err)
	}
	backend := newMemKeyring()
	keyringProc := openStore(StoreOptions{ConfigDir: dir}, fakeEnv(backend))
	if loc := StoredAt(keyringProc, a.Host); loc != path {
		t.Errorf("StoredAt = %q, want the file", loc)
	}
	refreshed := testCredential("https://sentry.io")
	refreshed.AccessToken = "sntryu_REFRESHED"
	if err := keyringProc.Save(refreshed); err != nil {
		t.Fatal(err)
	}
	if _, ok := backend.raw("https://sentry.io"); ok {
		t.Error("the refresh was moved to the keyring")
	}
	got, err := fileProc.Load(a.Host)
	if err != nil || got.AccessToken != "sntryu_REFRESHED" {
		t.Errorf("the process without a keyring lost the sign-in: %v %v", got, err)
	}
	// A host not in the file goes to the keyring.
	b := testCredential("https://sentry.example.com")
	if err := keyringProc.Save(b); err != nil {
		t.Fatal(err)
	}
	if _, ok := backend.raw(b.Host); !ok || StoredAt(keyringProc, b.Host) != LocationKeyring {
		t.Error("a new host did not go to the keyring")
	}
}

func TestSaveLoginChoosesTheStoreAndRemovesTheOtherCopy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	backend := newMemKeyring()
	c := testCredential("https://sentry.io")
	// A file copy from earlier; login with a keyring moves it.
	if err := NewFileStore(path).Save(c); err != nil {
		t.Fatal(err)
	}
	loc, err := saveLogin(StoreOptions{ConfigDir: dir}, fakeEnv(backend), c)
	if err != nil || loc != LocationKeyring {
		t.Fatalf("saveLogin = %q %v", loc, err)
	}
	if _, err := NewFileStore(path).Load(c.Host); !errors.Is(err, ErrNotFound) {
		t.Errorf("the file copy is left: %v", err)
	}
	// --insecure-storage: to the file, and the keyring copy goes.
	loc, err = saveLogin(StoreOptions{ConfigDir: dir, Insecure: true}, fakeEnv(backend), c)
	if err != nil || loc != path {
		t.Fatalf("saveLogin insecure = %q %v", loc, err)
	}
	if _, ok := backend.raw(c.Host); ok {
		t.Error("the keyring copy is left")
	}
	if got, err := openStore(StoreOptions{ConfigDir: dir}, fakeEnv(backend)).Load(c.Host); err != nil || got.AccessToken != c.AccessToken {
		t.Errorf("Load after login = %v %v", got, err)
	}
}

func TestRemoveAllRemovesEveryCopy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	backend := newMemKeyring()
	c := testCredential("https://sentry.io")
	other := testCredential("https://other.example.com")
	if err := NewFileStore(path).Save(c); err != nil {
		t.Fatal(err)
	}
	if err := NewFileStore(path).Save(other); err != nil {
		t.Fatal(err)
	}
	if _, err := saveLogin(StoreOptions{ConfigDir: dir}, fakeEnv(backend), testCredential("https://sentry.io")); err != nil {
		t.Fatal(err)
	}
	NewFileStore(path).Save(c) // and a file copy again (an older release)
	// A save killed with -9 left a temp file with live tokens.
	tmp := filepath.Join(dir, ".credentials.json.tmp-123456")
	if err := os.WriteFile(tmp, []byte(`{"https://sentry.io":{"access_token":"live"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	removed, err := removeAll(StoreOptions{ConfigDir: dir}, fakeEnv(backend), "https://sentry.io/")
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 3 {
		t.Errorf("removed %v, want keyring, file and temp file", removed)
	}
	if _, ok := backend.raw("https://sentry.io"); ok {
		t.Error("keyring copy left")
	}
	if _, err := NewFileStore(path).Load("https://sentry.io"); !errors.Is(err, ErrNotFound) {
		t.Errorf("file copy left: %v", err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Error("temp file left")
	}
	if _, err := NewFileStore(path).Load(other.Host); err != nil {
		t.Errorf("another host was removed: %v", err)
	}
	if _, err := removeAll(StoreOptions{ConfigDir: dir}, fakeEnv(backend), "https://sentry.io"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second logout: %v", err)
	}
	if !strings.Contains(LogoutNotice, "Authorized Applications") || !strings.Contains(LogoutNotice, "until it expires") {
		t.Errorf("LogoutNotice = %q", LogoutNotice)
	}
}

func TestKeyringStoreSaveFailure(t *testing.T) {
	dir := t.TempDir()
	backend := newMemKeyring()
	s := openStore(StoreOptions{ConfigDir: dir}, fakeEnv(backend))
	backend.setErr = errors.New("org.freedesktop.DBus.Error.NoReply")
	c := testCredential("https://sentry.io")
	err := s.Save(c)
	if err == nil {
		t.Fatal("Save succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "https://sentry.io") || !strings.Contains(msg, "keyring") {
		t.Errorf("error %q should name host and keyring", msg)
	}
	for _, secret := range []string{c.AccessToken, c.RefreshToken, c.ClientSecret} {
		if strings.Contains(msg, secret) {
			t.Errorf("error leaks a secret: %q", msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "credentials.json")); !errors.Is(err, os.ErrNotExist) {
		t.Error("Save fell back to the file: it must go to the chosen store")
	}
	backend.setErr = keyring.ErrSetDataTooBig
	if err := s.Save(c); err == nil || !strings.Contains(err.Error(), "too big") {
		t.Errorf("too big: %v", err)
	}
}

func TestKeyringStoreDeleteBoth(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	c := testCredential("https://sentry.io")
	if err := NewFileStore(path).Save(c); err != nil {
		t.Fatal(err)
	}
	backend := newMemKeyring()
	s := openStore(StoreOptions{ConfigDir: dir}, fakeEnv(backend))
	// Only in the file: Delete finds it there.
	if err := s.Delete(c.Host); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Error("file copy not deleted")
	}
	if err := s.Delete(c.Host); err != ErrNotFound {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	// In both (the keyring entry written directly): both go.
	if err := NewFileStore(path).Save(c); err != nil {
		t.Fatal(err)
	}
	if err := plainKeyringStore(backend).Save(c); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(c.Host); err != nil {
		t.Fatal(err)
	}
	if _, ok := backend.raw(c.Host); ok {
		t.Error("keyring entry not deleted")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Error("file copy not deleted")
	}
	// A failing keyring is reported, not hidden behind ErrNotFound.
	backend.delErr = errors.New("failed to unlock correct collection")
	if err := s.Delete(c.Host); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Delete with failing keyring = %v", err)
	}
}

func TestKeyringStoreCorruptEntry(t *testing.T) {
	backend := newMemKeyring()
	backend.m[keyringService+"\x00https://sentry.io"] = `{"host":"https://sentry.io","access_token":"sntryu_SECRET`
	k := newKeyringStore(fakeEnv(backend), time.Second)
	_, err := k.Load("https://sentry.io")
	if err == nil || errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("Load of corrupt entry = %v", err)
	}
}

// plainKeyringStore is a keyring store without the file fallback on a
// fake backend.
func plainKeyringStore(b keyringBackend) Store {
	return newKeyringStore(fakeEnv(b), time.Second)
}
