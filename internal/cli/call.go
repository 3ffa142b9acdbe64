package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// runCall runs one tool once through a real in-process MCP session and
// prints its result; a tool error exits 1.
func runCall(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	var o options
	pos, err := cmdCall.parse(&o, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return fmt.Errorf("usage: sentry-mcp call TOOL [JSON-ARGS] [--json]")
	}
	var callArgs map[string]any
	if len(pos) == 2 {
		if err := json.Unmarshal([]byte(pos[1]), &callArgs); err != nil {
			return fmt.Errorf("arguments must be a JSON object, e.g. '{\"organization\":\"acme\"}': %v", err)
		}
	}
	a, err := newApp(ctx, &o, logger)
	if err != nil {
		return err
	}
	defer a.cleanup()
	if err := a.requireSignIn(); err != nil {
		return err
	}
	if a.inv.Tool(pos[0]) == nil {
		// MCP has no tool of that name to call: the inventory words it, as
		// it does for a tool this server does not offer.
		res := a.inv.Call(a.id.bind(ctx), pos[0], nil)
		return errors.New(render.Terminal(res.Text))
	}
	sess, err := newSession(ctx, a)
	if err != nil {
		return err
	}
	defer sess.Close()
	res, err := sess.call(ctx, pos[0], callArgs)
	if err != nil {
		return err
	}
	if o.json && !res.IsError {
		b, _ := json.MarshalIndent(res.StructuredContent, "", "  ")
		fmt.Fprintln(stdout, terminalJSON(b))
	} else {
		fmt.Fprintln(stdout, render.Terminal(resultText(res)))
	}
	if res.IsError {
		return exitCode(1)
	}
	return nil
}
