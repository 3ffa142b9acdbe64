package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

const (
	clientID     = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	clientSecret = "sntrya_SECRET2CLIENT2abcdef0123456789"
)

// signedIn starts a fake Sentry with an OAuth app, signs in through the
// browser flow (the "browser" follows the authorize URL at once) and stores
// the credential in a file.
func signedIn(t *testing.T, opts sentrytest.Options) (*sentrytest.Server, auth.Store, string, *auth.Credential) {
	t.Helper()
	fake := sentrytest.NewServer(sentrytest.DemoData(), opts)
	t.Cleanup(fake.Close)
	fake.AddOAuthApp(sentrytest.OAuthApp{ClientID: clientID, ClientSecret: clientSecret, RedirectURIs: []string{"http://127.0.0.1/callback"}})
	dir := t.TempDir()
	store := auth.NewFileStore(filepath.Join(dir, "credentials.json"))
	c := auth.OAuthClient{BaseURL: fake.URL, ClientID: clientID, ClientSecret: clientSecret, Scopes: []string{"org:read", "event:write"}}
	cred, err := c.LoginBrowser(context.Background(), auth.LoginOptions{Open: followInBackground, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Save(cred); err != nil {
		t.Fatal(err)
	}
	return fake, store, dir, cred
}

// followInBackground is a browser: it follows the authorize URL and
// Sentry's redirect to the loopback callback.
func followInBackground(u string) error {
	go func() {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
		}
	}()
	return nil
}

func TestLoginDevice(t *testing.T) {
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{DeviceInterval: 10 * time.Millisecond})
	defer fake.Close()
	fake.AddOAuthApp(sentrytest.OAuthApp{ClientID: clientID, ClientSecret: clientSecret})
	c := auth.OAuthClient{BaseURL: fake.URL, ClientID: clientID, Scopes: []string{"org:read"}}
	var notify syncBuffer
	done := make(chan struct{})
	var cred *auth.Credential
	var err error
	go func() {
		defer close(done)
		cred, err = c.LoginDeviceWith(context.Background(), auth.LoginOptions{Notify: &notify})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for approved := false; !approved && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		s := notify.String()
		if i := strings.Index(s, "enter the code  "); i >= 0 {
			code := strings.Fields(s[i+len("enter the code  "):])[0]
			time.Sleep(50 * time.Millisecond) // a poll or two while pending
			if err := fake.ApproveDevice(code, true); err != nil {
				t.Fatal(err)
			}
			approved = true
		}
	}
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if cred.RefreshToken == "" || cred.User == nil || !works(t, fake, cred.AccessToken) {
		t.Errorf("device login gave %v", cred)
	}
}

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

// due makes the stored credential one that expires in an hour: inside
// the default 24 h refresh margin, as after 29 days of use.
func due(t *testing.T, store auth.Store, host string) {
	t.Helper()
	c, err := store.Load(host)
	if err != nil {
		t.Fatal(err)
	}
	c.Obtained = time.Now().Add(-29*24*time.Hour - 23*time.Hour)
	c.Expiry = time.Now().Add(time.Hour)
	if err := store.Save(c); err != nil {
		t.Fatal(err)
	}
}

func newSource(fake *sentrytest.Server, store auth.Store, dir string, margin time.Duration, logs *bytes.Buffer) *auth.RefreshingTokenSource {
	var logger *slog.Logger
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	return auth.NewRefreshingTokenSource(auth.TokenSourceOptions{Host: fake.URL, Store: store, Locker: auth.NewFileLocker(auth.LockPath(dir, fake.URL)), Margin: margin, Logger: logger})
}

func works(t *testing.T, fake *sentrytest.Server, tok string) bool {
	t.Helper()
	c, _ := sentry.NewClient(sentry.Config{BaseURL: fake.URL, Token: sentry.StaticToken(tok)})
	idx, _, err := c.Whoami(context.Background())
	return err == nil && idx.User != nil
}

func TestLoginStoresAGrant(t *testing.T) {
	fake, store, _, cred := signedIn(t, sentrytest.Options{})
	got, err := store.Load(fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != cred.AccessToken || got.RefreshToken == "" || got.ClientSecret != clientSecret || got.User == nil || got.Kind != auth.KindOAuth {
		t.Errorf("stored %v", got)
	}
	// Scopes are the grant as Sentry expanded it.
	if strings.Join(got.Scopes, " ") != "event:read event:write org:read" {
		t.Errorf("scopes %v", got.Scopes)
	}
	if time.Until(got.Expiry) < 29*24*time.Hour {
		t.Errorf("expiry %v", got.Expiry)
	}
	if !works(t, fake, got.AccessToken) {
		t.Error("the new token does not work")
	}
}

func TestProactiveRefreshRotates(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		fake, store, dir, cred := signedIn(t, sentrytest.Options{ReuseRefreshTokens: reuse})
		due(t, store, fake.URL)
		ts := newSource(fake, store, dir, auth.DefaultRefreshMargin, nil)
		tok, err := ts.TokenAfterRefresh(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tok == cred.AccessToken || !works(t, fake, tok) || works(t, fake, cred.AccessToken) {
			t.Errorf("reuse=%v: refresh did not rotate the access token", reuse)
		}
		stored, _ := store.Load(fake.URL)
		if stored.AccessToken != tok {
			t.Errorf("reuse=%v: the refreshed token was not saved", reuse)
		}
		if reuse != (stored.RefreshToken == cred.RefreshToken) {
			t.Errorf("reuse=%v: refresh token kept=%v", reuse, stored.RefreshToken == cred.RefreshToken)
		}
		if n := fake.TokenGrants()["refresh_token"]; n != 1 {
			t.Errorf("reuse=%v: %d refreshes", reuse, n)
		}
		// A fresh token is not refreshed again, even with a margin longer
		// than the token lives (capped at half its lifetime).
		ts2 := newSource(fake, store, dir, 31*24*time.Hour, nil)
		if tok2, _ := ts2.Token(context.Background()); tok2 != tok {
			t.Errorf("a fresh token was refreshed again")
		}
		if n := fake.TokenGrants()["refresh_token"]; n != 1 {
			t.Errorf("reuse=%v: %d refreshes after a second source", reuse, n)
		}
	}
}

func TestRefreshOn401ThenRetry(t *testing.T) {
	fake, store, dir, cred := signedIn(t, sentrytest.Options{})
	ts := newSource(fake, store, dir, time.Hour, nil)
	c, _ := sentry.NewClient(sentry.Config{BaseURL: fake.URL, Token: ts})
	fake.ExpireToken(cred.AccessToken) // Sentry says 401 Token expired before our clock does
	fake.ResetRequests()
	if _, _, err := c.ListOrganizations(context.Background(), sentry.ListOptions{}); err != nil {
		t.Fatalf("the call was not retried after a refresh: %v", err)
	}
	var paths []string
	for _, r := range fake.Requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	want := "GET /api/0/organizations/,POST /oauth/token/,GET /api/0/organizations/"
	if strings.Join(paths, ",") != want {
		t.Errorf("requests %v, want %s", paths, want)
	}
}

func TestInvalidGrantKeepsTheCredential(t *testing.T) {
	fake, store, dir, cred := signedIn(t, sentrytest.Options{})
	broken := *cred
	broken.RefreshToken = "0000000000000000000000000000000000000000000000000000000000000000"
	store.Save(&broken)
	fake.ExpireToken(cred.AccessToken)
	var logs bytes.Buffer
	ts := newSource(fake, store, dir, time.Hour, &logs)
	c, _ := sentry.NewClient(sentry.Config{BaseURL: fake.URL, Token: ts})
	_, _, err := c.Whoami(context.Background())
	if !errors.Is(err, auth.ErrSignInExpired) || !strings.Contains(err.Error(), "auth login") {
		t.Fatalf("err = %v", err)
	}
	if got, err := store.Load(fake.URL); err != nil || got.RefreshToken != broken.RefreshToken {
		t.Errorf("the credential was not kept: %v %v", got, err)
	}
	// Dead stays dead without hammering Sentry.
	before := len(fake.Requests())
	if _, err := ts.Token(context.Background()); !errors.Is(err, auth.ErrSignInExpired) {
		t.Errorf("second call: %v", err)
	}
	if len(fake.Requests()) != before {
		t.Error("a dead sign-in was refreshed again")
	}
	for _, secret := range []string{clientSecret, broken.RefreshToken, cred.AccessToken} {
		if strings.Contains(logs.String()+err.Error(), secret) {
			t.Error("a secret appeared in the logs or the error")
		}
	}
}

func TestRefreshFailureNeverLosesTheCredential(t *testing.T) {
	for _, fault := range []struct {
		status int
		body   string
	}{{502, "<html>Bad gateway</html>"}, {500, `{"error": "server_error"}`}, {503, ""}} {
		fake, store, dir, cred := signedIn(t, sentrytest.Options{})
		fake.FailNextOAuth(1, fault.status, fault.body)
		due(t, store, fake.URL)
		var logs bytes.Buffer
		clock := newClock()
		ts := auth.NewRefreshingTokenSource(auth.TokenSourceOptions{Host: fake.URL, Store: store, Locker: auth.NewFileLocker(auth.LockPath(dir, fake.URL)), Margin: auth.DefaultRefreshMargin,
			Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: clock.now})
		// The token is near expiry but still valid: keep using it.
		tok, err := ts.TokenAfterRefresh(context.Background())
		if err != nil || tok != cred.AccessToken {
			t.Errorf("%d: got %q, %v; want the current token", fault.status, tok, err)
		}
		if got, _ := store.Load(fake.URL); got.AccessToken != cred.AccessToken || got.RefreshToken != cred.RefreshToken {
			t.Errorf("%d: the credential changed", fault.status)
		}
		if st, _ := ts.Status(); st.RefreshError == nil || !st.Valid || st.Warning() == "" {
			t.Errorf("%d: status %+v", fault.status, st)
		}
		// After the back-off the next attempt refreshes normally.
		clock.advance(10 * time.Minute)
		if tok, err := ts.TokenAfterRefresh(context.Background()); err != nil || tok == cred.AccessToken {
			t.Errorf("%d: recovery: %q %v", fault.status, tok, err)
		}
	}
	// Unreachable token endpoint: the store is untouched too.
	fake, store, dir, cred := signedIn(t, sentrytest.Options{})
	u, _ := url.Parse(fake.URL)
	fake.Close()
	ts := newSource(fake, store, dir, auth.DefaultRefreshMargin, nil)
	if _, err := ts.Refresh(context.Background(), cred.AccessToken); err == nil {
		t.Error("refresh against a closed server succeeded")
	}
	if got, _ := store.Load("http://" + u.Host); got.RefreshToken != cred.RefreshToken {
		t.Error("a network failure changed the credential")
	}
}

func TestOneRefreshServesConcurrentCalls(t *testing.T) {
	fake, store, dir, _ := signedIn(t, sentrytest.Options{})
	due(t, store, fake.URL)
	ts := newSource(fake, store, dir, auth.DefaultRefreshMargin, nil)
	var wg sync.WaitGroup
	toks := make([]string, 16)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], _ = ts.Token(context.Background())
		}()
	}
	wg.Wait()
	for _, tok := range toks {
		if tok != toks[0] || tok == "" {
			t.Fatalf("calls got different tokens: %v", toks)
		}
	}
	ts.Wait(context.Background())
	if n := fake.TokenGrants()["refresh_token"]; n != 1 {
		t.Errorf("%d refreshes for 16 concurrent calls", n)
	}
}

func TestTwoSourcesShareOneRotation(t *testing.T) {
	// Two sources over one store stand for two processes: the second must
	// adopt the first's refresh, not rotate again (which would kill it).
	fake, store, dir, _ := signedIn(t, sentrytest.Options{})
	due(t, store, fake.URL)
	a := newSource(fake, store, dir, auth.DefaultRefreshMargin, nil)
	b := newSource(fake, store, dir, auth.DefaultRefreshMargin, nil)
	if _, err := b.Credential(); err != nil { // b holds the old token, as a running process would
		t.Fatal(err)
	}
	ta, err := a.TokenAfterRefresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.TokenAfterRefresh(context.Background())
	if err != nil || ta != tb {
		t.Fatalf("b: %q %v, want a's %q", tb, err, ta)
	}
	if n := fake.TokenGrants()["refresh_token"]; n != 1 {
		t.Errorf("%d refreshes", n)
	}
}

func TestLoginBrowserChecksStateAndPort(t *testing.T) {
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	defer fake.Close()
	fake.AddOAuthApp(sentrytest.OAuthApp{ClientID: clientID, ClientSecret: clientSecret, RedirectURIs: []string{"http://127.0.0.1/callback"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var forgedStatus int
	open := func(u string) error {
		parsed, _ := url.Parse(u)
		if got := parsed.Query().Get("redirect_uri"); got != fmt.Sprintf("http://127.0.0.1:%d/callback", port) {
			t.Errorf("redirect_uri %q does not use --port %d", got, port)
		}
		if parsed.Query().Get("code_challenge_method") != "S256" || parsed.Query().Get("state") == "" {
			t.Errorf("authorize URL lacks PKCE or state: %s", u)
		}
		// A forged callback (another page, another state) is refused and
		// does not end the sign-in; then the real browser arrives.
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/callback?code=forged&state=forged", port))
		if err == nil {
			forgedStatus = resp.StatusCode
			resp.Body.Close()
		}
		return followInBackground(u)
	}
	c := auth.OAuthClient{BaseURL: fake.URL, ClientID: clientID, ClientSecret: clientSecret, Scopes: []string{"org:read"}}
	cred, err := c.LoginBrowser(context.Background(), auth.LoginOptions{Port: port, Open: open, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if forgedStatus != http.StatusBadRequest {
		t.Errorf("forged callback answered %d, want 400", forgedStatus)
	}
	if !works(t, fake, cred.AccessToken) {
		t.Error("the signed-in token does not work")
	}
}

// clock is an injected clock for back-off and expiry decisions.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func newClock() *clock { return &clock{} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// tokenRequests counts the requests the fake's token endpoint received.
func tokenRequests(fake *sentrytest.Server) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Path == "/oauth/token/" {
			n++
		}
	}
	return n
}

// concurrently runs n Token calls at once and returns their results; it
// fails the test if they do not all return within guard (far longer than
// the code should need, so it cannot flake, far shorter than a stall).
func concurrently(t *testing.T, ts *auth.RefreshingTokenSource, n int, guard time.Duration) ([]string, []error) {
	t.Helper()
	toks, errs := make([]string, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], errs[i] = ts.Token(context.Background())
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(guard):
		t.Fatalf("%d concurrent Token calls did not all return within %s", n, guard)
	}
	return toks, errs
}

func TestEarlyRefreshNeverStallsCalls(t *testing.T) {
	fake, store, dir, cred := signedIn(t, sentrytest.Options{})
	release := fake.HoldTokenRequests() // the token endpoint hangs
	t.Cleanup(release)
	due(t, store, fake.URL) // valid for an hour, inside the 24 h margin
	ts := newSource(fake, store, dir, auth.DefaultRefreshMargin, nil)
	fake.ResetRequests()
	toks, errs := concurrently(t, ts, 4, 10*time.Second)
	for i := range toks {
		if errs[i] != nil || toks[i] != cred.AccessToken {
			t.Errorf("call %d: %q %v, want the current token at once", i, toks[i], errs[i])
		}
	}
	for tokenRequests(fake) == 0 { // the background attempt arrives
		time.Sleep(time.Millisecond)
	}
	// More calls while it hangs: still the current token, no second attempt.
	concurrently(t, ts, 4, 10*time.Second)
	if n := tokenRequests(fake); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	release()
	if err := ts.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tok, err := ts.Token(context.Background()); err != nil || tok == cred.AccessToken || !works(t, fake, tok) {
		t.Errorf("after the refresh: %q %v", tok, err)
	}
}

func TestFailingRefreshIsSharedAndBacksOff(t *testing.T) {
	fake, store, dir, cred := signedIn(t, sentrytest.Options{})
	fake.FailNextOAuth(1000, 503, "")
	due(t, store, fake.URL)
	clock := newClock()
	ts := auth.NewRefreshingTokenSource(auth.TokenSourceOptions{Host: fake.URL, Store: store, Locker: auth.NewFileLocker(auth.LockPath(dir, fake.URL)), Margin: auth.DefaultRefreshMargin, Now: clock.now})
	fake.ResetRequests()
	for round := range 3 {
		toks, errs := concurrently(t, ts, 20, 10*time.Second)
		for i := range toks {
			if errs[i] != nil || toks[i] != cred.AccessToken {
				t.Fatalf("round %d call %d: %q %v", round, i, toks[i], errs[i])
			}
		}
		ts.Wait(context.Background())
	}
	if n := tokenRequests(fake); n != 1 {
		t.Errorf("%d token requests for 60 calls, want 1 (then back-off)", n)
	}
	clock.advance(6 * time.Minute) // past the longest back-off
	concurrently(t, ts, 20, 10*time.Second)
	ts.Wait(context.Background())
	if n := tokenRequests(fake); n != 2 {
		t.Errorf("%d token requests after the back-off, want 2", n)
	}
}

func TestExpiredTokenWaitsForOneAttemptOnly(t *testing.T) {
	fake, store, dir, cred := signedIn(t, sentrytest.Options{})
	release := fake.HoldTokenRequests()
	t.Cleanup(release)
	c, _ := store.Load(fake.URL)
	c.Expiry = time.Now().Add(-time.Minute)
	store.Save(c)
	ts := auth.NewRefreshingTokenSource(auth.TokenSourceOptions{Host: fake.URL, Store: store, Locker: auth.NewFileLocker(auth.LockPath(dir, fake.URL)), Margin: auth.DefaultRefreshMargin,
		AttemptTimeout: 100 * time.Millisecond})
	fake.ResetRequests()
	toks, errs := concurrently(t, ts, 4, 10*time.Second)
	for i := range toks {
		if errs[i] == nil || toks[i] != "" || !strings.Contains(errs[i].Error(), "refreshing the Sentry token") {
			t.Errorf("call %d: %q %v, want the failed attempt's error", i, toks[i], errs[i])
		}
		if strings.Contains(fmt.Sprint(errs[i]), cred.RefreshToken) {
			t.Error("the error shows the refresh token")
		}
	}
	if n := tokenRequests(fake); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// hostRewriter is a store that hands out credentials naming another host,
// as a store without the host check would.
type hostRewriter struct {
	auth.Store
	host string
}

func (h hostRewriter) Load(host string) (*auth.Credential, error) {
	c, err := h.Store.Load(host)
	if err == nil {
		c.Host = h.host
	}
	return c, err
}

func TestRefreshGoesToTheConfiguredSentry(t *testing.T) {
	var evilHits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		w.WriteHeader(500)
	}))
	defer evil.Close()

	// A tampered credentials file: the entry for the fake names evil.
	fake, store, dir, cred := signedIn(t, sentrytest.Options{})
	path := filepath.Join(dir, "credentials.json")
	data, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(data), `"host": "`+fake.URL+`"`, `"host": "`+evil.URL+`"`, 1)), 0o600)
	ts := newSource(fake, store, dir, auth.DefaultRefreshMargin, nil)
	if _, err := ts.Refresh(context.Background(), cred.AccessToken); !errors.Is(err, auth.ErrUnreadable) {
		t.Errorf("tampered file: err = %v, want ErrUnreadable", err)
	}

	// A store that does not check: the refresh still goes to the fake.
	os.WriteFile(path, data, 0o600)
	ts = newSource(fake, hostRewriter{store, evil.URL}, dir, auth.DefaultRefreshMargin, nil)
	if tok, err := ts.Refresh(context.Background(), cred.AccessToken); err != nil || !works(t, fake, tok) {
		t.Errorf("refresh: %q %v", tok, err)
	}
	if evilHits.Load() != 0 {
		t.Errorf("%d requests went to the host written in the credential", evilHits.Load())
	}
}

func TestBackingOffAdoptsARefreshByAnotherProcess(t *testing.T) {
	fake, store, dir, cred := signedIn(t, sentrytest.Options{})
	c, _ := store.Load(fake.URL)
	c.Expiry = time.Now().Add(-time.Minute)
	store.Save(c)
	fake.FailNextOAuth(1, 503, "")
	ts := newSource(fake, store, dir, auth.DefaultRefreshMargin, nil)
	if _, err := ts.Token(context.Background()); err == nil {
		t.Fatal("the failed attempt succeeded")
	}
	// Another process (with a working network) refreshes meanwhile.
	other := newSource(fake, store, dir, auth.DefaultRefreshMargin, nil)
	fresh, err := other.Refresh(context.Background(), cred.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	// Backing off, this source reads the store instead of failing.
	if tok, err := ts.Token(context.Background()); err != nil || tok != fresh {
		t.Errorf("during back-off: %q %v, want the other process's token", tok, err)
	}
	if n := fake.TokenGrants()["refresh_token"]; n != 1 {
		t.Errorf("%d refreshes", n)
	}
}
