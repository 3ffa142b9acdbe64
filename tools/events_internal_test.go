package tools

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/sentry"
)

// An older Sentry's trace (an object of transactions with orphan errors),
// and no trace-meta: the counts come from the tree, and say so.
func TestRenderTraceOfAnOlderSentryWithoutMeta(t *testing.T) {
	var tr sentry.Trace
	body := `{"transactions": [{"event_id": "t1", "transaction": "GET /", "transaction.op": "http.server", "transaction.duration": 120, "project_slug": "api",
		"errors": [{"title": "Boom", "event_id": "e1", "issue_id": 3}],
		"children": [{"event_id": "t2", "transaction": "task", "transaction.op": "celery.task", "start_timestamp": 10, "end_timestamp": 10.25, "project_slug": "worker",
			"performance_issues": [{"title": "Slow DB Query", "issue_id": 9}]}]}],
		"orphan_errors": [{"title": "Lost", "event_id": "e9"}]}`
	if err := json.Unmarshal([]byte(body), &tr); err != nil {
		t.Fatal(err)
	}
	out, text := renderTrace("abc", &tr, nil)
	want := "Trace abc: 2 errors, 2 spans, 1 performance issue, 0 logs (counted from the spans: the trace's counts were not available).\n" +
		"http.server GET / (api) 120 ms\n" +
		"  ! error: Boom (event e1, issue 3)\n" +
		"  celery.task task (worker) 250 ms\n" +
		"    ! performance issue: Slow DB Query (issue 9)\n" +
		"Errors outside the spans shown:\n" +
		"  ! error: Lost (event e9)"
	if text != want {
		t.Errorf("text:\n%s\nwant:\n%s", text, want)
	}
	if len(out.Tree) != 2 || out.Tree[1].DurationMS != 250 || out.Tree[1].Problems[0].IssueID != "9" || out.Tree[1].Problems[0].Kind != "performance issue" || len(out.Problems) != 1 {
		t.Errorf("%+v", out)
	}
	out, text = renderTrace("abc", &sentry.Trace{}, &sentry.TraceMeta{Errors: 2})
	if !strings.Contains(text, "Sentry returned no spans for this trace.") || out.Errors != 2 {
		t.Errorf("empty trace: %s", text)
	}
}
