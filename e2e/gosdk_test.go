package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestGoSDKClient runs the official Go SDK client over stdio at each
// protocol it can speak with sentry-mcp: its default (server/discover,
// 2026-07-28) and the initialize handshake pinned to 2025-11-25 and
// 2025-06-18. The SDK does not check structuredContent against the
// outputSchema itself, so the test does, with a JSON Schema validator.
func TestGoSDKClient(t *testing.T) {
	for _, tc := range []struct{ name, pin, want string }{
		{"default (server/discover)", "", "2026-07-28"},
		{"2025-11-25", "2025-11-25", "2025-11-25"},
		{"2025-06-18", "2025-06-18", "2025-06-18"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			ctx := ctxTimeout(t, 60*time.Second)
			cmd := exec.Command(binary, "serve")
			cmd.Env = up.env()
			var stderr bytes.Buffer
			cmd.Stderr = &lockedWriter{w: &stderr}
			client := mcp.NewClient(&mcp.Implementation{Name: "sentry-mcp-e2e", Version: "1.0.0"}, nil)
			cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: tc.pin})
			if err != nil {
				t.Fatalf("connect: %v\nstderr:\n%s", err, stderr.String())
			}
			defer cs.Close()
			init := cs.InitializeResult()
			if init.ProtocolVersion != tc.want {
				t.Errorf("negotiated protocol %q, want %q", init.ProtocolVersion, tc.want)
			}
			if init.ServerInfo == nil || init.ServerInfo.Name != "sentry-mcp" {
				t.Errorf("serverInfo = %+v", init.ServerInfo)
			}
			if !strings.Contains(init.Instructions, "list_issues") {
				t.Errorf("instructions = %q", init.Instructions)
			}

			// Every page of tools/list (the iterator follows nextCursor).
			validators := map[string]*jsonschema.Schema{}
			var names []string
			for tool, err := range cs.Tools(ctx, nil) {
				if err != nil {
					t.Fatalf("tools/list: %v", err)
				}
				names = append(names, tool.Name)
				if tool.OutputSchema == nil {
					t.Errorf("%s has no outputSchema", tool.Name)
					continue
				}
				validators[tool.Name] = compileSchema(t, tool.Name, tool.OutputSchema)
				compileSchema(t, tool.Name+".input", tool.InputSchema)
				if tool.Annotations == nil || tool.Annotations.Title == "" {
					t.Errorf("%s has no annotations/title", tool.Name)
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, allTools) {
				t.Fatalf("tools/list = %v, want %v", names, allTools)
			}

			called := map[string]bool{}
			call := func(name string, args map[string]any) map[string]any {
				t.Helper()
				called[name] = true
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if res.IsError {
					t.Fatalf("%s(%v) is an error: %s", name, args, text(res))
				}
				if text(res) == "" {
					t.Errorf("%s: no text content", name)
				}
				// Round-trip through JSON: what the server sent, as a validator sees it.
				b, _ := json.Marshal(res.StructuredContent)
				v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("%s structuredContent: %v", name, err)
				}
				if err := validators[name].Validate(v); err != nil {
					t.Errorf("%s structuredContent violates its outputSchema: %v\n%s", name, err, b)
				}
				var m map[string]any
				json.Unmarshal(b, &m)
				return m
			}

			who := call("whoami", nil)
			if u, _ := who["user"].(map[string]any); u["name"] != "Dana Reyes" {
				t.Errorf("whoami user = %v", who["user"])
			}
			call("list_organizations", map[string]any{})
			call("list_projects", map[string]any{"organization": "acme"})
			call("list_teams", map[string]any{"organization": "acme"})
			issues := call("list_issues", map[string]any{"organization": "acme", "limit": 3})
			list, _ := issues["issues"].([]any)
			if len(list) != 3 || issues["next_cursor"] == nil {
				t.Fatalf("list_issues = %v", issues)
			}
			call("list_issues", map[string]any{"organization": "acme", "limit": 3, "cursor": issues["next_cursor"]})
			first := list[0].(map[string]any)
			got := call("get_issue", map[string]any{"issue": first["short_id"], "organization": "acme"})
			if got["id"] != first["id"] {
				t.Errorf("get_issue(%v) = %v", first["short_id"], got["id"])
			}
			call("list_releases", map[string]any{"organization": "acme"})
			call("get_release", map[string]any{"organization": "acme", "version": "backend@2.14.0"})
			call("list_members", map[string]any{"organization": "acme"})
			ev := call("get_event", map[string]any{"issue": "BACKEND-2", "organization": "acme"})
			trace, _ := ev["contexts"].(map[string]any)["trace_id"].(string)
			call("get_trace", map[string]any{"organization": "acme", "trace_id": trace})
			call("list_issue_events", map[string]any{"issue": first["short_id"], "organization": "acme", "limit": 2})
			call("get_issue_tags", map[string]any{"issue": first["short_id"], "organization": "acme"})
			call("search_events", map[string]any{"organization": "acme", "fields": []string{"title", "count()"}, "sort": "-count()"})
			call("update_issue", map[string]any{"issue": first["short_id"], "organization": "acme", "assignee": "me", "priority": "high"})
			call("update_issue", map[string]any{"issues": []any{list[1].(map[string]any)["short_id"], list[2].(map[string]any)["id"]}, "organization": "acme", "status": "archived"})
			call("add_issue_comment", map[string]any{"issue": first["id"], "text": "Seen in e2e."})
			if act := call("list_issue_activity", map[string]any{"issue": first["id"]}); !strings.Contains(fmt.Sprint(act), "Seen in e2e.") {
				t.Errorf("list_issue_activity lacks the comment: %v", act)
			}
			res := call("resolve_issue", map[string]any{"issue": first["id"]})
			if res["status"] != "resolved" {
				t.Errorf("resolve_issue = %v", res)
			}
			for _, n := range names {
				if !called[n] {
					t.Errorf("tool %s was not called", n)
				}
			}

			// A tool error stays a result; an unknown tool is a protocol error.
			bad, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_issues", Arguments: map[string]any{"organization": "acme", "limit": "three"}})
			if err != nil || !bad.IsError || !strings.Contains(text(bad), "limit") {
				t.Errorf("wrong argument type: %v, %+v", err, bad)
			}
			if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "no_such_tool"}); err == nil {
				t.Error("unknown tool: no error")
			}
			if err := cs.Ping(ctx, nil); err != nil {
				t.Errorf("ping: %v", err)
			}
			if err := cs.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			if s := stderr.String(); strings.Contains(s, token) {
				t.Error("the token appeared on stderr")
			}
		})
	}
}

func compileSchema(t *testing.T, name string, schema any) *jsonschema.Schema {
	t.Helper()
	b, err := json.Marshal(schema)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s schema: %v", name, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(name+".json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(name + ".json")
	if err != nil {
		t.Fatalf("%s schema does not compile: %v", name, err)
	}
	return s
}

func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}
