// Command sentry-mcp is an MCP server for Sentry; internal/cli is its
// command line.
package main

import (
	"os"

	"github.com/sentry-mcp/sentry-mcp/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// without it the module version from the build info is used.
var version string

func main() { os.Exit(cli.Main(version)) }
