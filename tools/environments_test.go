package tools_test

import (
	"strings"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

// An unknown environment is named with the organization's environments,
// whether Sentry answered it with 404 or an empty list; a known one with
// no matches is just an empty result.
func TestUnknownEnvironmentListsTheKnownOnes(t *testing.T) {
	tests := []struct {
		name     string
		s        setup
		args     map[string]any
		isError  bool
		wantText string
		wantReqs []string
	}{
		{"unknown", setup{}, map[string]any{"organization": "acme", "environment": "prod"}, true,
			`No environment "prod" in organization "acme"; its environments: production, staging.`,
			[]string{"GET /api/0/organizations/acme/issues/", "GET /api/0/organizations/acme/environments/"}},
		{"known, nothing matches", setup{}, map[string]any{"organization": "acme", "environment": "staging", "query": "is:unresolved nosuchthing"}, false,
			"No issues match", []string{"GET /api/0/organizations/acme/issues/", "GET /api/0/organizations/acme/environments/"}},
		{"known with matches: no lookup", setup{}, map[string]any{"organization": "acme", "environment": "production"}, false,
			"", []string{"GET /api/0/organizations/acme/issues/"}},
		{"without org:read the 404 is reported as it is", setup{tokenScopes: []string{"event:read"}}, map[string]any{"organization": "acme", "environment": "prod"}, true,
			`Not found: organization "acme" or environment "prod"`, []string{"GET /api/0/organizations/acme/issues/"}},
		{"a hidden environment is known", setup{data: withHiddenEnvironment("canary")}, map[string]any{"organization": "acme", "environment": "canary"}, false,
			"No issues match", []string{"GET /api/0/organizations/acme/issues/", "GET /api/0/organizations/acme/environments/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.s)
			res := h.call("list_issues", tt.args)
			if res.IsError != tt.isError || !strings.Contains(text(res), tt.wantText) {
				t.Errorf("isError=%v %q, want %v containing %q", res.IsError, text(res), tt.isError, tt.wantText)
			}
			var got []string
			for _, r := range h.apiRequests() {
				got = append(got, strings.SplitN(r, "?", 2)[0])
			}
			if strings.Join(got, "\n") != strings.Join(tt.wantReqs, "\n") {
				t.Errorf("requests %q, want %q", got, tt.wantReqs)
			}
		})
	}
}

func withHiddenEnvironment(name string) *sentrytest.Data {
	d := sentrytest.DemoData()
	d.Orgs[0].HiddenEnvironments = []string{name}
	return d
}
