package tools_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

// handlerTransport serves requests with the fake's handler in process:
// no sockets, so what is measured is sentry-mcp and the fake.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	in := r.Clone(r.Context()) // as a server sees it
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RemoteAddr, in.RequestURI, in.Host = "127.0.0.1:40000", r.URL.RequestURI(), r.URL.Host
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	res := rec.Result()
	res.Request = r
	return res, nil
}

// benchCalls are the calls measured: each sends one request to Sentry.
var benchCalls = []struct {
	tool string
	args map[string]any
	path string // the request it sends, for BenchmarkFakeAlone
}{
	{"list_issues", map[string]any{"organization": "acme"}, "/api/0/organizations/acme/issues/?groupStatsPeriod=&limit=25&query=is%3Aunresolved"},
	{"get_event", map[string]any{"issue": "4504102"}, "/api/0/issues/4504102/events/latest/"},
}

// BenchmarkToolCall is the cost of one tool call through an in-process
// MCP session against the demo fake: over loopback HTTP, and with the fake's
// handler called in process. BenchmarkFakeAlone is the fake's share, so
// sentry-mcp's own overhead is the difference. Run with
//
//	go test -run '^$' -bench 'ToolCall|FakeAlone' ./tools
func BenchmarkToolCall(b *testing.B) {
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	b.Cleanup(fake.Close)
	fake.AddToken(secretToken, memberScopes...)
	for _, tr := range []struct {
		name string
		hc   *http.Client
	}{
		{"http", nil},
		{"inproc", &http.Client{Transport: handlerTransport{fake.Handler()}}},
	} {
		cl, err := sentry.NewClient(sentry.Config{BaseURL: fake.URL, HTTPClient: tr.hc})
		if err != nil {
			b.Fatal(err)
		}
		inv, err := tools.New(tools.Config{Client: cl})
		if err != nil {
			b.Fatal(err)
		}
		pr := &tools.Principal{Key: "bench", Token: sentry.StaticToken(secretToken), Grant: auth.NewGrant(sentrytest.ExpandScopes(memberScopes...), nil, false)}
		ctx := context.Background()
		c := connect(b, ctx, inv.MCPServer(tools.ServerOptions{Version: "bench", Bind: bindPrincipal(pr)}))
		for _, bc := range benchCalls {
			b.Run(bc.tool+"/"+tr.name, func(b *testing.B) {
				req := mcp.CallToolRequest{}
				req.Params.Name = bc.tool
				req.Params.Arguments = bc.args
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					res, err := c.CallTool(ctx, req)
					if err != nil || res.IsError {
						b.Fatalf("%v %v", err, res)
					}
					if i%1000 == 999 {
						fake.ResetRequests() // the fake logs every request
					}
				}
			})
		}
	}
}

// BenchmarkFakeAlone is the fake answering the requests of
// BenchmarkToolCall, its handler called in process.
func BenchmarkFakeAlone(b *testing.B) {
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	b.Cleanup(fake.Close)
	fake.AddToken(secretToken, memberScopes...)
	h := fake.Handler()
	for _, bc := range benchCalls {
		b.Run(bc.tool, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest("GET", fake.URL+bc.path, nil)
				req.Header.Set("Authorization", "Bearer "+secretToken)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
				if i%1000 == 999 {
					fake.ResetRequests()
				}
			}
		})
	}
}
