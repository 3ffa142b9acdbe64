package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

func TestMetadata(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Scopes = []string{"org:read", "event:write"} })
	resp, err := http.Get(e.public + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	want := map[string]any{
		"issuer":                                         e.public,
		"authorization_endpoint":                         e.public + "/oauth/authorize",
		"token_endpoint":                                 e.public + "/oauth/token",
		"registration_endpoint":                          e.public + "/oauth/register",
		"revocation_endpoint":                            e.public + "/oauth/revoke",
		"code_challenge_methods_supported":               []any{"S256"},
		"response_types_supported":                       []any{"code"},
		"grant_types_supported":                          []any{"authorization_code", "refresh_token"},
		"token_endpoint_auth_methods_supported":          []any{"none", "client_secret_basic", "client_secret_post"},
		"client_id_metadata_document_supported":          true,
		"authorization_response_iss_parameter_supported": true,
		// --scopes org:read,event:write allows event:read through the hierarchy.
		"scopes_supported": []any{"event:read", "event:write", "org:read"},
	}
	for k, v := range want {
		if fmt.Sprint(m[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
}

// TestSignInFlow is the whole flow: registration, consent, Sentry,
// callback, code, tokens, the principal, refresh rotation, revocation.
func TestSignInFlow(t *testing.T) {
	e := newEnv(t, nil)
	redirect := "http://127.0.0.1:9/callback"
	id := e.register(redirect)
	f := e.newFlow(id, "http://127.0.0.1:4567/callback") // another port: loopback matches on any port
	f.scope = "org:read project:read team:read event:read event:write"
	b := newBrowser(t)

	resp, page := b.get(f.url(e.public))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("consent page: %d %s", resp.StatusCode, page)
	}
	for _, want := range []string{"Test Client", "http://127.0.0.1:4567", "<code>event:write</code>", "resolve, archive, assign", `<button type="submit" name="decision" value="approve">`, `name="csrf_token"`} {
		if !strings.Contains(page, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	// Not frameable, no scripts; no form-action, which Chrome and Safari
	// would check along the redirects through Sentry (and its IdP) to the
	// client.
	if csp := resp.Header.Get("Content-Security-Policy"); csp != "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'" {
		t.Errorf("consent page CSP = %q", csp)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("the consent page reached Sentry (%d requests) before approval", n)
	}

	back := b.signIn(e.public, f.url(e.public))
	q := back.Query()
	if back.Host != "127.0.0.1:4567" || q.Get("state") != f.state || q.Get("iss") != e.public || q.Get("code") == "" {
		t.Fatalf("redirect back = %s", back)
	}
	// Sentry was asked for exactly the approved scopes.
	var asked string
	for _, r := range e.fake.Requests() {
		if strings.HasPrefix(r.Path, "/oauth/authorize") {
			v, _ := url.ParseQuery(r.RawQuery)
			asked = v.Get("scope")
		}
	}
	if asked != "event:read event:write org:read project:read team:read" {
		t.Errorf("Sentry was asked for %q", asked)
	}

	status, tok := e.exchange(f, q.Get("code"))
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, tok)
	}
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	if tok["token_type"] != "Bearer" || tok["expires_in"].(float64) > 3600 || len(access) < 43 || strings.Count(access, ".") == 2 {
		t.Errorf("token response %v", tok)
	}
	p, err := e.as.Authenticate(request(access), "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Grant.Allows([]string{"event:write"}) || p.Grant.Allows([]string{"member:read"}) || p.Org != "" {
		t.Errorf("principal grant %v org %q", p.Grant.Scopes(), p.Org)
	}
	sentryToken, err := p.Token.Token(context.Background())
	if err != nil || sentryToken == "" || sentryToken == access {
		t.Fatalf("Sentry token %v", err)
	}
	if _, err := e.as.Authenticate(request(access), "/mcp/acme"); !errors.Is(err, ErrWrongTarget) {
		t.Errorf("a /mcp token at /mcp/acme: %v", err)
	}
	if _, err := e.as.Authenticate(request(sentryToken), "/mcp"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("the Sentry token as bearer: %v", err)
	}

	// Refresh rotates; the old refresh token works until the new one is used.
	refreshWith := func(rt string) (int, map[string]any) {
		return e.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {id}, "resource": {e.public + "/mcp"}})
	}
	status, tok2 := refreshWith(refresh)
	if status != http.StatusOK || tok2["refresh_token"] == refresh {
		t.Fatalf("refresh: %d %v", status, tok2)
	}
	// The answer may not have arrived: the old token works again until its
	// successor is used, and that retry's successor replaces the first.
	status, tok2b := refreshWith(refresh)
	if status != http.StatusOK {
		t.Fatalf("the previous refresh token before the new one is used: %d", status)
	}
	if _, err := e.as.Authenticate(request(tok2["access_token"].(string)), "/mcp"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("the access token of the successor a retry replaced: %v", err)
	}
	status, tok3 := refreshWith(tok2b["refresh_token"].(string))
	if status != http.StatusOK {
		t.Fatalf("refresh with the new token: %d %v", status, tok3)
	}
	if _, err := e.as.Authenticate(request(tok3["access_token"].(string)), "/mcp"); err != nil {
		t.Errorf("refreshed access token: %v", err)
	}
	// A refused refresh changes nothing: the chain still works after it.
	if status, body := e.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok3["refresh_token"].(string)}, "client_id": {id}, "scope": {"event:admin"}}); status != http.StatusBadRequest || body["error"] != "invalid_scope" {
		t.Errorf("a refresh widening the scopes: %d %v", status, body)
	}
	// The replaced refresh token used again: it leaked, the sign-in ends.
	if status, body := refreshWith(refresh); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("the previous refresh token after the new one was used: %d %v", status, body)
	}
	if _, err := e.as.Authenticate(request(tok3["access_token"].(string)), "/mcp"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("after a replaced refresh token was used again: %v", err)
	}
	if status, _ := refreshWith(tok3["refresh_token"].(string)); status != http.StatusBadRequest {
		t.Errorf("the newest refresh token after the reuse: %d", status)
	}

	// A stolen refresh token used before the client's next refresh: the
	// client's successor is replaced, and when the client presents it the
	// leak shows and the thief's chain ends too.
	_, mine := e.exchange(f, newBrowser(t).signIn(e.public, f.url(e.public)).Query().Get("code"))
	stolen := mine["refresh_token"].(string)
	_, mine2 := refreshWith(stolen) // the client refreshes
	_, thief := refreshWith(stolen) // the thief, before the client uses mine2
	if status, _ := refreshWith(mine2["refresh_token"].(string)); status != http.StatusBadRequest {
		t.Errorf("the client's replaced successor: %d", status)
	}
	if status, _ := refreshWith(thief["refresh_token"].(string)); status != http.StatusBadRequest {
		t.Errorf("the thief's chain after the leak showed: %d", status)
	}

	// A new sign-in, to revoke.
	status, tok3 = e.exchange(f, newBrowser(t).signIn(e.public, f.url(e.public)).Query().Get("code"))
	if status != http.StatusOK {
		t.Fatalf("second sign-in: %d %v", status, tok3)
	}

	// Revoking the access token ends it; revoking the refresh token ends the sign-in.
	revoke := func(token string) {
		resp, err := http.PostForm(e.public+"/oauth/revoke", url.Values{"token": {token}, "client_id": {id}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	revoke(tok3["access_token"].(string))
	if _, err := e.as.Authenticate(request(tok3["access_token"].(string)), "/mcp"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("revoked access token: %v", err)
	}
	revoke(tok3["refresh_token"].(string))
	if status, _ := refreshWith(tok3["refresh_token"].(string)); status != http.StatusBadRequest {
		t.Errorf("revoked refresh token: %d", status)
	}
	if gs, _ := e.db.ListGrants(context.Background()); len(gs) != 0 {
		t.Errorf("grants after revoking the sign-in: %d", len(gs))
	}
}

// TestScopesAreBounded: scopes beyond --scopes and --read-only are dropped
// and the consent page says so; the grant is what Sentry granted.
func TestScopesAreBounded(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Scopes = []string{"org:read", "project:read", "event:admin", "member:read"}
		c.ReadOnly = true
	})
	id := e.register("http://127.0.0.1:9/cb")
	f := e.newFlow(id, "http://127.0.0.1:9/cb")
	f.scope = "org:read event:write member:read team:read bogus"
	b := newBrowser(t)
	_, page := b.get(f.url(e.public))
	for _, want := range []string{"<code>org:read</code>:", "<code>member:read</code>:", "Not offered on this server", "<code>event:write</code>, <code>team:read</code>, <code>bogus</code>"} {
		if !strings.Contains(page, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	tok := e.tokens(b, f)
	if tok["scope"] != "member:read org:read" {
		t.Errorf("scope = %v", tok["scope"])
	}
	p, err := e.as.Authenticate(request(tok["access_token"].(string)), "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Grant.Scopes(); !slices.Equal(got, []string{"member:read", "org:read"}) {
		t.Errorf("principal scopes %v", got)
	}

	// Nothing left after the bound: invalid_scope, back to the client.
	f2 := e.newFlow(id, "http://127.0.0.1:9/cb")
	f2.scope = "event:write"
	resp, _ := b.get(f2.url(e.public))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_scope" || loc.Query().Get("state") != f2.state {
		t.Errorf("no allowed scope: %d %s", resp.StatusCode, loc)
	}
}

// TestAuthorizeRefusals: what may not redirect shows a page; the rest
// redirects with an error; nothing reaches Sentry.
func TestAuthorizeRefusals(t *testing.T) {
	e := newEnv(t, nil)
	id := e.register("https://client.example/cb")
	tests := []struct {
		name     string
		edit     func(q url.Values)
		page     bool   // an error page, no redirect
		wantCode string // else the redirect's error
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "nope") }, true, ""},
		{"redirect mismatch", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, true, ""},
		{"redirect prefix", func(q url.Values) { q.Set("redirect_uri", "https://client.example/cb/more") }, true, ""},
		{"repeated parameter", func(q url.Values) { q.Add("redirect_uri", "https://client.example/cb") }, true, ""},
		{"no PKCE", func(q url.Values) { q.Del("code_challenge") }, false, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, false, "invalid_request"},
		{"no resource", func(q url.Values) { q.Del("resource") }, false, "invalid_target"},
		{"foreign resource", func(q url.Values) { q.Set("resource", "https://other.example/mcp") }, false, "invalid_target"},
		{"other path", func(q url.Values) { q.Set("resource", e.public+"/admin") }, false, "invalid_target"},
		{"token response type", func(q url.Values) { q.Set("response_type", "token") }, false, "unsupported_response_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := e.newFlow(id, "https://client.example/cb")
			u, _ := url.Parse(f.url(e.public))
			q := u.Query()
			tc.edit(q)
			u.RawQuery = q.Encode()
			resp, body := newBrowser(t).get(u.String())
			if tc.page {
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Errorf("%d Location=%q, want 400 without a redirect", resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || loc.Host != "client.example" || loc.Query().Get("error") != tc.wantCode || loc.Query().Get("state") != f.state || loc.Query().Get("iss") != e.public {
				t.Errorf("%d %s %s", resp.StatusCode, loc, body)
			}
		})
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d requests reached Sentry", n)
	}
}

// TestConsentIsProtected: the form needs the CSRF token of this browser's
// cookie; deny goes back with access_denied.
func TestConsentIsProtected(t *testing.T) {
	e := newEnv(t, nil)
	id := e.register("https://client.example/cb")
	f := e.newFlow(id, "https://client.example/cb")
	b := newBrowser(t)
	_, page := b.get(f.url(e.public))
	form := formOf(page)
	form.Set("decision", "approve")

	noToken := url.Values{}
	for k, v := range form {
		if k != "csrf_token" {
			noToken[k] = v
		}
	}
	if resp, _ := b.post(e.public+"/oauth/authorize", noToken); resp.StatusCode != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d", resp.StatusCode)
	}
	// Another browser (no cookie, or its own cookie) cannot use this form.
	other := newBrowser(t)
	if resp, _ := other.post(e.public+"/oauth/authorize", form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("from another browser: %d", resp.StatusCode)
	}
	other.get(f.url(e.public))
	if resp, _ := other.post(e.public+"/oauth/authorize", form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("from another browser with its own cookie: %d", resp.StatusCode)
	}
	// The token is bound to the request: other scopes need another token.
	tampered := url.Values{}
	for k, v := range form {
		tampered[k] = v
	}
	tampered.Set("scope", "org:read event:admin")
	if resp, _ := b.post(e.public+"/oauth/authorize", tampered); resp.StatusCode != http.StatusForbidden {
		t.Errorf("tampered scopes: %d", resp.StatusCode)
	}
	form.Set("decision", "deny")
	resp, _ := b.post(e.public+"/oauth/authorize", form)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != f.state {
		t.Errorf("deny: %d %s", resp.StatusCode, loc)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d requests reached Sentry without approval", n)
	}
}

// TestCallbackState: a state works once, from the browser that approved.
func TestCallbackState(t *testing.T) {
	e := newEnv(t, nil)
	id := e.register("https://client.example/cb")
	f := e.newFlow(id, "https://client.example/cb")
	b := newBrowser(t)
	resp, _ := b.consent(e.public, f.url(e.public), "approve")
	sentryURL := resp.Header.Get("Location")
	resp, _ = b.get(sentryURL)
	callback := resp.Header.Get("Location")
	if !strings.HasPrefix(callback, e.public+"/oauth/callback?") {
		t.Fatalf("Sentry sent the browser to %s", callback)
	}
	if resp, _ := newBrowser(t).get(callback); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("callback in another browser: %d", resp.StatusCode)
	}
	// That attempt used the state up: even the right browser cannot now.
	if resp, _ := b.get(callback); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("reused state: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	f2 := e.newFlow(id, "https://client.example/cb")
	back := b.signIn(e.public, f2.url(e.public))
	if back.Query().Get("code") == "" {
		t.Fatalf("second sign-in: %s", back)
	}
	cb := ""
	for _, r := range e.fake.Requests() {
		if strings.HasPrefix(r.Path, "/oauth/authorize") {
			v, _ := url.ParseQuery(r.RawQuery)
			cb = e.public + "/oauth/callback?state=" + url.QueryEscape(v.Get("state")) + "&code=x"
		}
	}
	if resp, _ := b.get(cb); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed callback: %d", resp.StatusCode)
	}
}

// TestCodeExchange: verifier, redirect URI, client and resource are
// checked; a replayed code revokes what it issued.
func TestCodeExchange(t *testing.T) {
	e := newEnv(t, nil)
	id := e.register("https://client.example/cb")
	other := e.register("https://other.example/cb")
	tests := []struct {
		name string
		edit func(v url.Values)
		want string
	}{
		{"wrong verifier", func(v url.Values) { v.Set("code_verifier", random("", 32)) }, "invalid_grant"},
		{"no verifier", func(v url.Values) { v.Del("code_verifier") }, "invalid_grant"},
		{"other redirect", func(v url.Values) { v.Set("redirect_uri", "https://client.example/other") }, "invalid_grant"},
		{"other client", func(v url.Values) { v.Set("client_id", other) }, "invalid_grant"},
		{"other resource", func(v url.Values) { v.Set("resource", e.public+"/mcp/acme") }, "invalid_target"},
		{"unknown code", func(v url.Values) { v.Set("code", "smcp_ac_nope") }, "invalid_grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := e.newFlow(id, "https://client.example/cb")
			back := newBrowser(t).signIn(e.public, f.url(e.public))
			v := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "client_id": {id},
				"redirect_uri": {f.redirect}, "code_verifier": {f.verifier}, "resource": {f.resource}}
			tc.edit(v)
			if status, body := e.tokenRequest(v); status != http.StatusBadRequest || body["error"] != tc.want {
				t.Errorf("%d %v, want 400 %s", status, body, tc.want)
			}
		})
	}

	t.Run("replayed code", func(t *testing.T) {
		f := e.newFlow(id, "https://client.example/cb")
		back := newBrowser(t).signIn(e.public, f.url(e.public))
		code := back.Query().Get("code")
		status, tok := e.exchange(f, code)
		if status != http.StatusOK {
			t.Fatalf("first use: %d %v", status, tok)
		}
		if status, body := e.exchange(f, code); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("second use: %d %v", status, body)
		}
		if _, err := e.as.Authenticate(request(tok["access_token"].(string)), "/mcp"); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("the first use's access token after the replay: %v", err)
		}
	})
}

func TestRegistration(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RegistrationsPerMinute = 4 })
	post := func(body string) (int, map[string]any) {
		resp, err := http.Post(e.public+"/oauth/register", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	tests := []struct {
		name, body string
		status     int
		errCode    string
	}{
		{"confidential", `{"redirect_uris":["https://a.example/cb"],"client_name":"A"}`, 201, ""},
		{"http not loopback", `{"redirect_uris":["http://a.example/cb"]}`, 400, "invalid_redirect_uri"},
		{"javascript", `{"redirect_uris":["javascript:alert(1)"]}`, 400, "invalid_redirect_uri"},
		{"IPv6 zone", `{"redirect_uris":["https://[fe80::1%25%3B%20frame-ancestors%20*%3B%20x]/cb"]}`, 400, "invalid_redirect_uri"},
	}
	for _, tc := range tests {
		status, out := post(tc.body)
		if status != tc.status || (tc.errCode != "" && out["error"] != tc.errCode) {
			t.Errorf("%s: %d %v", tc.name, status, out)
		}
		if tc.status == 201 && (out["client_secret"] == nil || out["token_endpoint_auth_method"] != "client_secret_basic") {
			t.Errorf("%s: %v", tc.name, out)
		}
	}
	// The fifth registration within a minute from this IP is refused.
	status, _ := post(`{"redirect_uris":["https://b.example/cb"]}`)
	if status != http.StatusTooManyRequests {
		t.Errorf("registration flood: %d, want 429", status)
	}
}

// TestConfidentialClient: a client with a secret must present it.
func TestConfidentialClient(t *testing.T) {
	e := newEnv(t, nil)
	resp, err := http.Post(e.public+"/oauth/register", "application/json", strings.NewReader(`{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"client_secret_post"}`))
	if err != nil {
		t.Fatal(err)
	}
	var reg map[string]any
	json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	id, secret := reg["client_id"].(string), reg["client_secret"].(string)
	f := e.newFlow(id, "https://c.example/cb")
	back := newBrowser(t).signIn(e.public, f.url(e.public))
	v := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "client_id": {id},
		"redirect_uri": {f.redirect}, "code_verifier": {f.verifier}}
	if status, _ := e.tokenRequest(v); status != http.StatusUnauthorized {
		t.Errorf("without the secret: %d", status)
	}
	v.Set("client_secret", "smcp_cs_wrong")
	if status, _ := e.tokenRequest(v); status != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d", status)
	}
	f = e.newFlow(id, "https://c.example/cb")
	back = newBrowser(t).signIn(e.public, f.url(e.public))
	v.Set("code", back.Query().Get("code"))
	v.Set("code_verifier", f.verifier)
	v.Set("client_secret", secret)
	if status, body := e.tokenRequest(v); status != http.StatusOK {
		t.Errorf("with the secret: %d %v", status, body)
	}
}

// TestOrganizationResource: /mcp/{org} grants are for members only and
// pin the principal; each sign-in is its own grant.
func TestOrganizationResource(t *testing.T) {
	e := newEnv(t, nil)
	id := e.register("https://client.example/cb")
	outsider := e.fake.AddUser(sentrytest.User{ID: "77", Name: "Out Sider", Email: "out@example.com", Orgs: []string{}})

	f := e.newFlow(id, "https://client.example/cb")
	f.resource = e.public + "/mcp/acme"
	tok := e.tokens(newBrowser(t), f)
	p, err := e.as.Authenticate(request(tok["access_token"].(string)), "/mcp/acme")
	if err != nil || p.Org != "acme" {
		t.Fatalf("member: %v %+v", err, p)
	}
	if _, err := e.as.Authenticate(request(tok["access_token"].(string)), "/mcp"); !errors.Is(err, ErrWrongTarget) {
		t.Errorf("an org token at /mcp: %v", err)
	}
	// A client that writes the organization in capitals connects to that
	// URL: its token is for that resource, pinned to the organization.
	fu := e.newFlow(id, "https://client.example/cb")
	fu.resource = e.public + "/mcp/ACME"
	tok = e.tokens(newBrowser(t), fu)
	if p, err := e.as.Authenticate(request(tok["access_token"].(string)), "/mcp/ACME"); err != nil || p.Org != "acme" {
		t.Errorf("/mcp/ACME: %v %+v", err, p)
	}

	b := newBrowser(t)
	fakeURL, _ := url.Parse(e.fake.URL)
	b.c.Jar.SetCookies(fakeURL, []*http.Cookie{{Name: sentrytest.SessionCookie, Value: outsider}})
	f2 := e.newFlow(id, "https://client.example/cb")
	f2.resource = e.public + "/mcp/acme"
	back := b.signIn(e.public, f2.url(e.public))
	if back.Query().Get("error") != "access_denied" || !strings.Contains(back.Query().Get("error_description"), "not a member") || back.Query().Get("code") != "" {
		t.Errorf("non-member: %s", back)
	}
	gs, _ := e.db.ListGrants(context.Background())
	if len(gs) != 2 {
		t.Errorf("grants: %d, want only the member's two", len(gs))
	}
}

// TestSentryRefusesRefresh: once Sentry refuses to refresh a grant and its
// token has expired, the user's requests get 401 (sign in again).
func TestSentryRefusesRefresh(t *testing.T) {
	e := newEnv(t, nil)
	id := e.register("https://client.example/cb")
	f := e.newFlow(id, "https://client.example/cb")
	tok := e.tokens(newBrowser(t), f)
	access := tok["access_token"].(string)
	p, err := e.as.Authenticate(request(access), "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	// Sentry forgets the grant; the token expires.
	e.fake.FailNextOAuth(1, http.StatusBadRequest, `{"error": "invalid_grant"}`)
	e.fake.Advance(31 * 24 * time.Hour)
	sentryToken, _ := p.Token.Token(context.Background())
	if _, err := p.Token.(interface {
		Refresh(context.Context, string) (string, error)
	}).Refresh(context.Background(), sentryToken); err == nil {
		t.Fatal("the refused refresh worked")
	}
	if _, err := e.as.Authenticate(request(access), "/mcp"); !errors.Is(err, ErrSignInAgain) {
		t.Errorf("after Sentry refused the refresh: %v", err)
	}
}

// TestClientMetadataDocument: a client identified by the URL of its
// metadata document signs in without registering.
func TestClientMetadataDocument(t *testing.T) {
	e := newEnv(t, nil)
	var docURL string
	var base string
	docs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/client.json":
			fmt.Fprintf(w, `{"client_id":%q,"client_name":"Doc Client","redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}`, docURL)
		case "/plain-http.json": // a redirect URI registration would refuse
			fmt.Fprintf(w, `{"client_id":%q,"redirect_uris":["http://evil.example/cb"]}`, base+r.URL.Path)
		default:
			http.NotFound(w, r)
		}
	}))
	defer docs.Close()
	base = docs.URL
	docURL = docs.URL + "/client.json"

	f := e.newFlow(docURL, "http://127.0.0.1:5555/cb")
	b := newBrowser(t)
	_, page := b.get(f.url(e.public))
	if !strings.Contains(page, "Doc Client") {
		t.Fatalf("consent page does not name the client:\n%s", page)
	}
	tok := e.tokens(b, f)
	if _, err := e.as.Authenticate(request(tok["access_token"].(string)), "/mcp"); err != nil {
		t.Fatal(err)
	}
	// A redirect URI the document does not list is refused without a redirect.
	f2 := e.newFlow(docURL, "https://elsewhere.example/cb")
	if resp, _ := newBrowser(t).get(f2.url(e.public)); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("unlisted redirect: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A document that cannot be used is refused with a page that does not
	// say what the server saw (addresses stay in the log).
	for _, path := range []string{"/missing.json", "/plain-http.json"} {
		f3 := e.newFlow(docs.URL+path, "http://evil.example/cb")
		resp, page := newBrowser(t).get(f3.url(e.public))
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || strings.Contains(page, "127.0.0.1") || strings.Contains(page, "404") {
			t.Errorf("%s: %d %s\n%s", path, resp.StatusCode, resp.Header.Get("Location"), page)
		}
	}
}

// With --scopes leaving out every default scope, a client that names none
// is offered what the server allows (and the challenge says so).
func TestDefaultsWithinTheBound(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Scopes = []string{"project:releases"} })
	if got := e.as.Defaults(); !slices.Equal(got, []string{"project:releases"}) {
		t.Errorf("Defaults() = %v", got)
	}
	id := e.register("https://client.example/cb")
	tok := e.tokens(newBrowser(t), e.newFlow(id, "https://client.example/cb"))
	if tok["scope"] != "project:releases" {
		t.Errorf("scope %v", tok["scope"])
	}
}

// TestRefreshOncePerGrant: within the margin, the next calls that use a
// grant refresh it in the background, once, while they go on with the
// current token; the new token is what the database then holds.
func TestRefreshOncePerGrant(t *testing.T) {
	var offset atomic.Int64
	e := newEnv(t, func(c *Config) { c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) } })
	id := e.register("https://client.example/cb")
	access := e.tokens(newBrowser(t), e.newFlow(id, "https://client.example/cb"))["access_token"].(string)
	p, err := e.as.Authenticate(request(access), "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := p.Token.Token(context.Background())
	later := 29*24*time.Hour + 12*time.Hour // inside the 24 h margin of the 30-day token
	e.fake.Advance(later)
	offset.Store(int64(later))

	errs := make(chan error, 20)
	for range 20 {
		go func() {
			p, err := e.as.Authenticate(request(access), "/mcp")
			if err == nil {
				_, err = p.Token.Token(context.Background())
			}
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.as.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.TokenGrants()["refresh_token"]; n != 1 {
		t.Errorf("%d refreshes reached Sentry, want 1", n)
	}
	gs, _ := e.db.ListGrants(context.Background())
	g, err := e.db.Grant(context.Background(), gs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := p.Token.Token(context.Background())
	if g.Credential.AccessToken == before || after != g.Credential.AccessToken {
		t.Errorf("after the refresh: the database holds a new token %v, the source hands it out %v", g.Credential.AccessToken != before, after == g.Credential.AccessToken)
	}
}

// Signing out with a refresh token that was since replaced still ends the
// sign-in it belongs to.
func TestRevokeWithAReplacedRefreshToken(t *testing.T) {
	e := newEnv(t, nil)
	id := e.register("https://client.example/cb")
	tok := e.tokens(newBrowser(t), e.newFlow(id, "https://client.example/cb"))
	refresh := func(rt string) map[string]any {
		_, body := e.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {id}})
		return body
	}
	next := refresh(tok["refresh_token"].(string))
	latest := refresh(next["refresh_token"].(string)) // the first one is retired now
	resp, err := http.PostForm(e.public+"/oauth/revoke", url.Values{"token": {tok["refresh_token"].(string)}, "client_id": {id}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := e.as.Authenticate(request(latest["access_token"].(string)), "/mcp"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("after signing out with a replaced refresh token: %v", err)
	}
}
