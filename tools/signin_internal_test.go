package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/auth"
)

// A transport with its own sign-in (hosted mode) words the hints itself,
// given the least scope of each tool the grant hides.
func TestSignInHintOfTheTransport(t *testing.T) {
	var asked [][]string
	inv, err := New(Config{SignIn: func(scopes []string) string {
		asked = append(asked, scopes)
		return "Reconnect with " + strings.Join(scopes, " ") + "."
	}})
	if err != nil {
		t.Fatal(err)
	}
	p := &Principal{Grant: auth.NewGrant([]string{"org:read", "event:read", "project:read"}, nil, false)}
	if got := inv.Policy().SignInHint(p); got != "To enable list_members, resolve_issue, update_issue, add_issue_comment: Reconnect with member:read event:write." {
		t.Errorf("hint: %s", got)
	}
	res := inv.Call(WithPrincipal(context.Background(), p), "resolve_issue", json.RawMessage(`{"issue":"1"}`))
	if !res.IsError || !strings.HasSuffix(res.Text, "which your grant does not include (granted: event:read, org:read, project:read). Reconnect with event:write.") || strings.Contains(res.Text, "auth login") {
		t.Errorf("refusal: %s", res.Text)
	}
}
