// Command sentry-mcp is an MCP server for Sentry; internal/cli is its
// command line.
package main

import (
	"os"

	"github.com/sentry-mcp/sentry-mcp/internal/cli"
)

// version and commit are set at build time with
// -ldflags "-X main.version=1.2.3 -X main.commit=<sha>" (release builds do);
// without them the module version and the VCS revision from the build info
// are used.
var version, commit string

func main() { os.Exit(cli.Main(version, commit)) }
