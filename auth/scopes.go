// Package auth is who the server acts as: Sentry's OAuth scopes and what a
// grant of them allows, sign-in (PKCE, device flow), the credential stores
// (keyring, file) and the refreshing token source with its one lock per
// credential.
package auth

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// KnownScopes is Sentry's full scope list (src/sentry/conf/server.py SENTRY_SCOPES).
var KnownScopes = []string{
	"org:read", "org:write", "org:admin", "org:integrations", "org:ci",
	"member:invite", "member:read", "member:write", "member:admin",
	"team:read", "team:write", "team:admin",
	"project:read", "project:write", "project:admin", "project:releases", "project:distribution",
	"event:read", "event:write", "event:admin",
	"alerts:read", "alerts:write",
	"openid", "profile", "email",
}

// implies maps a scope to the scopes it directly implies
// (SENTRY_SCOPE_HIERARCHY_MAPPING); scopes not listed imply only themselves.
var implies = map[string][]string{
	"org:write":     {"org:read"},
	"org:admin":     {"org:write", "org:integrations"},
	"member:invite": {"member:read"},
	"member:write":  {"member:read", "member:invite"},
	"member:admin":  {"member:write"},
	"team:write":    {"team:read"},
	"team:admin":    {"team:write"},
	"project:write": {"project:read"},
	"project:admin": {"project:write"},
	"event:write":   {"event:read"},
	"event:admin":   {"event:write"},
	"alerts:write":  {"alerts:read"},
}

// ParseScopes splits a comma- or space-separated scope list, trims blanks and
// rejects scopes Sentry does not define.
func ParseScopes(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		if !slices.Contains(KnownScopes, f) {
			return nil, fmt.Errorf("unknown scope %q (Sentry scopes look like org:read, project:releases, event:write)", f)
		}
		out = append(out, f)
	}
	return out, nil
}

// ParseLoginScopes is ParseScopes that also takes the names of
// ScopePresets ("triage", "read"), alone or with further scopes; the result
// has each scope once, in the order given.
func ParseLoginScopes(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	var out []string
	for _, f := range fields {
		set, ok := ScopePresets[f]
		if !ok {
			one, err := ParseScopes(f)
			if err != nil {
				names := make([]string, 0, len(ScopePresets))
				for n := range ScopePresets {
					names = append(names, n)
				}
				sort.Strings(names)
				return nil, fmt.Errorf("%w, and not a preset (%s)", err, strings.Join(names, ", "))
			}
			set = one
		}
		for _, sc := range set {
			if !slices.Contains(out, sc) {
				out = append(out, sc)
			}
		}
	}
	return out, nil
}

// Expand returns the sorted union of scopes and everything they imply, as
// Sentry stores a token's scopes. Unknown scopes are kept as they are.
func Expand(scopes []string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(s string) {
		if seen[s] {
			return
		}
		seen[s] = true
		for _, i := range implies[s] {
			walk(i)
		}
	}
	for _, s := range scopes {
		walk(s)
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Grant is what the server may do: the token's scopes, expanded, narrowed by
// the user's upper bound (--scopes) and --read-only. The zero Grant knows
// nothing and allows everything, leaving enforcement to Sentry's 403.
type Grant struct {
	known    bool
	scopes   map[string]bool
	readOnly bool
}

// NewGrant builds a grant from the token's scopes (nil = unknown) and an
// optional upper bound (nil = none).
func NewGrant(token []string, upperBound []string, readOnly bool) Grant {
	g := Grant{readOnly: readOnly}
	if token == nil && upperBound == nil {
		return g
	}
	g.known = true
	g.scopes = map[string]bool{}
	var bound map[string]bool
	if upperBound != nil {
		bound = map[string]bool{}
		for _, s := range Expand(upperBound) {
			bound[s] = true
		}
	}
	base := token
	if base == nil { // token scopes unknown: the bound alone limits us
		base = upperBound
	}
	for _, s := range Expand(base) {
		if bound == nil || bound[s] {
			g.scopes[s] = true
		}
	}
	return g
}

// Known reports whether the grant's scopes were learned.
func (g Grant) Known() bool { return g.known }

// ReadOnly reports whether writes are switched off.
func (g Grant) ReadOnly() bool { return g.readOnly }

// Scopes lists the granted scopes, sorted; nil when unknown.
func (g Grant) Scopes() []string {
	if !g.known {
		return nil
	}
	out := make([]string, 0, len(g.scopes))
	for s := range g.scopes {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Allows reports whether any of the scopes is granted. An empty list needs
// no scope; an unknown grant allows everything.
func (g Grant) Allows(anyOf []string) bool {
	if len(anyOf) == 0 || !g.known {
		return true
	}
	for _, s := range anyOf {
		if g.scopes[s] {
			return true
		}
	}
	return false
}

// Minimal drops from an any-of scope list every scope that implies another
// one in the list, leaving the least a user needs: [org:read org:write
// org:admin] becomes [org:read].
func Minimal(anyOf []string) []string {
	var out []string
	for _, s := range anyOf {
		redundant := false
		for _, implied := range Expand([]string{s}) {
			if implied != s && slices.Contains(anyOf, implied) {
				redundant = true
			}
		}
		if !redundant {
			out = append(out, s)
		}
	}
	return out
}

// Accepting lists, in Sentry's order, every known scope that allows any of
// the given scopes: each of them and every scope that implies one of them
// in Sentry's hierarchy. Accepting([event:write]) is [event:write event:admin].
func Accepting(anyOf []string) []string {
	var out []string
	for _, s := range KnownScopes {
		for _, implied := range Expand([]string{s}) {
			if slices.Contains(anyOf, implied) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// scopeMeaning says, for the consent page of hosted mode, what each scope
// lets the server do in Sentry on the user's behalf (Sentry's own words
// where it has them: src/sentry/conf/server.py SENTRY_SCOPE_SETS).
var scopeMeaning = map[string]string{
	"org:read":             "read your organizations and their settings",
	"org:write":            "change organization settings",
	"org:admin":            "administer organizations, including deleting them",
	"org:integrations":     "read and change organization integrations",
	"org:ci":               "use continuous-integration features (source maps, releases)",
	"member:invite":        "invite members",
	"member:read":          "read organization members",
	"member:write":         "change and invite members",
	"member:admin":         "administer members, including removing them",
	"team:read":            "read teams",
	"team:write":           "change teams",
	"team:admin":           "administer teams, including deleting them",
	"project:read":         "read projects and their settings",
	"project:write":        "change project settings",
	"project:admin":        "administer projects, including deleting them",
	"project:releases":     "read and create releases and deploys",
	"project:distribution": "distribute builds",
	"event:read":           "read issues and events, including their data (stack traces, request data, user details)",
	"event:write":          "change issues: resolve, archive, assign, set priority and comment",
	"event:admin":          "delete issues and events",
	"alerts:read":          "read alert rules",
	"alerts:write":         "change alert rules",
	"openid":               "confirm your identity",
	"profile":              "read your name",
	"email":                "read your email address",
}

// ScopeMeaning is what scope allows, in a few words ("" for an unknown scope).
func ScopeMeaning(scope string) string { return scopeMeaning[scope] }
