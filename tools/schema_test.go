package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestToolsListGolden snapshots tools/list exactly as agents receive it,
// so any change to what they see is deliberate: go test ./tools -update.
func TestToolsListGolden(t *testing.T) {
	for _, tt := range []struct {
		file string
		s    setup
	}{
		{"tools_list.golden.json", setup{}},
		{"tools_list_pinned.golden.json", setup{org: "acme"}},
	} {
		h := newHarness(t, tt.s)
		compact := wireTools(t, h, tt.s.org)
		t.Logf("%s: tools/list carries %d bytes", tt.file, len(compact))
		var indented bytes.Buffer
		json.Indent(&indented, compact, "", "  ")
		got := append(indented.Bytes(), '\n')
		path := filepath.Join("testdata", tt.file)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./tools -update to create it)", err)
		}
		if string(got) != string(want) {
			t.Errorf("tools/list differs from %s; if the change is deliberate, run go test ./tools -update and review the diff", path)
		}
		// Every tool's context cost is paid in every conversation: keep it small.
		if tt.s.org == "" && len(compact) > 18000 {
			t.Errorf("tools/list is %d bytes, budget 18,000 (TestContextBudget)", len(compact))
		}
	}
}

func TestEveryToolIsFullyAnnotated(t *testing.T) {
	h := newHarness(t, setup{})
	res, err := h.c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// The hints as a client reads them: absent ones take the MCP
	// specification's defaults.
	hint := func(p *bool, def bool) bool {
		if p == nil {
			return def
		}
		return *p
	}
	writes := map[string]bool{"resolve_issue": true, "update_issue": true, "add_issue_comment": false} // name -> idempotent
	for _, tool := range res.Tools {
		a := tool.Annotations
		if a.ReadOnlyHint == nil || a.Title == "" {
			t.Errorf("%s: no title or readOnlyHint %+v", tool.Name, a)
			continue
		}
		readOnly, destructive, idempotent, openWorld := *a.ReadOnlyHint, hint(a.DestructiveHint, true), hint(a.IdempotentHint, false), hint(a.OpenWorldHint, true)
		if !openWorld {
			t.Errorf("%s: every tool talks to Sentry (openWorldHint)", tool.Name)
		}
		idem, isWrite := writes[tool.Name]
		switch {
		case !isWrite && !readOnly:
			t.Errorf("%s should be read-only", tool.Name)
		case isWrite && (readOnly || destructive || idempotent != idem):
			t.Errorf("%s: a write, not destructive, idempotent %v; got %+v", tool.Name, idem, a)
		case readOnly && (a.DestructiveHint != nil || a.IdempotentHint != nil || a.OpenWorldHint != nil):
			t.Errorf("%s: read-only tools carry only the hints that are not defaults: %+v", tool.Name, a)
		}
		if tool.RawOutputSchema == nil && tool.OutputSchema.Type == "" {
			t.Errorf("%s has no output schema", tool.Name)
		}
	}
}

// Arguments are checked against the full schema, with the string bounds
// and patterns that tools/list leaves out; a violation names the argument
// and nothing is sent to Sentry.
func TestArgumentsAreCheckedAgainstTheFullSchema(t *testing.T) {
	h := newHarness(t, setup{})
	listed, err := h.c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := json.Marshal(listed.Tools)
	for _, hidden := range []string{`"pattern"`, `"maxLength"`, `"minLength"`} {
		if strings.Contains(string(whole), hidden) {
			t.Errorf("tools/list advertises %s", hidden)
		}
	}
	tests := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"list_issues", map[string]any{"organization": "acme corp"}, `"organization": 'acme corp' does not match pattern`},
		{"list_issues", map[string]any{"organization": strings.Repeat("a", 129)}, `"organization": maxLength`},
		{"get_issue", map[string]any{"issue": ""}, `"issue": minLength`},
		{"list_issues", map[string]any{"organization": "acme", "limit": 0}, `"limit": minimum`},
		{"list_issues", map[string]any{"orgnization": "acme"}, "orgnization"},
	}
	for _, tt := range tests {
		h.fake.ResetRequests()
		h.wantError(tt.tool, tt.args, tt.want, 0)
	}
}
