package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

// TestServerPeakMemoryOnHugeEvents: the built server, over stdio, answers
// 16 concurrent get_issue calls whose latest event is 9 MB with 100,000
// frames; its own peak RSS (VmHWM) stays under 100 MB and every answer is
// small and says what was cut. (Before the bounds: 22.6 MB answers and 932
// MB peak.)
func TestServerPeakMemoryOnHugeEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("memory test skipped in -short mode")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	event := sentrytest.HugeEvent(100_000)
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	fake.AddToken(token, demoScopes...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/events/latest/") {
			w.Header().Set("Content-Type", "application/json")
			w.Write(event)
			return
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p := startPipe(t, []string{"SENTRY_URL=" + srv.URL, "SENTRY_ACCESS_TOKEN=" + token, "HOME=" + t.TempDir()})
	p.initialize("2025-11-25")
	const calls = 16
	for i := range calls {
		p.callTool(fmt.Sprint("c", i), "get_issue", map[string]any{"issue": "BACKEND-1", "organization": "acme"})
	}
	largest := 0
	for range calls {
		m := p.next(60 * time.Second)
		largest = max(largest, len(m.raw))
		r := m.tool(t)
		if r.IsError || !strings.Contains(m.raw, "more frames") {
			t.Fatalf("answer %s: %.300s", idOf(m), m.raw)
		}
	}
	hwm := vmHWM(t, p.cmd.Process.Pid)
	t.Logf("%d-byte event, %d concurrent get_issue: server VmHWM %.1f MB, largest answer %d bytes", len(event), calls, float64(hwm)/(1<<20), largest)
	if hwm > 100<<20 {
		t.Errorf("server peak RSS %.1f MB, budget 100 MB", float64(hwm)/(1<<20))
	}
	if largest > 64<<10 {
		t.Errorf("largest answer %d bytes, budget 64 KB", largest)
	}
}

// vmHWM is a process's peak resident set size, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}
