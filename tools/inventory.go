// Package tools is the inventory of MCP tools: one place that decides what
// is listed and callable (grant, --scopes, --read-only, organization pin)
// and turns tool definitions into mcp-go registrations.
package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
)

// Env is what tool handlers work with.
type Env struct {
	Client *sentry.Client
	Grant  auth.Grant
	// TokenScopes are the token's own scopes as Sentry reported them (nil if unknown).
	TokenScopes []string
	// Org pins the server to one organization ("" = any).
	Org    string
	Logger *slog.Logger

	projects  sync.Map   // "org/slug" -> project id
	inventory *Inventory // the inventory this env serves, for whoami
}

// Tool is one MCP tool: data plus a handler.
type Tool struct {
	Name        string
	Title       string
	Description string
	// Scopes needed, any of them; none = always allowed.
	Scopes     []string
	ReadOnly   bool
	Idempotent bool

	inputSchema  json.RawMessage
	outputSchema json.RawMessage
	validator    *jsonschema.Schema
	run          func(ctx context.Context, env *Env, args json.RawMessage) (*mcp.CallToolResult, error)
}

// Handler is a typed tool body: it returns the structured output and its
// text rendering, or an error (turned into a tool error by one shared mapping).
type Handler[I, O any] func(ctx context.Context, env *Env, in *I) (*O, string, error)

func define[I, O any](t Tool, h Handler[I, O]) Tool {
	t.inputSchema = schemas.For(new(I))
	t.outputSchema = schemas.ForOutput(new(O))
	t.run = func(ctx context.Context, env *Env, args json.RawMessage) (*mcp.CallToolResult, error) {
		in := new(I)
		if len(args) > 0 && string(args) != "null" {
			if err := json.Unmarshal(args, in); err != nil {
				return mcp.NewToolResultError("Invalid arguments: " + err.Error()), nil
			}
		}
		out, text, err := h(ctx, env, in)
		if err != nil {
			return errorResult(t, err), nil
		}
		return mcp.NewToolResultStructured(out, text), nil
	}
	return t
}

// All returns every tool sentry-mcp has, in a stable order.
func All() []Tool {
	return []Tool{
		whoamiTool(),
		listOrganizationsTool(),
		listProjectsTool(),
		listIssuesTool(),
		getIssueTool(),
		resolveIssueTool(),
		listReleasesTool(),
	}
}

// Inventory is the set of tools for one server, with the policy that
// decides which are enabled.
type Inventory struct {
	env   *Env
	tools []Tool
}

// NewInventory prepares every tool for env: compiles input validators and
// specialises schemas to the organization pin.
func NewInventory(env *Env) (*Inventory, error) {
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	inv := &Inventory{env: env}
	env.inventory = inv
	for _, t := range All() {
		if env.Org != "" {
			t.inputSchema = pinOrganization(t.inputSchema, env.Org)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(t.inputSchema))
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource(t.Name+".json", doc); err != nil {
			return nil, err
		}
		if t.validator, err = c.Compile(t.Name + ".json"); err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
		}
		inv.tools = append(inv.tools, t)
	}
	return inv, nil
}

// pinOrganization makes "organization" optional and says which one is used.
func pinOrganization(schema json.RawMessage, org string) json.RawMessage {
	var s map[string]any
	if json.Unmarshal(schema, &s) != nil {
		return schema
	}
	props, _ := s["properties"].(map[string]any)
	p, ok := props["organization"].(map[string]any)
	if !ok {
		return schema
	}
	p["description"] = fmt.Sprintf("Organization slug; this server is pinned to %q.", org)
	if req, ok := s["required"].([]any); ok {
		s["required"] = slices.DeleteFunc(req, func(v any) bool { return v == "organization" })
		if len(s["required"].([]any)) == 0 {
			delete(s, "required")
		}
	}
	b, _ := json.Marshal(s)
	return b
}

// Tools returns every tool, enabled or not.
func (inv *Inventory) Tools() []Tool { return inv.tools }

// Env returns the inventory's environment.
func (inv *Inventory) Env() *Env { return inv.env }

// Check says whether t may run under the current policy, and if not, why,
// in words the agent can act on. This is the one place that decides.
func (inv *Inventory) Check(t Tool) error {
	if !t.ReadOnly && inv.env.Grant.ReadOnly() {
		return fmt.Errorf("%s is disabled: this server runs read-only (--read-only / SENTRY_MCP_READ_ONLY)", t.Name)
	}
	if !inv.env.Grant.Allows(t.Scopes) {
		return fmt.Errorf("%s needs the Sentry scope %s, which this server's grant does not include (granted: %s). Sign in with that scope, or widen --scopes / SENTRY_MCP_SCOPES",
			t.Name, strings.Join(t.Scopes, " or "), orNone(inv.env.Grant.Scopes()))
	}
	return nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// Enabled lists the names of the tools that may run.
func (inv *Inventory) Enabled() (enabled, disabled []string) {
	for _, t := range inv.tools {
		if inv.Check(t) == nil {
			enabled = append(enabled, t.Name)
		} else {
			disabled = append(disabled, t.Name)
		}
	}
	return enabled, disabled
}

// MCPTool is t as agents see it in tools/list.
func (t Tool) MCPTool() mcp.Tool {
	return mcp.Tool{
		Name:            t.Name,
		Description:     t.Description,
		RawInputSchema:  t.inputSchema,
		RawOutputSchema: t.outputSchema,
		Annotations: mcp.ToolAnnotation{
			Title:           t.Title,
			ReadOnlyHint:    mcp.ToBoolPtr(t.ReadOnly),
			DestructiveHint: mcp.ToBoolPtr(false),
			IdempotentHint:  mcp.ToBoolPtr(t.ReadOnly || t.Idempotent),
			OpenWorldHint:   mcp.ToBoolPtr(true),
		},
	}
}

// Call runs the tool named name with raw JSON arguments: policy check,
// argument validation, then the handler. Every path into a tool goes here.
func (inv *Inventory) Call(ctx context.Context, name string, args json.RawMessage) (*mcp.CallToolResult, error) {
	i := slices.IndexFunc(inv.tools, func(t Tool) bool { return t.Name == name })
	if i < 0 {
		return mcp.NewToolResultError(fmt.Sprintf("unknown tool %q", name)), nil
	}
	t := inv.tools[i]
	if err := inv.Check(t); err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	if msg := validate(t, args); msg != "" {
		return mcp.NewToolResultError(msg), nil
	}
	return t.run(ctx, inv.env, args)
}

// Server builds the MCP server: every tool is registered so that a call to
// a disabled one can say which scope is missing, while tools/list shows
// only the enabled ones.
func (inv *Inventory) Server(version string) *server.MCPServer {
	hooks := &server.Hooks{}
	hooks.AddAfterListTools(func(_ context.Context, _ any, _ *mcp.ListToolsRequest, res *mcp.ListToolsResult) {
		res.Tools = slices.DeleteFunc(res.Tools, func(mt mcp.Tool) bool {
			i := slices.IndexFunc(inv.tools, func(t Tool) bool { return t.Name == mt.Name })
			return i < 0 || inv.Check(inv.tools[i]) != nil
		})
	})
	s := server.NewMCPServer("sentry-mcp", version,
		server.WithToolCapabilities(false),
		server.WithRecovery(),
		server.WithInstructions(inv.Instructions()),
		server.WithHooks(hooks),
	)
	for _, t := range inv.tools {
		name := t.Name
		s.AddTool(t.MCPTool(), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			args, err := json.Marshal(req.Params.Arguments)
			if err != nil {
				return mcp.NewToolResultError("Invalid arguments: " + err.Error()), nil
			}
			return inv.Call(ctx, name, args)
		})
	}
	return s
}

// Instructions is the initialize result's guidance for the agent.
func (inv *Inventory) Instructions() string {
	var b strings.Builder
	b.WriteString("Read and triage Sentry issues. Typical flow: list_organizations -> list_issues -> get_issue (stack trace, tags) -> fix the code -> resolve_issue.\n")
	b.WriteString("list_issues query uses Sentry search: key:value terms, e.g. `is:unresolved level:error release:1.2 environment:prod`, plus free text; `!` negates (`!is:assigned`).\n")
	b.WriteString("Lists are paged: pass next_cursor back as cursor. resolve_issue needs the event:write scope.")
	if inv.env.Org != "" {
		fmt.Fprintf(&b, "\nThis server is pinned to organization %q.", inv.env.Org)
	}
	return b.String()
}

// validate checks args against the tool's input schema and words any
// problem for the agent; "" means valid.
func validate(t Tool, args json.RawMessage) string {
	if len(bytes.TrimSpace(args)) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if err != nil {
		return "Invalid arguments: not a JSON object."
	}
	err = t.validator.Validate(v)
	if err == nil {
		return ""
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return "Invalid arguments: " + err.Error()
	}
	var msgs []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			where := strings.Join(e.InstanceLocation, ".")
			m := e.ErrorKind.LocalizedString(printer)
			if where != "" {
				m = fmt.Sprintf("%q: %s", where, m)
			}
			if !slices.Contains(msgs, m) {
				msgs = append(msgs, m)
			}
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return fmt.Sprintf("Invalid arguments for %s: %s. See the tool's input schema.", t.Name, strings.Join(msgs, "; "))
}
