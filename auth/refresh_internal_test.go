package auth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

// slowFake is the fake Sentry behind a proxy that delays token requests.
func slowFake(t *testing.T, delay time.Duration) (*sentrytest.Server, string) {
	t.Helper()
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	fake.AddOAuthApp(sentrytest.OAuthApp{ClientID: "cid", ClientSecret: "sntrya_sec", RedirectURIs: []string{"http://127.0.0.1/callback"}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token/" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if strings.Contains(string(body), "grant_type=refresh_token") {
				time.Sleep(delay)
			}
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return fake, srv.URL
}

func login(t *testing.T, base string, store Store) *Credential {
	return loginExpiring(t, base, store, time.Hour)
}

// loginExpiring signs in and stores a credential that expires in left
// (negative: already expired).
func loginExpiring(t *testing.T, base string, store Store, left time.Duration) *Credential {
	t.Helper()
	c := OAuthClient{BaseURL: base, ClientID: "cid", ClientSecret: "sntrya_sec", Scopes: []string{"org:read"}}
	cred, err := c.LoginBrowser(context.Background(), LoginOptions{Timeout: 10 * time.Second, Open: func(u string) error {
		go func() {
			if r, err := http.Get(u); err == nil {
				r.Body.Close()
			}
		}()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Due for refresh: an hour left of a 30-day token.
	cred.Obtained, cred.Expiry = time.Now().Add(-720*time.Hour+left), time.Now().Add(left)
	if err := store.Save(cred); err != nil {
		t.Fatal(err)
	}
	return cred
}

func source(base string, store Store, dir string) *RefreshingTokenSource {
	return NewRefreshingTokenSource(TokenSourceOptions{Host: base, Store: store, Locker: NewFileLocker(LockPath(dir, base)), Margin: DefaultRefreshMargin})
}

func TestCancelledCallDoesNotLoseARefresh(t *testing.T) {
	fake, base := slowFake(t, 300*time.Millisecond)
	dir := t.TempDir()
	store := NewFileStore(filepath.Join(dir, "credentials.json"))
	old := loginExpiring(t, base, store, -time.Minute)
	ts := source(base, store, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	ts.Token(ctx) // cancelled while Sentry rotates the tokens
	ts.Wait(context.Background())
	if n := fake.TokenGrants()["refresh_token"]; n != 1 {
		t.Fatalf("%d refreshes", n)
	}
	stored, _ := store.Load(base)
	if stored.AccessToken == old.AccessToken || stored.RefreshToken == old.RefreshToken {
		t.Fatal("the rotated tokens were dropped with the cancelled call")
	}
	tok, err := ts.Token(context.Background())
	if err != nil || tok != stored.AccessToken {
		t.Errorf("after the cancelled call: %q %v", tok, err)
	}
}

func TestWaitBehindARefreshCanBeCancelled(t *testing.T) {
	_, base := slowFake(t, 500*time.Millisecond)
	dir := t.TempDir()
	store := NewFileStore(filepath.Join(dir, "credentials.json"))
	loginExpiring(t, base, store, -time.Minute)
	ts := source(base, store, dir)
	go ts.Token(context.Background()) // waits 500 ms for the refresh
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := ts.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	if time.Since(start) > 300*time.Millisecond {
		t.Errorf("the cancelled wait took %s", time.Since(start))
	}
}

// flakyStore fails the first n saves.
type flakyStore struct {
	Store
	fail atomic.Int64
}

func (f *flakyStore) Save(c *Credential) error {
	if f.fail.Add(-1) >= 0 {
		return errors.New("keyring did not answer")
	}
	return f.Store.Save(c)
}

func TestUnsavedRefreshIsKeptAndSavedLater(t *testing.T) {
	fake, base := slowFake(t, 0)
	dir := t.TempDir()
	inner := NewFileStore(filepath.Join(dir, "credentials.json"))
	login(t, base, inner)
	store := &flakyStore{Store: inner}
	store.fail.Store(1)
	ts := source(base, store, dir)
	live, err := ts.TokenAfterRefresh(context.Background()) // refreshes; the save fails
	if err != nil {
		t.Fatal(err)
	}
	// Sentry later rejects the live token (say it was revoked server-side
	// for a moment): the 401 path must not adopt the stale stored grant.
	fake.ExpireToken(live)
	next, err := ts.Refresh(context.Background(), live)
	if err != nil {
		t.Fatalf("the refresh after a failed save: %v", err)
	}
	if stored, _ := inner.Load(base); stored.AccessToken != next {
		t.Error("the live grant never reached the store")
	}
	if n := fake.TokenGrants()["refresh_token"]; n != 2 {
		t.Errorf("%d refreshes, want 2", n)
	}
}

func TestDeadSignInPicksUpANewLogin(t *testing.T) {
	_, base := slowFake(t, 0)
	dir := t.TempDir()
	store := NewFileStore(filepath.Join(dir, "credentials.json"))
	cred := loginExpiring(t, base, store, -time.Minute)
	cred.RefreshToken = strings.Repeat("0", 64) // refused: invalid_grant
	store.Save(cred)
	ts := source(base, store, dir)
	if _, err := ts.Token(context.Background()); !errors.Is(err, ErrSignInExpired) {
		t.Fatalf("err = %v", err)
	}
	if _, err := ts.Token(context.Background()); !errors.Is(err, ErrSignInExpired) {
		t.Fatalf("dead should stay dead until a new sign-in: %v", err)
	}
	login(t, base, store)     // the user runs `auth login` again
	ts.lastLook = time.Time{} // as if deadReloadEvery had passed
	tok, err := ts.Token(context.Background())
	if err != nil || tok == cred.AccessToken {
		t.Errorf("after a new login: %q %v", tok, err)
	}
}

func TestNoClientSecretMeansNoRefreshAttempts(t *testing.T) {
	fake, base := slowFake(t, 0)
	dir := t.TempDir()
	store := NewFileStore(filepath.Join(dir, "credentials.json"))
	cred := login(t, base, store)
	cred.ClientSecret = "" // a device login without a secret
	store.Save(cred)
	ts := source(base, store, dir)
	for range 5 {
		if tok, err := ts.Token(context.Background()); err != nil || tok != cred.AccessToken {
			t.Fatalf("%q %v", tok, err)
		}
	}
	if n := fake.TokenGrants()["refresh_token"]; n != 0 {
		t.Errorf("%d refresh attempts that Sentry must refuse", n)
	}
}

func TestLockDirIgnoresTheStoreAndTheEnvironment(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	a, _ := CredentialLockDir()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	if b, _ := CredentialLockDir(); a != b || !filepath.IsAbs(a) {
		t.Errorf("lock dirs %q and %q", a, b)
	}
}

// slowStore blocks every Load after the first until release is closed,
// as a keyring that takes its 3 s would; it counts the Loads.
type slowStore struct {
	Store
	loads   atomic.Int64
	release chan struct{}
}

func (s *slowStore) Load(host string) (*Credential, error) {
	if s.loads.Add(1) > 1 {
		<-s.release
	}
	return s.Store.Load(host)
}

func TestRejectedPastedTokenDoesNotHoldUpCalls(t *testing.T) {
	dir := t.TempDir()
	inner := NewFileStore(filepath.Join(dir, "credentials.json"))
	inner.Save(&Credential{Host: "https://sentry.example.com", AccessToken: "sntrys_pasted", Kind: KindToken})
	store := &slowStore{Store: inner, release: make(chan struct{})}
	ts := NewRefreshingTokenSource(TokenSourceOptions{Host: "https://sentry.example.com", Store: store, Locker: NewFileLocker(LockPath(dir, "https://sentry.example.com")), ReloadEvery: -1})
	if _, err := ts.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	refreshed := make(chan error, 1)
	go func() { _, err := ts.Refresh(context.Background(), "sntrys_pasted"); refreshed <- err }()
	for store.loads.Load() < 2 { // the 401 path is reading the store
		time.Sleep(time.Millisecond)
	}
	// Meanwhile other calls are not held up, and more 401s do not read
	// the store again.
	done := make(chan struct{})
	go func() {
		defer close(done)
		ts.Credential()
		ts.Status()
		for range 5 {
			ts.Refresh(context.Background(), "sntrys_pasted")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("calls waited for the store read of a rejected pasted token")
	}
	close(store.release)
	if err := <-refreshed; err == nil || !strings.Contains(err.Error(), "cannot be refreshed") {
		t.Errorf("Refresh = %v", err)
	}
	if n := store.loads.Load(); n != 2 {
		t.Errorf("%d store reads, want 2 (the first load and one look for a new sign-in)", n)
	}
}

func TestRefreshMargin(t *testing.T) {
	for _, tt := range []struct {
		margin time.Duration
		ok     bool
	}{{-time.Second, false}, {0, true}, {time.Hour, true}, {DefaultRefreshMargin, true}} {
		if err := ValidateRefreshMargin(tt.margin); (err == nil) != tt.ok {
			t.Errorf("ValidateRefreshMargin(%s) = %v", tt.margin, err)
		}
	}
	// 0 (and a negative value that slipped through) mean: no early refresh.
	for _, margin := range []time.Duration{0, -time.Hour} {
		fake, base := slowFake(t, 0)
		dir := t.TempDir()
		store := NewFileStore(filepath.Join(dir, "credentials.json"))
		cred := login(t, base, store) // an hour left
		ts := NewRefreshingTokenSource(TokenSourceOptions{Host: base, Store: store, Locker: NewFileLocker(LockPath(dir, base)), Margin: margin})
		if tok, err := ts.TokenAfterRefresh(context.Background()); err != nil || tok != cred.AccessToken {
			t.Errorf("margin %s: %q %v", margin, tok, err)
		}
		if n := fake.TokenGrants()["refresh_token"]; n != 0 {
			t.Errorf("margin %s: %d early refreshes", margin, n)
		}
		// The 401 path still refreshes.
		if tok, err := ts.Refresh(context.Background(), cred.AccessToken); err != nil || tok == cred.AccessToken {
			t.Errorf("margin %s: 401 refresh %q %v", margin, tok, err)
		}
	}
}
