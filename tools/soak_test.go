package tools_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

// faulty wraps a handler and spoils about pct percent of responses in the
// ways Sentry and networks do.
type faulty struct {
	next     http.Handler
	pct      float64
	injected atomic.Int64
}

func (f *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rand.Float64()*100 >= f.pct {
		f.next.ServeHTTP(w, r)
		return
	}
	f.injected.Add(1)
	switch rand.IntN(6) {
	case 0:
		w.WriteHeader(500)
		fmt.Fprint(w, `{"detail": "Internal Error", "errorId": "f00"}`)
	case 1:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		fmt.Fprint(w, "<html>Bad Gateway</html>")
	case 2: // connection reset
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			c.Close()
		}
	case 3: // cut in half
		w.Header().Set("Content-Length", "4096")
		w.WriteHeader(200)
		fmt.Fprint(w, `[{"id": "1", "sl`)
		w.(http.Flusher).Flush()
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			c.Close()
		}
	case 4:
		w.Header().Set("X-Sentry-Rate-Limit-Reset", fmt.Sprint(time.Now().Unix()))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(429)
		fmt.Fprint(w, `{"detail": "You are attempting to use this endpoint too frequently. Limit is 5 requests in 1 seconds"}`)
	case 5: // slow
		time.Sleep(30 * time.Millisecond)
		f.next.ServeHTTP(w, r)
	}
}

func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped in -short mode")
	}
	const calls, inFlight = 10000, 16
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	defer fake.Close()
	fake.AddToken(secretToken, memberScopes...)
	flt := &faulty{next: fake.Handler(), pct: 3}
	srv := httptest.NewServer(flt)
	defer srv.Close()

	transport := http.DefaultTransport.(*http.Transport).Clone()
	cl, err := sentry.NewClient(sentry.Config{BaseURL: srv.URL,
		HTTPClient: &http.Client{Transport: transport}, Timeout: 5 * time.Second, RetryBackoff: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := tools.New(tools.Config{Client: cl})
	if err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	baseGoroutines, baseFDs := runtime.NumGoroutine(), openFDs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	pr := &tools.Principal{Key: "soak", Token: sentry.StaticToken(secretToken), Grant: auth.NewGrant(auth.Expand(memberScopes), nil, false)}
	ctx := context.Background()
	c := connect(t, ctx, inv.MCPServer(tools.ServerOptions{Version: "soak", Bind: bindPrincipal(pr)}))
	mix := []struct {
		name string
		args map[string]any
	}{
		{"list_issues", map[string]any{"organization": "acme", "limit": 5}},
		{"list_issues", map[string]any{"organization": "acme", "project": "backend", "sort": "freq"}},
		{"get_issue", map[string]any{"issue": "BACKEND-1", "organization": "acme"}},
		{"get_issue", map[string]any{"issue": "FRONTEND-1", "organization": "acme"}},
		{"list_projects", map[string]any{"organization": "acme"}},
		{"list_teams", map[string]any{"organization": "acme", "query": "a"}},
		{"list_organizations", nil},
		{"list_releases", map[string]any{"organization": "acme"}},
		{"resolve_issue", map[string]any{"issue": "PAYMENTS-3", "organization": "acme"}},
		{"whoami", nil},
		{"get_event", map[string]any{"issue": "BACKEND-2", "organization": "acme"}},
		{"list_issue_events", map[string]any{"issue": "FRONTEND-1", "organization": "acme", "limit": 5}},
		{"get_issue_tags", map[string]any{"issue": "BACKEND-2", "organization": "acme"}},
		{"list_issue_activity", map[string]any{"issue": "BACKEND-1", "organization": "acme"}},
		{"list_members", map[string]any{"organization": "acme"}},
		{"get_release", map[string]any{"organization": "acme", "version": "backend@2.14.0"}},
		{"search_events", map[string]any{"organization": "acme", "fields": []string{"title", "count()"}}},
		{"update_issue", map[string]any{"issue": "FRONTEND-3", "organization": "acme", "priority": "medium"}},
		{"get_issue", map[string]any{"issue": "../../x"}}, // refused locally
	}
	var (
		answered, toolErrors, protoErrors atomic.Int64
		ids                               sync.Map
		wg                                sync.WaitGroup
		next                              atomic.Int64
	)
	start := time.Now()
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= calls {
					return
				}
				m := mix[i%int64(len(mix))]
				req := mcp.CallToolRequest{}
				req.Params.Name = m.name
				req.Params.Arguments = m.args
				res, err := c.CallTool(ctx, req)
				if _, dup := ids.LoadOrStore(i, true); dup {
					t.Errorf("call %d answered twice", i)
				}
				answered.Add(1)
				switch {
				case err != nil:
					protoErrors.Add(1)
				case res.IsError:
					toolErrors.Add(1)
					if txt := text(res); strings.Contains(txt, "<html") || strings.Contains(txt, secretToken) {
						t.Errorf("bad error text: %q", txt)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	c.Close()
	transport.CloseIdleConnections()
	fake.ResetRequests() // the fake's own request log is not ours to count

	// Let finished goroutines exit, then compare with the baseline.
	var goroutines, fds int
	var after runtime.MemStats
	for range 50 {
		runtime.GC()
		goroutines, fds = runtime.NumGoroutine(), openFDs()
		if goroutines <= baseGoroutines+2 && fds <= baseFDs+2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	runtime.ReadMemStats(&after)
	localRefusals := int64(calls / len(mix))
	t.Logf("soak: %d calls (%d in flight) in %s (%.0f calls/s); %d faults injected; %d tool errors (%d of them hostile input refused locally); %d protocol errors; goroutines %d -> %d; live heap %.1f MB -> %.1f MB; open fds %d -> %d",
		calls, inFlight, elapsed.Round(time.Millisecond), float64(calls)/elapsed.Seconds(), flt.injected.Load(), toolErrors.Load(), localRefusals, protoErrors.Load(),
		baseGoroutines, goroutines, float64(before.HeapAlloc)/1e6, float64(after.HeapAlloc)/1e6, baseFDs, fds)
	if answered.Load() != calls {
		t.Errorf("%d of %d calls answered", answered.Load(), calls)
	}
	if protoErrors.Load() != 0 {
		t.Errorf("%d protocol-level errors: those are for bugs only", protoErrors.Load())
	}
	if goroutines > baseGoroutines+2 {
		t.Errorf("goroutines grew from %d to %d", baseGoroutines, goroutines)
	}
	if fds > baseFDs+2 {
		t.Errorf("open file descriptors grew from %d to %d", baseFDs, fds)
	}
	if after.HeapAlloc > before.HeapAlloc+16<<20 {
		t.Errorf("heap grew from %d to %d bytes", before.HeapAlloc, after.HeapAlloc)
	}
	// Retries absorb most faults: far fewer calls fail than faults happen.
	if failed := toolErrors.Load() - localRefusals; failed > flt.injected.Load()/4 {
		t.Errorf("%d calls failed for %d injected faults: retries are not working", failed, flt.injected.Load())
	}
}
