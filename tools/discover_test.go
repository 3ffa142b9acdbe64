package tools_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

// labData is the demo plus acme project "lab" (id 99) with transactions
// whose aggregates are easy to compute by hand.
func labData() *sentrytest.Data {
	d := sentrytest.DemoData()
	acme := d.Orgs[0]
	acme.Projects = append(acme.Projects, &sentrytest.Project{ID: "99", Slug: "lab", Name: "Lab", Platform: "python", Environments: []string{"production"}})
	for i, tx := range []struct {
		name   string
		ms     float64
		status string
		user   string
	}{
		{"GET /a", 100, "ok", "u1"}, {"GET /a", 200, "ok", "u2"}, {"GET /a", 300, "internal_error", "u1"},
		{"GET /a", 400, "ok", ""}, {"GET /a", 1000, "deadline_exceeded", "u3"},
		{"GET /b", 50, "ok", "u1"}, {"GET /b", 70, "ok", "u1"},
	} {
		acme.Transactions = append(acme.Transactions, &sentrytest.Transaction{
			EventID: fmt.Sprintf("%032x", i+1), Project: "lab", Name: tx.name, Op: "http.server", DurationMS: tx.ms,
			Status: tx.status, UserID: tx.user, Environment: "production", Timestamp: d.BaseTime.Add(-time.Duration(i+1) * time.Minute),
		})
	}
	return d
}

func TestSearchEventsSendsSentrysParameters(t *testing.T) {
	tests := []struct {
		name string
		args map[string]any
		want []string
	}{
		{"dataset is always sent", map[string]any{"organization": "acme", "fields": []any{"title"}},
			[]string{"GET /api/0/organizations/acme/events/?dataset=errors&field=title&per_page=25"}},
		{"every parameter", map[string]any{"organization": "acme", "fields": []any{"transaction", "count()", "p95(transaction.duration)"}, "dataset": "transactions",
			"query": "transaction.duration:>1s", "sort": "-count()", "period": "24h", "environment": "production", "project": "11", "limit": 10, "cursor": "0:10:0"},
			[]string{"GET /api/0/organizations/acme/events/?cursor=0%3A10%3A0&dataset=transactions&environment=production&field=transaction&field=count%28%29&field=p95%28transaction.duration%29&per_page=10&project=11&query=transaction.duration%3A%3E1s&sort=-count%28%29&statsPeriod=24h",
				"GET /api/0/organizations/acme/environments/?visibility=all"}}, // nothing matched: is the environment known?
		{"start and end, not statsPeriod", map[string]any{"organization": "acme", "fields": []any{"id"}, "start": "2026-05-01T02:00:00+02:00", "end": "2026-05-02"},
			[]string{"GET /api/0/organizations/acme/events/?dataset=errors&end=2026-05-02T00%3A00%3A00&field=id&per_page=25&start=2026-05-01T00%3A00%3A00"}},
		{"a project slug is looked up", map[string]any{"organization": "acme", "fields": []any{"title"}, "project": "backend"},
			[]string{"GET /api/0/organizations/acme/projects/?query=slug%3Abackend", "GET /api/0/organizations/acme/events/?dataset=errors&field=title&per_page=25&project=11"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{})
			if res := h.call("search_events", tt.args); res.IsError {
				t.Fatalf("tool error: %s", text(res))
			}
			if got := h.apiRequests(); !slices.Equal(got, tt.want) {
				t.Errorf("requests\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestSearchEventsTable(t *testing.T) {
	h := newHarness(t, setup{data: labData()})
	args := map[string]any{"organization": "acme", "dataset": "transactions", "project": "99", "sort": "-count()",
		"fields": []any{"transaction", "count()", "p95(transaction.duration)", "failure_rate()", "count_unique(user)"}}
	res := h.call("search_events", args)
	var out schemas.EventsOutput
	structured(t, res, &out)
	want := "transaction | count() | p95(transaction.duration) (ms) | failure_rate() | count_unique(user)\n" +
		"GET /a | 5 | 880 | 40% | 3\n" +
		"GET /b | 2 | 69 | 0% | 1"
	if text(res) != want {
		t.Errorf("text:\n%s\nwant:\n%s", text(res), want)
	}
	if len(out.Rows) != 2 || out.Rows[0]["count()"] != 5.0 || out.Rows[0]["p95(transaction.duration)"] != 880.0 || out.Rows[0]["failure_rate()"] != 0.4 || out.Rows[1]["transaction"] != "GET /b" {
		t.Errorf("rows %v", out.Rows)
	}
	if out.Meta.Fields["p95(transaction.duration)"] != "duration" || out.Meta.Fields["count()"] != "integer" || out.Meta.Units["p95(transaction.duration)"] != "millisecond" || len(out.Meta.Units) != 1 {
		t.Errorf("meta %+v", out.Meta)
	}
	if !slices.Equal(out.Fields, []string{"transaction", "count()", "p95(transaction.duration)", "failure_rate()", "count_unique(user)"}) {
		t.Errorf("fields %v", out.Fields)
	}

	// Pages.
	args["limit"] = 1
	structured(t, h.call("search_events", args), &out)
	if len(out.Rows) != 1 || out.NextCursor != "0:1:0" {
		t.Fatalf("page 1: %+v", out)
	}
	args["cursor"] = out.NextCursor
	res = h.call("search_events", args)
	out = schemas.EventsOutput{}
	structured(t, res, &out)
	if len(out.Rows) != 1 || out.Rows[0]["transaction"] != "GET /b" || out.NextCursor != "" || strings.Contains(text(res), "More results") {
		t.Errorf("page 2: %+v\n%s", out, text(res))
	}

	// Events, not groups, with lists and dates as Sentry gives them.
	res = h.call("search_events", map[string]any{"organization": "acme", "project": "backend", "fields": []any{"issue", "error.type", "timestamp"}, "query": "error.type:ZeroDivisionError", "limit": 1})
	structured(t, res, &out)
	if len(out.Rows) != 1 || !strings.Contains(text(res), " | [ZeroDivisionError] | 20") || out.Meta.Fields["error.type"] != "array" {
		t.Errorf("errors rows %v\n%s", out.Rows, text(res))
	}
	if l, ok := out.Rows[0]["error.type"].([]any); !ok || len(l) != 1 || l[0] != "ZeroDivisionError" {
		t.Errorf("a list stays a list: %#v", out.Rows[0]["error.type"])
	}
}

func TestSearchEventsErrors(t *testing.T) {
	var fields21 []any
	for i := 0; i < 21; i++ {
		fields21 = append(fields21, fmt.Sprintf("tags[t%d]", i))
	}
	noProjects := sentrytest.DemoData()
	for _, p := range noProjects.Orgs[0].Projects {
		p.NotMember = true
	}
	tests := []struct {
		name     string
		s        setup
		fail     string // a body the fake answers the first request with (400)
		args     map[string]any
		want     string
		requests int
		isError  bool
	}{
		{"21 fields", setup{}, "", map[string]any{"organization": "acme", "fields": fields21}, `"fields": maxItems`, 0, true},
		{"no fields", setup{}, "", map[string]any{"organization": "acme", "fields": []any{}}, `"fields": minItems`, 0, true},
		{"sort not among fields", setup{}, "", map[string]any{"organization": "acme", "fields": []any{"title"}, "sort": "-count()"},
			`sort "-count()" is not one of fields; Sentry sorts only by a selected field`, 0, true},
		{"period with start", setup{}, "", map[string]any{"organization": "acme", "fields": []any{"title"}, "period": "24h", "start": "2026-05-01", "end": "2026-05-02"},
			"give either period or start and end, not both", 0, true},
		{"start without end", setup{}, "", map[string]any{"organization": "acme", "fields": []any{"title"}, "start": "2026-05-01"}, "start and end go together", 0, true},
		{"not a time", setup{}, "", map[string]any{"organization": "acme", "fields": []any{"title"}, "start": "yesterday", "end": "today"}, "must be ISO 8601 times", 0, true},
		{"bad function", setup{}, "", map[string]any{"organization": "acme", "fields": []any{"title", "bogus(x)"}},
			"Sentry rejected the query: bogus is not a valid function. Check fields, functions, sort and the query syntax.", 1, true},
		{"bad field", setup{}, "", map[string]any{"organization": "acme", "fields": []any{"ti tle"}}, "Sentry rejected the query: Invalid field: ti tle.", 1, true},
		{"Sentry's field limit", setup{}, `{"detail": "You can view up to 20 fields at a time. Please delete some and try again."}`, map[string]any{"organization": "acme", "fields": []any{"title"}},
			"Sentry rejected the query: You can view up to 20 fields at a time. Please delete some and try again.", 1, true},
		{"dataset refused", setup{}, `{"detail": "dataset must be one of: discover, errors, spans"}`, map[string]any{"organization": "acme", "fields": []any{"title"}, "dataset": "transactions"},
			"Sentry rejected the query: dataset must be one of: discover, errors, spans.", 1, true},
		{"Discover off: an empty 404", setup{}, "", map[string]any{"organization": "acme-labs", "fields": []any{"title"}},
			`Discover is not available for organization "acme-labs": Sentry answered 404 without a body`, 1, true},
		{"unknown organization", setup{}, "", map[string]any{"organization": "nope", "fields": []any{"title"}}, `Not found: organization "nope"`, 1, true},
		{"unknown environment", setup{}, "", map[string]any{"organization": "acme", "fields": []any{"title"}, "environment": "prod"},
			`No environment "prod" in organization "acme"; its environments: production, staging.`, 2, true},
		{"known environment, no match", setup{}, "", map[string]any{"organization": "acme", "fields": []any{"title"}, "environment": "staging", "query": "nosuchthing"},
			"No events match.", 2, false},
		{"no accessible project", setup{data: noProjects}, "", map[string]any{"organization": "acme", "fields": []any{"title"}},
			"No rows. Sentry says: Need at least one valid project to query.", 1, false},
		{"without org:read, Sentry's 403 names the scope", setup{tokenScopes: []string{"event:read"}, unknownGrant: true}, "", map[string]any{"organization": "acme", "fields": []any{"title"}},
			"search_events needs the scope org:read", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.s)
			if tt.fail != "" {
				h.fake.FailNext(1, 400, tt.fail)
			}
			res := h.call("search_events", tt.args)
			if res.IsError != tt.isError || !strings.Contains(text(res), tt.want) {
				t.Errorf("isError=%v %q\nwant %v containing %q", res.IsError, text(res), tt.isError, tt.want)
			}
			if got := h.apiRequests(); len(got) != tt.requests {
				t.Errorf("requests %v, want %d", got, tt.requests)
			}
		})
	}
}

// Discover and traces need org:*: with only event:read (enough for every
// issue tool) both are hidden and refused, naming the scope, with nothing
// sent.
func TestEventsToolsNeedAnOrgScope(t *testing.T) {
	h := newHarness(t, setup{tokenScopes: []string{"event:read", "project:read"}})
	names := h.listNames()
	for _, tool := range []string{"search_events", "get_trace"} {
		if slices.Contains(names, tool) {
			t.Errorf("%s is listed without org:read", tool)
		}
	}
	for tool, args := range map[string]map[string]any{
		"search_events": {"organization": "acme", "fields": []any{"title"}},
		"get_trace":     {"organization": "acme", "trace_id": strings.Repeat("a", 32)},
	} {
		res := h.call(tool, args)
		if !res.IsError || !strings.Contains(text(res), "org:read") {
			t.Errorf("%s without org:read: %q", tool, text(res))
		}
	}
	if reqs := h.apiRequests(); len(reqs) != 0 {
		t.Errorf("refused calls reached Sentry: %v", reqs)
	}
	h = newHarness(t, setup{tokenScopes: []string{"org:read"}})
	if names := h.listNames(); !slices.Contains(names, "search_events") || !slices.Contains(names, "get_trace") {
		t.Errorf("org:read alone should list both: %v", names)
	}
}

// From the top issue to its trace, as an agent would: the issue's events
// name their trace, get_trace shows it.
func TestGetTrace(t *testing.T) {
	h := newHarness(t, setup{})
	var issues schemas.IssuesOutput
	structured(t, h.call("list_issues", map[string]any{"organization": "acme", "sort": "freq", "limit": 1}), &issues)
	var ev schemas.EventsOutput
	structured(t, h.call("search_events", map[string]any{"organization": "acme", "fields": []any{"trace"}, "query": "issue:" + issues.Issues[0].ShortID, "limit": 1}), &ev)
	id, _ := ev.Rows[0]["trace"].(string)
	h.fake.ResetRequests()

	res := h.call("get_trace", map[string]any{"organization": "acme", "trace_id": strings.ToUpper(id)})
	var out schemas.TraceOutput
	structured(t, res, &out)
	got := h.apiRequests()
	slices.Sort(got)
	if want := []string{"GET /api/0/organizations/acme/trace-meta/" + id + "/", "GET /api/0/organizations/acme/trace/" + id + "/"}; !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
	txt := text(res)
	for _, w := range []string{
		"Trace " + id + ": 1 error, 17 spans, 1 performance issue, 5 logs.\npageload /orders (frontend) 2140 ms\n",
		"\n    http.server /api/v1/orders/ (backend) 1590 ms\n      ! error: " + issues.Issues[0].Title + " (event ",
		"\n      db.connect connect db-replica-2.internal:5432 (backend) 1001.5 ms\n",
		"        ! performance issue: N+1 Query (event ",
	} {
		if !strings.Contains(txt, w) {
			t.Errorf("text lacks %q:\n%s", w, txt)
		}
	}
	if out.Errors != 1 || out.Spans != 17 || out.Logs != 5 || len(out.Tree) != 17 || out.Tree[3].Depth != 1 || out.Tree[4].Depth != 2 || len(out.Tree[4].Problems) != 1 || out.Tree[4].Problems[0].IssueID != issues.Issues[0].ID || out.Omitted != 0 {
		t.Errorf("structured %+v", out)
	}

	h.fake.ResetRequests()
	res = h.call("get_trace", map[string]any{"organization": "acme", "trace_id": strings.Repeat("ab", 16)})
	if !res.IsError || !strings.Contains(text(res), "Not found: trace "+strings.Repeat("ab", 16)+` in organization "acme"`) {
		t.Errorf("unknown trace: %q", text(res))
	}
	h.fake.ResetRequests()
	for _, bad := range []string{"xyz", strings.Repeat("a", 31), strings.Repeat("g", 32), "../" + strings.Repeat("a", 29)} {
		if res := h.call("get_trace", map[string]any{"organization": "acme", "trace_id": bad}); !res.IsError || !strings.Contains(text(res), "trace_id") {
			t.Errorf("trace_id %q: %q", bad, text(res))
		}
	}
	if reqs := h.apiRequests(); len(reqs) != 0 {
		t.Errorf("bad trace ids reached Sentry: %v", reqs)
	}
}

func span(op, desc, project string, ms float64, children ...map[string]any) map[string]any {
	kids := []any{}
	for _, c := range children {
		kids = append(kids, c)
	}
	return map[string]any{"event_type": "span", "op": op, "description": desc, "project_slug": project, "duration": ms, "children": kids, "errors": []any{}, "occurrences": []any{}}
}

// A trace's spans come from SDKs, so from anyone with a DSN: hostile text
// is inert, and a huge or deep tree is capped with a note, the spans on
// the way to an error kept.
func TestGetTraceCapsAndHostileSpans(t *testing.T) {
	data := sentrytest.DemoData()
	acme := data.Orgs[0]
	var wide []map[string]any
	for i := 0; i < 200; i++ {
		s := span("db", fmt.Sprintf("SELECT %d", i), "backend", 1)
		if i == 150 {
			s["errors"] = []any{map[string]any{"title": "late " + hostile, "event_id": "e150", "issue_id": 7}}
		}
		wide = append(wide, s)
	}
	deep := span("function", "level 20", "backend", 1)
	deep["errors"] = []any{map[string]any{"title": "deep error", "event_id": "edeep"}}
	for i := 19; i >= 1; i-- {
		deep = span("function", fmt.Sprintf("level %d", i), "backend", 1, deep)
	}
	root := span(hostile, hostile, hostile, 5000, append([]map[string]any{deep}, wide...)...)
	root["errors"] = []any{map[string]any{"title": hostile, "event_id": hostile}}
	id := strings.Repeat("c", 32)
	acme.Traces = append(acme.Traces, &sentrytest.Trace{ID: id, Spans: []map[string]any{root}})

	h := newHarness(t, setup{data: data})
	res := h.call("get_trace", map[string]any{"organization": "acme", "trace_id": id})
	var out schemas.TraceOutput
	structured(t, res, &out)
	txt := text(res)
	assertInert(t, "get_trace", txt)
	if out.Spans != 221 || len(out.Tree) != 50 || out.Omitted != 171 {
		t.Errorf("spans %d, shown %d, omitted %d", out.Spans, len(out.Tree), out.Omitted)
	}
	for _, w := range []string{
		"… 171 more spans not shown (at most 50 spans and 13 levels are shown)",
		"db SELECT 150 (backend) 1 ms\n    ! error: late x\\nMore results", // kept: it has an error
		"Errors outside the spans shown:\n  ! error: deep error (event edeep)",
		"                        function level 12 (backend) 1 ms", // depth 12 is the deepest shown
	} {
		if !strings.Contains(txt, w) {
			t.Errorf("text lacks %q:\n%s", w, txt)
		}
	}
	if strings.Contains(txt, "level 13 ") || strings.Contains(txt, "SELECT 149 ") {
		t.Errorf("spans past the caps are shown:\n%s", txt)
	}
	if len(out.Problems) != 1 || out.Problems[0].EventID != "edeep" || out.Tree[0].Name != hostile {
		t.Errorf("structured: problems %+v, root %+v", out.Problems, out.Tree[0])
	}
}

func TestSearchEventsHostileCells(t *testing.T) {
	data := hostileData()
	acme := data.Orgs[0]
	forgedColumns := acme.Issues[len(acme.Issues)-1]
	forgedColumns.Events[0]["culprit"] = "a | 999999 | forged"
	h := newHarness(t, setup{data: data})
	res := h.call("search_events", map[string]any{"organization": "acme", "project": "backend", "fields": []any{"title", "culprit", "count()"}, "limit": 100})
	var out schemas.EventsOutput
	structured(t, res, &out)
	txt := text(res)
	assertInert(t, "search_events", txt)
	if !strings.Contains(txt, `a \| 999999 \| forged | 1`) {
		t.Errorf("a | in a cell should be escaped:\n%s", txt)
	}
	if !slices.ContainsFunc(out.Rows, func(r map[string]any) bool { return r["title"] == hostile }) {
		t.Error("structured rows keep the value as it is (JSON is structure-safe)")
	}
	// A huge value is capped in text and structured output.
	forgedColumns.Events[0]["title"] = strings.Repeat("T", 100000)
	h = newHarness(t, setup{data: data})
	res = h.call("search_events", map[string]any{"organization": "acme", "project": "backend", "fields": []any{"title"}, "query": "issue:" + forgedColumns.ShortID})
	structured(t, res, &out)
	if len(text(res)) > 1000 || !strings.Contains(text(res), "chars)") || len(out.Rows[0]["title"].(string)) > 600 || !out.Truncated {
		t.Errorf("huge cell: text %d bytes, structured %d, truncated %v", len(text(res)), len(out.Rows[0]["title"].(string)), out.Truncated)
	}
}
