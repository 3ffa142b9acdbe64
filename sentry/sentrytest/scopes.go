package sentrytest

import (
	"slices"
	"strings"
)

// allScopes is SENTRY_SCOPES (BEHAVIOUR.md s3).
var allScopes = []string{
	"org:read", "org:write", "org:admin", "org:integrations", "org:ci",
	"member:invite", "member:read", "member:write", "member:admin",
	"team:read", "team:write", "team:admin",
	"project:read", "project:write", "project:admin", "project:releases", "project:distribution",
	"event:read", "event:write", "event:admin",
	"alerts:read", "alerts:write",
	"openid", "profile", "email",
}

// scopeHierarchy is SENTRY_SCOPE_HIERARCHY_MAPPING: what each scope implies
// (itself included). Scopes missing here imply only themselves.
var scopeHierarchy = map[string][]string{
	"org:read":         {"org:read"},
	"org:write":        {"org:read", "org:write"},
	"org:admin":        {"org:read", "org:write", "org:admin", "org:integrations"},
	"org:integrations": {"org:integrations"},
	"org:ci":           {"org:ci"},
	"member:invite":    {"member:read", "member:invite"},
	"member:read":      {"member:read"},
	"member:write":     {"member:read", "member:invite", "member:write"},
	"member:admin":     {"member:read", "member:invite", "member:write", "member:admin"},
	"team:read":        {"team:read"},
	"team:write":       {"team:read", "team:write"},
	"team:admin":       {"team:read", "team:write", "team:admin"},
	"project:read":     {"project:read"},
	"project:write":    {"project:read", "project:write"},
	"project:admin":    {"project:read", "project:write", "project:admin"},
	"project:releases": {"project:releases"},
	"event:read":       {"event:read"},
	"event:write":      {"event:read", "event:write"},
	"event:admin":      {"event:read", "event:write", "event:admin"},
	"alerts:read":      {"alerts:read"},
	"alerts:write":     {"alerts:read", "alerts:write"},
}

// ExpandScopes returns the sorted union of the given scopes and everything
// they imply, as Sentry stores a token's scopes when it is saved
// (src/sentry/receivers/tokens.py enforce_scope_hierarchy). Empty strings
// and whitespace-separated lists are accepted.
func ExpandScopes(scopes ...string) []string {
	set := map[string]bool{}
	for _, s := range scopes {
		for _, one := range strings.Fields(s) {
			if implied, ok := scopeHierarchy[one]; ok {
				for _, i := range implied {
					set[i] = true
				}
			} else {
				set[one] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// roleScopes is SENTRY_ROLES: the upper bound of what a member with that
// org role may do, whatever the token says.
var roleScopes = map[string][]string{
	"member": {
		"event:read", "event:write", "event:admin", "project:releases", "project:read",
		"org:read", "member:read", "member:invite", "team:read", "alerts:read", "alerts:write",
	},
	"admin": {
		"event:read", "event:write", "event:admin", "org:read", "member:read",
		"project:read", "project:write", "project:admin", "project:releases",
		"team:read", "team:write", "team:admin", "org:integrations", "alerts:read", "alerts:write",
	},
	"manager": {
		"event:read", "event:write", "event:admin", "member:read", "member:write", "member:admin", "member:invite",
		"project:read", "project:write", "project:admin", "project:releases",
		"team:read", "team:write", "team:admin", "org:read", "org:write", "org:integrations",
		"alerts:read", "alerts:write",
	},
	"owner": allScopes,
}

// Scope maps of the permission classes used (method -> any-of).
var (
	// OrganizationPermission (orgs index, org projects).
	// OrganizationTeamsPermission: creating a team also takes team:write.
	permTeams = map[string][]string{
		"GET":  {"org:read", "org:write", "org:admin"},
		"POST": {"org:write", "org:admin", "team:write"},
	}
	permOrg = map[string][]string{
		"GET":    {"org:read", "org:write", "org:admin"},
		"POST":   {"org:write", "org:admin"},
		"PUT":    {"org:write", "org:admin"},
		"DELETE": {"org:admin"},
	}
	// OrganizationEventPermission, ProjectEventPermission, GroupPermission.
	permEvent = map[string][]string{
		"GET":    {"event:read", "event:write", "event:admin"},
		"POST":   {"event:write", "event:admin"},
		"PUT":    {"event:write", "event:admin"},
		"DELETE": {"event:admin"},
	}
	// OrganizationReleasePermission.
	permRelease = map[string][]string{
		"GET":    {"project:read", "project:write", "project:admin", "project:releases", "org:ci"},
		"POST":   {"project:write", "project:admin", "project:releases", "org:ci"},
		"PUT":    {"project:write", "project:admin", "project:releases", "org:ci"},
		"DELETE": {"project:write", "project:admin", "project:releases", "org:ci"},
	}
)

// anyScope reports whether any of have is in allowed (ScopedPermission).
func anyScope(have, allowed []string) bool {
	for _, h := range have {
		if slices.Contains(allowed, h) {
			return true
		}
	}
	return false
}

// effectiveScopes intersects a token's scopes with the member's role.
func effectiveScopes(tokenScopes []string, role string) []string {
	if role == "" {
		role = "owner"
	}
	bound, ok := roleScopes[role]
	if !ok {
		bound = roleScopes["member"]
	}
	var out []string
	for _, s := range tokenScopes {
		if slices.Contains(bound, s) {
			out = append(out, s)
		}
	}
	return out
}
