package auth

import (
	"slices"
	"strings"
	"testing"
)

func FuzzScopes(f *testing.F) {
	for _, s := range []string{"org:read", "org:read,event:write", " event:admin  project:releases ,", "org:reed", "", ",,,", "event:*", "org:admin\nmember:write", "ｏrg:read"} {
		f.Add(s, "event:read")
	}
	f.Fuzz(func(t *testing.T, token, bound string) {
		ts, err := ParseScopes(token)
		if err != nil {
			return
		}
		for _, s := range ts {
			if !slices.Contains(KnownScopes, s) {
				t.Fatalf("accepted unknown scope %q", s)
			}
		}
		exp := Expand(ts)
		if !slices.IsSorted(exp) {
			t.Fatalf("Expand not sorted: %v", exp)
		}
		for _, s := range ts {
			if !slices.Contains(exp, s) {
				t.Fatalf("Expand lost %q", s)
			}
		}
		if again := Expand(exp); !slices.Equal(again, exp) {
			t.Fatalf("Expand not idempotent: %v -> %v", exp, again)
		}
		bs, err := ParseScopes(bound)
		if err != nil {
			return
		}
		if bs == nil {
			bs = []string{}
		}
		g := NewGrant(ts, bs, false)
		// A grant never exceeds the token or the bound.
		for _, s := range g.Scopes() {
			if !slices.Contains(exp, s) || !slices.Contains(Expand(bs), s) {
				t.Fatalf("grant %v exceeds token %v or bound %v", g.Scopes(), ts, bs)
			}
		}
		for _, s := range KnownScopes {
			if g.Allows([]string{s}) && !slices.Contains(g.Scopes(), s) {
				t.Fatalf("allows %s outside %v", s, g.Scopes())
			}
		}
		_ = strings.Join(Minimal(ts), ",")
	})
}
