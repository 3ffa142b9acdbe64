package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sentry-mcp/sentry-mcp/tools"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// runDemo tours what an agent sees, against the built-in sample Sentry.
func runDemo(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	o := options{timeout: defaultTimeout, refreshMargin: defaultMargin}
	if _, err := cmdDemo.parse(&o, args, stdout); err != nil {
		return err
	}
	o.demo = true
	a, err := newApp(ctx, &o, logger)
	if err != nil {
		return err
	}
	defer a.cleanup()
	sess, err := newSession(ctx, a)
	if err != nil {
		return err
	}
	defer sess.Close()
	return tour(ctx, a, sess, stdout)
}

// tour prints what an agent sees, step by step.
func tour(ctx context.Context, a *app, sess *session, stdout io.Writer) error {
	fmt.Fprintf(stdout, "sentry-mcp %s demo: a sample Sentry runs in this process at %s; every step below is a real MCP call.\n\n", version, a.inv.Client().BaseURL())
	fmt.Fprintf(stdout, "== The demo token holds: %s\n\n", strings.Join(demoScopes, " "))
	printTools(stdout, a.inv, a.id.current())
	list, err := sess.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return err
	}
	b, err := a.inv.ToolsListBytes(ctx, tools.ServerOptions{Version: version, Org: a.id.org, Bind: a.id.bind})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tools/list: %d tools, %d bytes of context for the agent.\n", len(list.Tools), len(b))

	step := func(title, tool string, args map[string]any) (*mcp.CallToolResult, error) {
		a, _ := json.Marshal(args)
		if args == nil {
			a = []byte("{}")
		}
		fmt.Fprintf(stdout, "\n== %s\n-> %s %s\n", title, tool, a)
		res, err := sess.call(ctx, tool, args)
		if err != nil {
			return nil, err
		}
		prefix := ""
		if res.IsError {
			prefix = "(tool error) "
		}
		fmt.Fprintf(stdout, "%s%s\n", prefix, render.Terminal(resultText(res)))
		return res, nil
	}
	var steps []demoStep
	var issue, userID, traceID string
	add := func(title, tool string, args func() map[string]any, keep func(*mcp.CallToolResult)) {
		steps = append(steps, demoStep{title, tool, args, keep})
	}
	fixed := func(m map[string]any) func() map[string]any { return func() map[string]any { return m } }
	onIssue := func(extra map[string]any) func() map[string]any {
		return func() map[string]any {
			m := map[string]any{"organization": "acme", "issue": issue}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
	}
	add("Who is signed in", "whoami", nil, nil)
	add("Unresolved issues, most frequent first", "list_issues", fixed(map[string]any{"organization": "acme", "sort": "freq", "limit": 5}), func(r *mcp.CallToolResult) {
		issue = structuredString(r, "issues", 0, "short_id")
	})
	add("The top issue", "get_issue", onIssue(nil), nil)
	add("Its latest event in full: stack, breadcrumbs, request, user, contexts", "get_event", onIssue(nil), func(r *mcp.CallToolResult) {
		traceID = structuredTraceID(r)
	})
	add("Who and what it affects", "get_issue_tags", onIssue(nil), nil)
	add("The users it affects most", "get_issue_tags", onIssue(map[string]any{"key": "user"}), nil)
	add("Members, with the user ids assignment takes", "list_members", fixed(map[string]any{"organization": "acme"}), func(r *mcp.CallToolResult) {
		userID = structuredString(r, "members", 1, "user_id")
	})
	add("Assign it", "update_issue", func() map[string]any {
		return map[string]any{"organization": "acme", "issue": issue, "assignee": "user:" + userID, "priority": "high"}
	}, nil)
	add("Say why", "add_issue_comment", onIssue(map[string]any{"text": "Replica failover: 30b5086 retries the connection once; resolving in the next release."}), nil)
	add("Resolve it in the next release", "resolve_issue", onIssue(map[string]any{"resolution": "next_release"}), nil)
	add("What happened to it", "list_issue_activity", onIssue(nil), nil)
	add("Discover: errors by title, with users affected", "search_events", fixed(map[string]any{"organization": "acme", "fields": []string{"title", "count()", "count_unique(user)"}, "sort": "-count()", "period": "14d", "limit": 5}), nil)
	add("Discover: the slowest transactions", "search_events", fixed(map[string]any{"organization": "acme", "dataset": "transactions", "fields": []string{"transaction", "p95(transaction.duration)", "failure_rate()", "count()"}, "sort": "-p95(transaction.duration)", "limit": 5}), nil)
	add("The trace of the event", "get_trace", func() map[string]any { return map[string]any{"organization": "acme", "trace_id": traceID} }, nil)
	add("The release with the retry: commits and deploys", "get_release", fixed(map[string]any{"organization": "acme", "version": "backend@2.14.0"}), nil)
	add("A bad argument is a tool error the agent can act on", "list_issues", fixed(map[string]any{"organization": "../../api-tokens"}), nil)
	for _, st := range steps {
		var args map[string]any
		if st.args != nil {
			args = st.args()
		}
		res, err := step(st.title, st.tool, args)
		if err != nil {
			return err
		}
		if st.keep != nil {
			st.keep(res)
		}
		if st.tool == "list_issues" && issue == "" && args["sort"] == "freq" {
			return fmt.Errorf("demo: list_issues returned no issue")
		}
	}
	fmt.Fprintf(stdout, "\nNext: sign in once with `sentry-mcp auth login` (or set SENTRY_ACCESS_TOKEN), then add `sentry-mcp serve` to your MCP client: README.md has the snippets for Claude Code, Claude Desktop, VS Code and Cursor.\n")
	return nil
}

// demoStep is one call of the tour.
type demoStep struct {
	title, tool string
	args        func() map[string]any // built when the step runs, from what earlier steps found
	keep        func(*mcp.CallToolResult)
}

// structuredString is structuredContent[list][i][field], "" if absent.
func structuredString(res *mcp.CallToolResult, list string, i int, field string) string {
	var out map[string]any
	b, _ := json.Marshal(res.StructuredContent)
	if json.Unmarshal(b, &out) != nil {
		return ""
	}
	items, _ := out[list].([]any)
	if len(items) <= i {
		return ""
	}
	item, _ := items[i].(map[string]any)
	s, _ := item[field].(string)
	return s
}

// structuredTraceID is the trace id in get_event's contexts.
func structuredTraceID(res *mcp.CallToolResult) string {
	var out struct {
		Contexts map[string]string `json:"contexts"`
	}
	b, _ := json.Marshal(res.StructuredContent)
	if json.Unmarshal(b, &out) != nil {
		return ""
	}
	return out.Contexts["trace_id"]
}
