package httpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

// Bearer tokens of the test users (MCP tokens) and their Sentry tokens.
const (
	aliceMCP    = "mcp-alice-0123456789abcdef"
	bobMCP      = "mcp-bob-0123456789abcdef"
	acmeMCP     = "mcp-acme-0123456789abcdef" // alice, for /mcp/acme only
	slowMCP     = "mcp-slow-0123456789abcdef"
	endedMCP    = "mcp-ended-0123456789abcdef" // valid for one Authenticate: its sign-in ends during the call
	downMCP     = "mcp-down-0123456789abcdef"  // the check cannot be made (the database is down)
	aliceSentry = "sntry-alice-secret"
	bobSentry   = "sntry-bob-secret"
	slowSentry  = "sntry-slow-secret"
)

var defaultScopes = []string{"org:read", "project:read", "team:read", "event:read"}

// fakeAuth maps bearer tokens to principals, each bound to one resource,
// as the authorization server's verifier does.
type fakeAuth struct {
	users map[string]fakeUser
	ended atomic.Int32 // Authenticate calls with endedMCP
}

type fakeUser struct {
	resource string
	p        *tools.Principal
}

// unavailableErr is how the authorization server says it could not check.
type unavailableErr struct{}

func (unavailableErr) Error() string     { return "the database did not answer" }
func (unavailableErr) Unavailable() bool { return true }

func (a *fakeAuth) Authenticate(r *http.Request, resource string) (*tools.Principal, error) {
	if err := r.Context().Err(); err != nil { // as the real one: its lookups take the request's context
		return nil, err
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == downMCP {
		return nil, unavailableErr{}
	}
	if !ok {
		return nil, errors.New("no bearer token")
	}
	u, ok := a.users[tok]
	if !ok {
		return nil, errors.New("unknown token")
	}
	if tok == endedMCP && a.ended.Add(1) > 1 {
		return nil, errors.New("Sentry no longer accepts this sign-in")
	}
	if u.resource != resource {
		return nil, fmt.Errorf("token is for %s", u.resource)
	}
	return u.p, nil
}

func principal(key, sentryToken string, scopes []string, org string) *tools.Principal {
	return &tools.Principal{Key: key, Token: sentry.StaticToken(sentryToken), Grant: auth.NewGrant(scopes, nil, false), Org: org}
}

// syncBuffer collects log output written from several goroutines.
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

// lateTransport is a RoundTripper set after the server exists (the
// inventory's Sentry client is built before the server's metrics).
type lateTransport struct {
	rt atomic.Pointer[http.RoundTripper]
}

func (l *lateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return (*l.rt.Load()).RoundTrip(r)
}

type envOptions struct {
	ready   func(context.Context) error
	maxBody int64
	timeout time.Duration
	oauth   http.Handler
	grace   time.Duration // 0: 5 s
}

type env struct {
	t       *testing.T
	fake    *sentrytest.Server
	srv     *Server
	url     string // public URL, e.g. http://127.0.0.1:41234
	addr    string
	logs    *syncBuffer
	stop    context.CancelFunc
	served  chan error
	slow    chan struct{} // closed: slow Sentry requests go on
	entered chan struct{} // a slow Sentry request arrived

	releaseOnce sync.Once
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	fake.AddToken(aliceSentry, "org:read", "project:read", "team:read", "event:read", "member:read")
	fake.AddToken(bobSentry, "org:read")
	fake.AddToken(slowSentry, "org:read")
	e := &env{t: t, fake: fake, logs: &syncBuffer{}, slow: make(chan struct{}), entered: make(chan struct{}, 16)}

	// Sentry, with requests carrying the slow user's token held until e.slow closes.
	upstream := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer "+slowSentry {
			e.entered <- struct{}{}
			select {
			case <-e.slow:
			case <-r.Context().Done():
				return
			}
		}
		fake.Handler().ServeHTTP(w, r)
	})}
	uln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go upstream.Serve(uln)
	t.Cleanup(func() { upstream.Close() })

	late := &lateTransport{}
	cl, err := sentry.NewClient(sentry.Config{BaseURL: "http://" + uln.Addr().String(), UserAgent: "sentry-mcp/test", HTTPClient: &http.Client{Transport: late}, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := tools.New(tools.Config{Client: cl})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	e.url = "http://" + e.addr
	pub, _ := url.Parse(e.url)
	users := map[string]fakeUser{
		aliceMCP: {"/mcp", principal("alice", aliceSentry, []string{"org:read", "project:read", "team:read", "event:read", "member:read"}, "")},
		bobMCP:   {"/mcp", principal("bob", bobSentry, []string{"org:read"}, "")},
		acmeMCP:  {"/mcp/acme", principal("alice-acme", aliceSentry, []string{"org:read", "project:read", "event:read"}, "acme")},
		slowMCP:  {"/mcp", principal("slow", slowSentry, []string{"org:read"}, "")},
		endedMCP: {"/mcp", principal("ended", "sntry-rejected-by-sentry", []string{"org:read"}, "")},
	}
	e.srv, err = New(Config{
		PublicURL:       pub,
		Loopback:        true,
		Inventory:       inv,
		Version:         "test",
		Auth:            &fakeAuth{users: users},
		OAuth:           o.oauth,
		DefaultScopes:   defaultScopes,
		ScopesSupported: []string{"org:read", "project:read", "team:read", "event:read", "event:write"},
		Ready:           o.ready,
		MaxBody:         o.maxBody,
		RequestTimeout:  o.timeout,
		Logger:          slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Replica:         "replica-a",
	})
	if err != nil {
		t.Fatal(err)
	}
	rt := e.srv.Metrics().Upstream(http.DefaultTransport)
	late.rt.Store(&rt)

	ctx, stop := context.WithCancel(context.Background())
	e.stop = stop
	e.served = make(chan error, 1)
	grace := o.grace
	if grace == 0 {
		grace = 5 * time.Second
	}
	go func() { e.served <- e.srv.Serve(ctx, ln, grace) }()
	t.Cleanup(func() {
		e.release()
		stop()
		select {
		case err := <-e.served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after shutdown")
		}
	})
	return e
}

// waitServed waits up to d for Serve to return nil (failing with msg if
// it does not), and leaves the result for the cleanup.
func (e *env) waitServed(d time.Duration, msg string) {
	e.t.Helper()
	select {
	case err := <-e.served:
		if err != nil {
			e.t.Fatalf("Serve: %v", err)
		}
		e.served <- nil
	case <-time.After(d):
		e.t.Fatal(msg)
	}
}

func (e *env) release() { e.releaseOnce.Do(func() { close(e.slow) }) }

// mcpClient is an initialized MCP client over HTTP with bearer token tok.
func (e *env) mcpClient(ctx context.Context, path, tok string, protocol string) *client.Client {
	e.t.Helper()
	c, err := client.NewStreamableHttpClient(e.url+path, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + tok}))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = protocol
	init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		e.t.Fatalf("initialize: %v", err)
	}
	return c
}

// do sends a request and returns the response with its body read.
func (e *env) do(method, path string, body string, header map[string]string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body == "" {
		req.Body = nil
		req.ContentLength = 0
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const listTools = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`

func jsonHeaders(tok string) map[string]string {
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
	if tok != "" {
		h["Authorization"] = "Bearer " + tok
	}
	return h
}

func with(h map[string]string, k, v string) map[string]string {
	h[k] = v
	return h
}

func toolNames(t *testing.T, res *mcp.ListToolsResult) []string {
	t.Helper()
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return names
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// An MCP client over HTTP initializes, lists the tools and calls one, in
// both protocol eras, on /mcp and /mcp/{org}; Sentry sees the user's Sentry
// token, never the MCP token.
func TestMCPOverHTTP(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		name, path, token, protocol string
		tool                        string
		args                        map[string]any
		want                        string
	}{
		{"legacy /mcp", "/mcp", aliceMCP, mcp.ProtocolVersion20251125, "list_organizations", map[string]any{}, "acme-labs"},
		{"modern /mcp", "/mcp", aliceMCP, mcp.LATEST_PROTOCOL_VERSION, "list_organizations", map[string]any{}, "acme-labs"},
		{"pinned /mcp/acme", "/mcp/acme", acmeMCP, mcp.ProtocolVersion20251125, "list_projects", map[string]any{}, "backend"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			e.fake.ResetRequests()
			c := e.mcpClient(ctx, tc.path, tc.token, tc.protocol)
			list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if names := toolNames(t, list); !slices.Contains(names, tc.tool) || !slices.Contains(names, "whoami") {
				t.Fatalf("tools/list = %v, want %s and whoami", names, tc.tool)
			}
			res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: tc.tool, Arguments: tc.args}})
			if err != nil {
				t.Fatal(err)
			}
			if res.IsError || !strings.Contains(text(res), tc.want) {
				t.Fatalf("%s: error=%v text=%q, want %q", tc.tool, res.IsError, text(res), tc.want)
			}
			reqs := e.fake.Requests()
			if len(reqs) == 0 {
				t.Fatal("Sentry saw no request")
			}
			for _, r := range reqs {
				if r.Authorization != "Bearer "+aliceSentry {
					t.Errorf("Sentry saw Authorization %q on %s, want alice's Sentry token", r.Authorization, r.Path)
				}
			}
		})
	}
}

// Two users with different grants, at the same time, get different tool
// lists (and the responses are marked private).
func TestToolListsPerUser(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := e.mcpClient(ctx, "/mcp", aliceMCP, mcp.ProtocolVersion20251125)
	bob := e.mcpClient(ctx, "/mcp", bobMCP, mcp.ProtocolVersion20251125)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 20; i++ {
		for _, u := range []struct {
			c          *client.Client
			name       string
			wantIssues bool
		}{{alice, "alice", true}, {bob, "bob", false}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := u.c.ListTools(ctx, mcp.ListToolsRequest{})
				if err != nil {
					errs <- err
					return
				}
				names := toolNames(t, res)
				if slices.Contains(names, "list_issues") != u.wantIssues || !slices.Contains(names, "list_organizations") {
					errs <- fmt.Errorf("%s got %v", u.name, names)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	resp, _ := e.do("POST", "/mcp", listTools, jsonHeaders(bobMCP))
	if got := resp.Header.Get("Cache-Control"); got != "private, no-store" {
		t.Errorf("Cache-Control = %q, want private, no-store", got)
	}
	if got := resp.Header.Get("Vary"); got != "Authorization" {
		t.Errorf("Vary = %q, want Authorization", got)
	}
}

func TestUnauthorized(t *testing.T) {
	e := newEnv(t, envOptions{})
	scope := ` scope="org:read project:read team:read event:read"`
	for _, tc := range []struct {
		name, path string
		header     map[string]string
		want       string
	}{
		{"no token", "/mcp", jsonHeaders(""), `Bearer resource_metadata="` + e.url + `/.well-known/oauth-protected-resource/mcp",` + scope},
		{"unknown token", "/mcp", jsonHeaders("nope"), `Bearer resource_metadata="` + e.url + `/.well-known/oauth-protected-resource/mcp",` + scope + `, error="invalid_token"`},
		{"Sentry token as bearer", "/mcp", jsonHeaders(aliceSentry), `Bearer resource_metadata="` + e.url + `/.well-known/oauth-protected-resource/mcp",` + scope + `, error="invalid_token"`},
		{"basic auth", "/mcp", with(jsonHeaders(""), "Authorization", "Basic YTpi"), `Bearer resource_metadata="` + e.url + `/.well-known/oauth-protected-resource/mcp",` + scope + `, error="invalid_token"`},
		{"pinned, no token", "/mcp/acme", jsonHeaders(""), `Bearer resource_metadata="` + e.url + `/.well-known/oauth-protected-resource/mcp/acme",` + scope},
		{"/mcp token at /mcp/acme", "/mcp/acme", jsonHeaders(aliceMCP), `Bearer resource_metadata="` + e.url + `/.well-known/oauth-protected-resource/mcp/acme",` + scope + `, error="invalid_token"`},
		{"/mcp/acme token at /mcp", "/mcp", jsonHeaders(acmeMCP), `Bearer resource_metadata="` + e.url + `/.well-known/oauth-protected-resource/mcp",` + scope + `, error="invalid_token"`},
		{"GET without token", "/mcp", map[string]string{"Accept": "text/event-stream"}, `Bearer resource_metadata="` + e.url + `/.well-known/oauth-protected-resource/mcp",` + scope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			body := listTools
			if tc.header["Accept"] == "text/event-stream" {
				method, body = "GET", ""
			}
			resp, got := e.do(method, tc.path, body, tc.header)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", resp.StatusCode, got)
			}
			if h := resp.Header.Get("WWW-Authenticate"); h != tc.want {
				t.Errorf("WWW-Authenticate =\n%s\nwant\n%s", h, tc.want)
			}
			var msg struct{ Error, ErrorDescription string }
			if resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(got), &msg) != nil || msg.Error == "" {
				t.Errorf("body %q (%s), want a JSON error", got, resp.Header.Get("Content-Type"))
			}
		})
	}
}

func TestResourceMetadata(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		method, path string
		status       int
		resource     string
	}{
		{"GET", "/.well-known/oauth-protected-resource", 200, "/mcp"},
		{"GET", "/.well-known/oauth-protected-resource/mcp", 200, "/mcp"},
		{"GET", "/.well-known/oauth-protected-resource/mcp/acme", 200, "/mcp/acme"},
		{"GET", "/.well-known/oauth-protected-resource/mcp/not%20a%20slug", 404, ""},
		{"GET", "/.well-known/oauth-protected-resource/mcp/acme/extra", 404, ""},
		{"POST", "/.well-known/oauth-protected-resource/mcp", 405, ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp, body := e.do(tc.method, tc.path, "", nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				return
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"resource":                 e.url + tc.resource,
				"authorization_servers":    []any{e.url},
				"scopes_supported":         []any{"org:read", "project:read", "team:read", "event:read", "event:write"},
				"bearer_methods_supported": []any{"header"},
				"resource_name":            "sentry-mcp",
			}
			wb, _ := json.Marshal(want)
			gb, _ := json.Marshal(doc)
			if string(wb) != string(gb) {
				t.Errorf("metadata\n%s\nwant\n%s", gb, wb)
			}
		})
	}
}

func TestOrigin(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, port, _ := net.SplitHostPort(e.addr)
	for _, tc := range []struct {
		origin string
		status int
	}{
		{"", 200},
		{e.url, 200},
		{strings.ToUpper(e.url), 200},
		{"https://evil.example", 403},
		{"null", 403},
		{"http://127.0.0.1:1", 403},
		{"https://127.0.0.1:" + port, 403},
		{"http://127.0.0.1.evil.example:" + port, 403},
		{e.url + "/path", 403},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			h := jsonHeaders(aliceMCP)
			if tc.origin != "" {
				h["Origin"] = tc.origin
			}
			resp, body := e.do("POST", "/mcp", listTools, h)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
		})
	}
}

func TestHost(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, port, _ := net.SplitHostPort(e.addr)
	for _, tc := range []struct {
		host   string
		status int
	}{
		{e.addr, 200},
		{"localhost:" + port, 200},
		{"LOCALHOST:" + port, 200},
		{"[::1]:" + port, 200},
		{"evil.example", 421},
		{"evil.example:" + port, 421},
		{"localhost", 421},
		{"127.0.0.1:1", 421},
	} {
		t.Run(tc.host, func(t *testing.T) {
			for _, path := range []string{"/healthz", "/mcp"} {
				resp, body := e.do("POST", path, listTools, with(jsonHeaders(aliceMCP), "Host", tc.host))
				want := tc.status
				if path == "/healthz" && want == 200 {
					want = 405 // the Host passed; /healthz takes GET
				}
				if resp.StatusCode != want {
					t.Errorf("%s: status %d, want %d: %s", path, resp.StatusCode, want, body)
				}
			}
		})
	}

	// Not listening on loopback: only the public host.
	fake := sentrytest.NewServer(nil, sentrytest.Options{})
	defer fake.Close()
	cl, _ := sentry.NewClient(sentry.Config{BaseURL: fake.URL})
	inv, _ := tools.New(tools.Config{Client: cl})
	pub, _ := url.Parse("https://mcp.example.com")
	s, err := New(Config{PublicURL: pub, Inventory: inv, Auth: &fakeAuth{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, time.Second) }()
	defer func() { cancel(); <-done }()
	for _, tc := range []struct {
		host   string
		status int
	}{
		{"mcp.example.com", 200},
		{"MCP.example.com:443", 200},
		{"mcp.example.com:8443", 421},
		{ln.Addr().String(), 421},
		{"localhost", 421},
	} {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/healthz", nil)
		req.Host = tc.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("public host only, Host %s: status %d, want %d", tc.host, resp.StatusCode, tc.status)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, envOptions{maxBody: 1024})
	big := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 2000) + `"}}`
	for _, tc := range []struct {
		name    string
		body    string
		chunked bool
		token   string
		status  int
	}{
		{"small", listTools, false, aliceMCP, 200},
		{"over the limit", big, false, aliceMCP, 413},
		{"over the limit, no token", big, false, "", 413},
		{"over the limit, chunked", big, true, aliceMCP, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body) // unknown length: sent chunked
			}
			req, _ := http.NewRequest("POST", e.url+"/mcp", body)
			for k, v := range jsonHeaders(tc.token) {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if tc.chunked && req.ContentLength != 0 && req.ContentLength != -1 {
				t.Fatalf("request had Content-Length %d, want chunked", req.ContentLength)
			}
		})
	}
}

// GET and DELETE get 405 (stateless: no stream, no session); other
// methods too.
func TestMethods(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		method string
		header map[string]string
		status int
	}{
		{"GET", map[string]string{"Accept": "text/event-stream", "Authorization": "Bearer " + aliceMCP}, 405},
		{"GET", map[string]string{"Accept": "text/event-stream", "Authorization": "Bearer " + aliceMCP, "Mcp-Protocol-Version": mcp.LATEST_PROTOCOL_VERSION}, 405},
		{"DELETE", map[string]string{"Authorization": "Bearer " + aliceMCP, "Mcp-Session-Id": "x"}, 405},
		{"PUT", jsonHeaders(aliceMCP), 405},
		{"OPTIONS", nil, 405},
	} {
		t.Run(tc.method, func(t *testing.T) {
			resp, body := e.do(tc.method, "/mcp", "", tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if resp.Header.Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", resp.Header.Get("Allow"))
			}
		})
	}
}

// Every response carries the security headers; the OAuth handler gets
// its routes and openid-configuration is not served.
func TestRoutes(t *testing.T) {
	oauth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "oauth "+r.URL.Path)
	})
	e := newEnv(t, envOptions{oauth: oauth})
	for _, tc := range []struct {
		method, path string
		header       map[string]string
		status       int
		body         string
	}{
		{"GET", "/healthz", nil, 200, "ok\n"},
		{"GET", "/readyz", nil, 200, "ready\n"},
		{"GET", "/.well-known/oauth-authorization-server", nil, 200, "oauth /.well-known/oauth-authorization-server"},
		{"POST", "/oauth/token", nil, 200, "oauth /oauth/token"},
		{"GET", "/oauth/authorize?client_id=x", nil, 200, "oauth /oauth/authorize"},
		{"GET", "/.well-known/openid-configuration", nil, 404, ""},
		{"GET", "/nowhere", nil, 404, ""},
		{"GET", "/mcp/", jsonHeaders(aliceMCP), 404, ""},
		{"POST", "/mcp/not.a.slug", jsonHeaders(aliceMCP), 404, ""},
		{"POST", "/mcp", jsonHeaders(""), 401, ""},
		{"POST", "/mcp", jsonHeaders(aliceMCP), 200, ""},
		{"POST", "/mcp", with(jsonHeaders(aliceMCP), "Host", "evil.example"), 421, ""},
		{"POST", "/mcp", with(jsonHeaders(aliceMCP), "Origin", "https://evil.example"), 403, ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			body := ""
			if tc.method == "POST" {
				body = listTools
			}
			resp, got := e.do(tc.method, tc.path, body, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, got)
			}
			if tc.body != "" && got != tc.body {
				t.Errorf("body %q, want %q", got, tc.body)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("security headers missing: %v", resp.Header)
			}
		})
	}
}

func TestReady(t *testing.T) {
	var broken atomic.Bool
	e := newEnv(t, envOptions{ready: func(ctx context.Context) error {
		if broken.Load() {
			return errors.New("database: migration 3 is not applied")
		}
		return ctx.Err()
	}})
	for _, tc := range []struct {
		broken bool
		status int
		body   string
	}{
		{false, 200, "ready\n"},
		{true, 503, "not ready\n"}, // the reason (it may name the database) is logged, not shown
		{false, 200, "ready\n"},
	} {
		broken.Store(tc.broken)
		resp, body := e.do("GET", "/readyz", "", nil)
		if resp.StatusCode != tc.status || body != tc.body {
			t.Errorf("broken=%v: %d %q, want %d %q", tc.broken, resp.StatusCode, body, tc.status, tc.body)
		}
		if resp, _ := e.do("GET", "/healthz", "", nil); resp.StatusCode != 200 {
			t.Errorf("broken=%v: /healthz %d, want 200", tc.broken, resp.StatusCode)
		}
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, envOptions{maxBody: 4096})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := e.mcpClient(ctx, "/mcp", bobMCP, mcp.ProtocolVersion20251125)
	if res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "list_organizations", Arguments: map[string]any{}}}); err != nil || res.IsError {
		t.Fatalf("list_organizations: %v %v", err, res)
	}
	// bob lacks event:read: the tool refuses (a tool error, not a protocol error).
	if res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "list_issues", Arguments: map[string]any{"organization": "acme"}}}); err != nil || !res.IsError {
		t.Fatalf("list_issues as bob: %v %v, want a tool error", err, res)
	}
	// A name no tool has: counted as "other", not as itself.
	_, _ = c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "no_such_tool_x1", Arguments: map[string]any{}}})
	e.do("POST", "/mcp", `{"jsonrpc":"2.0","id":9,"method":"made/up"}`, jsonHeaders(bobMCP))
	e.do("POST", "/mcp", listTools, jsonHeaders(""))
	e.do("POST", "/mcp", listTools, with(jsonHeaders(bobMCP), "Origin", "https://evil.example"))
	e.do("POST", "/mcp", strings.Repeat(" ", 5000)+listTools, jsonHeaders(bobMCP))
	e.srv.Metrics().Refresh("ok")
	e.srv.Metrics().Refresh("refused")
	e.srv.Metrics().Refresh("weird")
	e.srv.Metrics().LockWait(3*time.Millisecond, nil)
	e.srv.Metrics().LockWait(30*time.Second, errors.New("lock timeout"))

	resp, body := e.do("GET", "/metrics", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`sentry_mcp_requests_total{method="initialize",outcome="ok",tool=""} 1`,
		`sentry_mcp_requests_total{method="tools/call",outcome="ok",tool="list_organizations"} 1`,
		`sentry_mcp_requests_total{method="tools/call",outcome="tool_error",tool="list_issues"} 1`,
		`sentry_mcp_requests_total{method="tools/call",outcome="error",tool="other"} 1`,
		`sentry_mcp_requests_total{method="other",outcome="error",tool=""} 1`,
		`sentry_mcp_requests_total{method="notifications/initialized",outcome="ok",tool=""} 1`,
		`sentry_mcp_requests_total{method="",outcome="unauthorized",tool=""} 1`,
		`sentry_mcp_requests_total{method="",outcome="refused",tool=""} 2`,
		`sentry_mcp_http_requests_total{code="200",route="/mcp"}`,
		`sentry_mcp_http_requests_total{code="401",route="/mcp"} 1`,
		`sentry_mcp_http_requests_total{code="413",route="/mcp"} 1`,
		`sentry_mcp_upstream_request_duration_seconds_count{status="200"}`,
		`sentry_mcp_refreshes_total{outcome="ok",replica="replica-a"} 1`,
		`sentry_mcp_refreshes_total{outcome="refused",replica="replica-a"} 1`,
		`sentry_mcp_refreshes_total{outcome="failed",replica="replica-a"} 0`,
		`sentry_mcp_refreshes_total{outcome="other",replica="replica-a"} 1`,
		`sentry_mcp_refresh_lock_wait_seconds_count{outcome="acquired",replica="replica-a"} 1`,
		`sentry_mcp_refresh_lock_wait_seconds_count{outcome="failed",replica="replica-a"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s\n%s", want, grepLines(body, "sentry_mcp_requests_total"))
		}
	}
	if strings.Contains(body, "no_such_tool_x1") || strings.Contains(body, "made/up") {
		t.Error("/metrics has a label value a client chose")
	}
}

// The access log has one line per request with method, path, route,
// status, duration, size and client, and never a token, a query string or
// a cookie.
func TestAccessLog(t *testing.T) {
	oauth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusFound) })
	e := newEnv(t, envOptions{oauth: oauth})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := e.mcpClient(ctx, "/mcp", aliceMCP, mcp.ProtocolVersion20251125)
	if _, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}}}); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/mcp", listTools, jsonHeaders("mcp-unknown-token-zzz"))
	e.do("GET", "/oauth/callback?code=secret-code-123&state=secret-state-456", "", map[string]string{"Cookie": "sid=secret-cookie-789"})

	logs := e.logs.String()
	for _, secret := range []string{aliceMCP, aliceSentry, "mcp-unknown-token-zzz", "secret-code-123", "secret-state-456", "secret-cookie-789"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q:\n%s", secret, logs)
		}
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "http request" {
			lines = append(lines, m)
		}
	}
	want := []struct {
		path, route string
		status      float64
	}{
		{"/mcp", "/mcp", 401},
		{"/oauth/callback", "/oauth/", 302},
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			if l["path"] == w.path && l["route"] == w.route && l["status"] == w.status {
				found = true
				for _, k := range []string{"method", "duration_ms", "bytes", "client"} {
					if _, ok := l[k]; !ok {
						t.Errorf("log line %v lacks %s", l, k)
					}
				}
			}
		}
		if !found {
			t.Errorf("no log line for %s %s %v in\n%s", w.path, w.route, w.status, logs)
		}
	}
	calls := 0
	for _, l := range lines {
		if l["rpc_method"] == "tools/call" && l["tool"] == "whoami" && l["status"] == float64(200) {
			calls++
		}
	}
	if calls != 1 {
		t.Errorf("%d log lines for the whoami call, want 1:\n%s", calls, logs)
	}
}

// On shutdown the server stops accepting connections at once and lets an
// in-flight tool call finish.
func TestGracefulShutdown(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := e.mcpClient(ctx, "/mcp", slowMCP, mcp.ProtocolVersion20251125)
	type result struct {
		res *mcp.CallToolResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "list_organizations", Arguments: map[string]any{}}})
		done <- result{res, err}
	}()
	select {
	case <-e.entered:
	case <-ctx.Done():
		t.Fatal("the call never reached Sentry")
	}
	e.stop()

	// New connections are refused while the call is still in flight.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", e.addr, time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case r := <-done:
		t.Fatalf("the call ended before Sentry answered: %v %v", r.res, r.err)
	case err := <-e.served:
		t.Fatalf("Serve returned with a call in flight: %v", err)
	default:
	}

	e.release()
	r := <-done
	if r.err != nil || r.res.IsError || !strings.Contains(text(r.res), "acme") {
		t.Fatalf("in-flight call: %v %+v", r.err, r.res)
	}
	e.waitServed(5*time.Second, "Serve did not return after the last call finished")
}

// A call that outlives the request deadline gets a JSON-RPC error saying
// so, not an empty response.
func TestDeadline(t *testing.T) {
	e := newEnv(t, envOptions{timeout: 300 * time.Millisecond})
	resp, body := e.do("POST", "/mcp", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"list_organizations","arguments":{}}}`, jsonHeaders(slowMCP))
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504: %s", resp.StatusCode, body)
	}
	var msg struct {
		ID    int
		Error struct{ Message string }
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.ID != 7 || !strings.Contains(msg.Error.Message, "300ms") {
		t.Errorf("body %s, want a JSON-RPC error for id 7 naming the limit", body)
	}
}

func TestNewRefuses(t *testing.T) {
	fake := sentrytest.NewServer(nil, sentrytest.Options{})
	defer fake.Close()
	cl, _ := sentry.NewClient(sentry.Config{BaseURL: fake.URL})
	inv, _ := tools.New(tools.Config{Client: cl})
	for _, tc := range []struct {
		public string
		scopes []string
		want   string
	}{
		{"", nil, "public URL is required"},
		{"ftp://x.example", nil, "must be an origin"},
		{"https://x.example/mcp", nil, "must be an origin"},
		{"https://user:pw@x.example", nil, "must be an origin"},
		{"https://x.example?a=b", nil, "must be an origin"},
		{"https://x.example", []string{`org:read"`}, "not a valid OAuth scope"},
		{"https://x.example", []string{"a b"}, "not a valid OAuth scope"},
	} {
		cfg := Config{Inventory: inv, Auth: &fakeAuth{}, DefaultScopes: tc.scopes}
		if tc.public != "" {
			cfg.PublicURL, _ = url.Parse(tc.public)
		}
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v, want %q", tc.public, tc.scopes, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	pub, _ := url.Parse("https://x.example/")
	if _, err := New(Config{PublicURL: pub, Inventory: inv, Auth: &fakeAuth{}}); err != nil {
		t.Errorf("https://x.example/: %v", err)
	}
}

func TestPinCache(t *testing.T) {
	built := map[string]int{}
	c := newPinCache(2, func(org string) *pinnedMCP { built[org]++; return &pinnedMCP{} })
	for _, org := range []string{"a", "b", "a", "c", "a", "b"} {
		c.get(org)
	}
	// a stays (used last before c); b is dropped by c and built again.
	if want := map[string]int{"a": 1, "b": 2, "c": 1}; fmt.Sprint(built) != fmt.Sprint(want) {
		t.Errorf("built %v, want %v", built, want)
	}
	if c.len() != 2 {
		t.Errorf("%d cached, want 2", c.len())
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A call still running when the grace period ends is cut off: Serve
// returns soon after grace and says so in the log.
func TestShutdownGraceEnds(t *testing.T) {
	e := newEnv(t, envOptions{grace: 200 * time.Millisecond})
	go func() { // cut off: its error is the point
		req, _ := http.NewRequest("POST", e.url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"list_organizations","arguments":{}}}`))
		for k, v := range jsonHeaders(slowMCP) {
			req.Header.Set(k, v)
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-e.entered
	start := time.Now()
	e.stop()
	e.waitServed(3*time.Second, "Serve did not return after the grace period")
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("Serve returned after %s, before the grace period", d)
	}
	if !strings.Contains(e.logs.String(), "cut off") {
		t.Errorf("no warning about the cut-off request in\n%s", e.logs.String())
	}
}

// A subscriptions/listen request (protocol 2026-07-28) is acknowledged
// with no notifications (stateless HTTP pushes none, so tools.listChanged
// is not offered), and neither it nor shutdown waits: a listening stream
// never holds shutdown for the grace period.
func TestShutdownEndsListenStreams(t *testing.T) {
	e := newEnv(t, envOptions{grace: 10 * time.Second})
	v := mcp.LATEST_PROTOCOL_VERSION
	body := `{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},"_meta":{"` +
		mcp.MetaKeyProtocolVersion + `":"` + v + `","` + mcp.MetaKeyClientInfo + `":{"name":"t","version":"1"},"` + mcp.MetaKeyClientCapabilities + `":{}}}}`
	req, _ := http.NewRequest("POST", e.url+"/mcp", strings.NewReader(body))
	for k, val := range with(with(jsonHeaders(aliceMCP), "Mcp-Protocol-Version", v), "Mcp-Method", "subscriptions/listen") {
		req.Header.Set(k, val)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("listen: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("listen stream Cache-Control = %q, want private, no-store", cc)
	}
	// The stream ends by itself: nothing will be pushed on it.
	got, err := io.ReadAll(resp.Body)
	if err != nil || !strings.Contains(string(got), `"resultType":"complete"`) || strings.Contains(string(got), `"toolsListChanged":true`) {
		t.Fatalf("listen: %q %v", got, err)
	}
	start := time.Now()
	e.stop()
	e.waitServed(5*time.Second, "Serve waited for the listening stream")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %s with a listening stream open", d)
	}
}

// tools/list differs per user: on protocol 2026-07-28 its cache hint says
// private (never shared between callers) and immediately stale.
func TestToolsListIsPrivate(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := mcp.LATEST_PROTOCOL_VERSION
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"` +
		mcp.MetaKeyProtocolVersion + `":"` + v + `","` + mcp.MetaKeyClientInfo + `":{"name":"t","version":"1"},"` + mcp.MetaKeyClientCapabilities + `":{}}}}`
	resp, got := e.do("POST", "/mcp", body, with(with(jsonHeaders(aliceMCP), "Mcp-Protocol-Version", v), "Mcp-Method", "tools/list"))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	var msg struct {
		Result struct {
			Tools      []any  `json:"tools"`
			CacheScope string `json:"cacheScope"`
			TTL        *int64 `json:"ttlMs"`
		} `json:"result"`
	}
	if i := strings.Index(got, "{"); i >= 0 { // a JSON body or one SSE event
		got = got[i:]
		if j := strings.LastIndex(got, "}"); j >= 0 {
			got = got[:j+1]
		}
	}
	if err := json.Unmarshal([]byte(got), &msg); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	if len(msg.Result.Tools) == 0 || msg.Result.CacheScope != "private" || msg.Result.TTL == nil || *msg.Result.TTL != 0 {
		t.Errorf("tools/list result: %d tools, cacheScope %q, ttlMs %v", len(msg.Result.Tools), msg.Result.CacheScope, msg.Result.TTL)
	}
}

// Stateless HTTP cannot push notifications/tools/list_changed: the server
// does not claim it can.
func TestNoListChangedOverHTTP(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, body := e.do("POST", "/mcp", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`, jsonHeaders(aliceMCP))
	if resp.StatusCode != 200 || !strings.Contains(body, `"tools":{}`) && !strings.Contains(body, `"tools":{"listChanged":false}`) {
		t.Errorf("initialize: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, `"listChanged":true`) {
		t.Errorf("advertises tools.listChanged over stateless HTTP: %s", body)
	}
}

// A tool call during which the user's sign-in ended (Sentry rejected the
// token and refused the refresh) is answered with the 401 challenge, not a
// tool error, so the client signs in again; a tool error while the sign-in
// holds stays a tool error.
func TestSignInEndedDuringTheCall(t *testing.T) {
	e := newEnv(t, envOptions{})
	call := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_organizations","arguments":{}}}`
	resp, body := e.do("POST", "/mcp", call, with(jsonHeaders(endedMCP), "Mcp-Protocol-Version", "2025-11-25"))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) || strings.Contains(body, "isError") {
		t.Errorf("the call that found the sign-in ended: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	resp, body = e.do("POST", "/mcp", `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_issues","arguments":{"organization":"acme"}}}`, with(jsonHeaders(bobMCP), "Mcp-Protocol-Version", "2025-11-25"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"isError":true`) {
		t.Errorf("a tool error with a valid sign-in: %d %s", resp.StatusCode, body)
	}
}

// When the token cannot be checked (the database is down), the client is
// told to try again, not to sign in again.
func TestAuthenticationUnavailable(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, body := e.do("POST", "/mcp", listTools, jsonHeaders(downMCP))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("WWW-Authenticate") != "" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("%d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
}
