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

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// Config is what an inventory is built from, once per process.
type Config struct {
	Client    *sentry.Client
	Logger    *slog.Logger
	Selection Selection
	// SignIn, when set, says how a caller gets a grant with scopes (the
	// least scope of each tool it may not run), for refusals and whoami.
	// nil: `sentry-mcp auth login --scopes ...` (stdio).
	SignIn func(scopes []string) string
}

// Inventory holds every tool compiled once per process (schemas and
// validators), the policy, and per-organization views of the input schemas
// (built once per organization pin and cached). Serving a principal is a
// filter over these, never a rebuild.
type Inventory struct {
	deps  *Deps
	tools []Tool
	views sync.Map // lowercase org pin ("" = none) -> *View
}

// View is the tools' input schemas as a principal with one organization
// pin sees them: "organization" becomes optional and names the pin.
type View struct {
	Pin        string
	schemas    map[string]json.RawMessage
	validators map[string]*jsonschema.Schema
}

// Schema is the tool's input schema in this view.
func (v *View) Schema(name string) json.RawMessage { return v.schemas[name] }

// New compiles every tool and checks the selection.
func New(cfg Config) (*Inventory, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	all := All()
	for i := range all {
		all[i].needs = "needs " + strings.Join(all[i].Scopes, " or ")
	}
	pol, err := newPolicy(all, cfg.Selection)
	if err != nil {
		return nil, err
	}
	pol.signIn = cfg.SignIn
	inv := &Inventory{deps: &Deps{Client: cfg.Client, Logger: cfg.Logger, Policy: pol}, tools: all}
	if _, err := inv.view(""); err != nil {
		return nil, err
	}
	return inv, nil
}

// Policy is the policy the inventory serves with.
func (inv *Inventory) Policy() *Policy { return inv.deps.Policy }

// Client is the Sentry client tools call.
func (inv *Inventory) Client() *sentry.Client { return inv.deps.Client }

// Selected returns the tools this server offers at all.
func (inv *Inventory) Selected() []*Tool {
	var out []*Tool
	for i := range inv.tools {
		if inv.deps.Policy.Selected(inv.tools[i].Name) {
			out = append(out, &inv.tools[i])
		}
	}
	return out
}

// Tool returns the tool named name, or nil.
func (inv *Inventory) Tool(name string) *Tool {
	i := slices.IndexFunc(inv.tools, func(t Tool) bool { return t.Name == name })
	if i < 0 {
		return nil
	}
	return &inv.tools[i]
}

// View returns the schemas as seen with organization pin org ("" = none),
// building them the first time that pin is seen.
func (inv *Inventory) View(org string) *View { return inv.mustView(strings.ToLower(org)) }

func (inv *Inventory) mustView(pin string) *View {
	v, err := inv.view(pin)
	if err != nil {
		panic("tools: " + err.Error()) // the unpinned view compiled at start; a pin changes no structure
	}
	return v
}

func (inv *Inventory) view(pin string) (*View, error) {
	if v, ok := inv.views.Load(pin); ok {
		return v.(*View), nil
	}
	v := &View{Pin: pin, schemas: map[string]json.RawMessage{}, validators: map[string]*jsonschema.Schema{}}
	for _, t := range inv.tools {
		s, full := t.inputSchema, t.validating
		if pin != "" {
			s, full = pinOrganization(s, pin), pinOrganization(full, pin)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(full))
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource(t.Name+".json", doc); err != nil {
			return nil, err
		}
		if v.validators[t.Name], err = c.Compile(t.Name + ".json"); err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
		}
		v.schemas[t.Name] = s
	}
	actual, _ := inv.views.LoadOrStore(pin, v)
	return actual.(*View), nil
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

// Listed returns the tools the principal in ctx may run, for tools/list.
func (inv *Inventory) Listed(ctx context.Context) []*Tool {
	pr := principal(ctx)
	var out []*Tool
	for i := range inv.tools {
		if inv.deps.Policy.Check(pr, &inv.tools[i]) == nil {
			out = append(out, &inv.tools[i])
		}
	}
	return out
}

// Call runs the tool named name with raw JSON arguments for the principal
// in ctx: policy check, argument validation against the principal's view,
// then the handler with the principal's credentials. Every path into a
// tool goes here.
func (inv *Inventory) Call(ctx context.Context, name string, args json.RawMessage) *Result {
	pr := principal(ctx)
	t := inv.Tool(name)
	if t == nil || !inv.deps.Policy.Selected(name) {
		enabled, _ := inv.deps.Policy.Enabled(pr)
		return errorText(fmt.Sprintf("Unknown tool %q. Tools you can call here: %s.", line(name, 64), orNone(enabled)))
	}
	if r := inv.deps.Policy.Check(pr, t); r != nil {
		return errorText(r.Error())
	}
	if msg := validate(t.Name, inv.View(pr.Org).validators[t.Name], args); msg != "" {
		return errorText(msg)
	}
	if pr.Token != nil {
		ctx = sentry.WithTokenSource(ctx, pr.Token)
	}
	// Sentry counts concurrency per user and endpoint: so does the client.
	ctx = sentry.WithPrincipalKey(ctx, pr.Key)
	return t.run(ctx, inv.deps, pr, args)
}

// Instructions is the initialize result's guidance for the agent, built
// from the selected toolsets only.
func (inv *Inventory) Instructions(org string) string {
	sel := inv.deps.Policy.Selected
	only := func(names ...string) []string {
		return slices.DeleteFunc(names, func(n string) bool { return !sel(n) })
	}
	var b strings.Builder
	b.WriteString("Sentry for agents.")
	if find := only("list_issues", "get_issue"); len(find) > 0 {
		fmt.Fprintf(&b, " Triage: %s", strings.Join(find, " -> "))
		if more := only("get_event", "list_issue_events", "get_issue_tags", "list_issue_activity"); len(more) > 0 {
			fmt.Fprintf(&b, " -> %s for detail", strings.Join(more, ", "))
		}
		if act := only("update_issue", "add_issue_comment", "resolve_issue"); len(act) > 0 {
			fmt.Fprintf(&b, " -> %s", strings.Join(act, ", "))
		}
		b.WriteString(".")
		if sel("list_issues") {
			b.WriteString("\nlist_issues query uses Sentry search: key:value terms, e.g. `is:unresolved level:error release:1.2 environment:prod`, plus free text; `!` negates (`!is:assigned`).")
		}
	}
	if sel("update_issue") {
		b.WriteString("\nAssign with user:ID (list_members), team:SLUG (list_teams), an email or me.")
	}
	if sel("search_events") {
		b.WriteString("\nsearch_events is Discover: fields like title, user.email, count(), p95(transaction.duration); functions group by the other fields.")
	}
	if sel("get_trace") {
		b.WriteString(" get_trace takes the trace id an event shows.")
	}
	b.WriteString("\nLists are paged: pass next_cursor back as cursor.")
	if w := only("update_issue", "add_issue_comment", "resolve_issue"); len(w) > 0 {
		verb := "need"
		if len(w) == 1 {
			verb = "needs"
		}
		fmt.Fprintf(&b, " %s %s the event:write scope.", strings.Join(w, ", "), verb)
	}
	if org != "" {
		fmt.Fprintf(&b, "\nThis server is pinned to organization %q.", org)
	}
	b.WriteString("\n" + render.Notice)
	return b.String()
}

// ToolInfo is one row of `sentry-mcp tools --json`.
type ToolInfo struct {
	Name     string   `json:"name"`
	Title    string   `json:"title"`
	Toolset  string   `json:"toolset"`
	Scopes   []string `json:"scopes"`
	ReadOnly bool     `json:"read_only"`
	Enabled  bool     `json:"enabled"`
	Reason   string   `json:"reason,omitempty"`
}

// Describe lists every tool with whether pr may run it and, if not, why.
func (inv *Inventory) Describe(pr *Principal) []ToolInfo {
	var out []ToolInfo
	for i := range inv.tools {
		t := &inv.tools[i]
		info := ToolInfo{Name: t.Name, Title: t.Title, Toolset: t.Toolset, Scopes: append([]string{}, t.Scopes...), ReadOnly: t.ReadOnly, Enabled: true}
		if r := inv.deps.Policy.Check(pr, t); r != nil {
			info.Enabled, info.Reason = false, r.Reason
		}
		out = append(out, info)
	}
	return out
}

// validate checks args against a tool's input schema and words any
// problem for the agent; "" means valid.
func validate(name string, validator *jsonschema.Schema, args json.RawMessage) string {
	if len(bytes.TrimSpace(args)) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if err != nil {
		return "Invalid arguments: not a JSON object."
	}
	err = validator.Validate(v)
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
	return fmt.Sprintf("Invalid arguments for %s: %s.", name, strings.Join(msgs, "; "))
}
