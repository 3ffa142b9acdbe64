// Package cli is sentry-mcp's command line: one file per command, each an
// options struct filled from one table of settings (settings.go: flags,
// environment variables and help) and a run function. It wires transport
// -> tools -> sentry, with the caller's identity in ctx.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// version is the version this binary reports (set by Main), and
// ldflagsCommit the commit set at build time, if any.
var (
	version       = "(devel)"
	ldflagsCommit string
)

// Main runs the command line and returns the exit status. ldVersion and
// ldCommit are the version and commit set at build time, if any;
// without them the module version and the VCS revision from the build info
// are used.
func Main(ldVersion, ldCommit string) int {
	version, ldflagsCommit = resolveVersion(ldVersion), ldCommit
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

func resolveVersion(ldflags string) string {
	if ldflags != "" {
		return ldflags
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version // v1.2.3 from go install, or (devel) from a clone
	}
	return "(devel)"
}

func commit() string {
	if ldflagsCommit != "" {
		return ldflagsCommit[:min(12, len(ldflagsCommit))]
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value[:min(12, len(s.Value))]
			}
		}
	}
	return "unknown"
}

// commands is every command: name, what it takes, what it does.
var (
	cmdServe  = command{name: "serve", summary: "serve MCP over stdio (for Claude, Cursor, VS Code, ...), or with --http for a team", settings: append(serverSettings[:len(serverSettings):len(serverSettings)], hostedSettings...)}
	cmdGrants = command{name: "grants", args: "list | revoke ID", summary: "hosted mode: who is connected (list), or end one sign-in (revoke)", settings: []setting{sDatabase, sJSON}}
	cmdTools  = command{name: "tools", summary: "list the tools, the scope each needs, and whether it is enabled (--json: for scripts)", settings: append(serverSettings[:len(serverSettings):len(serverSettings)], sJSON)}
	cmdCall   = command{name: "call", args: "TOOL [JSON]", summary: "run one tool once and print its result (--json: structured)", settings: append(serverSettings[:len(serverSettings):len(serverSettings)], sJSON)}
	cmdDemo   = command{name: "demo", summary: "a tour on built-in sample data, no credentials needed", settings: []setting{sReadOnly, sToolsets, sTools, sExclude}}
	cmdLogin  = command{name: "auth login", summary: "sign in once; the credential goes to the OS keyring",
		settings: append(storeSettings[:len(storeSettings):len(storeSettings)], sClientID, sSecretStdin, sLoginScopes, sDevice, sWithToken, sPort, sWaitLogin)}
	cmdStatus = command{name: "auth status", summary: "who is signed in, scopes, expiry, where it is stored", settings: storeSettings}
	cmdToken  = command{name: "auth token", summary: "print the access token (refreshed first if needed)", settings: storeSettings}
	cmdLogout = command{name: "auth logout", summary: "remove the stored credential for that Sentry", settings: storeSettings}
)

func usage() string {
	var b strings.Builder
	b.WriteString("sentry-mcp: a Model Context Protocol server for Sentry.\n\nUsage:\n")
	for _, c := range []command{cmdServe, cmdTools, cmdCall, cmdDemo, cmdLogin, cmdStatus, cmdToken, cmdLogout, cmdGrants} {
		name := c.name
		if c.args != "" {
			name += " " + c.args
		}
		fmt.Fprintf(&b, "  sentry-mcp %-22s %s\n", name, c.summary)
	}
	b.WriteString("  sentry-mcp --version\n\nFlags of serve, tools and call (each also read from the environment variable shown; the flag wins):\n")
	b.WriteString(flagTable(serverSettings))
	b.WriteString(`
Logs go to stderr; SENTRY_MCP_LOG_LEVEL=debug adds one line per Sentry request.
"sentry-mcp COMMAND --help" shows a command's flags.

Credentials: run "sentry-mcp auth login" once, or set SENTRY_ACCESS_TOKEN (which overrides the
stored sign-in and is never a flag).

Hosted mode (serve --http) also reads SENTRY_CLIENT_ID and SENTRY_CLIENT_SECRET (the Sentry OAuth
application, redirect URI <public-url>/oauth/callback) and SENTRY_MCP_ENCRYPTION_KEY (base64 of 32
bytes, or kid:base64,... newest first); "serve --http ADDR --demo" needs none of them.
`)
	return b.String()
}

// Run runs one command line and returns its exit status.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	level := slog.LevelInfo
	if v := os.Getenv("SENTRY_MCP_LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			fmt.Fprintf(stderr, "sentry-mcp: SENTRY_MCP_LOG_LEVEL=%q: want debug, info, warn or error\n", v)
			return 2
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	name, rest := args[0], args[1:]
	var err error
	switch name {
	case "--version", "-version", "version":
		fmt.Fprintf(stdout, "sentry-mcp %s (commit %s)\n", version, commit())
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage())
		return 0
	case "serve":
		err = runServe(ctx, rest, stdin, stdout, stderr, logger)
	case "tools":
		err = runTools(ctx, rest, stdout, logger)
	case "call":
		err = runCall(ctx, rest, stdout, logger)
	case "demo":
		err = runDemo(ctx, rest, stdout, logger)
	case "auth":
		err = runAuth(ctx, rest, stdin, stdout, stderr, logger)
	case "grants":
		err = runGrants(ctx, rest, stdout, logger)
	default:
		fmt.Fprintf(stderr, "sentry-mcp: unknown command %q\n\n%s", name, usage())
		return 2
	}
	var ec exitCode
	switch {
	case errors.As(err, &ec):
		return int(ec)
	case errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "sentry-mcp: %s\n", render.Terminal(err.Error())) // errors can quote Sentry
		return 1
	}
	return 0
}

// exitCode ends a command with a status and no further message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
