// Command sentry-mcp is an MCP server for Sentry.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func commit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				if len(s.Value) > 12 {
					return s.Value[:12]
				}
				return s.Value
			}
		}
	}
	return "unknown"
}

const usage = `sentry-mcp: a Model Context Protocol server for Sentry.

Usage:
  sentry-mcp serve [flags]             serve MCP over stdio (for Claude, Cursor, VS Code, ...)
  sentry-mcp tools [flags]             list the tools, the scope each needs, and whether it is enabled
  sentry-mcp call TOOL [JSON] [flags]  run one tool once and print its result (--json: structured)
  sentry-mcp demo                      a tour on built-in sample data, no credentials needed
  sentry-mcp auth login|status|token|logout   sign in once (OAuth, keyring); see sentry-mcp auth help
  sentry-mcp --version

Flags (each also read from the environment; the flag wins):
  --url URL             Sentry base URL (SENTRY_URL; default https://sentry.io)
  --scopes LIST         upper bound on what the agent may do, e.g. org:read,event:read (SENTRY_MCP_SCOPES)
  --read-only           disable every tool that changes Sentry (SENTRY_MCP_READ_ONLY=1)
  --organization SLUG   pin to one organization (SENTRY_ORG)
  --demo                use the built-in sample Sentry instead of a real one (serve, tools, call)
  --insecure-storage    keep credentials in a plain file, not the OS keyring (SENTRY_MCP_INSECURE_STORAGE=1)
  --refresh-margin D    refresh the token this long before expiry, default 24h (SENTRY_MCP_REFRESH_MARGIN)
  --timeout D           per-request timeout for Sentry, default 30s (SENTRY_MCP_TIMEOUT)

Logs go to stderr; SENTRY_MCP_LOG_LEVEL=debug adds one line per Sentry request.

Credentials: run "sentry-mcp auth login" once, or set SENTRY_ACCESS_TOKEN (which overrides the
stored sign-in and is never a flag).
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	level := slog.LevelInfo
	if v := os.Getenv("SENTRY_MCP_LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			fmt.Fprintf(stderr, "sentry-mcp: SENTRY_MCP_LOG_LEVEL=%q: want debug, info, warn or error\n", v)
			return 2
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "--version", "-version", "version":
		fmt.Fprintf(stdout, "sentry-mcp %s (commit %s)\n", version, commit())
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "serve":
		err = cmdServe(ctx, rest, stdin, stdout, logger)
	case "tools":
		err = cmdTools(ctx, rest, stdout, logger)
	case "call":
		err = cmdCall(ctx, rest, stdout, logger)
	case "demo":
		err = cmdDemo(ctx, rest, stdout, logger)
	case "auth":
		err = cmdAuth(ctx, rest, stdin, stdout, stderr, logger)
	default:
		fmt.Fprintf(stderr, "sentry-mcp: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var ec exitCode
	switch {
	case errors.As(err, &ec):
		return int(ec)
	case errors.Is(err, errUsage):
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "sentry-mcp: %v\n", err)
		return 1
	}
	return 0
}

// exitCode ends a command with a status and no further message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
