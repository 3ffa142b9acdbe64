package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/tools"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// runTools lists every tool, the scope it needs and whether it is enabled
// for this sign-in. Without usable credentials it still lists them, each
// marked not enabled and why, says what is wrong, and exits 1.
func runTools(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	var o options
	if _, err := cmdTools.parse(&o, args, stdout); err != nil {
		return err
	}
	a, err := newApp(ctx, &o, logger)
	if err != nil {
		return err
	}
	defer a.cleanup()
	p := a.id.current()
	if o.json {
		b, _ := json.MarshalIndent(toolsJSON(a.inv, p), "", "  ")
		fmt.Fprintln(stdout, terminalJSON(b))
	} else {
		printTools(stdout, a.inv, p)
	}
	if p.Problem != "" {
		logger.Error("no usable Sentry credentials", "problem", p.Problem)
		return exitCode(1)
	}
	return nil
}

// toolsList is the document `tools --json` prints; tests, the README's
// table and packaging are generated from it.
type toolsList struct {
	Tools   []tools.ToolInfo `json:"tools"`
	Granted []string         `json:"granted_scopes"` // null when Sentry could not tell
}

func toolsJSON(inv *tools.Inventory, p *tools.Principal) toolsList {
	return toolsList{Tools: inv.Describe(p), Granted: p.Grant.Scopes()}
}

func printTools(w io.Writer, inv *tools.Inventory, p *tools.Principal) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOOL\tTOOLSET\tNEEDS SCOPE (any)\tKIND\tENABLED")
	for _, t := range inv.Describe(p) {
		kind := "read"
		if !t.ReadOnly {
			kind = "write"
		}
		state := "yes"
		if !t.Enabled {
			state = "no: " + render.Line(t.Reason, 0)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Toolset, scopeSummary(t.Scopes), kind, state)
	}
	tw.Flush()
	switch {
	case p.Problem != "":
		fmt.Fprintf(w, "Not usable: %s\n", render.Line(p.Problem, 0))
	case p.Grant.Known():
		fmt.Fprintf(w, "Granted scopes: %s\n", render.Line(strings.Join(p.Grant.Scopes(), " "), 0))
		if hint := inv.Policy().SignInHint(p); hint != "" {
			fmt.Fprintln(w, hint)
		}
	default:
		fmt.Fprintln(w, "Granted scopes: unknown (Sentry will decide each call)")
	}
}

func scopeSummary(scopes []string) string {
	if len(scopes) == 0 {
		return "-"
	}
	return strings.Join(auth.Minimal(scopes), " | ")
}
