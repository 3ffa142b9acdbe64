package auth

import (
	"reflect"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		// BEHAVIOUR.md s3's own example.
		{[]string{"org:write", "event:admin"}, []string{"event:admin", "event:read", "event:write", "org:read", "org:write"}},
		{[]string{"org:admin"}, []string{"org:admin", "org:integrations", "org:read", "org:write"}},
		{[]string{"project:admin"}, []string{"project:admin", "project:read", "project:write"}}, // not project:releases
		{[]string{"member:write"}, []string{"member:invite", "member:read", "member:write"}},
		{[]string{"project:releases", "org:ci"}, []string{"org:ci", "project:releases"}},
		{nil, []string{}},
	}
	for _, tt := range tests {
		if got := Expand(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Expand(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestGrant(t *testing.T) {
	orgRead := []string{"org:read", "org:write", "org:admin"}
	eventWrite := []string{"event:write", "event:admin"}
	releases := []string{"project:read", "project:write", "project:admin", "project:releases", "org:ci"}
	tests := []struct {
		name     string
		token    []string
		bound    []string
		anyOf    []string
		want     bool
		wantKnow bool
	}{
		{"unknown allows", nil, nil, eventWrite, true, false},
		{"no scope needed", []string{}, nil, nil, true, true},
		{"exact", []string{"org:read"}, nil, orgRead, true, true},
		{"hierarchy admin covers read", []string{"org:admin"}, nil, orgRead, true, true},
		{"read does not cover write", []string{"event:read"}, nil, eventWrite, false, true},
		{"bound narrows", []string{"event:admin"}, []string{"event:read"}, eventWrite, false, true},
		{"bound expands its own hierarchy", []string{"event:admin"}, []string{"event:admin"}, eventWrite, true, true},
		{"bound cannot widen", []string{"event:read"}, []string{"event:admin"}, eventWrite, false, true},
		{"bound alone when token unknown", nil, []string{"org:read"}, eventWrite, false, true},
		{"project:admin is not releases but covers project:read", []string{"project:admin"}, nil, releases, true, true},
		{"org:ci alone", []string{"org:ci"}, nil, releases, true, true},
		{"empty bound allows nothing scoped", []string{"org:admin"}, []string{}, orgRead, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGrant(tt.token, tt.bound, false)
			if got := g.Allows(tt.anyOf); got != tt.want {
				t.Errorf("Allows(%v) = %v, want %v (grant %v)", tt.anyOf, got, tt.want, g.Scopes())
			}
			if g.Known() != tt.wantKnow {
				t.Errorf("Known() = %v, want %v", g.Known(), tt.wantKnow)
			}
		})
	}
}

func TestParseScopes(t *testing.T) {
	got, err := ParseScopes(" org:read, event:write  project:releases,")
	if err != nil || !reflect.DeepEqual(got, []string{"org:read", "event:write", "project:releases"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"org:reed", "event:*", "admin"} {
		if _, err := ParseScopes(bad); err == nil {
			t.Errorf("ParseScopes(%q) accepted an unknown scope", bad)
		}
	}
}

func TestMinimal(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"org:read", "org:write", "org:admin"}, []string{"org:read"}},
		{[]string{"event:write", "event:admin"}, []string{"event:write"}},
		{[]string{"project:read", "project:write", "project:admin", "project:releases", "org:ci"}, []string{"project:read", "project:releases", "org:ci"}},
	}
	for _, tt := range tests {
		if got := Minimal(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Minimal(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseLoginScopes(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  string
	}{
		{"triage", "org:read project:read team:read event:read event:write member:read", ""},
		{"read", "org:read project:read team:read event:read", ""},
		{"triage,project:releases", "org:read project:read team:read event:read event:write member:read project:releases", ""},
		{"event:read read", "event:read org:read project:read team:read", ""},
		{"org:read", "org:read", ""},
		{"triag", "", `unknown scope "triag" (Sentry scopes look like org:read, project:releases, event:write), and not a preset (read, triage)`},
	}
	for _, tt := range tests {
		got, err := ParseLoginScopes(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("%q = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestEveryScopeHasAMeaning(t *testing.T) {
	for _, s := range KnownScopes {
		if ScopeMeaning(s) == "" {
			t.Errorf("scope %s has no meaning for the consent page", s)
		}
	}
}
