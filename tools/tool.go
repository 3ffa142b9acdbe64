// Package tools defines sentry-mcp's tools and the policy that decides,
// per caller, which of them are listed and callable. Tool handlers know
// nothing of MCP: they return a neutral Result, and mcp.go, the one file
// that imports mcp-go, adapts the inventory to an MCP server.
package tools

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
)

// Toolsets group the tools; every tool belongs to exactly one.
const (
	ToolsetOrgs     = "orgs"
	ToolsetIssues   = "issues"
	ToolsetReleases = "releases"
	ToolsetEvents   = "events"
)

// Toolset describes one toolset.
type Toolset struct {
	Name        string
	Description string
	Default     bool // enabled when neither --toolsets nor --tools is given
}

// Toolsets lists every toolset in a stable order.
var Toolsets = []Toolset{
	{ToolsetOrgs, "who am I, organizations, projects", true},
	{ToolsetIssues, "search, read and resolve issues", true},
	{ToolsetReleases, "releases", true},
	{ToolsetEvents, "Discover queries and traces", true},
}

// Tool is one tool: what agents see of it, what it needs, and its handler.
type Tool struct {
	Name        string
	Title       string
	Description string
	Toolset     string
	// Scopes are the least Sentry scopes that allow the tool, any of them
	// (none = always allowed); every scope that implies one of them in
	// Sentry's hierarchy allows it too (see Accepted).
	Scopes     []string
	ReadOnly   bool
	Idempotent bool

	needs        string          // "needs org:read", for refusals
	inputSchema  json.RawMessage // what agents are shown (schemas.Advertised)
	validating   json.RawMessage // what arguments are checked against
	outputSchema json.RawMessage
	run          func(ctx context.Context, d *Deps, p *Principal, args json.RawMessage) *Result
}

// InputSchema is the JSON Schema of the tool's arguments that agents are
// shown (not pinned to an organization); arguments are checked against a
// stricter one that also has string length bounds and patterns.
func (t *Tool) InputSchema() json.RawMessage { return t.inputSchema }

// OutputSchema is the JSON Schema of the tool's structured result.
func (t *Tool) OutputSchema() json.RawMessage { return t.outputSchema }

// Result is what a tool call returns, independent of the transport: a
// compact text for the model, the same data as a structured value matching
// the output schema, or an error the agent can act on.
type Result struct {
	Text       string
	Structured any
	IsError    bool
}

// errorText is a tool error result.
func errorText(msg string) *Result { return &Result{Text: msg, IsError: true} }

// Deps are what every tool call shares, built once per process: the Sentry
// client (its credentials come from the caller's principal in ctx), the
// logger, the policy and caches.
type Deps struct {
	Client *sentry.Client
	Logger *slog.Logger
	Policy *Policy

	// projects maps principal key + org/slug to a project id. It is keyed
	// per principal: which projects exist is something one user may see
	// and another may not, so one user's lookup must not answer another's.
	projects sync.Map
}

// Handler is a typed tool body: it returns the structured output and its
// text rendering, or an error (turned into a tool error by one shared
// mapping in errors.go).
type Handler[I, O any] func(ctx context.Context, d *Deps, p *Principal, in *I) (*O, string, error)

func define[I, O any](t Tool, h Handler[I, O]) Tool {
	t.validating = schemas.For(new(I))
	t.inputSchema = schemas.Advertised(t.validating)
	t.outputSchema = schemas.ForOutput(new(O))
	name := t.Name
	scopes := t.Scopes
	t.run = func(ctx context.Context, d *Deps, p *Principal, args json.RawMessage) *Result {
		in := new(I)
		if len(args) > 0 && string(args) != "null" {
			if err := json.Unmarshal(args, in); err != nil {
				return errorText("Invalid arguments: " + err.Error())
			}
		}
		out, text, err := h(ctx, d, p, in)
		if err != nil {
			return errorText(describe(name, scopes, err))
		}
		if t, cut := fitTextJSON(text); cut {
			text = t
			if m, ok := any(out).(interface{ MarkTruncated() }); ok {
				m.MarkTruncated()
			}
		}
		return &Result{Text: text, Structured: out}
	}
	return t
}

// All returns every tool sentry-mcp has, in a stable order.
func All() []Tool {
	return []Tool{
		whoamiTool(),
		listOrganizationsTool(),
		listProjectsTool(),
		listTeamsTool(),
		listMembersTool(),
		listIssuesTool(),
		getIssueTool(),
		getEventTool(),
		listIssueEventsTool(),
		resolveIssueTool(),
		updateIssueTool(),
		getIssueTagsTool(),
		listIssueActivityTool(),
		addIssueCommentTool(),
		listReleasesTool(),
		getReleaseTool(),
		searchEventsTool(),
		getTraceTool(),
	}
}
