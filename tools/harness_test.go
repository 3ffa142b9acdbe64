package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

// secretToken is recognisable so tests can prove it never leaks.
const secretToken = "sntryu_SECRET0TOKEN0abcdef0123456789abcdef0123456789abcdef0123"

// memberScopes is what Sentry's "member" role typically grants a token.
var memberScopes = []string{"org:read", "project:read", "project:releases", "team:read", "member:read", "event:write"}

type setup struct {
	data         *sentrytest.Data
	opts         sentrytest.Options
	tokenScopes  []string // scopes the fake gives the token
	bound        []string // --scopes
	readOnly     bool
	org          string
	unknownGrant bool // pretend GET /api/0/ could not tell the scopes
	trusted      []string
	selection    tools.Selection
}

type harness struct {
	t       testing.TB
	outputs map[string]*jsonschema.Schema
	fake    *sentrytest.Server
	inv     *tools.Inventory
	pr      *tools.Principal
	c       *client.Client
	logs    *syncBuffer
	token   string
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

func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	if s.data == nil {
		s.data = sentrytest.DemoData()
	}
	if s.tokenScopes == nil {
		s.tokenScopes = memberScopes
	}
	fake := sentrytest.NewServer(s.data, s.opts)
	t.Cleanup(fake.Close)
	fake.AddToken(secretToken, s.tokenScopes...)
	return newHarnessWith(t, fake, s)
}

func newHarnessWith(t testing.TB, fake *sentrytest.Server, s setup) *harness {
	t.Helper()
	cl, err := sentry.NewClient(sentry.Config{BaseURL: fake.URL, UserAgent: "sentry-mcp/test", TrustedHosts: s.trusted})
	if err != nil {
		t.Fatal(err)
	}
	var tokenScopes []string
	if !s.unknownGrant {
		idx, _, err := cl.Whoami(sentry.WithTokenSource(context.Background(), sentry.StaticToken(secretToken)))
		if err != nil {
			t.Fatal(err)
		}
		tokenScopes = idx.Auth.Scopes
	}
	logs := &syncBuffer{}
	inv, err := tools.New(tools.Config{
		Client:    cl,
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Selection: s.selection,
	})
	if err != nil {
		t.Fatal(err)
	}
	pr := &tools.Principal{Key: "test", Token: sentry.StaticToken(secretToken), Grant: auth.NewGrant(tokenScopes, s.bound, s.readOnly), Org: s.org}
	ctx := context.Background()
	c := connect(t, ctx, inv.MCPServer(tools.ServerOptions{Version: "test", Org: s.org, Bind: bindPrincipal(pr)}))
	fake.ResetRequests()
	h := &harness{t: t, fake: fake, inv: inv, pr: pr, c: c, logs: logs, token: secretToken, outputs: map[string]*jsonschema.Schema{}}
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range list.Tools {
		b, _ := json.Marshal(tool.OutputSchema)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		comp := jsonschema.NewCompiler()
		if err := comp.AddResource(tool.Name, doc); err != nil {
			t.Fatal(err)
		}
		if h.outputs[tool.Name], err = comp.Compile(tool.Name); err != nil {
			t.Fatalf("%s output schema: %v", tool.Name, err)
		}
	}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), secretToken) {
			t.Errorf("the token appeared in the logs")
		}
	})
	return h
}

// call runs a tool through the MCP session. A Go error from the protocol
// layer fails the test: those are for bugs only.
func (h *harness) call(name string, args map[string]any) *mcp.CallToolResult {
	h.t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := h.c.CallTool(context.Background(), req)
	if err != nil {
		h.t.Fatalf("%s: protocol error: %v", name, err)
	}
	b, _ := json.Marshal(res)
	if strings.Contains(string(b), h.token) {
		h.t.Fatalf("%s: the token appeared in a tool result", name)
	}
	if !res.IsError {
		// Every structured result must match the output schema agents were shown.
		sb, _ := json.Marshal(res.StructuredContent)
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(sb))
		if err != nil {
			h.t.Fatalf("%s: structuredContent: %v", name, err)
		}
		if sch := h.outputs[name]; sch == nil {
			h.t.Fatalf("%s: succeeded but is not listed", name)
		} else if err := sch.Validate(v); err != nil {
			h.t.Fatalf("%s: structuredContent violates the output schema: %v", name, err)
		}
	}
	return res
}

func (h *harness) listNames() []string {
	h.t.Helper()
	res, err := h.c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		h.t.Fatal(err)
	}
	var names []string
	for _, t := range res.Tools {
		names = append(names, t.Name)
	}
	return names
}

func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// structured decodes the structured result into v.
func structured(t *testing.T, res *mcp.CallToolResult, v any) {
	t.Helper()
	if res.IsError {
		t.Fatalf("tool error: %s", text(res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("structured content %s: %v", b, err)
	}
}

// apiRequests are the requests the fake saw, as "METHOD path?query".
func (h *harness) apiRequests() []string {
	var out []string
	for _, r := range h.fake.Requests() {
		s := r.Method + " " + r.Path
		if r.RawQuery != "" {
			s += "?" + r.RawQuery
		}
		out = append(out, s)
	}
	return out
}

// wantError calls tool and checks that it is a tool error containing want
// after exactly wantReqs requests to Sentry (counted from the last reset).
func (h *harness) wantError(tool string, args map[string]any, want string, wantReqs int) {
	h.t.Helper()
	res := h.call(tool, args)
	if !res.IsError || !strings.Contains(text(res), want) {
		h.t.Errorf("%s %v: isError=%v %q, want an error containing %q", tool, args, res.IsError, text(res), want)
	}
	if reqs := h.apiRequests(); len(reqs) != wantReqs {
		h.t.Errorf("%s %v: %d requests %v, want %d", tool, args, len(reqs), reqs, wantReqs)
	}
}

// allTools is every tool's name, from the inventory itself.
var allTools = func() []string {
	var names []string
	for _, t := range tools.All() {
		names = append(names, t.Name)
	}
	slices.Sort(names)
	return names
}()

// bindPrincipal is a Bind for a server that serves one fixed principal.
func bindPrincipal(p *tools.Principal) func(context.Context) context.Context {
	return func(ctx context.Context) context.Context { return tools.WithPrincipal(ctx, p) }
}

// connect is an initialized in-process MCP client session with srv; ctx is
// the session's context (it may carry a principal). It closes with the test.
func connect(tb testing.TB, ctx context.Context, srv *server.MCPServer) *client.Client {
	tb.Helper()
	c, err := client.NewInProcessClient(srv)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// sortedRequests are the requests the fake saw, sorted (concurrent
// requests arrive in any order).
func sortedRequests(h *harness) []string {
	r := h.apiRequests()
	slices.Sort(r)
	return r
}

// The tools by the least scope family that enables them; the grant tables
// of the tests are unions of these.
var (
	orgReadTools    = []string{"get_trace", "list_organizations", "list_projects", "list_teams", "search_events"}
	eventReadTools  = []string{"get_event", "get_issue", "get_issue_tags", "list_issue_activity", "list_issue_events", "list_issues"}
	eventWriteTools = []string{"add_issue_comment", "resolve_issue", "update_issue"}
	releaseTools    = []string{"get_release", "list_releases"}
	memberTools     = []string{"list_members"}
)

// toolSet is the sorted union of groups, whoami included, keeping only
// tools that exist.
func toolSet(groups ...[]string) []string {
	out := []string{"whoami"}
	for _, g := range groups {
		for _, n := range g {
			if slices.Contains(allTools, n) && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}
