package sentrytest

import (
	"reflect"
	"testing"
)

func TestOrganizationRequiringUserAction(t *testing.T) {
	tests := []struct {
		code, message string
		extra         map[string]any
	}{
		{CodeSSORequired, "Must login via SSO", map[string]any{"loginUrl": "/auth/login/acme/"}},
		{Code2FARequired, "Organization requires two-factor authentication to be enabled", map[string]any{}},
		{CodeSudoRequired, "Account verification required.", nil}, // extra: the user's username
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			s := newTestServer(t, nil, Options{}, "org:read", "event:write", "project:read")
			issues := get(t, s, "/api/0/organizations/acme/issues/?query=").list(t)
			id := issues[0].(map[string]any)["id"].(string)
			if !s.RequireUserAction("acme", tt.code) {
				t.Fatal("no org acme")
			}
			if s.RequireUserAction("nope", tt.code) {
				t.Error("an unknown org was accepted")
			}
			for _, path := range []string{
				"/api/0/organizations/acme/projects/",
				"/api/0/organizations/acme/issues/",
				"/api/0/organizations/acme/issues/" + id + "/",
				"/api/0/issues/" + id + "/events/latest/",
				"/api/0/organizations/acme/releases/",
			} {
				r := get(t, s, path)
				if r.status != 401 || r.header.Get("WWW-Authenticate") != "" {
					t.Fatalf("%s: %d %v %s", path, r.status, r.header, r.body)
				}
				d, _ := r.object(t)["detail"].(map[string]any)
				if d["code"] != tt.code || d["message"] != tt.message {
					t.Errorf("%s: detail %v", path, d)
				}
				if tt.extra != nil && !reflect.DeepEqual(d["extra"], tt.extra) {
					t.Errorf("%s: extra %v, want %v", path, d["extra"], tt.extra)
				}
				if tt.code == CodeSudoRequired {
					if ex, _ := d["extra"].(map[string]any); ex["username"] == nil || ex["username"] == "" {
						t.Errorf("sudo extra %v", d["extra"])
					}
				}
			}
			// Other organizations, and the organization list, are not affected.
			if r := get(t, s, "/api/0/organizations/acme-labs/projects/"); r.status != 200 {
				t.Errorf("other org: %d", r.status)
			}
			if r := get(t, s, "/api/0/organizations/"); r.status != 200 {
				t.Errorf("org list: %d", r.status)
			}
			// An unknown object is still a 404, as the lookup comes first.
			if r := get(t, s, "/api/0/organizations/acme/issues/999999/"); r.status != 404 {
				t.Errorf("unknown issue: %d", r.status)
			}
			s.RequireUserAction("acme", "")
			if r := get(t, s, "/api/0/organizations/acme/issues/"+id+"/"); r.status != 200 {
				t.Errorf("lifted: %d %s", r.status, r.body)
			}
		})
	}
}
