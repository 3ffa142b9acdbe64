package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

// defaultScopes is what a client gets without a scope parameter (the
// scope= of the 401 challenge).
var defaultScopes = []string{"org:read", "project:read", "team:read", "event:read"}

// hosted is one `sentry-mcp serve --http` process.
type hosted struct {
	URL    string // the MCP endpoint, http://127.0.0.1:PORT/mcp
	Public string // its origin, http://127.0.0.1:PORT
	// Secrets the server was given; none may appear in its logs.
	secrets []string
	stderr  *lockedBuffer
	// kill ends the process with SIGKILL and waits for it to be gone
	// (the test's cleanup then expects no clean exit).
	kill func()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// servingURL is the url= of the line `serve --http` logs once it listens.
var servingURL = regexp.MustCompile(`msg="serving MCP over HTTP".*\burl=(http://[^\s"]+)`)

// startHostedOn runs `serve --http` against fake, as an operator would:
// an upstream OAuth application registered on the fake with the redirect
// URI <public>/oauth/callback, a client secret and an encryption key in
// the environment. extra are more flags (e.g. --scopes).
func startHostedOn(t *testing.T, fake *sentrytest.Server, extra ...string) *hosted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	clientID, secret, key := randomHex(16), randomHex(32), make([]byte, 32)
	rand.Read(key)
	encKey := base64.StdEncoding.EncodeToString(key)
	fake.AddOAuthApp(sentrytest.OAuthApp{
		ClientID:     clientID,
		ClientSecret: secret,
		RedirectURIs: []string{"http://" + addr + "/oauth/callback"},
	})
	env := []string{
		"SENTRY_CLIENT_ID=" + clientID,
		"SENTRY_CLIENT_SECRET=" + secret,
		"SENTRY_MCP_ENCRYPTION_KEY=" + encKey,
	}
	args := append([]string{"--http", addr, "--url", fake.URL}, extra...)
	h := startHosted(t, args, env)
	h.secrets = append(h.secrets, secret, encKey)
	if want := "http://" + addr + "/mcp"; h.URL != want {
		t.Fatalf("serving at %s, want %s", h.URL, want)
	}
	return h
}

func startHosted(t *testing.T, args, env []string) *hosted {
	t.Helper()
	dir := t.TempDir()
	args = append([]string{"serve"}, args...)
	if !slices.Contains(args, "--database") {
		args = append(args, "--database", filepath.Join(dir, "db", "hosted.db"))
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
	}, env...)
	h := &hosted{stderr: &lockedBuffer{}}
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(h.stderr, pw)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error // cmd.Wait's result, once gone is closed
	gone := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		pw.Close()
		close(gone)
	}()
	var killed atomic.Bool
	h.kill = func() {
		killed.Store(true)
		cmd.Process.Signal(syscall.SIGKILL)
		<-gone
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			if m := servingURL.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() {
		if killed.Load() {
			<-gone
			if t.Failed() {
				t.Logf("serve --http (killed) stderr:\n%s", h.stderr)
			}
			return
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-gone:
			if waitErr != nil {
				t.Errorf("serve --http exited with %v after SIGTERM", waitErr)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("serve --http did not exit within 10s of SIGTERM")
			cmd.Process.Kill()
			<-gone
		}
		if t.Failed() {
			t.Logf("serve --http stderr:\n%s", h.stderr)
		}
	})
	select {
	case u := <-found:
		h.URL = u
	case <-gone:
		t.Fatalf("serve %v exited (%v) before serving:\n%s", args, waitErr, h.stderr)
	case <-time.After(15 * time.Second):
		t.Fatalf("serve %v: no %q line within 15s:\n%s", args, "serving MCP over HTTP", h.stderr)
	}
	u, err := url.Parse(h.URL)
	if err != nil || u.Path != "/mcp" {
		t.Fatalf("serving URL %q is not http://HOST:PORT/mcp", h.URL)
	}
	h.Public = u.Scheme + "://" + u.Host
	return h
}

// noSecretsLogged fails if the server's stderr carries any of secrets
// (tokens, codes, client secrets, keys).
func (h *hosted) noSecretsLogged(t *testing.T, secrets ...string) {
	t.Helper()
	logs := h.stderr.String()
	for _, s := range append(slices.Clone(h.secrets), secrets...) {
		if len(s) >= 8 && strings.Contains(logs, s) {
			t.Errorf("the server's log contains a secret (%d characters, starting %.4s…)", len(s), s)
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ---------------------------------------------------------------------------
// The browser: a user agent with cookies that walks the consent page, the
// fake Sentry's authorize step and the callback by hand, stopping at the
// client's redirect URI.

// hostJar keeps cookies per host:port, as separate origins (net/http's
// cookiejar ignores ports, so the MCP server and the fake, both on
// 127.0.0.1, would share cookies).
type hostJar struct {
	mu   sync.Mutex
	jars map[string]*cookiejar.Jar
}

func (j *hostJar) jar(u *url.URL) *cookiejar.Jar {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.jars == nil {
		j.jars = map[string]*cookiejar.Jar{}
	}
	jar := j.jars[u.Host]
	if jar == nil {
		jar, _ = cookiejar.New(nil)
		j.jars[u.Host] = jar
	}
	return jar
}

func (j *hostJar) SetCookies(u *url.URL, cookies []*http.Cookie) { j.jar(u).SetCookies(u, cookies) }
func (j *hostJar) Cookies(u *url.URL) []*http.Cookie             { return j.jar(u).Cookies(u) }

// browser is one person's user agent.
type browser struct {
	hc          *http.Client
	public      string // the MCP server's origin
	sentry      string // the fake Sentry's base URL
	redirectURI string // the client's; the browser stops there
	deny        bool   // click deny instead of approve

	mu       sync.Mutex
	signIns  int
	consents []string     // consent page bodies, in order
	upstream []url.Values // query of each redirect to Sentry's /oauth/authorize/
	results  []string     // codes handed to the client
	last     url.Values   // what the client's redirect URI last received
}

func newBrowser(h *hosted, sentryURL, redirectURI string) *browser {
	return &browser{
		hc: &http.Client{
			Jar:           &hostJar{},
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		public:      h.Public,
		sentry:      sentryURL,
		redirectURI: redirectURI,
	}
}

// seen is a copy of what the browser went through so far.
func (b *browser) seen() (signIns int, consents []string, upstream []url.Values) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.signIns, slices.Clone(b.consents), slices.Clone(b.upstream)
}

// lastRedirect is what the client's redirect URI last received.
func (b *browser) lastRedirect() url.Values {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// codes is every authorization code the browser handed to the client.
func (b *browser) codes() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.results)
}

// signInAs makes the fake Sentry see this browser as the user of session
// (from sentrytest.Server.AddUser).
func (b *browser) signInAs(session string) {
	u, _ := url.Parse(b.sentry)
	b.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "sentrysid", Value: session, Path: "/"}})
}

// consentForm is the consent page's approval form.
type consentForm struct {
	action  string
	fields  url.Values
	buttons map[string]bool // values of <button name="decision">
}

var (
	formTag   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputTag  = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	buttonTag = regexp.MustCompile(`(?is)<button\b([^>]*)>`)
	attrRE    = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2] + a[3])
	}
	return m
}

// parseConsent finds the form that posts to /oauth/authorize.
func parseConsent(page string) (*consentForm, error) {
	for _, f := range formTag.FindAllStringSubmatch(page, -1) {
		fa := attrs(f[1])
		if !strings.EqualFold(fa["method"], "post") {
			continue
		}
		cf := &consentForm{action: fa["action"], fields: url.Values{}, buttons: map[string]bool{}}
		for _, in := range inputTag.FindAllStringSubmatch(f[2], -1) {
			ia := attrs(in[1])
			if strings.EqualFold(ia["type"], "hidden") && ia["name"] != "" {
				cf.fields.Add(ia["name"], ia["value"])
			}
		}
		for _, bt := range buttonTag.FindAllStringSubmatch(f[2], -1) {
			ba := attrs(bt[1])
			if ba["name"] == "decision" {
				cf.buttons[ba["value"]] = true
			}
		}
		if cf.buttons["approve"] {
			return cf, nil
		}
	}
	return nil, errors.New(`no <form method="post"> with <button name="decision" value="approve"> on the consent page`)
}

// get fetches u without following redirects.
func (b *browser) get(ctx context.Context, u string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	return b.do(req)
}

func (b *browser) do(req *http.Request) (*http.Response, string, error) {
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(body), err
}

// redirect checks resp is a redirect to a URL starting with prefix and
// returns it.
func redirect(resp *http.Response, body, step, prefix string) (*url.URL, error) {
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("%s: status %d, want a 302/303 redirect (Location %q): %.500s", step, resp.StatusCode, loc, body)
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("%s: bad Location %q: %v", step, loc, err)
	}
	if prefix != "" && !strings.HasPrefix(u.String(), prefix) {
		return nil, fmt.Errorf("%s: redirected to %s, want %s…", step, u.Redacted(), prefix)
	}
	return u, nil
}

// approve follows authURL (the MCP server's /oauth/authorize) through
// consent, Sentry and the callback, as a person clicking approve (or deny,
// when b.deny). It is the Go SDK's AuthorizationCodeFetcher.
func (b *browser) approve(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
	decision := "approve"
	if b.deny {
		decision = "deny"
	}
	q, err := b.walk(ctx, args.URL, decision)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.last = q
	b.mu.Unlock()
	if e := q.Get("error"); e != "" {
		return nil, fmt.Errorf("the authorization server answered error=%s (%s)", e, q.Get("error_description"))
	}
	b.mu.Lock()
	b.results = append(b.results, q.Get("code"))
	b.mu.Unlock()
	return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
}

// walk does the whole dance with decision (approve or deny) and returns
// the query the client's redirect URI received.
func (b *browser) walk(ctx context.Context, authURL, decision string) (url.Values, error) {
	if !strings.HasPrefix(authURL, b.public+"/oauth/authorize?") {
		return nil, fmt.Errorf("authorization URL %q is not %s/oauth/authorize?…", authURL, b.public)
	}
	// 1. The consent page.
	resp, page, err := b.get(ctx, authURL)
	if err != nil {
		return nil, fmt.Errorf("consent page: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		return nil, fmt.Errorf("consent page: status %d, Content-Type %q, want 200 text/html: %.500s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		return nil, fmt.Errorf("consent page: Content-Security-Policy %q lacks frame-ancestors 'none'", csp)
	}
	b.mu.Lock()
	b.consents = append(b.consents, page)
	b.mu.Unlock()
	form, err := parseConsent(page)
	if err != nil {
		return nil, err
	}
	if form.fields.Get("csrf_token") == "" {
		return nil, errors.New("consent form has no hidden csrf_token")
	}
	if !form.buttons["deny"] {
		return nil, errors.New(`consent form has no <button name="decision" value="deny">`)
	}
	action, err := resp.Request.URL.Parse(form.action)
	if err != nil || action.String() != b.public+"/oauth/authorize" {
		return nil, fmt.Errorf("consent form posts to %q, want %s/oauth/authorize", form.action, b.public)
	}

	// 2. Submit it, with the cookie the page set, as a browser does.
	fields := form.fields
	fields.Set("decision", decision)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(fields.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.public)
	resp, body, err := b.do(req)
	if err != nil {
		return nil, fmt.Errorf("consent POST: %w", err)
	}
	if decision == "deny" {
		next, err := redirect(resp, body, "consent POST (deny)", b.redirectURI)
		if err != nil {
			return nil, err
		}
		return next.Query(), nil
	}
	next, err := redirect(resp, body, "consent POST", b.sentry)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(next.Path, "/oauth/authorize/") {
		return nil, fmt.Errorf("consent POST redirected to %s, want Sentry's /oauth/authorize/", next.Redacted())
	}
	b.mu.Lock()
	b.upstream = append(b.upstream, next.Query())
	b.mu.Unlock()

	// 3. Sentry's authorize (the fake approves at once) back to our callback.
	resp, body, err = b.get(ctx, next.String())
	if err != nil {
		return nil, fmt.Errorf("Sentry authorize: %w", err)
	}
	next, err = redirect(resp, body, "Sentry authorize", b.public+"/oauth/callback?")
	if err != nil {
		return nil, err
	}

	// 4. The callback, to the client's redirect URI.
	resp, body, err = b.get(ctx, next.String())
	if err != nil {
		return nil, fmt.Errorf("callback: %w", err)
	}
	next, err = redirect(resp, body, "callback", b.redirectURI)
	if err != nil {
		return nil, err
	}
	if next.Scheme+"://"+next.Host+next.Path != b.redirectURI {
		return nil, fmt.Errorf("callback redirected to %s, want %s", next.Redacted(), b.redirectURI)
	}
	b.mu.Lock()
	b.signIns++
	b.mu.Unlock()
	return next.Query(), nil
}

// ---------------------------------------------------------------------------
// The Go SDK client's side.

// tokens is the oauth2.TokenSource the Go SDK's AuthorizationCodeHandler
// uses (through its NewTokenSource hook): the oauth2 library's refresh,
// plus a way to force one and a record of every token issued.
type tokens struct {
	mu     sync.Mutex
	ctx    context.Context
	cfg    *oauth2.Config
	cur    *oauth2.Token
	issued []*oauth2.Token
}

func (s *tokens) newTokenSource(ctx context.Context, cfg *oauth2.Config, tok *oauth2.Token) (oauth2.TokenSource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctx, s.cfg, s.cur = ctx, cfg, tok
	s.issued = append(s.issued, tok)
	return s, nil
}

// Token is the current token, refreshed when it has expired.
func (s *tokens) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.Valid() {
		return s.cur, nil
	}
	return s.refreshLocked()
}

// refresh forces a refresh (grant_type=refresh_token) through the oauth2
// configuration the SDK built from the server's metadata.
func (s *tokens) refresh() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshLocked()
}

func (s *tokens) refreshLocked() (*oauth2.Token, error) {
	tok, err := s.cfg.TokenSource(s.ctx, &oauth2.Token{RefreshToken: s.cur.RefreshToken}).Token()
	if err != nil {
		return nil, err
	}
	s.cur = tok
	s.issued = append(s.issued, tok)
	return tok, nil
}

func (s *tokens) current() *oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *tokens) clientID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.ClientID
}

// all is every access and refresh token issued so far.
func (s *tokens) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, t := range s.issued {
		out = append(out, t.AccessToken)
		if t.RefreshToken != "" {
			out = append(out, t.RefreshToken)
		}
	}
	return out
}

// recorder is an http.RoundTripper that notes each request the client
// sends (method, path, Authorization) and its status.
type recorder struct {
	mu   sync.Mutex
	log  []sent
	next http.RoundTripper
}

type sent struct {
	Method, Path, Authorization string
	Status                      int
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	s := sent{Method: req.Method, Path: req.URL.Path, Authorization: req.Header.Get("Authorization")}
	if err == nil {
		s.Status = resp.StatusCode
	}
	r.mu.Lock()
	r.log = append(r.log, s)
	r.mu.Unlock()
	return resp, err
}

func (r *recorder) sent() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

// lastMCP is the last request to the MCP endpoint.
func (r *recorder) lastMCP() sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.log) - 1; i >= 0; i-- {
		if r.log[i].Path == "/mcp" || strings.HasPrefix(r.log[i].Path, "/mcp/") {
			return r.log[i]
		}
	}
	return sent{}
}

// sdkClient is one MCP client application: the Go SDK's auth handler with
// dynamic registration, the browser as its AuthorizationCodeFetcher, and
// the Streamable HTTP transport.
type sdkClient struct {
	handler *auth.AuthorizationCodeHandler
	tokens  *tokens
	rec     *recorder
	hc      *http.Client
	browser *browser
}

// newSDKClient builds the client; scopes, when set, replaces the scopes
// discovered from the 401 challenge (the `scope` parameter it sends).
func newSDKClient(t *testing.T, b *browser, name string, scopes []string) *sdkClient {
	t.Helper()
	c := &sdkClient{tokens: &tokens{}, rec: &recorder{next: http.DefaultTransport}, browser: b}
	c.hc = &http.Client{Transport: c.rec, Timeout: 30 * time.Second}
	cfg := &auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{
				RedirectURIs:            []string{b.redirectURI},
				ClientName:              name,
				GrantTypes:              []string{"authorization_code", "refresh_token"},
				ResponseTypes:           []string{"code"},
				TokenEndpointAuthMethod: "none",
			},
		},
		AuthorizationCodeFetcher: b.approve,
		Client:                   c.hc,
		NewTokenSource:           c.tokens.newTokenSource,
	}
	if scopes != nil {
		cfg.ScopeFilter = func([]string) []string { return slices.Clone(scopes) }
	}
	h, err := auth.NewAuthorizationCodeHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.handler = h
	return c
}

// ---------------------------------------------------------------------------
// Raw HTTP, for what the SDK does not do (revocation) or must not be
// trusted to check (the 401).

// postForm POSTs values to u and decodes a JSON answer (nil if none).
func postForm(t *testing.T, u string, values url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(u, values)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

// rawMCP POSTs one JSON-RPC request to endpoint with bearer (none if "").
func rawMCP(t *testing.T, endpoint, bearer string) *http.Response {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e-raw","version":"1"}}}`
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// wantChallenge checks resp is a 401 with the contract's Bearer challenge:
// resource_metadata pointing at the protected resource metadata of /mcp and
// scope the default scopes (an error= parameter may come with it).
func wantChallenge(t *testing.T, h *hosted, resp *http.Response, what string) {
	t.Helper()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("%s: status %d, want 401", what, resp.StatusCode)
	}
	header := resp.Header.Values("WWW-Authenticate")
	cs, err := oauthex.ParseWWWAuthenticate(header)
	if err != nil || len(cs) != 1 || cs[0].Scheme != "bearer" ||
		cs[0].Params["resource_metadata"] != h.Public+"/.well-known/oauth-protected-resource/mcp" ||
		cs[0].Params["scope"] != strings.Join(defaultScopes, " ") {
		t.Errorf("%s: WWW-Authenticate = %q, want Bearer resource_metadata=\"%s/.well-known/oauth-protected-resource/mcp\", scope=\"%s\"",
			what, header, h.Public, strings.Join(defaultScopes, " "))
	}
}

// getJSON fetches u and decodes its JSON object.
func getJSON(t *testing.T, u string) map[string]any {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&m) != nil {
		t.Fatalf("GET %s: status %d, want 200 with a JSON object", u, resp.StatusCode)
	}
	return m
}

// toolScopes is each tool's Sentry scopes (any one enables it), from
// `sentry-mcp tools --demo --json`.
var toolScopes = sync.OnceValues(func() (map[string][]string, error) {
	out, err := exec.Command(binary, "tools", "--demo", "--json").Output()
	if err != nil {
		return nil, err
	}
	var list struct {
		Tools []struct {
			Name   string
			Scopes []string
		}
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, err
	}
	m := map[string][]string{}
	for _, t := range list.Tools {
		m[t.Name] = t.Scopes
	}
	return m, nil
})

// impliedBy is what each Sentry scope implies besides itself (Sentry's
// scope hierarchy, as far as these tests use it).
var impliedBy = map[string][]string{
	"event:write":  {"event:read"},
	"member:write": {"member:read"},
	"org:write":    {"org:read"},
}

// toolsFor is the sorted names of the tools a grant of scopes enables.
func toolsFor(t *testing.T, scopes []string) []string {
	t.Helper()
	m, err := toolScopes()
	if err != nil {
		t.Fatalf("sentry-mcp tools --demo --json: %v", err)
	}
	have := map[string]bool{}
	for _, s := range scopes {
		have[s] = true
		for _, i := range impliedBy[s] {
			have[i] = true
		}
	}
	var out []string
	for name, need := range m {
		if len(need) == 0 || slices.ContainsFunc(need, func(s string) bool { return have[s] }) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
