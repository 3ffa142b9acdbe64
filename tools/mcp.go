package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// This file is the MCP adapter: the only one in the package that imports
// mcp-go. A transport (stdio, Streamable HTTP) wraps the server it builds.

// ServerOptions configure the MCP server of an inventory.
type ServerOptions struct {
	Version string
	// Org is the organization named in the instructions ("" = none).
	Org string
	// Bind, when set, puts the caller's principal into the context of each
	// tools/list and tools/call (stdio: the current sign-in). Without it
	// the transport must have put the principal in ctx already.
	Bind func(ctx context.Context) context.Context
	// Hooks, when set, receives the adapter's hooks too, so a transport
	// can add its own.
	Hooks *server.Hooks
	// Stateless: the transport cannot push notifications (stateless
	// HTTP), so tools.listChanged is not advertised; clients list again.
	Stateless bool
}

// MCPServer builds an MCP server over the inventory. Every selected tool
// is registered, so a call to one the principal may not run is refused
// with the missing scope, while tools/list shows each principal only the
// tools it may run, with its organization pin's schemas.
func (inv *Inventory) MCPServer(o ServerOptions) *server.MCPServer {
	bind := o.Bind
	if bind == nil {
		bind = func(ctx context.Context) context.Context { return ctx }
	}
	hooks := o.Hooks
	if hooks == nil {
		hooks = &server.Hooks{}
	}
	var cache sync.Map // pin + "\x00" + name -> mcp.Tool
	mcpTool := func(pin string, t *Tool) mcp.Tool {
		key := pin + "\x00" + t.Name
		if v, ok := cache.Load(key); ok {
			return v.(mcp.Tool)
		}
		mt := t.mcpTool(inv.View(pin).Schema(t.Name))
		cache.Store(key, mt)
		return mt
	}
	hooks.AddAfterListTools(func(ctx context.Context, _ any, _ *mcp.ListToolsRequest, res *mcp.ListToolsResult) {
		ctx = bind(ctx)
		pin := principal(ctx).pin()
		listed := inv.Listed(ctx)
		res.Tools = make([]mcp.Tool, len(listed))
		for i, t := range listed {
			res.Tools[i] = mcpTool(pin, t)
		}
		// Sorted by name, as mcp-go lists them, so the order is stable.
		slices.SortFunc(res.Tools, func(a, b mcp.Tool) int { return strings.Compare(a.Name, b.Name) })
	})
	s := server.NewMCPServer("sentry-mcp", o.Version,
		server.WithToolCapabilities(!o.Stateless),
		server.WithRecovery(),
		server.WithInstructions(inv.Instructions(o.Org)),
		server.WithHooks(hooks),
	)
	// Every tool is registered, selected or not: a call to one this server
	// does not offer, or that the caller may not run, gets Inventory.Call's
	// words (which tools there are, which scope is missing), not a bare
	// "not found". tools/list shows only what the caller may run.
	for i := range inv.tools {
		t := &inv.tools[i]
		name := t.Name
		s.AddTool(mcpTool("", t), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			args, err := json.Marshal(req.Params.Arguments)
			if err != nil {
				return mcp.NewToolResultError("Invalid arguments: " + err.Error()), nil
			}
			return toMCP(inv.Call(bind(ctx), name, args)), nil
		})
	}
	return s
}

// NotifyToolsChanged tells every connected client to list the tools again.
func NotifyToolsChanged(s *server.MCPServer) {
	s.SendNotificationToAllClients(string(mcp.MethodNotificationToolsListChanged), nil)
}

func toMCP(r *Result) *mcp.CallToolResult {
	if r.IsError {
		return mcp.NewToolResultError(r.Text)
	}
	return mcp.NewToolResultStructured(r.Structured, r.Text)
}

// mcpTool is t as agents see it in tools/list, with input schema in.
func (t *Tool) mcpTool(in json.RawMessage) mcp.Tool {
	return mcp.Tool{
		Name:            t.Name,
		Description:     t.Description,
		RawInputSchema:  in,
		RawOutputSchema: t.outputSchema,
		Annotations:     annotations(t),
	}
}

// annotations are t's hints, leaving out what the MCP specification's
// defaults already say (openWorldHint true; destructiveHint and
// idempotentHint are meaningful only when readOnlyHint is false, and
// idempotentHint defaults to false): every byte of tools/list is paid by
// every conversation.
func annotations(t *Tool) mcp.ToolAnnotation {
	a := mcp.ToolAnnotation{Title: t.Title, ReadOnlyHint: mcp.ToBoolPtr(t.ReadOnly)}
	if !t.ReadOnly {
		a.DestructiveHint = mcp.ToBoolPtr(false) // the default is true
		if t.Idempotent {
			a.IdempotentHint = mcp.ToBoolPtr(true)
		}
	}
	return a
}

// ToolsListBytes is the tools array of tools/list as the server writes it
// for the caller in ctx (compact JSON): what one conversation pays for the
// tool definitions.
func (inv *Inventory) ToolsListBytes(ctx context.Context, opts ServerOptions) ([]byte, error) {
	srv := inv.MCPServer(opts)
	if opts.Bind != nil {
		ctx = opts.Bind(ctx)
	}
	srv.HandleMessage(ctx, json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"`+mcp.LATEST_PROTOCOL_VERSION+`","capabilities":{},"clientInfo":{"name":"sentry-mcp","version":"1"}}}`))
	b, err := json.Marshal(srv.HandleMessage(ctx, json.RawMessage(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)))
	if err != nil {
		return nil, err
	}
	var msg struct {
		Result struct {
			Tools json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &msg); err != nil || len(msg.Result.Tools) == 0 {
		return nil, fmt.Errorf("tools/list: %v: %.200s", err, b)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, msg.Result.Tools); err != nil {
		return nil, err
	}
	return compact.Bytes(), nil
}
