package authserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/hosted/clientmeta"
	"github.com/sentry-mcp/sentry-mcp/hosted/secrets"
	"github.com/sentry-mcp/sentry-mcp/hosted/store"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

// env is an authorization server over real HTTP in front of the fake
// Sentry, with a real SQLite database.
type env struct {
	t      testing.TB
	fake   *sentrytest.Server
	as     *Server
	db     *store.DB
	public string
	http   *httptest.Server
}

const (
	upstreamID     = "upstream-client"
	upstreamSecret = "upstream-secret-0123456789"
)

func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	hs := httptest.NewUnstartedServer(nil)
	public := "http://" + hs.Listener.Addr().String()
	fake.AddOAuthApp(sentrytest.OAuthApp{ClientID: upstreamID, ClientSecret: upstreamSecret, RedirectURIs: []string{public + "/oauth/callback"}})
	keys := secrets.Ephemeral()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "hosted.db"), keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	api, err := sentry.NewClient(sentry.Config{BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(public)
	cfg := Config{
		PublicURL: pu, Store: db, Keys: keys, API: api,
		Sentry:        auth.OAuthClient{BaseURL: fake.URL, ClientID: upstreamID, ClientSecret: upstreamSecret},
		Metadata:      &clientmeta.Fetcher{AllowLoopbackHTTP: true},
		RefreshMargin: auth.DefaultRefreshMargin,
	}
	if mod != nil {
		mod(&cfg)
	}
	as, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = as.Handler()
	hs.Start()
	t.Cleanup(hs.Close)
	return &env{t: t, fake: fake, as: as, db: db, public: public, http: hs}
}

// noFollow is an HTTP client that shows every redirect instead of following it.
func noFollow(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// register registers a public client with redirect URIs.
func (e *env) register(redirects ...string) string {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"client_name": "Test Client", "redirect_uris": redirects, "token_endpoint_auth_method": "none"})
	resp, err := http.Post(e.public+"/oauth/register", "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("register: %d %v", resp.StatusCode, out)
	}
	return out["client_id"].(string)
}

// flow is one authorization request of a client.
type flow struct {
	clientID, redirect, state, verifier, resource, scope string
}

func (e *env) newFlow(clientID, redirect string) *flow {
	return &flow{clientID: clientID, redirect: redirect, state: "st-" + random("", 8), verifier: random("", 32), resource: e.public + "/mcp"}
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (f *flow) url(public string) string {
	q := url.Values{
		"client_id": {f.clientID}, "redirect_uri": {f.redirect}, "response_type": {"code"}, "state": {f.state},
		"code_challenge": {challenge(f.verifier)}, "code_challenge_method": {"S256"}, "resource": {f.resource},
	}
	if f.scope != "" {
		q.Set("scope", f.scope)
	}
	return public + "/oauth/authorize?" + q.Encode()
}

// browser is a user agent with cookies that follows the sign-in by hand.
type browser struct {
	t testing.TB
	c *http.Client
}

func newBrowser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: noFollow(jar)}
}

func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formOf is the consent page's hidden fields.
func formOf(page string) url.Values {
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(page, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

func (b *browser) post(u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(u, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// consent opens the consent page and answers it with decision; it returns
// the answer (a redirect to Sentry on approval).
func (b *browser) consent(public, authorizeURL, decision string) (*http.Response, string) {
	b.t.Helper()
	resp, page := b.get(authorizeURL)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("consent page: %d %s", resp.StatusCode, page)
	}
	form := formOf(page)
	form.Set("decision", decision)
	return b.post(public+"/oauth/authorize", form)
}

// signIn goes through consent, Sentry and the callback, and returns where
// the browser is finally sent (the client's redirect URI with its query).
func (b *browser) signIn(public, authorizeURL string) *url.URL {
	b.t.Helper()
	resp, body := b.consent(public, authorizeURL, "approve")
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("approve: %d %s", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	for range 3 { // Sentry's authorize, then our callback
		resp, body = b.get(loc)
		if resp.StatusCode != http.StatusFound {
			b.t.Fatalf("GET %s: %d %s", loc, resp.StatusCode, body)
		}
		loc = resp.Header.Get("Location")
		if !strings.HasPrefix(loc, public+"/oauth/callback") && !strings.Contains(loc, "/oauth/authorize/") {
			break
		}
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// tokenRequest posts to the token endpoint as a public client.
func (e *env) tokenRequest(form url.Values) (int, map[string]any) {
	e.t.Helper()
	resp, err := http.PostForm(e.public+"/oauth/token", form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (e *env) exchange(f *flow, code string) (int, map[string]any) {
	return e.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {f.clientID},
		"redirect_uri": {f.redirect}, "code_verifier": {f.verifier}, "resource": {f.resource}})
}

// tokens runs a whole sign-in and returns the token response.
func (e *env) tokens(b *browser, f *flow) map[string]any {
	e.t.Helper()
	back := b.signIn(e.public, f.url(e.public))
	code := back.Query().Get("code")
	if code == "" {
		e.t.Fatalf("no code in %s", back)
	}
	status, tok := e.exchange(f, code)
	if status != http.StatusOK {
		e.t.Fatalf("token: %d %v", status, tok)
	}
	return tok
}

// request is an MCP request with a bearer token, for Authenticate.
func request(bearer string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	return r
}
