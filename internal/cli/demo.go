package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

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
	b, _ := json.Marshal(list.Tools)
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
	if _, err := step("Who is signed in", "whoami", nil); err != nil {
		return err
	}
	if _, err := step("Organizations", "list_organizations", nil); err != nil {
		return err
	}
	if _, err := step("Projects", "list_projects", map[string]any{"organization": "acme"}); err != nil {
		return err
	}
	res, err := step("Unresolved issues, most frequent first", "list_issues", map[string]any{"organization": "acme", "sort": "freq", "limit": 5})
	if err != nil {
		return err
	}
	issue := firstShortID(res)
	if issue == "" {
		return fmt.Errorf("demo: list_issues returned no issue")
	}
	if _, err := step("The top issue, with its latest stack trace", "get_issue", map[string]any{"organization": "acme", "issue": issue}); err != nil {
		return err
	}
	if _, err := step("Releases of the backend", "list_releases", map[string]any{"organization": "acme", "project": "backend"}); err != nil {
		return err
	}
	if _, err := step("Resolve it in the next release", "resolve_issue", map[string]any{"organization": "acme", "issue": issue, "resolution": "next_release"}); err != nil {
		return err
	}
	if _, err := step("A bad argument is a tool error the agent can act on", "list_issues", map[string]any{"organization": "../../api-tokens"}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nNext: sign in once with `sentry-mcp auth login` (or set SENTRY_ACCESS_TOKEN), then add `sentry-mcp serve` to your MCP client: README.md has the snippets for Claude Code, Claude Desktop, VS Code and Cursor.\n")
	return nil
}

func firstShortID(res *mcp.CallToolResult) string {
	var out struct {
		Issues []struct {
			ShortID string `json:"short_id"`
		} `json:"issues"`
	}
	b, _ := json.Marshal(res.StructuredContent)
	if json.Unmarshal(b, &out) != nil || len(out.Issues) == 0 {
		return ""
	}
	return out.Issues[0].ShortID
}
