package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

// The tests in this file use the machine's real keyring through go-keyring.
// They run only with SENTRY_MCP_KEYRING_TEST=1; scripts/test-keyring.sh sets
// up a throwaway D-Bus session and gnome-keyring for them.

func requireRealKeyring(t *testing.T) {
	t.Helper()
	if os.Getenv("SENTRY_MCP_KEYRING_TEST") != "1" {
		t.Skip("set SENTRY_MCP_KEYRING_TEST=1 to use the real OS keyring (scripts/test-keyring.sh)")
	}
}

func realTestHost(t *testing.T) string {
	host := fmt.Sprintf("https://sentry-mcp-test-%d.invalid", time.Now().UnixNano())
	t.Cleanup(func() { _ = keyring.Delete(keyringService, host) })
	return host
}

func TestRealKeyringRoundTrip(t *testing.T) {
	requireRealKeyring(t)
	host := realTestHost(t)
	s := NewKeyringStore(10 * time.Second)
	if s.Location() != LocationKeyring {
		t.Errorf("Location = %q", s.Location())
	}
	if _, err := s.Load(host); err != ErrNotFound {
		t.Fatalf("Load before Save = %v, want ErrNotFound", err)
	}
	c := testCredential(host)
	if err := s.Save(c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(host)
	if err != nil {
		t.Fatal(err)
	}
	sameCredential(t, got, c)

	// Stored under service "sentry-mcp", account = host, as compact JSON.
	raw, err := keyring.Get(keyringService, host)
	if err != nil {
		t.Fatalf("raw keyring.Get: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(raw), &doc); err != nil || doc["host"] != host {
		t.Errorf("raw entry = %q (%v)", raw, err)
	}
	if strings.Contains(raw, "\n") {
		t.Errorf("raw entry not compact: %q", raw)
	}
	t.Logf("stored document: %d bytes", len(raw))

	// Save again replaces (one entry per host).
	c.AccessToken = "sntryu_REPLACED"
	if err := s.Save(c); err != nil {
		t.Fatal(err)
	}
	got, err = s.Load(host)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != "sntryu_REPLACED" {
		t.Errorf("after second Save AccessToken = %q", got.AccessToken)
	}

	if err := s.Delete(host); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(host); err != ErrNotFound {
		t.Errorf("Load after Delete = %v, want ErrNotFound", err)
	}
	if err := s.Delete(host); err != ErrNotFound {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
}

func TestRealKeyringOpenStore(t *testing.T) {
	requireRealKeyring(t)
	host := realTestHost(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")

	// A credential saved earlier while the keyring was down.
	old := testCredential(host)
	old.AccessToken = "sntryu_FROM_FILE"
	if err := NewFileStore(path).Save(old); err != nil {
		t.Fatal(err)
	}

	log, buf := testLogger()
	start := time.Now()
	s := OpenStore(StoreOptions{ConfigDir: dir, KeyringTimeout: 10 * time.Second, Logger: log})
	t.Logf("OpenStore probe took %v", time.Since(start))
	if s.Location() != LocationKeyring {
		t.Fatalf("OpenStore chose %q, want keyring; log: %s", s.Location(), buf.String())
	}
	if strings.Contains(buf.String(), "WARN") {
		t.Errorf("unexpected warning: %s", buf.String())
	}
	if _, err := keyring.Get(keyringService, probeAccount); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("probe entry: %v, want not found (the probe must not write)", err)
	}

	got, err := s.Load(host)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != "sntryu_FROM_FILE" {
		t.Errorf("Load did not fall back to the file: %v", got)
	}

	// A save (a refresh) stays in the file the credential was saved to.
	refreshed := testCredential(host)
	refreshed.AccessToken = "sntryu_REFRESHED_IN_FILE"
	if err := s.Save(refreshed); err != nil {
		t.Fatal(err)
	}
	if got, err := NewFileStore(path).Load(host); err != nil || got.AccessToken != refreshed.AccessToken {
		t.Errorf("the refresh left the file: %v %v", got, err)
	}
	// Only a new sign-in moves it to the keyring and removes the file copy.
	c := testCredential(host)
	if loc, err := SaveLogin(StoreOptions{ConfigDir: dir, KeyringTimeout: 10 * time.Second}, c); err != nil || loc != LocationKeyring {
		t.Fatalf("SaveLogin = %q %v", loc, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("plain-text copy still at %s after signing in to the keyring", path)
	}
	got, err = NewKeyringStore(10 * time.Second).Load(host)
	if err != nil {
		t.Fatal(err)
	}
	sameCredential(t, got, c)

	if err := s.Delete(host); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(host); err != ErrNotFound {
		t.Errorf("Load after Delete = %v", err)
	}
}
