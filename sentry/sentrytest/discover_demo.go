package sentrytest

import (
	"cmp"
	"math"
	"strconv"
	"strings"
	"time"
)

// demoTransactionCount is how many transactions acme's demo has: one about
// every 28 minutes over the last week.
const demoTransactionCount = 360

// demoTransactionNames are acme's transactions per project: operation,
// typical duration (ms) and percentage of failures.
var demoTransactionNames = []struct {
	project, name, op string
	baseMS            float64
	failPct           int
}{
	{"backend", "GET /api/v1/orders/", "http.server", 180, 8},
	{"backend", "POST /api/v1/invoices/", "http.server", 320, 5},
	{"backend", "GET /api/v1/products/{product_id}/", "http.server", 45, 1},
	{"backend", "POST /api/v1/checkout/quote/", "http.server", 620, 4},
	{"backend", "app.tasks.reports.generate_monthly_report", "queue.task.celery", 8200, 10},
	{"frontend", "/checkout", "pageload", 1900, 3},
	{"frontend", "/dashboard", "pageload", 1400, 2},
	{"frontend", "/orders", "navigation", 650, 2},
	{"payments", "POST /v1/payments", "http.server", 410, 6},
	{"payments", "POST /v1/refunds", "http.server", 260, 3},
}

var demoTransactionUsers = []struct{ id, email string }{
	{"48213", "maria.gonzalez@example.com"}, {"51877", "kenji.watanabe@example.com"},
	{"39402", "amara.okafor@example.com"}, {"60115", "lucas.moreau@example.com"},
	{"27788", "sofia.rossi@example.com"}, {"55301", "noah.fischer@example.com"},
	{"61420", "ines.costa@example.com"}, {"33096", "omar.haddad@example.com"},
}

var demoFailures = []string{"internal_error", "deadline_exceeded", "unavailable"}

// addDiscoverDemo gives acme what Discover and the trace endpoints serve:
// transactions over the last week, and one trace through its top issue
// (the unresolved issue with the most events that has an event), whose id
// becomes that issue's latest event's contexts.trace.trace_id. It runs
// after every issue and event exists.
func addDiscoverDemo(d *Data) {
	o := d.org("acme")
	if o == nil {
		return
	}
	base := d.base()
	for i := 0; i < demoTransactionCount; i++ {
		n := strconv.Itoa(i)
		spec := demoTransactionNames[hashInt(len(demoTransactionNames), "tx", n)]
		if o.project(spec.project) == nil {
			continue
		}
		dur := spec.baseMS * (0.5 + float64(hashInt(1000, "tx-duration", n))/1000*1.5)
		if hashInt(20, "tx-tail", n) == 0 {
			dur *= 4
		}
		tx := &Transaction{
			EventID: hexID("tx", n), Project: spec.project, Name: spec.name, Op: spec.op,
			DurationMS:  math.Round(dur*10) / 10,
			Status:      "ok",
			Environment: "production",
			Timestamp:   base.Add(-time.Duration(i)*28*time.Minute - time.Duration(hashInt(28*60, "tx-at", n))*time.Second),
			TraceID:     hexID("tx-trace", n),
		}
		if hashInt(100, "tx-fail", n) < spec.failPct {
			tx.Status = demoFailures[hashInt(len(demoFailures), "tx-status", n)]
		}
		if hashInt(5, "tx-env", n) == 0 {
			tx.Environment = "staging"
		}
		if i%7 != 3 { // some visitors are anonymous
			u := demoTransactionUsers[hashInt(len(demoTransactionUsers), "tx-user", n)]
			tx.UserID, tx.UserEmail = u.id, u.email
		}
		tx.Release = releaseAt(o.projectReleases(spec.project), tx.Timestamp)
		o.Transactions = append(o.Transactions, tx)
	}
	addDemoTrace(d, o)
}

// topIssue is the unresolved issue with the most events among those that
// have an event (the first of equals).
func topIssue(o *Org) *Issue {
	var top *Issue
	for _, is := range o.Issues {
		if is.Status == "unresolved" && len(is.Events) > 0 && (top == nil || is.Count > top.Count) {
			top = is
		}
	}
	return top
}

// addDemoTrace builds a browser page load that calls the top issue's
// endpoint, where the issue's latest event happened, with an N+1 query
// below it.
func addDemoTrace(d *Data, o *Org) {
	is := topIssue(o)
	if is == nil {
		return
	}
	ev := is.Events[0]
	p := o.project(is.Project)
	if p == nil {
		return
	}
	traceID := hexID("demo-trace", o.Slug)
	at, err := parseISO(asString(ev["dateCreated"]))
	if err != nil {
		at = d.base()
	}
	server := cmp.Or(eventTag(ev, "transaction"), is.Culprit, "GET /")
	front := p
	if fp := o.project("frontend"); fp != nil {
		front = fp
	}
	t0 := float64(at.UnixMilli())/1000 - 1.2
	seq := 0
	span := func(pr *Project, op, desc string, startMS, durMS float64, children ...map[string]any) map[string]any {
		seq++
		s := exampleObject("trace.get.json")
		delete(s, "measurements")
		delete(s, "browser_web_vital")
		delete(s, "mobile_app_vital")
		id := hexID("demo-span", traceID, strconv.Itoa(seq))[:16]
		s["event_id"], s["transaction_id"] = id, hexID("demo-tx", traceID, pr.Slug)
		s["project_id"], s["project_slug"] = mustAtoi(pr.ID), pr.Slug
		s["op"], s["name"], s["description"] = op, op, desc
		s["start_timestamp"], s["end_timestamp"] = round3(t0+startMS/1000), round3(t0+(startMS+durMS)/1000)
		s["duration"] = durMS
		s["is_transaction"] = false
		s["sdk_name"] = map[string]string{"javascript": "sentry.javascript.react", "go": "sentry.go"}[pr.Platform]
		if s["sdk_name"] == "" {
			s["sdk_name"] = "sentry.python.django"
		}
		s["parent_span_id"] = nil
		kids := []any{}
		for _, c := range children {
			c["parent_span_id"] = id
			kids = append(kids, c)
		}
		s["children"], s["errors"], s["occurrences"] = kids, []any{}, []any{}
		return s
	}
	transaction := func(s map[string]any, name string) map[string]any {
		s["is_transaction"], s["transaction"] = true, name
		s["event_id"] = s["transaction_id"]
		return s
	}
	var queries []map[string]any
	for i := 0; i < 6; i++ {
		queries = append(queries, span(p, "db", `SELECT "orders_orderitem"."id", "orders_orderitem"."sku" FROM "orders_orderitem" WHERE "orders_orderitem"."order_id" = %s`, 1260+float64(i)*5, 4.1))
	}
	serverKids := append([]map[string]any{
		span(p, "middleware.django", "django.middleware.security.SecurityMiddleware.__call__", 200, 1.1),
		span(p, "middleware.django", "django.contrib.sessions.middleware.SessionMiddleware.__call__", 202, 2.3),
		span(p, "cache.get", "GET session:9f1c", 205, 1.2),
		span(p, "db.connect", "connect db-replica-2.internal:5432", 210, 1001.5),
		span(p, "db", `SELECT "orders_order"."id", "orders_order"."total" FROM "orders_order" WHERE "orders_order"."customer_id" = %s`, 1215, 38),
	}, queries...)
	serverKids = append(serverKids, span(p, "serialize", "OrderSerializer", 1300, 12))
	srv := transaction(span(p, "http.server", server, 190, 1590, serverKids...), server)
	srv["errors"] = []any{map[string]any{
		"event_id": eventIDOf(ev), "issue_id": mustAtoi(is.ID), "project_id": mustAtoi(p.ID), "project_slug": p.Slug,
		"title": is.Title, "description": is.Title, "level": is.Level, "culprit": is.Culprit,
		"start_timestamp": round3(float64(at.UnixMilli()) / 1000), "event_type": "error", "transaction": server,
	}}
	queries[0]["occurrences"] = []any{map[string]any{
		"event_id": hexID("demo-occurrence", traceID), "issue_id": mustAtoi(is.ID) + 900000, "project_id": mustAtoi(p.ID),
		"project_slug": p.Slug, "title": "N+1 Query", "description": queries[0]["description"], "level": "info",
		"start_timestamp": queries[0]["start_timestamp"], "event_type": "occurrence", "type": 1006,
	}}
	root := transaction(span(front, "pageload", "/orders", 0, 2140,
		span(front, "resource.script", "https://app.acme.example/static/js/main.8c1f2e.js", 20, 180),
		span(front, "ui.react.render", "OrdersPage", 210, 40),
		span(front, "http.client", "GET https://api.acme.example"+urlPath(server), 180, 1620, srv),
	), "/orders")
	root["measurements"] = exampleObject("trace.get.json")["measurements"]
	var name func(s map[string]any, tx string)
	name = func(s map[string]any, tx string) { // each span names its transaction
		if s["is_transaction"] == true {
			tx = s["transaction"].(string)
		}
		s["transaction"] = tx
		for _, c := range s["children"].([]any) {
			name(c.(map[string]any), tx)
		}
	}
	name(root, "")
	o.Traces = append(o.Traces, &Trace{ID: traceID, Spans: []map[string]any{root}, Logs: 5})

	contexts, _ := ev["contexts"].(map[string]any)
	if contexts == nil {
		contexts = map[string]any{}
		ev["contexts"] = contexts
	}
	tc, _ := contexts["trace"].(map[string]any)
	if tc == nil {
		tc = map[string]any{"type": "trace", "op": "http.server"}
		contexts["trace"] = tc
	}
	tc["trace_id"], tc["span_id"] = traceID, serverKids[0]["parent_span_id"]
	for _, s := range []struct {
		span map[string]any
		pr   *Project
		name string
		st   string
	}{{root, front, "/orders", "ok"}, {srv, p, server, "internal_error"}} {
		o.Transactions = append(o.Transactions, &Transaction{
			EventID: s.span["event_id"].(string), Project: s.pr.Slug, Name: s.name, Op: s.span["op"].(string),
			DurationMS: s.span["duration"].(float64), Status: s.st, Environment: cmp.Or(eventTag(ev, "environment"), "production"),
			Release: releaseAt(o.projectReleases(s.pr.Slug), at), Timestamp: at, TraceID: traceID,
			UserID: asString(mapOf(ev["user"])["id"]), UserEmail: asString(mapOf(ev["user"])["email"]),
		})
	}
}

func mapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }

func mustAtoi(s string) int { n, _ := strconv.Atoi(strings.TrimSpace(s)); return n }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
