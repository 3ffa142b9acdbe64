package tools_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

// FuzzToolArguments sends arbitrary argument documents to every tool. No
// input may panic, produce a protocol-level error, or make a request that
// leaves the fake Sentry or its API.
func FuzzToolArguments(f *testing.F) {
	seeds := []string{
		`{}`, `null`, `[]`, `"x"`, `{"organization":"acme"}`,
		`{"organization":"acme","limit":"ten"}`, `{"organization":"acme","limit":1e400}`,
		`{"organization":"../../api-tokens"}`, `{"organization":"acme","project":"%2e%2e"}`,
		`{"organization":"acme","query":"is:unresolved&project=-1#x"}`, `{"organization":"acme","cursor":"0:0:0&limit=100"}`,
		`{"issue":"https://evil.example/organizations/acme/issues/1/"}`, `{"issue":"BACKEND-1","organization":"acme"}`,
		`{"issue":"1","resolution":"in_release","release":"../x"}`, `{"organization":{"a":1}}`, `{"organization":"acme","sort":null}`,
	}
	for i, s := range seeds {
		f.Add(i%7, s)
	}
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	defer fake.Close()
	fake.AddToken(secretToken, memberScopes...)
	host := strings.TrimPrefix(fake.URL, "http://")
	h := newHarnessWith(f, fake, setup{})
	names := allTools
	f.Fuzz(func(t *testing.T, which int, args string) {
		if which < 0 {
			which = -which
		}
		name := names[which%len(names)]
		fake.ResetRequests()
		res := h.inv.Call(tools.WithPrincipal(context.Background(), h.pr), name, json.RawMessage(args))
		if res == nil {
			t.Fatalf("%s(%s): no result", name, args)
		}
		for _, r := range fake.Requests() {
			if r.Host != host || !strings.HasPrefix(r.Path, "/api/0/") {
				t.Fatalf("%s(%s): request to %s%s", name, args, r.Host, r.Path)
			}
			if _, err := url.ParseQuery(r.RawQuery); err != nil {
				t.Fatalf("%s(%s): malformed query %q", name, args, r.RawQuery)
			}
		}
	})
}
