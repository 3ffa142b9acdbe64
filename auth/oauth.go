package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// DefaultLoginScopes is what `auth login` asks for unless told otherwise:
// every read-only tool except list_members. The writes (update_issue,
// resolve_issue, add_issue_comment) need event:write, list_members
// member:read: the "triage" preset.
var DefaultLoginScopes = ScopePresets["read"]

// ScopePresets are the names `auth login --scopes` accepts for a set of
// scopes.
var ScopePresets = map[string][]string{
	"read":   {"org:read", "project:read", "team:read", "event:read"},
	"triage": {"org:read", "project:read", "team:read", "event:read", "event:write", "member:read"},
}

// OAuthClient is a Sentry OAuth application and the Sentry it signs in to.
type OAuthClient struct {
	BaseURL      string // normalised Sentry base URL, e.g. https://sentry.io
	ClientID     string
	ClientSecret string // Sentry requires it for code exchange and refresh
	Scopes       []string
	HTTPClient   *http.Client // nil = a client with a 30 s timeout
}

func (c OAuthClient) config(redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Scopes:       c.Scopes,
		RedirectURL:  redirect,
		Endpoint: oauth2.Endpoint{
			AuthURL:       c.BaseURL + "/oauth/authorize/",
			TokenURL:      c.BaseURL + "/oauth/token/",
			DeviceAuthURL: c.BaseURL + "/oauth/device/code/",
			// Sentry takes the client credentials in the form; auto-detection
			// would cost a failing request on every fresh process.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// ctx carries the HTTP client for x/oauth2. It never follows redirects: a
// redirected POST to the token endpoint would resend the client secret
// and tokens to wherever it points.
func (c OAuthClient) ctx(ctx context.Context) context.Context {
	hc := &http.Client{Timeout: 30 * time.Second}
	if c.HTTPClient != nil {
		copied := *c.HTTPClient
		hc = &copied
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
}

// DefaultTokenLifetime is assumed for a token response whose expires_in is
// missing, zero, negative or longer than MaxTokenLifetime: Sentry's access
// tokens live 30 days (ApiToken DEFAULT_EXPIRATION). Assuming that keeps
// the refresh schedule sane; if the token dies earlier, the 401 refresh
// catches it.
const DefaultTokenLifetime = 30 * 24 * time.Hour

// MaxTokenLifetime is the longest expires_in believed (a year).
const MaxTokenLifetime = 366 * 24 * time.Hour

// tokenExpiry is the sane expiry of a token response received at now.
func tokenExpiry(tok *oauth2.Token, now time.Time) time.Time {
	var life time.Duration
	switch {
	case tok.ExpiresIn != 0:
		if tok.ExpiresIn > 0 && tok.ExpiresIn <= int64(MaxTokenLifetime/time.Second) {
			life = time.Duration(tok.ExpiresIn) * time.Second
		}
	case !tok.Expiry.IsZero():
		life = tok.Expiry.Sub(now)
	}
	if life <= 0 || life > MaxTokenLifetime {
		life = DefaultTokenLifetime
	}
	return now.Add(life)
}

// errUnusableToken: a token response carried a token we cannot send.
var errUnusableToken = errors.New("Sentry sent a token that contains blanks or control characters, which cannot be used")

// usableToken reports whether s can be sent in an Authorization header:
// visible ASCII only (Sentry's tokens are hex or sntry*_ base64).
func usableToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// checkTokens refuses a token response whose access token (required) or
// refresh token (optional) is unusable.
func checkTokens(tok *oauth2.Token) error {
	if tok.AccessToken == "" || !usableToken(tok.AccessToken) || !usableToken(tok.RefreshToken) {
		return errUnusableToken
	}
	return nil
}

// credential turns a token response into what we store.
func (c OAuthClient) credential(tok *oauth2.Token) (*Credential, error) {
	if err := checkTokens(tok); err != nil {
		return nil, fmt.Errorf("signing in failed: %w; run `sentry-mcp auth login` again", err)
	}
	now := time.Now()
	cred := &Credential{
		Host:         c.BaseURL,
		AccessToken:  tok.AccessToken,
		RefreshToken: tok.RefreshToken,
		TokenType:    tok.TokenType,
		Expiry:       tokenExpiry(tok, now),
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Kind:         KindOAuth,
		Scopes:       tokenScopes(tok),
		Obtained:     now,
	}
	if c.Scopes != nil {
		cred.RequestedScopes = slices.Clone(c.Scopes)
	}
	if cred.Scopes == nil {
		cred.Scopes = Expand(c.Scopes)
	}
	if u, ok := tok.Extra("user").(map[string]any); ok {
		cred.User = &CredentialUser{ID: fmt.Sprint(u["id"]), Name: str(u["name"]), Email: str(u["email"])}
	}
	return cred, nil
}

// tokenScopes reads the granted scopes from a token response's "scope"
// (space-separated); nil when absent.
func tokenScopes(tok *oauth2.Token) []string {
	s, ok := tok.Extra("scope").(string)
	if !ok {
		return nil
	}
	return strings.Fields(s)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// LoginOptions steer the browser sign-in.
type LoginOptions struct {
	Port    int                    // loopback port for the redirect; 0 = any free port
	Open    func(url string) error // opens the authorize URL (the browser); may be nil
	Notify  io.Writer              // where the URL and progress are printed (stderr)
	Timeout time.Duration          // how long to wait for the browser; 0 = 5 minutes
}

// LoginBrowser signs in with the authorization code flow and PKCE (S256)
// through a loopback redirect to http://127.0.0.1:PORT/callback.
func (c OAuthClient) LoginBrowser(ctx context.Context, opt LoginOptions) (*Credential, error) {
	if opt.Timeout == 0 {
		opt.Timeout = 5 * time.Minute
	}
	if opt.Notify == nil {
		opt.Notify = io.Discard
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(opt.Port))
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the sign-in redirect on 127.0.0.1:%d: %w", opt.Port, err)
	}
	defer ln.Close()
	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", ln.Addr().(*net.TCPAddr).Port)
	conf := c.config(redirect)
	verifier := oauth2.GenerateVerifier()
	state := randomString()
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))

	type result struct {
		code string
		err  error
	}
	results := make(chan result, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("state") != state {
			http.Error(w, "sentry-mcp: this sign-in link is not the one we started (state mismatch).", http.StatusBadRequest)
			return // not ours: keep waiting for the real redirect
		}
		var res result
		if e := q.Get("error"); e != "" {
			res.err = authorizeError(e, c.Scopes)
		} else if res.code = q.Get("code"); res.code == "" {
			res.err = errors.New("Sentry redirected back without a code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if res.err != nil {
			fmt.Fprintf(w, "<!doctype html><title>sentry-mcp</title><p>Sign-in failed: %s</p>", html.EscapeString(res.err.Error()))
		} else {
			fmt.Fprint(w, "<!doctype html><title>sentry-mcp</title><p>Signed in. You can close this tab and return to the terminal.</p>")
		}
		select {
		case results <- res:
		default:
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	if err := c.preflight(ctx, authURL); err != nil {
		return nil, err
	}
	fmt.Fprintf(opt.Notify, "Open this URL in a browser to sign in to %s:\n\n  %s\n\n", c.BaseURL, authURL)
	if opt.Open != nil {
		if err := opt.Open(authURL); err != nil {
			fmt.Fprintf(opt.Notify, "(could not open a browser: %v; open the URL yourself)\n", err)
		}
	}
	fmt.Fprintf(opt.Notify, "Waiting for the browser (up to %s)...\n", opt.Timeout)

	timer := time.NewTimer(opt.Timeout)
	defer timer.Stop()
	var res result
	select {
	case res = <-results:
	case <-timer.C:
		return nil, fmt.Errorf("no sign-in arrived within %s; run `sentry-mcp auth login` again (or `auth login --device` on a machine without a browser)", opt.Timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if res.err != nil {
		return nil, res.err
	}
	tok, err := conf.Exchange(c.ctx(ctx), res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, tokenError("exchanging the sign-in code", err, c.Scopes)
	}
	return c.credential(tok)
}

// AuthCodeURL is Sentry's authorize URL for a web server sign-in (hosted
// mode): the app's redirect URI, our state and the S256 challenge of
// verifier, asking for c.Scopes.
func (c OAuthClient) AuthCodeURL(redirect, state, verifier string) string {
	return c.config(redirect).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// Exchange trades the code Sentry redirected back with (AuthCodeURL) for a
// credential. Errors never include the code, the verifier or the secret.
func (c OAuthClient) Exchange(ctx context.Context, code, redirect, verifier string) (*Credential, error) {
	tok, err := c.config(redirect).Exchange(c.ctx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, tokenError("exchanging Sentry's sign-in code", err, c.Scopes)
	}
	return c.credential(tok)
}

// preflight asks the authorize page once, without a browser session and
// without following redirects, so that an unknown client id or an
// unregistered redirect URI fails at once with a clear message instead of
// leaving the user at an error page while we wait. Any other outcome
// (a redirect to log in, a consent page, a network error) is left to the
// browser.
func (c OAuthClient) preflight(ctx context.Context, authURL string) error {
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if c.HTTPClient != nil && c.HTTPClient.Transport != nil {
		hc.Transport = c.HTTPClient.Transport
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case strings.Contains(string(body), "client_id"):
		return fmt.Errorf("Sentry does not know the OAuth client id %q: check SENTRY_CLIENT_ID / --client-id (Sentry: Settings > Account > API > Applications)", c.ClientID)
	case strings.Contains(string(body), "redirect_uri"):
		return errors.New("the OAuth application does not allow our redirect URI: add http://127.0.0.1/callback to its redirect URIs in Sentry (any port is accepted for loopback)")
	}
	return nil
}

// LoginDeviceWith signs in with the device authorization grant (RFC
// 8628), for SSH and headless machines. Notify receives the code and
// the page to enter it at; Timeout (0 = 5 minutes, as the browser flow)
// bounds the wait when Sentry gives the device code no lifetime, otherwise
// the code's expiry does. Port and Open are not used. A verification page
// on another host than BaseURL is refused: entering the code there would
// hand the sign-in to whoever runs it.
func (c OAuthClient) LoginDeviceWith(ctx context.Context, opt LoginOptions) (*Credential, error) {
	if opt.Timeout == 0 {
		opt.Timeout = 5 * time.Minute
	}
	notify := opt.Notify
	if notify == nil {
		notify = io.Discard
	}
	conf := c.config("")
	da, err := conf.DeviceAuth(c.ctx(ctx))
	if err != nil {
		return nil, tokenError("starting the device sign-in", err, c.Scopes)
	}
	for i, u := range []string{da.VerificationURI, da.VerificationURIComplete} {
		if i == 1 && u == "" {
			continue // optional
		}
		if err := c.sameHost(u); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(notify, "To sign in to %s, open\n\n  %s\n\nand enter the code  %s\n", render.Line(c.BaseURL, 0), render.Line(da.VerificationURI, 0), render.Line(da.UserCode, 64))
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(notify, "\n(or open %s)\n", render.Line(da.VerificationURIComplete, 0))
	}
	fmt.Fprintln(notify, "Waiting for approval...")
	deadline := da.Expiry
	if deadline.IsZero() {
		deadline = time.Now().Add(opt.Timeout)
	}
	pctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	tok, err := conf.DeviceAccessToken(c.ctx(pctx), da)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, errors.New("the device code expired before it was approved; run `sentry-mcp auth login --device` again")
		}
		return nil, tokenError("waiting for device approval", err, c.Scopes)
	}
	return c.credential(tok)
}

// sameHost refuses a URL that is not on BaseURL's scheme and host.
func (c OAuthClient) sameHost(raw string) error {
	base, err := url.Parse(c.BaseURL)
	u, uerr := url.Parse(raw)
	if err != nil || uerr != nil || u.Host == "" || !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
		return fmt.Errorf("refusing the device sign-in: Sentry named a verification page that is not on %s (%s); check --url", c.BaseURL, render.Line(raw, 200))
	}
	return nil
}

// refresh trades cred's refresh token for new tokens, dated by now (the
// token source's clock).
func (c OAuthClient) refresh(ctx context.Context, cred *Credential, clock func() time.Time) (*Credential, error) {
	conf := c.config("")
	old := &oauth2.Token{RefreshToken: cred.RefreshToken, Expiry: time.Unix(1, 0)}
	tok, err := conf.TokenSource(c.ctx(ctx), old).Token()
	if err != nil {
		return nil, err
	}
	if err := checkTokens(tok); err != nil {
		return nil, err
	}
	now := clock()
	next := *cred
	next.AccessToken = tok.AccessToken
	next.TokenType = tok.TokenType
	next.Expiry = tokenExpiry(tok, now)
	next.Obtained = now
	next.RefreshRefused = time.Time{}
	if tok.RefreshToken != "" { // Sentry rotates; a provider that reuses omits it
		next.RefreshToken = tok.RefreshToken
	}
	if s := tokenScopes(tok); s != nil {
		next.Scopes = s
	}
	return &next, nil
}

// authorizeError words an error the authorize page redirected back with.
func authorizeError(code string, scopes []string) error {
	switch code {
	case "access_denied":
		return errors.New("sign-in was denied in the browser; run `sentry-mcp auth login` again and approve access")
	case "invalid_scope":
		return fmt.Errorf("Sentry refused the requested scopes (%s): the OAuth app's allowed scopes in Sentry must include every scope requested; adjust them there or pass fewer with --scopes", strings.Join(scopes, " "))
	case "invalid_request":
		return errors.New("Sentry rejected the sign-in request (invalid_request): check that the app's redirect URI allows http://127.0.0.1/callback on any port")
	default:
		return fmt.Errorf("Sentry refused the sign-in: %s", code)
	}
}

// tokenError words a token-endpoint failure. It never includes tokens or
// the client secret.
func tokenError(doing string, err error, scopes []string) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("%s failed: %w", doing, err)
	}
	switch re.ErrorCode {
	case "invalid_client":
		return errors.New("Sentry did not accept the OAuth client: check SENTRY_CLIENT_ID and SENTRY_CLIENT_SECRET (Sentry: Settings > Account > API > Applications > your application)")
	case "invalid_scope":
		return authorizeError("invalid_scope", scopes)
	case "access_denied":
		return authorizeError("access_denied", scopes)
	case "expired_token":
		return errors.New("the device code expired before it was approved; run `sentry-mcp auth login --device` again")
	case "invalid_grant":
		return fmt.Errorf("%s failed: Sentry rejected the grant (invalid_grant: expired, already used, or issued for another redirect URI); run `sentry-mcp auth login` again", doing)
	case "":
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return fmt.Errorf("%s failed: Sentry answered HTTP %d", doing, status)
	default:
		return fmt.Errorf("%s failed: Sentry answered %s", doing, re.ErrorCode)
	}
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
