package e2e

// Hosted mode (`sentry-mcp serve --http`) through the official Go SDK
// client: its Streamable HTTP transport and its OAuth authorization-code
// handler (discovery from the 401, dynamic registration, PKCE, RFC 8707
// resource, RFC 9207 iss), with a browser that submits the consent page and
// walks through the fake Sentry's authorize and our callback. The server
// runs against an in-process fake Sentry, so the tests can read the fake's
// request log: which Sentry token each upstream request carried, and that
// no MCP token ever reaches Sentry.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

// connect signs c in (on the first request's 401) and returns the session.
func (c *sdkClient) connect(t *testing.T, ctx context.Context, endpoint string) *mcp.ClientSession {
	t.Helper()
	transport := &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: c.hc, OAuthHandler: c.handler}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "sentry-mcp-e2e-hosted", Version: "1.0.0"}, nil).Connect(ctx, transport, nil)
	if err != nil {
		t.Fatalf("connect to %s: %v", endpoint, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func listTools(t *testing.T, ctx context.Context, cs *mcp.ClientSession) []string {
	t.Helper()
	var names []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

// callOK calls a tool that must succeed and returns its structuredContent.
func callOK(t *testing.T, ctx context.Context, cs *mcp.ClientSession, name string, args map[string]any) map[string]any {
	t.Helper()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("%s(%v) is an error: %s", name, args, text(res))
	}
	b, _ := json.Marshal(res.StructuredContent)
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// callRefused calls a tool the grant does not cover: the refusal (a tool
// error or a JSON-RPC error) must name the missing scope.
func callRefused(t *testing.T, ctx context.Context, cs *mcp.ClientSession, name string, args map[string]any, scope string) {
	t.Helper()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	var msg string
	switch {
	case err != nil:
		msg = err.Error()
	case !res.IsError:
		t.Fatalf("%s succeeded without %s: %s", name, scope, text(res))
	default:
		msg = text(res)
	}
	if !strings.Contains(msg, scope) {
		t.Errorf("%s refused with %q, which does not name %s", name, msg, scope)
	}
}

func whoamiName(t *testing.T, ctx context.Context, cs *mcp.ClientSession) string {
	t.Helper()
	u, _ := callOK(t, ctx, cs, "whoami", nil)["user"].(map[string]any)
	name, _ := u["name"].(string)
	return name
}

// sentryTokens is the set of Authorization values on the fake's /api/
// requests, and the number of such requests.
func sentryTokens(reqs []sentrytest.Request) (map[string]bool, int) {
	set := map[string]bool{}
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r.Path, "/api/") {
			set[r.Authorization] = true
			n++
		}
	}
	return set, n
}

// neverSentToSentry fails if any of secrets (MCP tokens) appears anywhere
// in a request the fake Sentry received.
func neverSentToSentry(t *testing.T, fake *sentrytest.Server, secrets []string) {
	t.Helper()
	for _, r := range fake.Requests() {
		for _, s := range secrets {
			if strings.Contains(r.Authorization, s) || strings.Contains(r.RawQuery, s) || strings.Contains(string(r.Body), s) {
				t.Errorf("an MCP token reached Sentry: %s %s", r.Method, r.Path)
			}
		}
	}
}

// TestHostedGoSDKOAuthFlow is the whole sign-in of one user through the Go
// SDK client: 401 → discovery → registration → consent → Sentry → callback
// → token, tools/list and tools/call, a refresh of the MCP token, and
// revocation.
func TestHostedGoSDKOAuthFlow(t *testing.T) {
	ctx := ctxTimeout(t, 60*time.Second)
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	h := startHostedOn(t, fake)

	// The challenge, the protected resource metadata and the
	// authorization server metadata the client discovers.
	wantChallenge(t, h, rawMCP(t, h.URL, ""), "POST /mcp without a token")
	prm := getJSON(t, h.Public+"/.well-known/oauth-protected-resource/mcp")
	if prm["resource"] != h.URL || fmt.Sprint(prm["authorization_servers"]) != fmt.Sprint([]any{h.Public}) {
		t.Errorf("protected resource metadata = %v, want resource %s, authorization_servers [%s]", prm, h.URL, h.Public)
	}
	asm := getJSON(t, h.Public+"/.well-known/oauth-authorization-server")
	for k, want := range map[string]any{
		"issuer":                 h.Public,
		"authorization_endpoint": h.Public + "/oauth/authorize",
		"token_endpoint":         h.Public + "/oauth/token",
		"registration_endpoint":  h.Public + "/oauth/register",
		"revocation_endpoint":    h.Public + "/oauth/revoke",
		"authorization_response_iss_parameter_supported": true,
		"code_challenge_methods_supported":               []any{"S256"},
	} {
		if fmt.Sprint(asm[k]) != fmt.Sprint(want) {
			t.Errorf("authorization server metadata %s = %v, want %v", k, asm[k], want)
		}
	}

	const redirectURI = "http://127.0.0.1:47613/callback"
	b := newBrowser(h, fake.URL, redirectURI)
	c := newSDKClient(t, b, "sentry-mcp e2e (Go SDK)", nil)
	start := time.Now()
	cs := c.connect(t, ctx, h.URL)

	// What the SDK did to get there, in order.
	var steps []string
	for _, s := range c.rec.sent() {
		steps = append(steps, fmt.Sprintf("%s %s %d", s.Method, s.Path, s.Status))
	}
	wantSteps := []string{
		"POST /mcp 401",
		"GET /.well-known/oauth-protected-resource/mcp 200",
		"GET /.well-known/oauth-authorization-server 200",
		"POST /oauth/register 201",
		"POST /oauth/token 200",
		"POST /mcp 200",
	}
	if !isSubsequence(wantSteps, steps) {
		t.Errorf("client requests %q, want in order %q", steps, wantSteps)
	}
	signIns, consents, upstream := b.seen()
	if signIns != 1 || len(upstream) != 1 {
		t.Fatalf("%d sign-ins, %d redirects to Sentry, want 1", signIns, len(upstream))
	}
	// The consent page names the client and each scope; the server asked
	// Sentry for exactly the default scopes with PKCE, for its own app.
	page := consents[0]
	for _, s := range append([]string{"sentry-mcp e2e (Go SDK)", "127.0.0.1"}, defaultScopes...) {
		if !strings.Contains(page, s) {
			t.Errorf("the consent page does not mention %q", s)
		}
	}
	up := upstream[0]
	if got := strings.Fields(up.Get("scope")); !sameSet(got, defaultScopes) {
		t.Errorf("scopes asked of Sentry = %v, want %v", got, defaultScopes)
	}
	if up.Get("redirect_uri") != h.Public+"/oauth/callback" || up.Get("code_challenge_method") != "S256" ||
		up.Get("code_challenge") == "" || up.Get("state") == "" || up.Get("response_type") != "code" {
		t.Errorf("redirect to Sentry carries %v, want response_type=code, redirect_uri=%s/oauth/callback, state and an S256 code_challenge", redactQuery(up), h.Public)
	}

	// The MCP token: opaque, at least 256 bits, short-lived, with a refresh token.
	tok0 := c.tokens.current()
	checkMCPToken(t, tok0, start)

	if got, want := listTools(t, ctx, cs), toolsFor(t, defaultScopes); !slices.Equal(got, want) {
		t.Errorf("tools/list = %v, want %v", got, want)
	}
	orgs := callOK(t, ctx, cs, "list_organizations", map[string]any{})
	if b, _ := json.Marshal(orgs); !strings.Contains(string(b), `"acme"`) {
		t.Errorf("list_organizations = %s", b)
	}
	if name := whoamiName(t, ctx, cs); name != "Dana Reyes" {
		t.Errorf("whoami = %q, want Dana Reyes", name)
	}
	fake.ResetRequests()
	callRefused(t, ctx, cs, "resolve_issue", map[string]any{"issue": "BACKEND-1", "organization": "acme"}, "event:write")
	if _, n := sentryTokens(fake.Requests()); n != 0 {
		t.Errorf("a refused call made %d Sentry API requests, want 0", n)
	}

	// Refresh the MCP token (grant_type=refresh_token, through the oauth2
	// configuration the SDK built); the next calls carry the new one. It
	// is the server's own token: Sentry is not asked to refresh.
	tok1, err := c.tokens.refresh()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	checkMCPToken(t, tok1, start)
	if tok1.AccessToken == tok0.AccessToken || tok1.RefreshToken == tok0.RefreshToken {
		t.Errorf("refresh did not rotate both the access and the refresh token")
	}
	if name := whoamiName(t, ctx, cs); name != "Dana Reyes" {
		t.Errorf("whoami after refresh = %q", name)
	}
	if got := c.rec.lastMCP().Authorization; got != "Bearer "+tok1.AccessToken {
		t.Errorf("the call after the refresh did not use the new access token")
	}
	tok2, err := c.tokens.refresh()
	if err != nil {
		t.Fatalf("second refresh: %v", err)
	}
	callOK(t, ctx, cs, "list_projects", map[string]any{"organization": "acme"})
	if g := fake.TokenGrants(); g["refresh_token"] != 0 || g["authorization_code"] != 1 {
		t.Errorf("Sentry token grants = %v, want one authorization_code and no refresh", g)
	}

	// Revocation (RFC 7009) of the access token: it gets the 401 challenge.
	if st, _ := postForm(t, h.Public+"/oauth/revoke", url.Values{
		"token": {tok2.AccessToken}, "token_type_hint": {"access_token"}, "client_id": {c.tokens.clientID()},
	}); st != http.StatusOK {
		t.Errorf("revoke the access token: status %d, want 200", st)
	}
	wantChallenge(t, h, rawMCP(t, h.URL, tok2.AccessToken), "POST /mcp with a revoked access token")
	// And of the refresh token: it no longer refreshes.
	if st, _ := postForm(t, h.Public+"/oauth/revoke", url.Values{
		"token": {tok2.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {c.tokens.clientID()},
	}); st != http.StatusOK {
		t.Errorf("revoke the refresh token: status %d, want 200", st)
	}
	if st, body := postForm(t, h.Public+"/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tok2.RefreshToken}, "client_id": {c.tokens.clientID()},
	}); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh with a revoked refresh token: %d %v, want 400 invalid_grant", st, body)
	}

	// The first refresh token was replaced and its successor used: presented
	// again it must have leaked, so it is refused (and would end the sign-in
	// it belonged to, already revoked here).
	if st, body := postForm(t, h.Public+"/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tok0.RefreshToken}, "client_id": {c.tokens.clientID()},
	}); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh with a superseded refresh token: %d %v, want 400 invalid_grant", st, body)
	}

	// The SDK session still holds the revoked token: its next call gets the
	// 401, the handler signs in again through the browser, and it goes on.
	if name := whoamiName(t, ctx, cs); name != "Dana Reyes" {
		t.Errorf("whoami after revocation = %q", name)
	}
	if n, _, _ := b.seen(); n != 2 {
		t.Errorf("%d sign-ins after the revoked token's 401, want 2", n)
	}
	if tok3 := c.tokens.current(); tok3.AccessToken == tok2.AccessToken {
		t.Errorf("no new token after signing in again")
	}

	// No passthrough: no MCP token ever reached Sentry, and every Sentry
	// API request carried a token the fake issued through OAuth.
	neverSentToSentry(t, fake, c.tokens.all())
	set, _ := sentryTokens(fake.Requests())
	for a := range set {
		tok, ok := strings.CutPrefix(a, "Bearer ")
		if !ok || fake.TokenScopes(tok) == nil {
			t.Errorf("a Sentry API request carried an Authorization the fake did not issue")
		}
	}
	h.noSecretsLogged(t, append(c.tokens.all(), b.codes()...)...)
	for a := range set {
		h.noSecretsLogged(t, strings.TrimPrefix(a, "Bearer "))
	}
}

// TestHostedTwoUsers signs in two Sentry users at once, with different
// scopes: each sees the tools of their own grant, each call runs with its
// own user's Sentry token, and neither user's token shows up on the other's
// requests.
func TestHostedTwoUsers(t *testing.T) {
	ctx := ctxTimeout(t, 60*time.Second)
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	sessionB := fake.AddUser(sentrytest.User{ID: "77", Name: "Sam Okafor", Email: "sam@acme.example", Orgs: []string{"acme"}})
	h := startHostedOn(t, fake)

	scopesB := []string{"org:read", "project:read", "team:read", "event:read", "event:write", "member:read"}
	bA := newBrowser(h, fake.URL, "http://127.0.0.1:47614/callback")
	bB := newBrowser(h, fake.URL, "http://localhost:47615/cb")
	bB.signInAs(sessionB)
	a := newSDKClient(t, bA, "client of A", nil)
	bc := newSDKClient(t, bB, "client of B", scopesB)
	csA := a.connect(t, ctx, h.URL)
	csB := bc.connect(t, ctx, h.URL)

	// B consented to event:write and member:read: the page said so, Sentry
	// was asked for them, and B's Sentry token has them.
	_, consentsA, _ := bA.seen()
	_, consentsB, upstreamB := bB.seen()
	if len(consentsA) != 1 || len(consentsB) != 1 || len(upstreamB) != 1 {
		t.Fatalf("consent pages seen: A %d, B %d; want one each", len(consentsA), len(consentsB))
	}
	for _, s := range []string{"event:write", "member:read"} {
		if !strings.Contains(consentsB[0], s) {
			t.Errorf("B's consent page does not mention %s", s)
		}
		if strings.Contains(consentsA[0], s) {
			t.Errorf("A's consent page mentions %s, which A's client did not ask for", s)
		}
	}
	if got := strings.Fields(upstreamB[0].Get("scope")); !sameSet(got, scopesB) {
		t.Errorf("scopes asked of Sentry for B = %v, want %v", got, scopesB)
	}

	toolsA, toolsB := listTools(t, ctx, csA), listTools(t, ctx, csB)
	if want := toolsFor(t, defaultScopes); !slices.Equal(toolsA, want) {
		t.Errorf("A's tools/list = %v, want %v", toolsA, want)
	}
	if want := toolsFor(t, scopesB); !slices.Equal(toolsB, want) {
		t.Errorf("B's tools/list = %v, want %v", toolsB, want)
	}
	for _, name := range []string{"resolve_issue", "update_issue"} {
		if slices.Contains(toolsA, name) || !slices.Contains(toolsB, name) {
			t.Errorf("%s: listed for A %v, for B %v; want B only", name, slices.Contains(toolsA, name), slices.Contains(toolsB, name))
		}
	}

	// One window of calls per user: the Sentry requests of each window
	// carry exactly one token, that user's.
	window := func(who string, calls func()) string {
		t.Helper()
		fake.ResetRequests()
		calls()
		set, n := sentryTokens(fake.Requests())
		if n == 0 || len(set) != 1 {
			t.Fatalf("%s's calls made %d Sentry API requests with %d distinct Authorization values, want some with exactly one", who, n, len(set))
		}
		for a := range set {
			return a
		}
		return ""
	}
	tokA := window("A", func() {
		if name := whoamiName(t, ctx, csA); name != "Dana Reyes" {
			t.Errorf("A's whoami = %q, want Dana Reyes", name)
		}
		callOK(t, ctx, csA, "list_organizations", map[string]any{})
		callOK(t, ctx, csA, "list_issues", map[string]any{"organization": "acme", "limit": 2})
	})
	tokB := window("B", func() {
		if name := whoamiName(t, ctx, csB); name != "Sam Okafor" {
			t.Errorf("B's whoami = %q, want Sam Okafor", name)
		}
		callOK(t, ctx, csB, "list_members", map[string]any{"organization": "acme"})
		callOK(t, ctx, csB, "update_issue", map[string]any{"issue": "BACKEND-2", "organization": "acme", "priority": "high"})
	})
	if tokA == tokB {
		t.Fatalf("A and B's calls reached Sentry with the same token")
	}
	if again := window("A (again)", func() { callOK(t, ctx, csA, "list_projects", map[string]any{"organization": "acme"}) }); again != tokA {
		t.Errorf("A's later call used another Sentry token than A's first calls")
	}
	scopesOf := func(a string) []string { return fake.TokenScopes(strings.TrimPrefix(a, "Bearer ")) }
	if s := scopesOf(tokA); slices.Contains(s, "event:write") || !slices.Contains(s, "event:read") {
		t.Errorf("A's Sentry token has scopes %v, want event:read without event:write", s)
	}
	if s := scopesOf(tokB); !slices.Contains(s, "event:write") || !slices.Contains(s, "member:read") {
		t.Errorf("B's Sentry token has scopes %v, want event:write and member:read", s)
	}

	// A's write is refused before anything reaches Sentry.
	fake.ResetRequests()
	callRefused(t, ctx, csA, "resolve_issue", map[string]any{"issue": "BACKEND-1", "organization": "acme"}, "event:write")
	if _, n := sentryTokens(fake.Requests()); n != 0 {
		t.Errorf("A's refused resolve_issue made %d Sentry API requests, want 0", n)
	}

	// At once: interleaved concurrent calls; every answer is its caller's
	// user and every Sentry request carries one of the two tokens.
	fake.ResetRequests()
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for i := range 10 {
		cs, want := csA, "Dana Reyes"
		if i%2 == 1 {
			cs, want = csB, "Sam Okafor"
		}
		wg.Go(func() {
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
			if err != nil || res.IsError {
				errs <- fmt.Sprintf("whoami: %v %v", err, res)
				return
			}
			b, _ := json.Marshal(res.StructuredContent)
			if !strings.Contains(string(b), want) {
				errs <- fmt.Sprintf("whoami for %s answered %s", want, b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	set, _ := sentryTokens(fake.Requests())
	for a := range set {
		if a != tokA && a != tokB {
			t.Errorf("a concurrent call reached Sentry with neither user's token")
		}
	}

	// No MCP token of either user ever reached Sentry; nothing secret logged.
	neverSentToSentry(t, fake, append(a.tokens.all(), bc.tokens.all()...))
	h.noSecretsLogged(t, append(append(a.tokens.all(), bc.tokens.all()...),
		strings.TrimPrefix(tokA, "Bearer "), strings.TrimPrefix(tokB, "Bearer "), sessionB)...)
}

// TestHostedConsentDenied: the user clicks deny. The client's redirect URI
// gets error=access_denied with its state and iss, the Go SDK's connect
// fails, and Sentry was never asked.
func TestHostedConsentDenied(t *testing.T) {
	ctx := ctxTimeout(t, 30*time.Second)
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	h := startHostedOn(t, fake)
	b := newBrowser(h, fake.URL, "http://127.0.0.1:47616/callback")
	b.deny = true
	c := newSDKClient(t, b, "client that is denied", nil)
	transport := &mcp.StreamableClientTransport{Endpoint: h.URL, HTTPClient: c.hc, OAuthHandler: c.handler}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "sentry-mcp-e2e-hosted", Version: "1.0.0"}, nil).Connect(ctx, transport, nil)
	if err == nil {
		cs.Close()
		t.Fatal("connected although the user denied consent")
	}
	if !strings.Contains(err.Error(), "access_denied") {
		t.Errorf("connect error %q does not say access_denied", err)
	}
	q := b.lastRedirect()
	if q.Get("error") != "access_denied" || q.Get("state") == "" || q.Get("iss") != h.Public || q.Get("code") != "" {
		t.Errorf("the client's redirect URI got %v, want error=access_denied, the state and iss=%s, no code", redactQuery(q), h.Public)
	}
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, "/oauth/") {
			t.Errorf("Sentry got %s %s although the user denied consent", r.Method, r.Path)
		}
	}
}

// checkMCPToken: opaque (not a JWT), at least 256 bits (43 base64url or
// 64 hex characters), expires within the hour, comes with a refresh token.
func checkMCPToken(t *testing.T, tok *oauth2.Token, since time.Time) {
	t.Helper()
	if len(tok.AccessToken) < 43 || strings.Count(tok.AccessToken, ".") == 2 {
		t.Errorf("MCP access token of %d characters (%d dots): want an opaque token of at least 256 bits", len(tok.AccessToken), strings.Count(tok.AccessToken, "."))
	}
	if tok.Expiry.IsZero() || tok.Expiry.After(time.Now().Add(3600*time.Second)) || tok.Expiry.Before(since) {
		t.Errorf("MCP access token expires %v, want within 3600 s", tok.Expiry)
	}
	if tok.RefreshToken == "" || tok.RefreshToken == tok.AccessToken {
		t.Errorf("no separate refresh token")
	}
	if !strings.EqualFold(tok.TokenType, "bearer") {
		t.Errorf("token_type %q, want Bearer", tok.TokenType)
	}
}

// isSubsequence reports whether want appears in got in order (other
// entries may come between).
func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// redactQuery drops the values of state and code_challenge for messages.
func redactQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		if k == "state" || k == "code_challenge" {
			v = []string{"…"}
		}
		out[k] = v
	}
	return out
}
