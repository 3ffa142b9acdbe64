package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

// hostile is what anyone with a project's public DSN can put in an event:
// a terminal escape (clear screen), a bidi override, zero-width and tag
// characters, DEL, a C1 CSI, NUL and a lone carriage return.
const hostile = "x\x1b[2J\x1b]0;owned\a\u202eevil\u200b\U000E0041\x7f\u009b31m\x00\rend"

// rawBytes must never reach the terminal as themselves.
var rawBytes = []string{"\x1b", "\a", "\u202e", "\u200b", "\U000E0041", "\x7f", "\u009b", "\x00", "\r"}

func TestCallPrintsSentryDataInert(t *testing.T) {
	data := sentrytest.DemoData()
	data.User["name"], data.User["email"] = "Dana"+hostile, "dana"+hostile
	org := data.Orgs[0]
	org.Projects[0].Name = "Backend" + hostile
	data.AddIssues(org.Slug, org.Projects[0].Slug, 1)
	is := org.Issues[len(org.Issues)-1]
	is.Title, is.Culprit = hostile, hostile
	fake := sentrytest.NewServer(data, sentrytest.Options{})
	t.Cleanup(fake.Close)
	fake.AddToken(secretToken, "org:read", "event:read")
	env := []string{"SENTRY_URL=" + fake.URL, "SENTRY_ACCESS_TOKEN=" + secretToken}

	for _, args := range [][]string{
		{"call", "list_issues", `{"organization":"acme","limit":100}`},
		{"call", "list_issues", `{"organization":"acme","limit":100}`, "--json"},
		{"call", "get_issue", `{"organization":"acme","issue":"` + is.ID + `"}`},
		{"call", "get_issue", `{"organization":"acme","issue":"` + is.ID + `"}`, "--json"},
		{"call", "list_projects", `{"organization":"acme"}`},
		{"call", "whoami"},
		{"call", "whoami", "--json"},
		{"auth", "status"},
	} {
		r := runCmd(t, env, "", args...)
		name := strings.Join(args, " ")
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", name, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "end") {
			t.Errorf("%s: the hostile value is not shown:\n%s", name, r.stdout)
		}
		for _, b := range rawBytes {
			if strings.Contains(r.stdout+r.stderr, b) {
				t.Errorf("%s: printed %q as itself:\n%q", name, b, r.stdout)
			}
		}
		if args[len(args)-1] == "--json" {
			// Still valid JSON, with the data as Sentry sent it.
			var v any
			if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
				t.Errorf("%s: not valid JSON: %v", name, err)
			}
			if !strings.Contains(r.stdout, `\u001b[2J`) || !strings.Contains(r.stdout, `\u202eevil`) || !strings.Contains(r.stdout, `\udb40\udc41`) {
				t.Errorf("%s: the hostile characters should be JSON escapes:\n%s", name, r.stdout)
			}
			if b, _ := json.Marshal(v); !strings.Contains(string(b), "end") {
				t.Errorf("%s: value lost", name)
			}
		}
	}
}

func TestTerminalJSONKeepsTheValue(t *testing.T) {
	in := map[string]string{"a": hostile, "b": "plain ❤️ \\ \"q\""}
	b, _ := json.MarshalIndent(in, "", "  ")
	out := terminalJSON(b)
	for _, r := range rawBytes {
		if strings.Contains(out, r) {
			t.Errorf("terminalJSON left %q", r)
		}
	}
	var back map[string]string
	if err := json.Unmarshal([]byte(out), &back); err != nil {
		t.Fatal(err)
	}
	if back["a"] != in["a"] || back["b"] != in["b"] {
		t.Errorf("terminalJSON changed the value: %q", back)
	}
}
