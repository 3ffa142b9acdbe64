package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sentry-mcp/sentry-mcp/tools"
)

func cmdServe(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, logger *slog.Logger) error {
	var cfg config
	fs := newFlagSet("serve", &cfg, logWriter{logger})
	if pos, err := parseArgs(fs, &cfg, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", pos)
	}
	inv, cleanup, err := setup(ctx, &cfg, logger)
	defer cleanup()
	if err != nil {
		return err
	}
	enabled, disabled := inv.Enabled()
	logger.Info("serving MCP on stdio", "version", version, "host", inv.Env().Client.BaseURL().Host,
		"granted", strings.Join(inv.Env().Grant.Scopes(), ","), "enabled", strings.Join(enabled, ","), "disabled", strings.Join(disabled, ","))
	s := server.NewStdioServer(inv.Server(version))
	server.WithWorkerPoolSize(16)(s)
	s.SetErrorLogger(log.New(logWriter{logger}, "", 0))
	err = s.Listen(ctx, stdin, stdout)
	if err == nil || ctx.Err() != nil || err == io.EOF || strings.Contains(err.Error(), "EOF") {
		return nil
	}
	return err
}

// logWriter sends the lines of an io.Writer (stdlib loggers, flag errors)
// to slog on stderr, never to stdout.
type logWriter struct{ l *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Info(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func cmdTools(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	var cfg config
	fs := newFlagSet("tools", &cfg, stdout)
	if _, err := parseArgs(fs, &cfg, args); err != nil {
		return err
	}
	inv, cleanup, err := setup(ctx, &cfg, logger)
	defer cleanup()
	if err != nil {
		return err
	}
	printTools(stdout, inv)
	return nil
}

func printTools(w io.Writer, inv *tools.Inventory) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOOL\tNEEDS SCOPE (any)\tKIND\tENABLED")
	for _, t := range inv.Tools() {
		kind := "read"
		if !t.ReadOnly {
			kind = "write"
		}
		state := "yes"
		if err := inv.Check(t); err != nil {
			state = "no: " + disabledReason(inv, t)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, scopeSummary(t), kind, state)
	}
	tw.Flush()
	g := inv.Env().Grant
	switch {
	case g.Known():
		fmt.Fprintf(w, "Granted scopes: %s\n", strings.Join(g.Scopes(), " "))
	default:
		fmt.Fprintln(w, "Granted scopes: unknown (Sentry will decide each call)")
	}
}

func disabledReason(inv *tools.Inventory, t tools.Tool) string {
	if !t.ReadOnly && inv.Env().Grant.ReadOnly() {
		return "read-only"
	}
	return "scope not granted"
}

func cmdCall(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	var cfg config
	fs := newFlagSet("call", &cfg, stdout)
	fs.BoolVar(&cfg.json, "json", false, "print the structured result as JSON")
	pos, err := parseArgs(fs, &cfg, args)
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
	return withSession(ctx, &cfg, logger, func(inv *tools.Inventory, sess *session) error {
		return callOnce(ctx, sess, pos[0], callArgs, cfg.json, stdout)
	})
}

func callOnce(ctx context.Context, sess *session, name string, callArgs map[string]any, asJSON bool, stdout io.Writer) error {
	res, err := sess.call(ctx, name, callArgs)
	if err != nil {
		return err
	}
	if asJSON && !res.IsError {
		b, _ := json.MarshalIndent(res.StructuredContent, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprintln(stdout, resultText(res))
	}
	if res.IsError {
		return exitCode(1)
	}
	return nil
}

// withSession sets up the server for cfg and runs f with an MCP client
// session connected to it.
func withSession(ctx context.Context, cfg *config, logger *slog.Logger, f func(*tools.Inventory, *session) error) error {
	inv, cleanup, err := setup(ctx, cfg, logger)
	defer cleanup()
	if err != nil {
		return err
	}
	sess, err := newSession(ctx, inv)
	if err != nil {
		return err
	}
	defer sess.Close()
	return f(inv, sess)
}

// session is a real MCP client session with an in-process server: the
// same code path as stdio, minus the pipe.
type session struct {
	*client.Client
}

func newSession(ctx context.Context, inv *tools.Inventory) (*session, error) {
	c, err := client.NewInProcessClient(inv.Server(version))
	if err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	req.Params.ClientInfo = mcp.Implementation{Name: "sentry-mcp-cli", Version: version}
	if _, err := c.Initialize(ctx, req); err != nil {
		c.Close()
		return nil, err
	}
	return &session{c}, nil
}

func (s *session) call(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return s.CallTool(ctx, req)
}

func resultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}
