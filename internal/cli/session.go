package cli

import (
	"context"
	"strings"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sentry-mcp/sentry-mcp/tools"
)

// session is a real MCP client session with an in-process server: the
// same code path as stdio, minus the pipe (call and demo).
type session struct {
	*client.Client
}

func newSession(ctx context.Context, a *app) (*session, error) {
	c, err := client.NewInProcessClient(a.inv.MCPServer(tools.ServerOptions{Version: version, Org: a.id.org, Bind: a.id.bind}))
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
