package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

// TestToolSnapshots keeps one snapshot per tool (input and output schema,
// annotations, toolset, scopes) in testdata/toolsnaps: a missing or stale
// one fails, so every change to what agents see is deliberate
// (go test ./tools -update rewrites them).
func TestToolSnapshots(t *testing.T) {
	h := newHarness(t, setup{})
	res, err := h.c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]mcp.Tool{}
	for _, lt := range res.Tools {
		listed[lt.Name] = lt
	}
	dir := filepath.Join("testdata", "toolsnaps")
	want := map[string]bool{}
	for _, tl := range tools.All() {
		lt, ok := listed[tl.Name]
		if !ok {
			t.Errorf("%s is not listed for a member", tl.Name)
			continue
		}
		snap := map[string]any{
			"name":          tl.Name,
			"toolset":       tl.Toolset,
			"scopes":        tl.Scopes,
			"annotations":   lt.Annotations,
			"description":   lt.Description,
			"input_schema":  json.RawMessage(tl.InputSchema()),
			"output_schema": json.RawMessage(tl.OutputSchema()),
		}
		got, err := json.MarshalIndent(snap, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		path := filepath.Join(dir, tl.Name+".json")
		want[tl.Name+".json"] = true
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(path)
		switch {
		case err != nil:
			t.Errorf("%s has no snapshot (%v); run go test ./tools -update and review it", tl.Name, err)
		case !bytes.Equal(old, got):
			t.Errorf("%s differs from its snapshot %s; if the change is deliberate, run go test ./tools -update and review the diff", tl.Name, path)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("snapshot %s belongs to no tool; remove it", e.Name())
		}
	}
}

// TestContextBudget measures what every conversation pays for the default
// toolsets: the tools array of tools/list (compact JSON) and the part the
// model reads (name + description + input schema per tool).
func TestContextBudget(t *testing.T) {
	h := newHarness(t, setup{})
	whole := wireTools(t, h, "")
	var raw []struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"inputSchema"`
	}
	if err := json.Unmarshal(whole, &raw); err != nil {
		t.Fatal(err)
	}
	visible := 0
	for _, tl := range raw {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(tl)
		visible += len(bytes.TrimSpace(b.Bytes()))
	}
	t.Logf("default toolsets: %d tools, tools/list tools array %d bytes, model-visible %d bytes", len(raw), len(whole), visible)
	// The budget of the whole triage set (18 tools); Sentry's own server
	// spends 26,151 and 23,363 bytes on 9.
	if len(whole) > 18000 || visible > 8000 {
		t.Errorf("tools/list is %d bytes (budget 18,000), model-visible %d (budget 8,000)", len(whole), visible)
	}
}

// wireTools is the tools array of tools/list exactly as the server writes
// it (compact JSON), not as a client re-encodes what it parsed.
func wireTools(t *testing.T, h *harness, org string) []byte {
	t.Helper()
	b, err := h.inv.ToolsListBytes(context.Background(), tools.ServerOptions{Version: "test", Org: org, Bind: bindPrincipal(h.pr)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOneServerTwoPrincipals: one server, two callers with different
// grants at the same time. Each lists only its own tools, is refused
// outside its grant with the scope named, and each token is sent only on
// its own caller's requests.
func TestOneServerTwoPrincipals(t *testing.T) {
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	const readerToken, writerToken = "sntryu_reader0000000000000000000000000000000000000000000000000000", "sntryu_writer0000000000000000000000000000000000000000000000000000"
	fake.AddToken(readerToken, "org:read", "event:read")
	fake.AddToken(writerToken, "project:read", "event:write")
	cl, err := sentry.NewClient(sentry.Config{BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := tools.New(tools.Config{Client: cl})
	if err != nil {
		t.Fatal(err)
	}
	reader := &tools.Principal{Key: "reader", Token: sentry.StaticToken(readerToken), Grant: auth.NewGrant([]string{"org:read", "event:read"}, nil, false)}
	writer := &tools.Principal{Key: "writer", Token: sentry.StaticToken(writerToken), Grant: auth.NewGrant([]string{"project:read", "event:write"}, nil, false), Org: "acme"}
	// One MCP server; each client session's requests carry their caller,
	// as an HTTP transport's context function would put it there.
	srv := inv.MCPServer(tools.ServerOptions{Version: "test"})
	cases := []struct {
		p       *tools.Principal
		token   string
		want    []string
		refused string // a tool outside the grant
		scope   string
		call    string // a tool inside it
		args    map[string]any
	}{
		{reader, readerToken, toolSet(orgReadTools, eventReadTools), "resolve_issue", "event:write", "list_issues", map[string]any{"organization": "acme"}},
		{writer, writerToken, toolSet(eventReadTools, eventWriteTools, releaseTools), "list_projects", "org:read", "list_releases", map[string]any{}},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for _, tc := range cases {
		c := connect(t, tools.WithPrincipal(context.Background(), tc.p), srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := tools.WithPrincipal(context.Background(), tc.p)
			for i := 0; i < 20; i++ {
				list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
				if err != nil {
					errs <- err.Error()
					return
				}
				var names []string
				for _, lt := range list.Tools {
					names = append(names, lt.Name)
				}
				if !slices.Equal(names, tc.want) {
					errs <- fmt.Sprintf("%s lists %v, want %v", tc.p.Key, names, tc.want)
				}
				req := mcp.CallToolRequest{}
				req.Params.Name, req.Params.Arguments = tc.refused, map[string]any{"issue": "1", "organization": "acme"}
				res, _ := c.CallTool(ctx, req)
				if res == nil || !res.IsError || !strings.Contains(text(res), tc.scope) {
					errs <- fmt.Sprintf("%s calling %s: %+v", tc.p.Key, tc.refused, res)
				}
				req.Params.Name, req.Params.Arguments = tc.call, tc.args
				res, _ = c.CallTool(ctx, req)
				if res == nil || res.IsError {
					errs <- fmt.Sprintf("%s calling %s: %s", tc.p.Key, tc.call, text(res))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// The reader's requests carry the reader's token, the writer's the
	// writer's: list_issues is the reader's only call, releases the writer's.
	for _, r := range fake.Requests() {
		switch {
		case strings.Contains(r.Path, "/issues/") && r.Authorization != "Bearer "+readerToken:
			t.Errorf("%s carried %q", r.Path, r.Authorization)
		case strings.Contains(r.Path, "/releases/") && r.Authorization != "Bearer "+writerToken:
			t.Errorf("%s carried %q", r.Path, r.Authorization)
		}
	}
	if n := len(fake.Requests()); n != 40 {
		t.Errorf("%d requests reached Sentry, want 40 (refused calls send nothing)", n)
	}
}

// BenchmarkBindPrincipal is what serving a new caller costs: filtering the
// compiled tools by its grant and pin (seen before: no schema work).
func BenchmarkBindPrincipal(b *testing.B) {
	cl, _ := sentry.NewClient(sentry.Config{BaseURL: "https://sentry.io"})
	inv, err := tools.New(tools.Config{Client: cl})
	if err != nil {
		b.Fatal(err)
	}
	grant := auth.NewGrant([]string{"org:read", "event:read"}, nil, false)
	inv.View("acme") // the pin was seen before
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := &tools.Principal{Key: "u", Grant: grant, Org: "acme"}
		ctx := tools.WithPrincipal(context.Background(), p)
		for _, tl := range inv.Listed(ctx) {
			_ = inv.View(p.Org).Schema(tl.Name)
		}
	}
}

// BenchmarkListTools is tools/list through the MCP adapter for a new
// principal each time (the filter, the cached pinned tools, the JSON-RPC
// round trip in process).
func BenchmarkListTools(b *testing.B) {
	cl, _ := sentry.NewClient(sentry.Config{BaseURL: "https://sentry.io"})
	inv, err := tools.New(tools.Config{Client: cl})
	if err != nil {
		b.Fatal(err)
	}
	grant := auth.NewGrant([]string{"org:read", "event:read"}, nil, false)
	var n int
	srv := inv.MCPServer(tools.ServerOptions{Version: "bench", Bind: func(ctx context.Context) context.Context {
		n++
		return tools.WithPrincipal(ctx, &tools.Principal{Key: fmt.Sprint(n), Grant: grant, Org: "acme"})
	}})
	ctx := context.Background()
	c := connect(b, ctx, srv)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSelectionShapesListAndInstructions: only the selected toolsets'
// tools are listed, and the instructions speak only of those.
func TestSelectionShapesListAndInstructions(t *testing.T) {
	cl, _ := sentry.NewClient(sentry.Config{BaseURL: "https://sentry.io"})
	for _, tc := range []struct {
		sel      tools.Selection
		want     []string
		mentions string
		absent   string
	}{
		{tools.Selection{Toolsets: []string{"releases"}}, toolSet(releaseTools), "next_cursor", "list_issues"},
		{tools.Selection{Toolsets: []string{"events"}}, toolSet([]string{"get_trace", "search_events"}), "search_events", "list_issues"},
		{tools.Selection{Toolsets: []string{"issues"}, Exclude: []string{"resolve_issue"}}, slices.DeleteFunc(toolSet(eventReadTools, eventWriteTools), func(n string) bool { return n == "resolve_issue" }), "list_issues", "resolve_issue"},
		{tools.Selection{Tools: []string{"get_issue"}, Exclude: []string{"whoami"}}, []string{"get_issue"}, "get_issue", "resolve_issue"},
		{tools.Selection{Toolsets: []string{"all"}}, allTools, "resolve_issue", "\x00"},
	} {
		inv, err := tools.New(tools.Config{Client: cl, Selection: tc.sel})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tl := range inv.Selected() {
			names = append(names, tl.Name)
		}
		slices.Sort(names)
		if !slices.Equal(names, tc.want) {
			t.Errorf("%+v selects %v, want %v", tc.sel, names, tc.want)
		}
		ins := inv.Instructions("")
		if !strings.Contains(ins, tc.mentions) || strings.Contains(ins, tc.absent) {
			t.Errorf("%+v: instructions %q should mention %q and not %q", tc.sel, ins, tc.mentions, tc.absent)
		}
	}
	for _, bad := range []tools.Selection{{Toolsets: []string{"nope"}}, {Tools: []string{"nope"}}, {Exclude: []string{"nope"}}} {
		if _, err := tools.New(tools.Config{Client: cl, Selection: bad}); err == nil || !strings.Contains(err.Error(), "valid") {
			t.Errorf("%+v: err %v, want one listing the valid names", bad, err)
		}
	}
}

// TestCountsReadNaturally: "1 user", "1 new issue", never "1 users".
func TestCountsReadNaturally(t *testing.T) {
	h := newHarness(t, setup{})
	var all strings.Builder
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"list_issues", map[string]any{"organization": "acme", "query": "", "limit": 100}},
		{"list_releases", map[string]any{"organization": "acme"}},
	} {
		all.WriteString(text(h.call(c.tool, c.args)))
	}
	out := all.String()
	for _, bad := range []string{" 1 users", " 1 events", " 1 new issues"} {
		if strings.Contains(out, bad) {
			t.Errorf("text says %q", bad)
		}
	}
	if !strings.Contains(out, " 1 user,") && !strings.Contains(out, " 1 new issue") && !strings.Contains(out, " 1 event,") {
		t.Errorf("the demo data should show a singular count somewhere:\n%s", out)
	}
}

// TestNotFoundNamesTheThing: a 404 names what the agent gave and the tool
// that lists the valid ones.
func TestNotFoundNamesTheThing(t *testing.T) {
	h := newHarness(t, setup{})
	for _, c := range []struct {
		tool string
		args map[string]any
		want []string
	}{
		{"list_issues", map[string]any{"organization": "no-such-org"}, []string{`organization "no-such-org"`, "list_organizations"}},
		{"list_projects", map[string]any{"organization": "no-such-org"}, []string{`organization "no-such-org"`, "list_organizations"}},
		{"list_releases", map[string]any{"organization": "no-such-org"}, []string{`organization "no-such-org"`, "list_organizations"}},
		{"get_issue", map[string]any{"issue": "999999"}, []string{`issue "999999"`, "list_issues"}},
		{"get_issue", map[string]any{"issue": "NOPE-1", "organization": "acme"}, []string{`issue "NOPE-1" in organization "acme"`, "list_issues"}},
		{"resolve_issue", map[string]any{"issue": "999999", "organization": "acme"}, []string{`issue "999999"`, "list_issues"}},
	} {
		res := h.call(c.tool, c.args)
		for _, w := range c.want {
			if !res.IsError || !strings.Contains(text(res), w) {
				t.Errorf("%s %v: %q lacks %q", c.tool, c.args, text(res), w)
			}
		}
	}
}
