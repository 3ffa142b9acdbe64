package sentrytest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	oaClientID = "c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2"
	oaSecret   = "sntrya_0123456789abcdef"
	oaRedirect = "https://app.example/callback"
	oaLoopback = "http://127.0.0.1/callback"
	// A verifier and its S256 challenge (RFC 7636 appendix B).
	oaVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	oaChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

var (
	hex64        = regexp.MustCompile(`^[0-9a-f]{64}$`)
	userCodeRe   = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)
	expiresAtRe  = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	noRedirect   = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	oauthBaseNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
)

// newOAuthServer starts a fake on a fixed clock with the test app and a
// second app ("other") registered.
func newOAuthServer(t *testing.T, opts Options) *Server {
	t.Helper()
	clock := &fixedClock{t: oauthBaseNow}
	opts.Now = clock.now
	s := newTestServer(t, nil, opts)
	s.AddOAuthApp(OAuthApp{ClientID: oaClientID, ClientSecret: oaSecret, RedirectURIs: []string{oaRedirect, oaLoopback}})
	s.AddOAuthApp(OAuthApp{ClientID: "other", ClientSecret: "other-secret", RedirectURIs: []string{"https://other.example/cb"}})
	return s
}

// send issues a request without following redirects.
func send(t *testing.T, method, u, body string, header ...string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

func postForm(t *testing.T, s *Server, path string, form url.Values, header ...string) resp {
	t.Helper()
	return send(t, http.MethodPost, s.URL+path, form.Encode(), header...)
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

func authorizeParams(kv ...string) url.Values {
	v := url.Values{"client_id": {oaClientID}, "response_type": {"code"}, "redirect_uri": {oaRedirect}, "state": {"st4te"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "-" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v
}

func authorize(t *testing.T, s *Server, params url.Values) resp {
	t.Helper()
	return send(t, http.MethodGet, s.URL+"/oauth/authorize/?"+params.Encode(), "")
}

// location parses the redirect of a 302.
func location(t *testing.T, r resp) *url.URL {
	t.Helper()
	if r.status != http.StatusFound {
		t.Fatalf("status %d, want 302 (body %s)", r.status, r.body)
	}
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// code runs /oauth/authorize/ and returns the code.
func code(t *testing.T, s *Server, kv ...string) string {
	t.Helper()
	u := location(t, authorize(t, s, authorizeParams(kv...)))
	c := u.Query().Get("code")
	if !hex64.MatchString(c) {
		t.Fatalf("code %q in %s", c, u)
	}
	return c
}

func exchangeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oaRedirect},
		"client_id": {oaClientID}, "client_secret": {oaSecret}}
}

// wantOAuthError checks status and a body equal to the example file
// oauth.error.<name>.json, and the invalid_client header.
func wantOAuthError(t *testing.T, r resp, status int, name string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	if got, want := r.json(t), exampleJSON(t, "oauth.error."+name+".json"); !reflect.DeepEqual(got, want) {
		t.Fatalf("body %s, want %v", r.body, want)
	}
	if h := r.header.Get("WWW-Authenticate"); (name == "invalid_client") != (h == `Basic realm="oauth"`) {
		t.Fatalf("WWW-Authenticate %q for %s", h, name)
	}
}

func tokenOK(t *testing.T, r resp) map[string]any {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d, want 200 (body %s)", r.status, r.body)
	}
	return r.object(t)
}

func TestOAuthAuthorize(t *testing.T) {
	s := newOAuthServer(t, Options{})
	s.AddOAuthApp(OAuthApp{ClientID: "single", ClientSecret: "x", RedirectURIs: []string{"https://single.example/cb?keep=1"}})
	s.AddOAuthApp(OAuthApp{ClientID: "inactive", ClientSecret: "x", RedirectURIs: []string{oaRedirect}, Inactive: true})
	s.AddOAuthApp(OAuthApp{ClientID: "limited", ClientSecret: "x", RedirectURIs: []string{oaRedirect}, AllowedScopes: []string{"org:read", "event:read"}})
	s.AddOAuthApp(OAuthApp{ClientID: "fixedport", ClientSecret: "x", RedirectURIs: []string{"http://localhost:3000/cb"}})
	long := strings.Repeat("a", 129)
	tests := []struct {
		name      string
		params    url.Values
		htmlError string // 400 page naming this parameter
		redirect  string // expected redirect base (scheme://host/path)
		query     map[string]string
	}{
		{"missing client_id", authorizeParams("client_id", "-"), "client_id", "", nil},
		{"unknown client_id", authorizeParams("client_id", "nope"), "client_id", "", nil},
		{"inactive app", authorizeParams("client_id", "inactive"), "client_id", "", nil},
		{"redirect_uri mismatch", authorizeParams("redirect_uri", "https://evil.example/callback"), "redirect_uri", "", nil},
		{"redirect_uri prefix is not enough", authorizeParams("redirect_uri", oaRedirect+"/more"), "redirect_uri", "", nil},
		{"trailing slash differs", authorizeParams("redirect_uri", oaRedirect+"/"), "redirect_uri", "", nil},
		{"redirect_uri omitted with two registered", authorizeParams("redirect_uri", "-"), "redirect_uri", "", nil},
		{"loopback other host", authorizeParams("redirect_uri", "http://127.0.0.2:5555/callback"), "redirect_uri", "", nil},
		{"loopback other path", authorizeParams("redirect_uri", "http://127.0.0.1:5555/callback/x"), "redirect_uri", "", nil},
		{"loopback scheme differs", authorizeParams("redirect_uri", "https://127.0.0.1:5555/callback"), "redirect_uri", "", nil},
		{"fixed loopback port must match", authorizeParams("client_id", "fixedport", "redirect_uri", "http://localhost:3001/cb"), "redirect_uri", "", nil},
		{"null byte", authorizeParams("redirect_uri", oaRedirect+"%00"), "redirect_uri", "", nil},
		{"unsupported response_type", authorizeParams("response_type", "id_token"), "client_id", "", nil},
		{"missing response_type", authorizeParams("response_type", "-"), "client_id", "", nil},

		{"approve echoes state", authorizeParams(), "", oaRedirect, map[string]string{"state": "st4te", "code": "*"}},
		{"no state, none echoed", authorizeParams("state", "-"), "", oaRedirect, map[string]string{"code": "*"}},
		{"loopback any port", authorizeParams("redirect_uri", "http://127.0.0.1:55321/callback"), "", "http://127.0.0.1:55321/callback", map[string]string{"code": "*", "state": "st4te"}},
		{"fixed loopback port", authorizeParams("client_id", "fixedport", "redirect_uri", "http://localhost:3000/cb"), "", "http://localhost:3000/cb", map[string]string{"code": "*", "state": "st4te"}},
		{"path normalisation", authorizeParams("redirect_uri", "https://app.example/x//../callback"), "", "https://app.example/x//../callback", map[string]string{"code": "*", "state": "st4te"}},
		{"redirect_uri omitted with one registered", authorizeParams("client_id", "single", "redirect_uri", "-"), "", "https://single.example/cb", map[string]string{"keep": "1", "code": "*", "state": "st4te"}},
		{"known scopes", authorizeParams("scope", "org:read event:write openid"), "", oaRedirect, map[string]string{"code": "*", "state": "st4te"}},
		{"PKCE S256", authorizeParams("code_challenge", oaChallenge, "code_challenge_method", "S256"), "", oaRedirect, map[string]string{"code": "*", "state": "st4te"}},

		{"unknown scope", authorizeParams("scope", "org:read foo:bar"), "", oaRedirect, map[string]string{"error": "invalid_scope", "state": "st4te"}},
		{"double space is an empty scope", authorizeParams("scope", "org:read  event:read"), "", oaRedirect, map[string]string{"error": "invalid_scope", "state": "st4te"}},
		{"scope above the app's", authorizeParams("client_id", "limited", "scope", "org:read org:write"), "", oaRedirect, map[string]string{"error": "invalid_scope", "state": "st4te"}},
		{"PKCE plain", authorizeParams("code_challenge", oaChallenge, "code_challenge_method", "plain"), "", oaRedirect, map[string]string{"error": "invalid_request", "state": "st4te"}},
		{"PKCE without method", authorizeParams("code_challenge", oaChallenge), "", oaRedirect, map[string]string{"error": "invalid_request", "state": "st4te"}},
		{"PKCE lower-case method", authorizeParams("code_challenge", oaChallenge, "code_challenge_method", "s256"), "", oaRedirect, map[string]string{"error": "invalid_request", "state": "st4te"}},
		{"PKCE short challenge", authorizeParams("code_challenge", oaChallenge[:42], "code_challenge_method", "S256"), "", oaRedirect, map[string]string{"error": "invalid_request", "state": "st4te"}},
		{"PKCE long challenge", authorizeParams("code_challenge", long, "code_challenge_method", "S256"), "", oaRedirect, map[string]string{"error": "invalid_request", "state": "st4te"}},
		{"PKCE bad characters", authorizeParams("code_challenge", oaChallenge[:43]+"+/=", "code_challenge_method", "S256"), "", oaRedirect, map[string]string{"error": "invalid_request", "state": "st4te"}},
		{"PKCE empty challenge", authorizeParams("code_challenge", "", "code_challenge_method", "S256"), "", oaRedirect, map[string]string{"error": "invalid_request", "state": "st4te"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := authorize(t, s, tt.params)
			if tt.htmlError != "" {
				if r.status != 400 || r.header.Get("Location") != "" {
					t.Fatalf("status %d, Location %q; want a 400 page", r.status, r.header.Get("Location"))
				}
				if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
					t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
				}
				want := "Missing or invalid " + tt.htmlError + " parameter."
				if !strings.Contains(string(r.body), want) {
					t.Fatalf("body lacks %q: %s", want, r.body)
				}
				return
			}
			u := location(t, r)
			if base := u.Scheme + "://" + u.Host + u.Path; base != tt.redirect {
				t.Fatalf("redirected to %s, want %s", u, tt.redirect)
			}
			q := u.Query()
			if len(q) != len(tt.query) {
				t.Fatalf("query %v, want keys of %v", q, tt.query)
			}
			for k, v := range tt.query {
				got := q.Get(k)
				if v == "*" && k == "code" {
					if !hex64.MatchString(got) {
						t.Fatalf("code %q", got)
					}
				} else if got != v {
					t.Fatalf("%s=%q, want %q (in %s)", k, got, v, u)
				}
			}
		})
	}
}

func TestOAuthConsentDenied(t *testing.T) {
	s := newOAuthServer(t, Options{})
	s.DenyConsent(true)
	u := location(t, authorize(t, s, authorizeParams()))
	if got := u.Query(); got.Get("error") != "access_denied" || got.Get("state") != "st4te" || got.Get("code") != "" {
		t.Fatalf("denied redirect %s", u)
	}
	// Validation errors still come first.
	if u := location(t, authorize(t, s, authorizeParams("scope", "nope"))); u.Query().Get("error") != "invalid_scope" {
		t.Fatalf("got %s", u)
	}
	s.DenyConsent(false)
	code(t, s)

	// The consent form's buttons (POST op=approve|deny).
	form := authorizeParams()
	form.Set("op", "deny")
	if u := location(t, postForm(t, s, "/oauth/authorize/", form)); u.Query().Get("error") != "access_denied" {
		t.Fatalf("POST op=deny redirected to %s", u)
	}
	form.Set("op", "approve")
	if u := location(t, postForm(t, s, "/oauth/authorize/", form)); !hex64.MatchString(u.Query().Get("code")) {
		t.Fatalf("POST op=approve redirected to %s", u)
	}
}

func TestOAuthImplicitGrant(t *testing.T) {
	s := newOAuthServer(t, Options{})
	u := location(t, authorize(t, s, authorizeParams("response_type", "token", "scope", "org:read")))
	if u.RawQuery != "" {
		t.Fatalf("implicit grant uses the query: %s", u)
	}
	f, err := url.ParseQuery(u.Fragment)
	if err != nil {
		t.Fatal(err)
	}
	if !hex64.MatchString(f.Get("access_token")) || f.Get("token_type") != "Bearer" || f.Get("scope") != "org:read" ||
		f.Get("expires_in") != "2592000" || f.Get("state") != "st4te" || f.Has("refresh_token") || !expiresAtRe.MatchString(f.Get("expires_at")) {
		t.Fatalf("fragment %v", f)
	}
	if r := do(t, s, "GET", "/api/0/organizations/", f.Get("access_token"), ""); r.status != 200 {
		t.Fatalf("implicit token on the API: %d %s", r.status, r.body)
	}
	// Errors go in the fragment too.
	u = location(t, authorize(t, s, authorizeParams("response_type", "token", "scope", "x")))
	if u.Fragment != "error=invalid_scope&state=st4te" {
		t.Fatalf("error redirect %s", u)
	}
}

func TestOAuthCodeExchange(t *testing.T) {
	s := newOAuthServer(t, Options{})
	with := func(f url.Values, kv ...string) url.Values {
		f = cloneValues(f)
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "-" {
				f.Del(kv[i])
			} else {
				f.Set(kv[i], kv[i+1])
			}
		}
		return f
	}
	pkce := []string{"code_challenge", oaChallenge, "code_challenge_method", "S256"}
	tests := []struct {
		name    string
		pkce    bool
		advance time.Duration
		form    func(code string) url.Values
		header  []string
		status  int
		err     string
		retry   bool // the code still works afterwards with a correct request
	}{
		{"body credentials", false, 0, exchangeForm, nil, 200, "", false},
		{"basic credentials", false, 0, func(c string) url.Values { return with(exchangeForm(c), "client_id", "-", "client_secret", "-") },
			[]string{"Authorization", basic(oaClientID, oaSecret)}, 200, "", false},
		{"basic and body", false, 0, exchangeForm, []string{"Authorization", basic(oaClientID, oaSecret)}, 400, "invalid_request", true},
		{"basic and body client_id only", false, 0, func(c string) url.Values { return with(exchangeForm(c), "client_secret", "-") },
			[]string{"Authorization", basic(oaClientID, oaSecret)}, 400, "invalid_request", true},
		{"secret missing", false, 0, func(c string) url.Values { return with(exchangeForm(c), "client_secret", "-") }, nil, 401, "invalid_client", true},
		{"client_id missing", false, 0, func(c string) url.Values { return with(exchangeForm(c), "client_id", "-") }, nil, 401, "invalid_client", true},
		{"wrong secret", false, 0, func(c string) url.Values { return with(exchangeForm(c), "client_secret", "nope") }, nil, 401, "invalid_client", true},
		{"wrong basic secret", false, 0, func(c string) url.Values { return with(exchangeForm(c), "client_id", "-", "client_secret", "-") },
			[]string{"Authorization", basic(oaClientID, "nope")}, 401, "invalid_client", true},
		{"malformed basic", false, 0, func(c string) url.Values { return with(exchangeForm(c), "client_id", "-", "client_secret", "-") },
			[]string{"Authorization", "Basic !!!"}, 401, "invalid_client", true},
		{"unknown client", false, 0, func(c string) url.Values { return with(exchangeForm(c), "client_id", "nope") }, nil, 401, "invalid_client", true},
		{"other app's credentials", false, 0, func(c string) url.Values {
			return with(exchangeForm(c), "client_id", "other", "client_secret", "other-secret")
		}, nil, 400, "invalid_grant", true},
		{"unknown code", false, 0, func(c string) url.Values { return with(exchangeForm(c), "code", strings.Repeat("0", 64)) }, nil, 400, "invalid_grant", true},
		{"redirect_uri missing", false, 0, func(c string) url.Values { return with(exchangeForm(c), "redirect_uri", "-") }, nil, 400, "invalid_grant", false},
		{"redirect_uri mismatch", false, 0, func(c string) url.Values { return with(exchangeForm(c), "redirect_uri", oaLoopback) }, nil, 400, "invalid_grant", false},
		{"PKCE verifier", true, 0, func(c string) url.Values { return with(exchangeForm(c), "code_verifier", oaVerifier) }, nil, 200, "", false},
		{"PKCE verifier missing", true, 0, exchangeForm, nil, 400, "invalid_grant", false},
		{"PKCE verifier wrong", true, 0, func(c string) url.Values { return with(exchangeForm(c), "code_verifier", strings.Repeat("x", 43)) }, nil, 400, "invalid_grant", false},
		{"PKCE verifier malformed", true, 0, func(c string) url.Values { return with(exchangeForm(c), "code_verifier", oaVerifier+"=") }, nil, 400, "invalid_grant", false},
		{"code at 9m59s", false, 10*time.Minute - time.Second, exchangeForm, nil, 200, "", false},
		{"code at 10 minutes", false, 10 * time.Minute, exchangeForm, nil, 400, "invalid_grant", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c string
			if tt.pkce {
				c = code(t, s, pkce...)
			} else {
				c = code(t, s)
			}
			s.Advance(tt.advance)
			r := postForm(t, s, "/oauth/token/", tt.form(c), tt.header...)
			if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control %q", cc)
			}
			if tt.err == "" {
				m := tokenOK(t, r)
				if !hex64.MatchString(m["access_token"].(string)) {
					t.Fatalf("body %s", r.body)
				}
			} else {
				wantOAuthError(t, r, tt.status, tt.err)
			}
			// Whatever happened, a correct request now either works (the
			// grant survived) or gets invalid_grant (used or deleted).
			again := exchangeForm(c)
			if tt.pkce {
				again.Set("code_verifier", oaVerifier)
			}
			r = postForm(t, s, "/oauth/token/", again)
			if tt.retry {
				tokenOK(t, r)
			} else {
				wantOAuthError(t, r, 400, "invalid_grant")
			}
		})
	}

	t.Run("inactive app", func(t *testing.T) {
		s := newOAuthServer(t, Options{})
		c := code(t, s)
		s.AddOAuthApp(OAuthApp{ClientID: oaClientID, ClientSecret: oaSecret, RedirectURIs: []string{oaRedirect}, Inactive: true})
		wantOAuthError(t, postForm(t, s, "/oauth/token/", exchangeForm(c)), 400, "invalid_grant")
		// Bad credentials are still invalid_client.
		wantOAuthError(t, postForm(t, s, "/oauth/token/", with(exchangeForm(c), "client_secret", "x")), 401, "invalid_client")
	})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func TestOAuthTokenWorksOnAPI(t *testing.T) {
	s := newOAuthServer(t, Options{TokenLifetime: time.Hour})
	c := code(t, s, "scope", "org:read event:write")
	r := postForm(t, s, "/oauth/token/", exchangeForm(c))
	m := tokenOK(t, r)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
	}
	if got, want := sortedKeys(m), sortedKeys(exampleJSON(t, "oauth.token.json").(map[string]any)); !reflect.DeepEqual(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	access, refresh := m["access_token"].(string), m["refresh_token"].(string)
	if !hex64.MatchString(access) || !hex64.MatchString(refresh) || access == refresh {
		t.Fatalf("tokens %q %q", access, refresh)
	}
	wantUser := map[string]any{"id": "1", "name": "Dana Reyes", "email": "dana@acme.example"}
	if m["token_type"] != "Bearer" || m["scope"] != "event:read event:write org:read" || m["expires_in"] != float64(3600) ||
		m["expires_at"] != "2026-05-01T13:00:00.000000Z" || !reflect.DeepEqual(m["user"], wantUser) {
		t.Fatalf("body %s", r.body)
	}
	if !expiresAtRe.MatchString(m["expires_at"].(string)) {
		t.Fatalf("expires_at %v", m["expires_at"])
	}
	if got := s.TokenGrants()["authorization_code"]; got != 1 {
		t.Fatalf("TokenGrants %v", s.TokenGrants())
	}

	idx := do(t, s, "GET", "/api/0/", access, "").object(t)
	if got := stringList(idx["auth"].(map[string]any)["scopes"]); !reflect.DeepEqual(got, []string{"event:read", "event:write", "org:read"}) {
		t.Fatalf("index scopes %v", got)
	}
	if !reflect.DeepEqual(s.TokenScopes(access), []string{"event:read", "event:write", "org:read"}) {
		t.Fatalf("TokenScopes %v", s.TokenScopes(access))
	}
	if r := do(t, s, "GET", "/api/0/organizations/", access, ""); r.status != 200 {
		t.Fatalf("orgs %d %s", r.status, r.body)
	}
	// No project:* or org:ci scope: releases are forbidden.
	wantDetail(t, do(t, s, "GET", "/api/0/organizations/acme/releases/", access, ""), 403, msgForbidden)
	// The refresh token is not a bearer token.
	wantDetail(t, do(t, s, "GET", "/api/0/", refresh, ""), 401, "Invalid token")

	s.Advance(time.Hour - time.Second)
	if r := do(t, s, "GET", "/api/0/organizations/", access, ""); r.status != 200 {
		t.Fatalf("before expiry %d", r.status)
	}
	s.Advance(time.Second)
	wantDetail(t, do(t, s, "GET", "/api/0/organizations/", access, ""), 401, "Token expired")

	// Deactivating the app kills its tokens.
	s2 := newOAuthServer(t, Options{})
	m = tokenOK(t, postForm(t, s2, "/oauth/token/", exchangeForm(code(t, s2, "scope", "org:read"))))
	s2.AddOAuthApp(OAuthApp{ClientID: oaClientID, ClientSecret: oaSecret, Inactive: true})
	wantDetail(t, do(t, s2, "GET", "/api/0/organizations/", m["access_token"].(string), ""), 401, "UserApplication inactive or deleted")
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {oaClientID}, "client_secret": {oaSecret}}
}

// mint runs the code flow and returns the token body.
func mint(t *testing.T, s *Server, scope string) map[string]any {
	t.Helper()
	return tokenOK(t, postForm(t, s, "/oauth/token/", exchangeForm(code(t, s, "scope", scope))))
}

func TestOAuthRefreshRotates(t *testing.T) {
	s := newOAuthServer(t, Options{TokenLifetime: time.Hour})
	first := mint(t, s, "project:write")
	a1, r1 := first["access_token"].(string), first["refresh_token"].(string)

	s.Advance(2 * time.Hour) // the access token has expired; refresh still works
	wantDetail(t, do(t, s, "GET", "/api/0/", a1, ""), 401, "Token expired")
	r := postForm(t, s, "/oauth/token/", refreshForm(r1))
	second := tokenOK(t, r)
	if got, want := sortedKeys(second), sortedKeys(exampleJSON(t, "oauth.refresh.json").(map[string]any)); !reflect.DeepEqual(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	a2, r2 := second["access_token"].(string), second["refresh_token"].(string)
	if !hex64.MatchString(a2) || !hex64.MatchString(r2) || a2 == a1 || r2 == r1 {
		t.Fatalf("not rotated: %s", r.body)
	}
	if second["scope"] != "project:read project:write" || second["expires_in"] != float64(3600) ||
		second["expires_at"] != "2026-05-01T15:00:00.000000Z" || second["token_type"] != "Bearer" {
		t.Fatalf("body %s", r.body)
	}
	wantDetail(t, do(t, s, "GET", "/api/0/", a1, ""), 401, "Invalid token")
	if got := stringList(do(t, s, "GET", "/api/0/", a2, "").object(t)["auth"].(map[string]any)["scopes"]); !reflect.DeepEqual(got, []string{"project:read", "project:write"}) {
		t.Fatalf("new token scopes %v", got)
	}
	wantOAuthError(t, postForm(t, s, "/oauth/token/", refreshForm(r1)), 400, "invalid_grant")

	// Basic credentials work for refresh too.
	f := refreshForm(r2)
	f.Del("client_id")
	f.Del("client_secret")
	third := tokenOK(t, postForm(t, s, "/oauth/token/", f, "Authorization", basic(oaClientID, oaSecret)))
	wantDetail(t, do(t, s, "GET", "/api/0/", a2, ""), 401, "Invalid token")
	if r := do(t, s, "GET", "/api/0/", third["access_token"].(string), ""); r.status != 200 {
		t.Fatalf("third token %d", r.status)
	}
	if got := s.TokenGrants(); !reflect.DeepEqual(got, map[string]int{"authorization_code": 1, "refresh_token": 2}) {
		t.Fatalf("TokenGrants %v", got)
	}

	r3 := third["refresh_token"].(string)
	tests := []struct {
		name   string
		form   url.Values
		status int
		err    string
	}{
		{"scope present", func() url.Values { f := refreshForm(r3); f.Set("scope", "org:read"); return f }(), 400, "invalid_request"},
		{"refresh_token missing", func() url.Values { f := refreshForm(r3); f.Del("refresh_token"); return f }(), 400, "invalid_request"},
		{"unknown refresh_token", refreshForm(strings.Repeat("a", 64)), 400, "invalid_grant"},
		{"access token as refresh token", refreshForm(third["access_token"].(string)), 400, "invalid_grant"},
		{"other app's client", func() url.Values {
			f := refreshForm(r3)
			f.Set("client_id", "other")
			f.Set("client_secret", "other-secret")
			return f
		}(), 400, "invalid_grant"},
		{"secret missing", func() url.Values { f := refreshForm(r3); f.Del("client_secret"); return f }(), 401, "invalid_client"},
		{"wrong secret", func() url.Values { f := refreshForm(r3); f.Set("client_secret", "x"); return f }(), 401, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOAuthError(t, postForm(t, s, "/oauth/token/", tt.form), tt.status, tt.err)
		})
	}
	// None of those consumed the refresh token.
	tokenOK(t, postForm(t, s, "/oauth/token/", refreshForm(r3)))
}

func TestOAuthReuseRefreshTokens(t *testing.T) {
	s := newOAuthServer(t, Options{ReuseRefreshTokens: true})
	first := mint(t, s, "org:read")
	a1, rt := first["access_token"].(string), first["refresh_token"].(string)
	second := tokenOK(t, postForm(t, s, "/oauth/token/", refreshForm(rt)))
	if _, ok := second["refresh_token"]; ok {
		t.Fatalf("refresh_token present: %v", second)
	}
	a2 := second["access_token"].(string)
	if a2 == a1 {
		t.Fatal("access token not replaced")
	}
	wantDetail(t, do(t, s, "GET", "/api/0/", a1, ""), 401, "Invalid token")
	third := tokenOK(t, postForm(t, s, "/oauth/token/", refreshForm(rt)))
	wantDetail(t, do(t, s, "GET", "/api/0/", a2, ""), 401, "Invalid token")
	if r := do(t, s, "GET", "/api/0/organizations/", third["access_token"].(string), ""); r.status != 200 {
		t.Fatalf("third %d", r.status)
	}
}

func TestOAuthGrantTypeErrors(t *testing.T) {
	s := newOAuthServer(t, Options{})
	creds := url.Values{"client_id": {oaClientID}, "client_secret": {oaSecret}}
	tests := []struct {
		name   string
		method string
		ctype  string
		body   string
		status int
		err    string
	}{
		{"missing grant_type", "POST", "", creds.Encode(), 400, "invalid_request"},
		{"empty grant_type", "POST", "", creds.Encode() + "&grant_type=", 400, "invalid_request"},
		{"password grant", "POST", "", creds.Encode() + "&grant_type=password", 400, "unsupported_grant_type"},
		{"client_credentials grant", "POST", "", "grant_type=client_credentials", 400, "unsupported_grant_type"},
		{"JSON body is not read", "POST", "application/json", `{"grant_type":"authorization_code"}`, 400, "invalid_request"},
		{"jwt-bearer without assertion", "POST", "", creds.Encode() + "&grant_type=" + url.QueryEscape(grantJWTBearer), 400, "invalid_request"},
		{"jwt-bearer untrusted", "POST", "", creds.Encode() + "&assertion=x.y.z&grant_type=" + url.QueryEscape(grantJWTBearer), 400, "invalid_grant"},
		{"GET", "GET", "", "", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.ctype != "" {
				h = []string{"Content-Type", tt.ctype}
			}
			r := send(t, tt.method, s.URL+"/oauth/token/", tt.body, h...)
			if tt.err == "" {
				if r.status != tt.status {
					t.Fatalf("status %d", r.status)
				}
				return
			}
			wantOAuthError(t, r, tt.status, tt.err)
		})
	}
	if len(s.TokenGrants()) != 0 {
		t.Fatalf("TokenGrants %v", s.TokenGrants())
	}
}

func deviceCode(t *testing.T, s *Server, form url.Values) map[string]any {
	t.Helper()
	return tokenOK(t, postForm(t, s, "/oauth/device/code/", form))
}

func pollForm(dc string) url.Values {
	return url.Values{"grant_type": {grantDeviceCode}, "device_code": {dc}, "client_id": {oaClientID}}
}

func TestOAuthDeviceFlow(t *testing.T) {
	const interval = 200 * time.Millisecond
	s := newOAuthServer(t, Options{DeviceInterval: interval})
	s.AddOAuthApp(OAuthApp{ClientID: "limited", RedirectURIs: []string{oaRedirect}, AllowedScopes: []string{"org:read"}})

	d := deviceCode(t, s, url.Values{"client_id": {oaClientID}, "scope": {"org:read event:read"}})
	if got, want := sortedKeys(d), sortedKeys(exampleJSON(t, "oauth.device.code.json").(map[string]any)); !reflect.DeepEqual(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	dc, uc := d["device_code"].(string), d["user_code"].(string)
	if !hex64.MatchString(dc) || !userCodeRe.MatchString(uc) || d["verification_uri"] != s.URL+"/oauth/device/" ||
		d["verification_uri_complete"] != s.URL+"/oauth/device/?user_code="+uc || d["expires_in"] != float64(600) || d["interval"] != float64(1) {
		t.Fatalf("device code %v", d)
	}

	poll := func(dc string) resp { return postForm(t, s, "/oauth/token/", pollForm(dc)) }
	wantOAuthError(t, poll(dc), 400, "authorization_pending")
	wantOAuthError(t, poll(dc), 400, "slow_down")
	s.Advance(interval / 2)
	wantOAuthError(t, poll(dc), 400, "slow_down")
	s.Advance(interval / 2)
	wantOAuthError(t, poll(dc), 400, "authorization_pending")

	// The verification page shows the code; the form approves it (any
	// case, dash optional).
	page := send(t, "GET", d["verification_uri_complete"].(string), "")
	if page.status != 200 || !strings.Contains(string(page.body), uc) || !strings.Contains(string(page.body), `name="op" value="approve"`) {
		t.Fatalf("device page %d %s", page.status, page.body)
	}
	if r := send(t, "GET", s.URL+"/oauth/device/", ""); r.status != 200 || !strings.Contains(string(r.body), `name="user_code"`) {
		t.Fatalf("entry page %d %s", r.status, r.body)
	}
	r := postForm(t, s, "/oauth/device/", url.Values{"user_code": {strings.ToLower(strings.ReplaceAll(uc, "-", ""))}, "op": {"approve"}})
	if r.status != 200 || !strings.Contains(string(r.body), "Authorization approved") {
		t.Fatalf("approve %d %s", r.status, r.body)
	}
	if err := s.ApproveDevice(uc, true); err == nil {
		t.Fatal("approving twice succeeded")
	}
	s.Advance(interval)
	tok := tokenOK(t, poll(dc))
	if got, want := sortedKeys(tok), sortedKeys(exampleJSON(t, "oauth.token.json").(map[string]any)); !reflect.DeepEqual(got, want) {
		t.Fatalf("keys %v", got)
	}
	if !hex64.MatchString(tok["refresh_token"].(string)) || tok["scope"] != "event:read org:read" || tok["token_type"] != "Bearer" {
		t.Fatalf("token %v", tok)
	}
	if r := do(t, s, "GET", "/api/0/organizations/", tok["access_token"].(string), ""); r.status != 200 {
		t.Fatalf("device token on the API: %d", r.status)
	}
	s.Advance(interval)
	wantOAuthError(t, poll(dc), 400, "invalid_grant") // single use
	// A device token refreshes like any other (the secret is required then).
	tokenOK(t, postForm(t, s, "/oauth/token/", refreshForm(tok["refresh_token"].(string))))

	t.Run("denied", func(t *testing.T) {
		d := deviceCode(t, s, url.Values{"client_id": {oaClientID}})
		if err := s.ApproveDevice(d["user_code"].(string), false); err != nil {
			t.Fatal(err)
		}
		wantOAuthError(t, poll(d["device_code"].(string)), 400, "access_denied")
		s.Advance(interval)
		wantOAuthError(t, poll(d["device_code"].(string)), 400, "invalid_grant")
	})
	t.Run("denied by form, action synonym", func(t *testing.T) {
		d := deviceCode(t, s, url.Values{"client_id": {oaClientID}})
		r := postForm(t, s, "/oauth/device/", url.Values{"user_code": {d["user_code"].(string)}, "action": {"deny"}})
		if r.status != 200 || !strings.Contains(string(r.body), "Authorization denied") {
			t.Fatalf("deny %d %s", r.status, r.body)
		}
		wantOAuthError(t, poll(d["device_code"].(string)), 400, "access_denied")
	})
	t.Run("expired", func(t *testing.T) {
		d := deviceCode(t, s, url.Values{"client_id": {oaClientID}})
		wantOAuthError(t, poll(d["device_code"].(string)), 400, "authorization_pending")
		s.Advance(10 * time.Minute)
		if err := s.ApproveDevice(d["user_code"].(string), true); err == nil {
			t.Fatal("approved an expired code")
		}
		d = deviceCode(t, s, url.Values{"client_id": {oaClientID}})
		s.Advance(10 * time.Minute)
		wantOAuthError(t, poll(d["device_code"].(string)), 400, "expired_token")
		s.Advance(interval)
		wantOAuthError(t, poll(d["device_code"].(string)), 400, "invalid_grant")
	})
	t.Run("unknown device code", func(t *testing.T) {
		wantOAuthError(t, poll(strings.Repeat("b", 64)), 400, "invalid_grant")
		f := pollForm("")
		wantOAuthError(t, postForm(t, s, "/oauth/token/", f), 400, "invalid_request")
	})
	t.Run("client authentication", func(t *testing.T) {
		d := deviceCode(t, s, url.Values{"client_id": {oaClientID}})
		dc := d["device_code"].(string)
		f := pollForm(dc)
		f.Del("client_id")
		wantOAuthError(t, postForm(t, s, "/oauth/token/", f), 401, "invalid_client")
		f = pollForm(dc)
		f.Set("client_secret", "wrong")
		wantOAuthError(t, postForm(t, s, "/oauth/token/", f), 401, "invalid_client")
		f = pollForm(dc)
		f.Set("client_id", "nope")
		wantOAuthError(t, postForm(t, s, "/oauth/token/", f), 401, "invalid_client")
		f = pollForm(dc)
		f.Set("client_id", "other") // another app's device code
		wantOAuthError(t, postForm(t, s, "/oauth/token/", f), 400, "invalid_grant")
		s.Advance(interval)
		f = pollForm(dc)
		f.Set("client_secret", oaSecret) // a confidential client may send it
		wantOAuthError(t, postForm(t, s, "/oauth/token/", f), 400, "authorization_pending")
		s.Advance(interval)
		f = pollForm(dc)
		f.Del("client_id")
		wantOAuthError(t, postForm(t, s, "/oauth/token/", f, "Authorization", basic(oaClientID, "")), 400, "authorization_pending")
	})

	t.Run("authorization errors", func(t *testing.T) {
		tests := []struct {
			name   string
			form   url.Values
			status int
			want   any
		}{
			{"unknown client", url.Values{"client_id": {"nope"}}, 401, exampleJSON(t, "oauth.device.error.invalid_client.json")},
			{"missing client", url.Values{"scope": {"org:read"}}, 401, map[string]any{"error": "invalid_client", "error_description": "Missing required parameter: client_id"}},
			{"unknown scope", url.Values{"client_id": {oaClientID}, "scope": {"org:read foo:bar"}}, 400, exampleJSON(t, "oauth.device.error.invalid_scope.json")},
			{"scope above the app's", url.Values{"client_id": {"limited"}, "scope": {"org:read org:write"}}, 400,
				map[string]any{"error": "invalid_scope", "error_description": "Scope 'org:write' exceeds application permissions"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := postForm(t, s, "/oauth/device/code/", tt.form)
				if r.status != tt.status || !reflect.DeepEqual(r.json(t), tt.want) {
					t.Fatalf("%d %s, want %d %v", r.status, r.body, tt.status, tt.want)
				}
				if r.header.Get("WWW-Authenticate") != "" {
					t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
				}
			})
		}
		if r := send(t, "GET", s.URL+"/oauth/device/code/?client_id="+oaClientID, ""); r.status != 405 {
			t.Fatalf("GET status %d", r.status)
		}
	})
	t.Run("verification page errors", func(t *testing.T) {
		r := postForm(t, s, "/oauth/device/", url.Values{"user_code": {"BCDF-GHJK"}, "op": {"approve"}})
		if r.status != 200 || !strings.Contains(string(r.body), "Invalid or expired code") {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if err := s.ApproveDevice("BCDF-GHJK", true); err == nil {
			t.Fatal("approved an unknown code")
		}
	})
}

func TestOAuthDeviceInterval(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want float64
	}{{0, 5}, {200 * time.Millisecond, 1}, {1500 * time.Millisecond, 2}, {3 * time.Second, 3}} {
		s := newOAuthServer(t, Options{DeviceInterval: tt.d})
		if got := deviceCode(t, s, url.Values{"client_id": {oaClientID}})["interval"]; got != tt.want {
			t.Errorf("DeviceInterval %v: interval %v, want %v", tt.d, got, tt.want)
		}
	}
	// The default is Sentry's 5 s.
	s := newOAuthServer(t, Options{})
	dc := deviceCode(t, s, url.Values{"client_id": {oaClientID}})["device_code"].(string)
	wantOAuthError(t, postForm(t, s, "/oauth/token/", pollForm(dc)), 400, "authorization_pending")
	s.Advance(4 * time.Second)
	wantOAuthError(t, postForm(t, s, "/oauth/token/", pollForm(dc)), 400, "slow_down")
	s.Advance(time.Second)
	wantOAuthError(t, postForm(t, s, "/oauth/token/", pollForm(dc)), 400, "authorization_pending")
}

func TestOAuthConcurrentRefresh(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		s := newOAuthServer(t, Options{ReuseRefreshTokens: reuse})
		rt := mint(t, s, "org:read")["refresh_token"].(string)
		const n = 8
		var wg sync.WaitGroup
		statuses := make([]int, n)
		bodies := make([]string, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res, err := http.PostForm(s.URL+"/oauth/token/", refreshForm(rt))
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				statuses[i], bodies[i] = res.StatusCode, string(b)
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, st := range statuses {
			switch {
			case st == 200:
				ok++
			case st == 400 && compactString(bodies[i]) == `{"error":"invalid_grant"}`:
			default:
				t.Errorf("reuse=%v: status %d body %s", reuse, st, bodies[i])
			}
		}
		want := 1
		if reuse {
			want = n // a non-rotating provider lets every refresh through
		}
		if ok != want || s.TokenGrants()["refresh_token"] != want {
			t.Fatalf("reuse=%v: %d successes (TokenGrants %v), want %d", reuse, ok, s.TokenGrants(), want)
		}
	}
}

func compactString(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestOAuthFailNextAndRequestLog(t *testing.T) {
	s := newOAuthServer(t, Options{})
	s.AddToken(testToken, "org:read")
	c := code(t, s)
	s.ResetRequests()
	s.FailNextOAuth(2, 503, `{"error":"temporarily_unavailable"}`)
	// API requests are not affected and do not consume the failures.
	if r := get(t, s, "/api/0/organizations/"); r.status != 200 {
		t.Fatalf("API status %d", r.status)
	}
	for range 2 {
		r := postForm(t, s, "/oauth/token/", exchangeForm(c))
		if r.status != 503 || compactString(string(r.body)) != `{"error":"temporarily_unavailable"}` {
			t.Fatalf("injected failure: %d %s", r.status, r.body)
		}
	}
	tokenOK(t, postForm(t, s, "/oauth/token/", exchangeForm(c))) // the code survived
	if got := s.TokenGrants(); !reflect.DeepEqual(got, map[string]int{"authorization_code": 1}) {
		t.Fatalf("TokenGrants %v", got)
	}

	s.FailNextOAuth(1, 500, "")
	if r := send(t, "GET", s.URL+"/oauth/authorize/?"+authorizeParams().Encode(), ""); r.status != 500 {
		t.Fatalf("authorize failure %d", r.status)
	}

	reqs := s.Requests()
	var oauth []Request
	for _, r := range reqs {
		if strings.HasPrefix(r.Path, "/oauth/") {
			oauth = append(oauth, r)
		}
	}
	if len(reqs) != 5 || len(oauth) != 4 {
		t.Fatalf("logged %d requests, %d under /oauth/", len(reqs), len(oauth))
	}
	if f, _ := url.ParseQuery(string(oauth[0].Body)); oauth[0].Method != "POST" || f.Get("code") != c || f.Get("grant_type") != "authorization_code" {
		t.Fatalf("logged %+v", oauth[0])
	}
}

func TestOAuthUnknownPaths(t *testing.T) {
	s := newOAuthServer(t, Options{})
	for _, p := range []string{"/oauth/", "/oauth/token", "/oauth/nope/"} {
		if r := send(t, "POST", s.URL+p, "grant_type=refresh_token"); r.status != 404 {
			t.Errorf("%s: status %d", p, r.status)
		}
	}
	// OAuth responses carry no API rate-limit headers.
	if r := postForm(t, s, "/oauth/token/", url.Values{}); r.header.Get("X-Sentry-Rate-Limit-Limit") != "" {
		t.Errorf("rate-limit headers on /oauth/token/")
	}
}

// The PKCE constants are a real S256 pair.
func TestOAuthPKCEPair(t *testing.T) {
	sum := sha256.Sum256([]byte(oaVerifier))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != oaChallenge {
		t.Fatal("bad test PKCE pair")
	}
}

func TestOAuthHoldTokenRequests(t *testing.T) {
	s := newOAuthServer(t, Options{})
	r1 := mint(t, s, "org:read")["refresh_token"].(string)
	release := s.HoldTokenRequests()
	defer release()
	done := make(chan resp, 1)
	go func() { done <- postForm(t, s, "/oauth/token/", refreshForm(r1)) }()
	// The request arrives (it is recorded) but gets no answer while held.
	for !slices.ContainsFunc(s.Requests(), func(r Request) bool { return strings.Contains(string(r.Body), "refresh_token="+r1) }) {
		time.Sleep(time.Millisecond)
	}
	select {
	case r := <-done:
		t.Fatalf("a held request was answered: %d", r.status)
	default:
	}
	release()
	release() // idempotent
	if r := <-done; r.status != 200 {
		t.Errorf("after release: %d %s", r.status, r.body)
	}
}

func TestOAuthEditResponses(t *testing.T) {
	s := newOAuthServer(t, Options{})
	s.EditTokenResponses(func(grantType string, body map[string]any) {
		if grantType == grantAuthorizationCode {
			delete(body, "expires_in")
			body["access_token"] = "two words"
			body["extra"] = 1
		}
	})
	m := mint(t, s, "org:read")
	if _, ok := m["expires_in"]; ok || m["access_token"] != "two words" || m["extra"] != float64(1) || m["scope"] != "org:read" {
		t.Errorf("edited token response %v", m)
	}
	s.EditTokenResponses(nil)
	if m := mint(t, s, "org:read"); m["expires_in"] == nil {
		t.Errorf("editing did not stop: %v", m)
	}
	s.EditDeviceResponses(func(body map[string]any) { body["verification_uri"] = "https://evil.example/" })
	if d := deviceCode(t, s, url.Values{"client_id": {oaClientID}}); d["verification_uri"] != "https://evil.example/" || d["user_code"] == nil {
		t.Errorf("edited device response %v", d)
	}
}

// A held token request whose client goes away (its context ends, or its
// process dies and the connection closes) is dropped: after release the
// refresh token it carried still works, as if it never reached Sentry.
func TestOAuthHoldDropsAbandonedRequests(t *testing.T) {
	tests := []struct {
		name    string
		abandon func(t *testing.T, s *Server, form url.Values) (leave func())
	}{
		{"context canceled", func(t *testing.T, s *Server, form url.Values) func() {
			ctx, cancel := context.WithCancel(context.Background())
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/oauth/token/", strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			done := make(chan struct{})
			go func() {
				defer close(done)
				if res, err := http.DefaultClient.Do(req); err == nil {
					res.Body.Close()
					t.Errorf("an abandoned request was answered: %d", res.StatusCode)
				}
			}()
			return func() { cancel(); <-done }
		}},
		{"connection closed", func(t *testing.T, s *Server, form url.Values) func() {
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			body := form.Encode()
			fmt.Fprintf(conn, "POST /oauth/token/ HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s",
				strings.TrimPrefix(s.URL, "http://"), len(body), body)
			return func() { conn.Close() }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newOAuthServer(t, Options{})
			r1 := mint(t, s, "org:read")["refresh_token"].(string)
			release := s.HoldTokenRequests()
			defer release()
			leave := tt.abandon(t, s, refreshForm(r1))
			waitHeld(t, s, 1)
			leave()
			waitHeld(t, s, 0)
			release()
			if r := postForm(t, s, "/oauth/token/", refreshForm(r1)); r.status != 200 {
				t.Errorf("the refresh token of the dropped request no longer works: %d %s", r.status, r.body)
			}
			if g := s.TokenGrants()[grantRefreshToken]; g != 1 {
				t.Errorf("%d refresh_token grants, want 1 (the dropped request is not one)", g)
			}
		})
	}
}

func waitHeld(t *testing.T, s *Server, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); s.HeldTokenRequests() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("HeldTokenRequests() = %d, want %d", s.HeldTokenRequests(), n)
		}
	}
}
