package tools

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sentry-mcp/sentry-mcp/auth"
)

// Selection is which tools a server offers at all (--toolsets, --tools,
// --exclude-tools): the tools of the named toolsets (the default toolsets
// when neither Toolsets nor Tools is given) plus Tools, minus Exclude,
// which always wins. whoami is always selected unless excluded.
type Selection struct {
	Toolsets []string // toolset names, "all" or "default"
	Tools    []string
	Exclude  []string
}

// Policy decides, for a principal, which tools are listed and callable:
// the selection, then --read-only, then the grant. It is the one place
// that decides; tools/list, tools/call, whoami and the CLI all ask it.
type Policy struct {
	tools    []Tool
	selected map[string]bool
	toolsets []string // toolsets with at least one selected tool, in order
	signIn   func(scopes []string) string
}

func newPolicy(all []Tool, sel Selection) (*Policy, error) {
	names := make([]string, len(all))
	byToolset := map[string][]string{}
	for i, t := range all {
		names[i] = t.Name
		byToolset[t.Toolset] = append(byToolset[t.Toolset], t.Name)
	}
	var toolsetNames []string
	for _, ts := range Toolsets {
		toolsetNames = append(toolsetNames, ts.Name)
	}
	selected := map[string]bool{"whoami": true}
	addToolset := func(name string) {
		for _, n := range byToolset[name] {
			selected[n] = true
		}
	}
	sets := sel.Toolsets
	if len(sets) == 0 && len(sel.Tools) == 0 {
		sets = []string{"default"}
	}
	for _, s := range sets {
		switch {
		case s == "all":
			for _, ts := range Toolsets {
				addToolset(ts.Name)
			}
		case s == "default":
			for _, ts := range Toolsets {
				if ts.Default {
					addToolset(ts.Name)
				}
			}
		case slices.Contains(toolsetNames, s):
			addToolset(s)
		default:
			return nil, fmt.Errorf("unknown toolset %q; valid toolsets: %s, all, default", s, strings.Join(toolsetNames, ", "))
		}
	}
	for _, list := range [][]string{sel.Tools, sel.Exclude} {
		for _, n := range list {
			if !slices.Contains(names, n) {
				return nil, fmt.Errorf("unknown tool %q; valid tools: %s", n, strings.Join(names, ", "))
			}
		}
	}
	for _, n := range sel.Tools {
		selected[n] = true
	}
	for _, n := range sel.Exclude {
		delete(selected, n)
	}
	p := &Policy{tools: all, selected: selected}
	for _, ts := range Toolsets {
		if slices.ContainsFunc(byToolset[ts.Name], func(n string) bool { return selected[n] }) {
			p.toolsets = append(p.toolsets, ts.Name)
		}
	}
	return p, nil
}

// Selected reports whether the server offers the tool at all.
func (p *Policy) Selected(name string) bool { return p.selected[name] }

// Toolsets lists the toolsets that have a selected tool.
func (p *Policy) Toolsets() []string { return p.toolsets }

// Refusal says why a tool may not run. Reason is short (for tables and
// whoami); Error words it for the agent, built only when asked.
type Refusal struct {
	Reason string // "not selected", "read-only", "no credentials", "needs event:write"
	kind   int
	tool   *Tool
	pr     *Principal
	signIn func(scopes []string) string
}

const (
	refusedSelection = iota
	refusedReadOnly
	refusedCredentials
	refusedScope
)

func (r *Refusal) Error() string {
	t := r.tool
	switch r.kind {
	case refusedSelection:
		return fmt.Sprintf("%s is not enabled on this server (--toolsets / --tools / --exclude-tools)", t.Name)
	case refusedReadOnly:
		return fmt.Sprintf("%s is disabled: this server runs read-only (--read-only / SENTRY_MCP_READ_ONLY)", t.Name)
	case refusedCredentials:
		return fmt.Sprintf("%s is unavailable: %s", t.Name, line(r.pr.Problem, capText))
	}
	if r.signIn != nil {
		return fmt.Sprintf("%s needs the Sentry scope %s, which your grant does not include (granted: %s). %s",
			t.Name, strings.Join(auth.Accepting(t.Scopes), " or "), orNone(r.pr.Grant.Scopes()), r.signIn(leastScopes([]*Tool{t})))
	}
	return fmt.Sprintf("%s needs the Sentry scope %s, which this server's grant does not include (granted: %s). Sign in with that scope (sentry-mcp auth login --scopes %s), or widen --scopes / SENTRY_MCP_SCOPES",
		t.Name, strings.Join(auth.Accepting(t.Scopes), " or "), orNone(r.pr.Grant.Scopes()), loginScopes([]*Tool{t}))
}

// leastScopes is the least scope of each of ts, each once.
func leastScopes(ts []*Tool) []string {
	var out []string
	for _, t := range ts {
		if !slices.Contains(out, t.Scopes[0]) {
			out = append(out, t.Scopes[0])
		}
	}
	return out
}

// loginScopes is the --scopes value of `auth login` that covers ts: the
// triage preset where it does, else the tool's least scope.
func loginScopes(ts []*Tool) string {
	var out []string
	for _, t := range ts {
		need := t.Scopes[0]
		if slices.ContainsFunc(t.Scopes, func(s string) bool { return slices.Contains(auth.ScopePresets["triage"], s) }) {
			need = "triage"
		}
		if !slices.Contains(out, need) {
			out = append(out, need)
		}
	}
	return strings.Join(out, ",")
}

// SignInHint says which sign-in would enable the selected tools pr may
// not run for want of a scope, "" when there are none.
func (p *Policy) SignInHint(pr *Principal) string {
	var missing []*Tool
	var names []string
	for i := range p.tools {
		t := &p.tools[i]
		if r := p.Check(pr, t); r != nil && r.kind == refusedScope {
			missing = append(missing, t)
			names = append(names, t.Name)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	if p.signIn != nil {
		return fmt.Sprintf("To enable %s: %s", strings.Join(names, ", "), p.signIn(leastScopes(missing)))
	}
	return fmt.Sprintf("To enable %s: sentry-mcp auth login --scopes %s (or widen --scopes / SENTRY_MCP_SCOPES).", strings.Join(names, ", "), loginScopes(missing))
}

// Check says whether t may run for pr; nil means it may.
func (p *Policy) Check(pr *Principal, t *Tool) *Refusal {
	switch {
	case !p.selected[t.Name]:
		return &Refusal{Reason: "not selected", kind: refusedSelection, tool: t, pr: pr}
	case !t.ReadOnly && pr.Grant.ReadOnly():
		return &Refusal{Reason: "read-only", kind: refusedReadOnly, tool: t, pr: pr}
	case len(t.Scopes) > 0 && pr.Problem != "":
		return &Refusal{Reason: "no credentials", kind: refusedCredentials, tool: t, pr: pr}
	case !pr.Grant.Allows(t.Scopes):
		return &Refusal{Reason: t.needs, kind: refusedScope, tool: t, pr: pr, signIn: p.signIn}
	}
	return nil
}

// Enabled lists the selected tools pr may run, and the others with why not.
func (p *Policy) Enabled(pr *Principal) (enabled []string, disabled []Disabled) {
	for i := range p.tools {
		t := &p.tools[i]
		if !p.selected[t.Name] {
			continue
		}
		if r := p.Check(pr, t); r != nil {
			disabled = append(disabled, Disabled{t.Name, r.Reason})
		} else {
			enabled = append(enabled, t.Name)
		}
	}
	return enabled, disabled
}

// Disabled is a selected tool that a principal may not run, and why.
type Disabled struct {
	Name   string
	Reason string
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
