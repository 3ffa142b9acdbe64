package sentrytest

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// discoverData is the demo plus a project "lab" (id 99) in acme whose
// events and transactions are small enough to compute by hand.
func discoverData(t *testing.T) *Data {
	t.Helper()
	d := DemoData()
	acme := d.org("acme")
	acme.Projects = append(acme.Projects, &Project{ID: "99", Slug: "lab", Name: "Lab", Platform: "python", Environments: []string{"production"}, Fields: exampleObject("projects.list.json")})
	base := d.base()
	tx := func(name string, ms float64, status, user string, ago int) {
		acme.Transactions = append(acme.Transactions, &Transaction{EventID: hexID("lab", name, time.Duration(ago).String()), Project: "lab", Name: name, Op: "http.server",
			DurationMS: ms, Status: status, UserID: user, Environment: "production", Timestamp: base.Add(-time.Duration(ago) * time.Minute)})
	}
	tx("GET /a", 100, "ok", "u1", 1)
	tx("GET /a", 200, "ok", "u2", 2)
	tx("GET /a", 300, "internal_error", "u1", 3)
	tx("GET /a", 400, "ok", "", 4)
	tx("GET /a", 1000, "deadline_exceeded", "u3", 5)
	tx("GET /b", 50, "ok", "u1", 6)
	tx("GET /b", 70, "cancelled", "u1", 7)
	d.AddIssues("acme", "lab", 2)
	n := len(acme.Issues)
	first, second := acme.Issues[n-2], acme.Issues[n-1]
	ev := first.Events[0]
	for i, email := range []string{"a@x.example", "b@x.example", "a@x.example"} {
		e := ev
		if i > 0 {
			e = copyMap(ev)
			e["id"], e["eventID"] = hexID("lab-event", email, string(rune('0'+i))), hexID("lab-event", email, string(rune('0'+i)))
			e["dateCreated"] = isoTime(first.LastSeen.Add(-time.Duration(i) * time.Hour))
			first.Events = append(first.Events, e)
		}
		e["user"] = map[string]any{"id": nil, "email": email, "username": nil, "ip_address": nil}
	}
	second.Events[0]["user"] = nil
	return d
}

func eventsPath(org string, params ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	return "/api/0/organizations/" + org + "/events/?" + q.Encode()
}

func TestDiscoverAggregatesByHand(t *testing.T) {
	s := newTestServer(t, discoverData(t), Options{}, "org:read")
	r := get(t, s, eventsPath("acme", "dataset", "transactions", "project", "99",
		"field", "transaction", "field", "count()", "field", "count_unique(user)", "field", "p95(transaction.duration)",
		"field", "p50()", "field", "avg(transaction.duration)", "field", "failure_rate()", "sort", "-count()"))
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	body := r.object(t)
	want := []any{
		map[string]any{"transaction": "GET /a", "count()": 5.0, "count_unique(user)": 3.0, "p95(transaction.duration)": 880.0, "p50()": 300.0, "avg(transaction.duration)": 400.0, "failure_rate()": 0.4},
		map[string]any{"transaction": "GET /b", "count()": 2.0, "count_unique(user)": 1.0, "p95(transaction.duration)": 69.0, "p50()": 60.0, "avg(transaction.duration)": 60.0, "failure_rate()": 0.0},
	}
	if got := body["data"]; !reflect.DeepEqual(got, want) {
		t.Errorf("transactions data %v\nwant %v", got, want)
	}
	meta := body["meta"].(map[string]any)
	wantTypes := map[string]any{"transaction": "string", "count()": "integer", "count_unique(user)": "integer", "p95(transaction.duration)": "duration", "p50()": "duration", "avg(transaction.duration)": "duration", "failure_rate()": "percentage"}
	if !reflect.DeepEqual(meta["fields"], wantTypes) {
		t.Errorf("meta.fields %v", meta["fields"])
	}
	units := meta["units"].(map[string]any)
	if units["p95(transaction.duration)"] != "millisecond" || units["count()"] != nil || meta["dataset"] != "transactions" || meta["isMetricsData"] != false {
		t.Errorf("meta %v", meta)
	}

	// Errors: grouped by issue, the events of each issue of lab.
	r = get(t, s, eventsPath("acme", "dataset", "errors", "project", "99", "field", "issue", "field", "count()", "field", "count_unique(user)", "sort", "issue"))
	rows := r.object(t)["data"].([]any)
	if len(rows) != 2 {
		t.Fatalf("rows %v", rows)
	}
	if a, b := rows[0].(map[string]any), rows[1].(map[string]any); a["count()"] != 3.0 || a["count_unique(user)"] != 2.0 || b["count()"] != 1.0 || b["count_unique(user)"] != 0.0 || a["issue"] != "LAB-1" {
		t.Errorf("errors rows %v", rows)
	}
	// Grouped by user.email, an aggregate condition keeps groups of 2+.
	r = get(t, s, eventsPath("acme", "dataset", "errors", "project", "99", "field", "user.email", "field", "count()", "query", "count():>1"))
	if got := r.object(t)["data"]; !reflect.DeepEqual(got, []any{map[string]any{"user.email": "a@x.example", "count()": 2.0}}) {
		t.Errorf("grouped by user.email with count():>1: %v", got)
	}
	// Without functions: one row per event, newest first.
	r = get(t, s, eventsPath("acme", "dataset", "transactions", "project", "99", "field", "transaction.duration", "query", "transaction.duration:>250ms !transaction.status:ok"))
	if got := r.object(t)["data"]; !reflect.DeepEqual(got, []any{map[string]any{"transaction.duration": 300.0}, map[string]any{"transaction.duration": 1000.0}}) {
		t.Errorf("filtered rows %v", got)
	}
	r = get(t, s, eventsPath("acme", "dataset", "transactions", "project", "99", "field", "user", "query", "transaction:\"GET /b\" OR transaction.duration:<150", "sort", "user"))
	if got := r.object(t)["data"]; len(got.([]any)) != 3 {
		t.Errorf("OR query rows %v", got)
	}
}

func TestDiscoverRefusals(t *testing.T) {
	s := newTestServer(t, discoverData(t), Options{}, "org:read")
	many := []string{"dataset", "errors"}
	for i := 0; i < 21; i++ {
		many = append(many, "field", "tags[t"+string(rune('a'+i))+"]")
	}
	tests := []struct {
		name   string
		path   string
		status int
		detail string
	}{
		{"21 fields", eventsPath("acme", many...), 400, "You can view up to 20 fields at a time. Please delete some and try again."},
		{"no field", eventsPath("acme", "dataset", "errors"), 400, "No columns selected"},
		{"unknown dataset", eventsPath("acme", "field", "title", "dataset", "nope"), 400, "dataset must be one of: discover, errors, issuePlatform, logs, metrics, metricsEnhanced, profile_functions, spans, tracemetrics, transactions, uptime_results"},
		{"unknown function", eventsPath("acme", "field", "title", "field", "bogus()"), 400, "bogus is not a valid function"},
		{"transactions function on errors", eventsPath("acme", "dataset", "errors", "field", "p95(transaction.duration)"), 400, "p95 is not a valid function"},
		{"bad argument", eventsPath("acme", "dataset", "transactions", "field", "p95(title)"), 400, "title is not a numeric column"},
		{"argument count", eventsPath("acme", "dataset", "transactions", "field", "count_unique()"), 400, "count_unique: expected 1 argument(s) but got 0 argument(s)"},
		{"invalid field", eventsPath("acme", "field", "ti tle"), 400, "Invalid field: ti tle"},
		{"sort not selected", eventsPath("acme", "field", "title", "sort", "-count()"), 400, "Cannot sort by a field that is not selected."},
		{"per_page 0", eventsPath("acme", "field", "title", "per_page", "0"), 400, "Invalid per_page value. Must be between 1 and 100."},
		{"per_page 101", eventsPath("acme", "field", "title", "per_page", "101"), 400, "Invalid per_page value. Must be between 1 and 100."},
		{"bad period", eventsPath("acme", "field", "title", "statsPeriod", "1y"), 400, "Invalid statsPeriod: '1y'"},
		{"unmatched quote", eventsPath("acme", "field", "title", "query", `title:"x`), 400, "Parse error at '\"x' (column 7). This is commonly caused by unmatched parentheses. Enclose any text in double quotes."},
		{"unknown environment", eventsPath("acme", "field", "title", "environment", "prod"), 404, msgNotFound},
		{"unknown org", eventsPath("nope", "field", "title"), 404, msgNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantDetail(t, get(t, s, tt.path), tt.status, tt.detail)
		})
	}
	// The feature gate: an empty 404 (acme-labs lacks discover-basic and
	// performance-view), before anything else is checked.
	r := get(t, s, eventsPath("acme-labs", "dataset", "nope"))
	if r.status != 404 || len(r.body) != 0 {
		t.Errorf("feature off: %d %q", r.status, r.body)
	}
	// logs allows up to 9999 rows a page.
	if r := get(t, s, eventsPath("acme", "dataset", "logs", "field", "message", "per_page", "5000")); r.status != 200 {
		t.Errorf("logs per_page 5000: %d %s", r.status, r.body)
	}
}

func TestDiscoverScopesAndRateLimit(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:read", "project:read")
	for _, p := range []string{eventsPath("acme", "field", "title"), "/api/0/organizations/acme/trace/" + hexID("x") + "/", "/api/0/organizations/acme/trace-meta/" + hexID("x") + "/"} {
		wantDetail(t, get(t, s, p), 403, msgForbidden)
	}
	s = newTestServer(t, nil, Options{}, "org:read")
	r := get(t, s, eventsPath("acme", "field", "title", "per_page", "2"))
	if r.status != 200 || r.header.Get("X-Sentry-Rate-Limit-Limit") != "30" || r.header.Get("X-Sentry-Rate-Limit-ConcurrentLimit") != "15" {
		t.Errorf("%d rate limit headers %v", r.status, r.header)
	}
	link := r.header.Get("Link")
	if !strings.Contains(link, `rel="next"; results="true"; cursor="0:2:0"`) || !strings.Contains(link, `rel="previous"; results="false"; cursor="0:0:1"`) || !strings.Contains(link, "field=title&per_page=2&cursor=") {
		t.Errorf("Link %s", link)
	}
	page1 := r.object(t)["data"]
	page2 := get(t, s, eventsPath("acme", "field", "title", "per_page", "2", "cursor", "0:2:0")).object(t)["data"]
	if reflect.DeepEqual(page1, page2) || len(page2.([]any)) != 2 {
		t.Errorf("page 2 %v vs page 1 %v", page2, page1)
	}
	// No project the user can access: 200 with the tip.
	d := DemoData()
	for _, p := range d.org("acme").Projects {
		p.NotMember = true
	}
	s = newTestServer(t, d, Options{}, "org:read")
	wantJSON(t, get(t, s, eventsPath("acme", "field", "title")), 200, `{"data": [], "meta": {"tips": {"query": "Need at least one valid project to query."}}}`)
}

func TestDemoTraceIsTheTopIssuesTrace(t *testing.T) {
	d := DemoData()
	acme := d.org("acme")
	top := topIssue(acme)
	if top == nil || len(acme.Traces) != 1 {
		t.Fatalf("top %v, traces %d", top, len(acme.Traces))
	}
	id := acme.Traces[0].ID
	if got := top.Events[0]["contexts"].(map[string]any)["trace"].(map[string]any)["trace_id"]; got != id {
		t.Errorf("the top issue's latest event has trace %v, the demo trace is %s", got, id)
	}
	s := newTestServer(t, d, Options{}, "org:read")
	// Discover finds the trace from the issue.
	r := get(t, s, eventsPath("acme", "field", "trace", "query", "issue:"+top.ShortID, "per_page", "1"))
	if rows := r.object(t)["data"].([]any); len(rows) != 1 || rows[0].(map[string]any)["trace"] != id {
		t.Errorf("trace of %s: %s", top.ShortID, r.body)
	}
	meta := get(t, s, "/api/0/organizations/acme/trace-meta/"+strings.ToUpper(id)+"/").object(t)
	if meta["errorsCount"] != 1.0 || meta["spansCount"] != 17.0 || meta["performanceIssuesCount"] != 1.0 || meta["logsCount"] != 5.0 || meta["spansCountMap"].(map[string]any)["db"] != 7.0 {
		t.Errorf("trace-meta %v", meta)
	}
	tree := get(t, s, "/api/0/organizations/acme/trace/"+id+"/").list(t)
	root := tree[0].(map[string]any)
	if root["op"] != "pageload" || root["is_transaction"] != true || root["parent_span_id"] != nil {
		t.Errorf("root %v", root)
	}
	var found bool
	var walk func(s map[string]any)
	walk = func(s map[string]any) {
		for _, e := range s["errors"].([]any) {
			found = found || e.(map[string]any)["event_id"] == eventIDOf(top.Events[0])
		}
		for _, c := range s["children"].([]any) {
			walk(c.(map[string]any))
		}
	}
	walk(root)
	if !found {
		t.Error("the trace does not carry the top issue's latest event as an error")
	}
	// Unknown trace: the standard 404; not a trace id: no route (empty 404).
	wantDetail(t, get(t, s, "/api/0/organizations/acme/trace/"+hexID("nope")+"/"), 404, msgNotFound)
	wantDetail(t, get(t, s, "/api/0/organizations/acme/trace-meta/"+hexID("nope")+"/"), 404, msgNotFound)
	wantDetail(t, get(t, s, "/api/0/organizations/acme-labs/trace/"+id+"/"), 404, msgNotFound)
	if r := get(t, s, "/api/0/organizations/acme/trace/xyz/"); r.status != 404 || len(r.body) != 0 {
		t.Errorf("non-id: %d %q", r.status, r.body)
	}
	if n := len(acme.Transactions); n < 300 || n > 400 {
		t.Errorf("%d demo transactions", n)
	}
}
