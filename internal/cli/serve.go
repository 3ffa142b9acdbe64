package cli

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

// eofGrace bounds how long stdin EOF waits for in-flight tool calls.
const eofGrace = 5 * time.Second

// maxLine bounds one JSON-RPC message on stdin.
const maxLine = 4 << 20

func runServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, logger *slog.Logger) error {
	var o options
	pos, err := cmdServe.parse(&o, args, stderr) // help and flag errors: stderr (stdout is JSON-RPC)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", pos)
	}
	if o.http != "" {
		return runServeHTTP(ctx, &o, logger)
	}
	a, err := newApp(ctx, &o, logger)
	if err != nil {
		return err
	}
	defer a.cleanup()
	p := a.id.current()
	enabled, _ := a.inv.Policy().Enabled(p)
	logger.Info("serving MCP on stdio", "version", version, "host", a.id.host,
		"granted", grantedString(p), "toolsets", strings.Join(a.inv.Policy().Toolsets(), ","), "enabled", strings.Join(enabled, ","))
	if p.Problem != "" {
		logger.Warn("no usable Sentry credentials; only whoami is offered until you sign in", "problem", p.Problem)
	}
	if o.org != "" && p.Problem == "" {
		go checkOrganization(ctx, a, p, logger)
	}

	calls := &inflight{}
	hooks := &server.Hooks{}
	hooks.AddOnSuccess(func(_ context.Context, id any, method mcp.MCPMethod, _ any, _ any) {
		if method == mcp.MethodToolsCall {
			calls.done(id)
		}
	})
	hooks.AddOnError(func(_ context.Context, id any, method mcp.MCPMethod, _ any, _ error) {
		if method == mcp.MethodToolsCall {
			calls.done(id)
		}
	})
	srv := a.inv.MCPServer(tools.ServerOptions{Version: version, Org: o.org, Bind: a.id.bind, Hooks: hooks})
	a.id.mu.Lock()
	a.id.onChange = func() { tools.NotifyToolsChanged(srv) }
	a.id.mu.Unlock()
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go a.id.watch(wctx, 5*time.Second)

	s := server.NewStdioServer(srv)
	server.WithWorkerPoolSize(16)(s)
	s.SetErrorLogger(log.New(&logWriter{l: logger, once: map[string]bool{}}, "", 0))
	out := &lockedWriter{w: stdout}
	err = s.Listen(ctx, &stdinReader{ctx: ctx, r: stdin, out: out, calls: calls, grace: eofGrace, max: maxLine, logger: logger}, out)
	if err == nil || ctx.Err() != nil || err == io.EOF || strings.Contains(err.Error(), "EOF") {
		return nil
	}
	return err
}

// checkOrganization warns on stderr when the pinned organization does not
// exist for this sign-in; the server serves on regardless.
func checkOrganization(ctx context.Context, a *app, p *tools.Principal, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(sentry.WithTokenSource(ctx, p.Token), 10*time.Second)
	defer cancel()
	orgs, _, err := a.inv.Client().ListOrganizations(ctx, sentry.ListOptions{Query: "slug:" + p.Org})
	if err != nil {
		return // a network or scope problem is reported by the calls themselves
	}
	for _, org := range orgs {
		if strings.EqualFold(org.Slug, p.Org) {
			return
		}
	}
	logger.Warn("the pinned organization was not found for this sign-in; every call will fail until --organization / SENTRY_ORG names one of yours (sentry-mcp call list_organizations shows them)", "organization", p.Org)
}

func grantedString(p *tools.Principal) string {
	if !p.Grant.Known() {
		return "unknown"
	}
	return strings.Join(p.Grant.Scopes(), ",")
}

// logWriter sends the lines of an io.Writer (stdlib loggers, flag errors)
// to slog on stderr, never to stdout. Lines in once are logged only the
// first time (mcp-go reports a full queue on every call).
type logWriter struct {
	l    *slog.Logger
	mu   sync.Mutex
	once map[string]bool
}

// repeating are messages worth logging once per process.
var repeating = []string{"queue full"}

func (w *logWriter) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	if w.once != nil {
		for _, r := range repeating {
			if strings.Contains(line, r) {
				w.mu.Lock()
				seen := w.once[r]
				w.once[r] = true
				w.mu.Unlock()
				if seen {
					return len(p), nil
				}
				line += " (logged once)"
			}
		}
	}
	w.l.Info(line)
	return len(p), nil
}
