package sentrytest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DemoData returns a believable sample: user Dana Reyes, organization acme
// (projects backend, frontend, payments; the global-views feature) with 30
// issues, and a small second organization acme-labs. Timestamps are relative
// to the moment of the call, rounded down to the minute; everything else is
// fixed. Each call returns a fresh, independent copy.
func DemoData() *Data { return DemoDataAt(time.Now()) }

// DemoDataAt is DemoData with its relative timestamps anchored at now
// (rounded down to the minute), for tests with a fixed Options.Now.
func DemoDataAt(now time.Time) *Data {
	base := now.UTC().Truncate(time.Minute)
	d := &Data{BaseTime: base}
	d.User = exampleObject("api.index.json")["user"].(map[string]any)
	dana := person("1", "Dana Reyes", "dana@acme.example")
	for k, v := range dana {
		d.User[k] = v
	}
	d.User["dateJoined"] = "2021-03-15T09:12:44.318223Z"
	d.User["lastLogin"] = isoTime(base.Add(-3*time.Hour - 17*time.Minute))
	d.User["lastActive"] = isoTime(base.Add(-4 * time.Minute))
	d.User["emails"] = []any{map[string]any{"id": "1", "email": "dana@acme.example", "is_verified": true}}
	d.User["has2fa"] = true

	acme := &Org{
		ID: "1", Slug: "acme", Name: "Acme Corp", Role: "owner",
		DateCreated: time.Date(2021, 3, 15, 9, 12, 44, 0, time.UTC),
		Teams:       []*Team{{ID: "4", Slug: "platform", Name: "Platform", MemberCount: 6}, {ID: "5", Slug: "web", Name: "Web", MemberCount: 3, NotMember: true}, {ID: "6", Slug: "payments-oncall", Name: "Payments On-call", MemberCount: 1}},
		Members:     []map[string]any{person("2", "Sam Okafor", "sam@acme.example"), person("3", "Priya Natarajan", "priya@acme.example"), person("4", "Mateo Silva", "mateo@acme.example")},
	}
	acme.Memberships = demoMemberships(acme)
	acme.Fields = exampleObject("organizations.list.json")
	acme.Features = append(stringList(acme.Fields["features"]), "global-views", "discover-basic", "performance-view", "session-replay")
	labs := &Org{
		ID: "2", Slug: "acme-labs", Name: "Acme Labs", Role: "member",
		DateCreated: time.Date(2023, 9, 4, 14, 2, 11, 0, time.UTC),
		Teams:       []*Team{{ID: "7", Slug: "labs", Name: "Labs", MemberCount: 2}},
	}
	labs.Fields = exampleObject("organizations.list.json")
	labs.Features = stringList(labs.Fields["features"])
	d.Orgs = []*Org{acme, labs}

	releaseID := 101
	for _, dp := range demoProjects {
		o := acme
		if dp.org == "acme-labs" {
			o = labs
		}
		p := &Project{
			ID: dp.id, Slug: dp.slug, Name: dp.name, Platform: dp.platform, Team: dp.team,
			DateCreated:  o.DateCreated.Add(time.Duration(dp.createdAfterH) * time.Hour),
			Environments: []string{"production", "staging"},
			Fields:       exampleObject("projects.list.json"),
		}
		o.Projects = append(o.Projects, p)
		for i, v := range dp.versions {
			created := base.Add(-time.Duration(releaseAgesH[i]*float64(time.Hour)) - time.Duration(dp.createdAfterH)*time.Minute)
			r := &Release{
				ID: releaseID, Version: p.Slug + "@" + v, Projects: []string{p.Slug},
				DateCreated: created, DateReleased: created.Add(23 * time.Minute), Status: "open",
			}
			if i == 3 {
				r.Status = "archived"
			}
			releaseID++
			o.Releases = append(o.Releases, r)
		}
	}

	demoReleaseHistory(d, acme)

	nextID := 4504101
	for _, sp := range demoIssues {
		o := acme
		if sp.proj == "prototype" {
			o = labs
		}
		p := o.project(sp.proj)
		excType, excValue, _ := strings.Cut(sp.exc, ": ")
		is := &Issue{
			ID:            strconv.Itoa(nextID),
			ShortID:       strings.ToUpper(p.Slug) + "-" + base32Encode(o.nextShortNumber(p.Slug)),
			Project:       p.Slug,
			Title:         errorTitle(excType, excValue),
			Level:         sp.level,
			Type:          "error",
			Platform:      p.Platform,
			Status:        "unresolved",
			Substatus:     sp.sub,
			Priority:      sp.prio,
			Count:         sp.count,
			UserCount:     sp.users,
			FirstSeen:     base.Add(-time.Duration(sp.first * float64(time.Hour))),
			LastSeen:      base.Add(-time.Duration(sp.last * float64(time.Hour))),
			IsUnhandled:   !sp.handled,
			IsSubscribed:  sp.assign == "user:1",
			InboxReviewed: sp.sub == "new" && sp.count > 30,
		}
		nextID++
		is.Environments = []string{"production"}
		if sp.envs == "ps" {
			is.Environments = []string{"production", "staging"}
		} else if sp.envs == "s" {
			is.Environments = []string{"staging"}
		}
		rels := o.projectReleases(p.Slug)
		is.FirstRelease = releaseAt(rels, is.FirstSeen)
		is.LastRelease = releaseAt(rels, is.LastSeen)
		frames := stack(sp.stack)
		if sp.culprit != "" {
			is.Culprit = sp.culprit
		} else {
			is.Culprit = culpritFor(p.Platform, frames)
		}
		is.Metadata = map[string]any{"type": excType, "value": excValue, "in_app_frame_mix": "mixed", "initial_priority": priorityNumber(sp.prio)}
		for i := len(frames) - 1; i >= 0; i-- {
			if frames[i].inApp {
				is.Metadata["filename"], is.Metadata["function"] = frames[i].file, frames[i].fn
				break
			}
		}
		if len(frames) == 0 {
			is.Metadata["in_app_frame_mix"] = "system-only"
		}
		is.Activity = []map[string]any{firstSeenActivity(is)}
		if sp.assign != "" {
			is.AssignedTo = assignee(d, o, sp.assign)
			is.Activity = append([]map[string]any{activity(is, "assigned", d.User, map[string]any{"assignee": is.AssignedTo["id"], "assigneeType": is.AssignedTo["type"], "assigneeEmail": is.AssignedTo["email"]}, is.FirstSeen.Add(40*time.Minute))}, is.Activity...)
		}
		switch sp.st {
		case "resolved", "resolved:next", "resolved:in":
			is.Status, is.Substatus = "resolved", ""
			is.resolvedAt = is.LastSeen.Add(90 * time.Minute)
			is.StatusDetails = map[string]any{}
			typ, data := "set_resolved", map[string]any{}
			switch sp.st {
			case "resolved:next":
				is.StatusDetails = map[string]any{"inNextRelease": true, "actor": copyMap(d.User)}
				typ, data = "set_resolved_in_release", map[string]any{"version": ""}
			case "resolved:in":
				is.StatusDetails = map[string]any{"inRelease": rels[0].Version, "actor": copyMap(d.User)}
				typ, data = "set_resolved_in_release", map[string]any{"version": rels[0].Version}
			}
			is.Activity = append([]map[string]any{activity(is, typ, d.User, data, is.resolvedAt)}, is.Activity...)
		case "ignored":
			is.Status = "ignored"
			is.StatusDetails = map[string]any{}
			data := map[string]any{}
			if sp.sub == "archived_until_condition_met" {
				is.StatusDetails = map[string]any{"ignoreCount": 1000, "ignoreUntil": nil, "ignoreUserCount": nil, "ignoreUserWindow": nil, "ignoreWindow": 60, "actor": copyMap(d.User)}
				data = map[string]any{"ignoreCount": 1000, "ignoreWindow": 60}
			}
			is.Activity = append([]map[string]any{activity(is, "set_ignored", d.User, data, is.FirstSeen.Add(26*time.Hour))}, is.Activity...)
		}
		if sp.noEvents {
			is.Events = nil
		} else {
			n := demoEventCount(is)
			for seq := 0; seq < n; seq++ {
				when := demoEventTime(is, seq, n)
				is.Events = append(is.Events, buildEvent(o, p, is, eventSpec{
					excType: excType, excValue: excValue, excModule: sp.mod, handled: sp.handled, mechanism: sp.mech,
					frames: frames, env: demoEventEnv(is, seq), when: when, release: releaseAt(rels, when), seq: seq, total: n,
					method: method(sp.url), url: sp.url, task: sp.task,
				}))
			}
		}
		o.Issues = append(o.Issues, is)
	}
	demoDiscussion(d, base)
	addDiscoverDemo(d)
	return d
}

// demoEventCount is how many events the demo stores for an issue: a
// sample of its count, more for the busier issues, and at least one event
// per environment.
func demoEventCount(is *Issue) int {
	n := 2
	switch {
	case is.Count >= 1000:
		n = 6
	case is.Count >= 200:
		n = 5
	case is.Count >= 50:
		n = 4
	case is.Count >= 10:
		n = 3
	}
	return max(min(n, is.Count), len(is.Environments))
}

// demoEventTime spreads an issue's n events from its last seen (the
// latest, seq 0) back to its first seen (the oldest), deterministically
// jittered and strictly in order.
func demoEventTime(is *Issue, seq, n int) time.Time {
	switch {
	case seq == 0:
		return is.LastSeen
	case seq == n-1:
		return is.FirstSeen
	}
	span := is.LastSeen.Sub(is.FirstSeen)
	f := (float64(seq) - 0.5 + float64(hashInt(1000, is.ID, "when", strconv.Itoa(seq)))/1000) / float64(n-1)
	return is.LastSeen.Add(-time.Duration(f * float64(span))).Truncate(time.Second)
}

// demoEventEnv is the environment of an issue's event: the second event
// is in the second environment, when there is one, the rest mostly in
// the first.
func demoEventEnv(is *Issue, seq int) string {
	envs := is.Environments
	switch {
	case len(envs) == 1:
		return envs[0]
	case seq < len(envs):
		return envs[seq]
	case hashInt(3, is.ID, "env", strconv.Itoa(seq)) == 0:
		return envs[1]
	}
	return envs[0]
}

// releaseAgesH are the ages in hours of each project's releases, newest first.
var releaseAgesH = []float64{36, 8 * 24, 17 * 24, 33 * 24}

var demoProjects = []struct {
	org, id, slug, name, platform, team string
	createdAfterH                       int
	versions                            []string
}{
	{"acme", "11", "backend", "Backend", "python", "platform", 2, []string{"2.14.0", "2.13.2", "2.13.1", "2.12.0"}},
	{"acme", "12", "frontend", "Frontend", "javascript", "web", 30, []string{"5.3.0", "5.2.1", "5.2.0", "5.1.3"}},
	{"acme", "13", "payments", "Payments", "go", "platform", 2900, []string{"1.8.0", "1.7.4", "1.7.3", "1.7.0"}},
	{"acme-labs", "21", "prototype", "Prototype", "node", "labs", 5, []string{"0.3.0", "0.2.1", "0.2.0", "0.1.0"}},
}

// demoIssue is one row of the demo issue table. first/last are hours ago;
// st is unresolved, resolved, resolved:next (in next release), resolved:in
// (in the latest release) or ignored; envs is p (production), s (staging)
// or ps (both).
type demoIssue struct {
	proj, exc, mod     string
	level, st, sub     string
	count, users       int
	first, last        float64
	envs, mech         string
	handled            bool
	stack              string
	url, task, culprit string
	prio, assign       string
	noEvents           bool
}

var demoIssues = []demoIssue{
	// backend (python)
	{proj: "backend", exc: "ZeroDivisionError: division by zero", level: "error", st: "unresolved", sub: "ongoing", count: 1243, users: 87, first: 624, last: 0.3, envs: "ps", mech: "django", stack: "pyweb views.invoices billing.compute billing.prorate", url: "POST /api/v1/invoices/", prio: "high", assign: "user:1"},
	{proj: "backend", exc: "OperationalError: could not connect to server: Connection refused\n\tIs the server running on host \"db-replica-2.internal\" (10.0.3.12) and accepting\n\tTCP/IP connections on port 5432?", mod: "psycopg2", level: "error", st: "unresolved", sub: "escalating", count: 5310, users: 412, first: 288, last: 0.1, envs: "p", mech: "django", stack: "pyweb views.orders db.session psycopg2.connect", url: "GET /api/v1/orders/", prio: "high", assign: "team:platform"},
	{proj: "backend", exc: "KeyError: 'customer_id'", level: "error", st: "unresolved", sub: "ongoing", count: 342, users: 3, first: 480, last: 5, envs: "p", mech: "django", stack: "pyweb views.webhooks", url: "POST /api/v1/webhooks/stripe/", prio: "medium"},
	{proj: "backend", exc: "IntegrityError: duplicate key value violates unique constraint \"accounts_user_email_key\"\nDETAIL:  Key (email)=(jo@example.com) already exists.", mod: "django.db.utils", level: "error", st: "unresolved", sub: "new", count: 17, users: 9, first: 40, last: 2, envs: "ps", mech: "django", stack: "pyweb views.auth signup.create dj.create dj.execute", url: "POST /api/v1/auth/register/", prio: "medium"},
	{proj: "backend", exc: "TimeoutError: Timeout reading from redis-cache:6379", mod: "redis.exceptions", level: "error", st: "unresolved", sub: "ongoing", count: 890, users: 201, first: 400, last: 1.5, envs: "p", mech: "django", stack: "pyweb views.products cache.get redis.read", url: "GET /api/v1/products/8812/", prio: "medium"},
	{proj: "backend", exc: "AttributeError: 'NoneType' object has no attribute 'email'", level: "error", st: "unresolved", sub: "regressed", count: 56, first: 500, last: 3, envs: "p", mech: "celery", stack: "pytask tasks.receipt", task: "app.tasks.notifications.send_receipt", prio: "high", assign: "user:3"},
	{proj: "backend", exc: "ValueError: invalid literal for int() with base 10: 'abc'", level: "error", st: "resolved", count: 23, users: 11, first: 300, last: 50, envs: "p", mech: "django", stack: "pyweb views.orders.page views.orders.cursor", url: "GET /api/v1/orders/", prio: "low"},
	{proj: "backend", exc: "PermissionDenied: User 4821 cannot access invoice 99812", mod: "django.core.exceptions", level: "warning", st: "ignored", sub: "archived_forever", count: 4102, users: 37, first: 700, last: 0.5, envs: "p", mech: "generic", handled: true, stack: "pyweb views.invoice.get perm.invoice", url: "GET /api/v1/invoices/99812/", prio: "low"},
	{proj: "backend", exc: "SoftTimeLimitExceeded: SoftTimeLimitExceeded()", mod: "billiard.exceptions", level: "error", st: "unresolved", sub: "ongoing", count: 77, first: 600, last: 20, envs: "p", mech: "celery", stack: "pytask tasks.report reporting.agg billiard.timeout", task: "app.tasks.reports.generate_monthly_report", prio: "medium"},
	{proj: "backend", exc: "JSONDecodeError: Expecting value: line 1 column 1 (char 0)", mod: "requests.exceptions", level: "error", st: "unresolved", sub: "new", count: 8, users: 5, first: 20, last: 6, envs: "ps", mech: "django", stack: "pyweb views.checkout shipping.rates requests.json", url: "POST /api/v1/checkout/quote/", prio: "medium"},
	{proj: "backend", exc: "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte", level: "error", st: "unresolved", sub: "ongoing", count: 12, users: 4, first: 350, last: 70, envs: "p", mech: "django", stack: "pyweb views.imports importer.parse", url: "POST /api/v1/imports/", prio: "medium", noEvents: true},
	{proj: "backend", exc: "DisallowedHost: Invalid HTTP_HOST header: '203.0.113.7'. You may need to add '203.0.113.7' to ALLOWED_HOSTS.", mod: "django.core.exceptions", level: "error", st: "ignored", sub: "archived_until_escalating", count: 2210, first: 690, last: 9, envs: "p", mech: "generic", handled: true, stack: "gunicorn.handle dj.wsgi dj.getresp dj.exc mw.tenant dj.host", url: "GET /", prio: "low"},
	// frontend (javascript)
	{proj: "frontend", exc: "TypeError: Cannot read properties of undefined (reading 'id')", level: "error", st: "unresolved", sub: "ongoing", count: 2871, users: 1203, first: 650, last: 0.2, envs: "ps", mech: "onerror", stack: "jsrender checkout.summary use.checkout lib.intent", url: "/checkout", culprit: "/checkout", prio: "high", assign: "user:2"},
	{proj: "frontend", exc: "ChunkLoadError: Loading chunk 482 failed.\n(error: https://app.acme.example/static/js/482.8c1f2e.chunk.js)", level: "error", st: "unresolved", sub: "ongoing", count: 640, users: 498, first: 560, last: 1, envs: "p", mech: "onunhandledrejection", stack: "sched.work rd.workloop rd.unit rd.begin rd.lazy react.lazyinit routes.dashboard wp.ensure wp.jsonp", url: "/dashboard", culprit: "/dashboard", prio: "medium"},
	{proj: "frontend", exc: "TypeError: Failed to fetch", level: "error", st: "unresolved", sub: "ongoing", count: 1520, users: 640, first: 610, last: 0.7, envs: "p", mech: "onunhandledrejection", stack: "jsevent settings.submit api.account lib.request sentry.fetch", url: "/account/settings", culprit: "/account/settings", prio: "medium", assign: "team:web"},
	{proj: "frontend", exc: "RangeError: Invalid time value", level: "error", st: "unresolved", sub: "new", count: 45, users: 38, first: 60, last: 4, envs: "ps", mech: "onerror", stack: "jsrender localtime datefns.format", url: "/orders", culprit: "/orders", prio: "medium"},
	{proj: "frontend", exc: "ReferenceError: analytics is not defined", level: "error", st: "resolved:next", count: 310, users: 260, first: 200, last: 30, envs: "p", mech: "onerror", stack: "jsevent pricing.click lib.track", url: "/pricing", culprit: "/pricing", prio: "medium"},
	{proj: "frontend", exc: "RangeError: Maximum call stack size exceeded", level: "error", st: "unresolved", sub: "regressed", count: 33, users: 12, first: 450, last: 10, envs: "p", mech: "onerror", stack: "jsrender catnav tree.flatten tree.flatten tree.flatten tree.flatten tree.flatten tree.flatten", url: "/catalog", culprit: "/catalog", prio: "medium"},
	{proj: "frontend", exc: "UnhandledRejection: Non-Error promise rejection captured with value: Object Not Found Matching Id:3, MethodName:update, ParamCount:4", level: "error", st: "ignored", sub: "archived_until_escalating", count: 9800, users: 3200, first: 710, last: 0.4, envs: "p", mech: "onunhandledrejection", url: "/", culprit: "/", prio: "low"},
	{proj: "frontend", exc: "AxiosError: Request failed with status code 502", level: "error", st: "unresolved", sub: "escalating", count: 712, users: 305, first: 90, last: 0.3, envs: "p", mech: "onunhandledrejection", stack: "orders.page api.orders axios.request axios.dispatch axios.xhr axios.settle", url: "/orders", culprit: "/orders", prio: "high"},
	{proj: "frontend", exc: "SyntaxError: Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON", level: "error", st: "unresolved", sub: "ongoing", count: 98, users: 60, first: 380, last: 8, envs: "p", mech: "onunhandledrejection", stack: "jsevent invoices.list api.invoices lib.request.json", url: "/invoices", culprit: "/invoices", prio: "medium"},
	{proj: "frontend", exc: "Error: ResizeObserver loop completed with undelivered notifications.", level: "error", st: "ignored", sub: "archived_forever", count: 15023, users: 5000, first: 715, last: 0.1, envs: "ps", mech: "onerror", url: "/", culprit: "/", prio: "low"},
	{proj: "frontend", exc: "TypeError: Cannot read properties of null (reading 'getBoundingClientRect')", level: "error", st: "unresolved", sub: "ongoing", count: 154, users: 97, first: 260, last: 2.5, envs: "p", mech: "onerror", stack: "jscommit tooltip.effect lib.position", url: "/products", culprit: "/products", prio: "medium"},
	// payments (go)
	{proj: "payments", exc: "panic: runtime error: invalid memory address or nil pointer dereference", level: "fatal", st: "unresolved", sub: "ongoing", count: 96, first: 140, last: 0.5, envs: "p", mech: "generic", stack: "gohttp api.create payments.capture go.sigpanic go.panicmem", url: "POST /v1/payments", prio: "high", assign: "user:1"},
	{proj: "payments", exc: "*url.Error: Post \"https://api.stripe.com/v1/charges\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)", level: "error", st: "unresolved", sub: "escalating", count: 431, first: 30, last: 0.2, envs: "p", mech: "generic", handled: true, stack: "gohttp api.create payments.capture.gw gateway.charge go.clientdo go.clientdo2", url: "POST /v1/payments", prio: "high"},
	{proj: "payments", exc: "*pq.Error: pq: deadlock detected", level: "error", st: "unresolved", sub: "ongoing", count: 64, first: 330, last: 12, envs: "p", mech: "generic", handled: true, stack: "goworker settle.run settle.batch ledger.post go.execctx pq.exec", task: "settlement.(*Worker).Run", prio: "medium"},
	{proj: "payments", exc: "*errors.errorString: idempotency key reused with different payload", level: "warning", st: "unresolved", sub: "new", count: 19, first: 50, last: 7, envs: "ps", mech: "generic", handled: true, stack: "gohttp api.create.idem api.idem", url: "POST /v1/payments", prio: "low"},
	{proj: "payments", exc: "*json.UnmarshalTypeError: json: cannot unmarshal string into Go struct field ChargeRequest.amount of type int64", level: "error", st: "resolved:in", count: 205, first: 240, last: 60, envs: "p", mech: "generic", handled: true, stack: "gohttp api.create.decode api.decode go.decode go.unmarshal go.literal", url: "POST /v1/payments", prio: "medium"},
	{proj: "payments", exc: "context.deadlineExceededError: context deadline exceeded", level: "error", st: "ignored", sub: "archived_until_condition_met", count: 1880, first: 520, last: 1, envs: "p", mech: "generic", handled: true, stack: "goworker reconcile.run reconcile.account gateway.balance go.clientdo go.clientdo2", task: "reconcile.(*Worker).Run", prio: "low"},
	{proj: "payments", exc: "*fmt.wrapError: refund re_3PJk2qLk: insufficient balance in settlement account", level: "error", st: "unresolved", sub: "ongoing", count: 27, first: 170, last: 26, envs: "p", mech: "generic", handled: true, stack: "gohttp api.refund refunds.refund ledger.reserve", url: "POST /v1/refunds", prio: "medium"},
	// acme-labs prototype (node)
	{proj: "prototype", exc: "TypeError: fetch failed", level: "error", st: "unresolved", sub: "ongoing", count: 23, users: 4, first: 100, last: 3, envs: "p", mech: "onunhandledrejection", stack: "node.ticks express.route express.layer routes.experiments exp.client undici.fetch", url: "GET /api/experiments/checkout-v2", culprit: "GET /api/experiments/:key", prio: "medium"},
	{proj: "prototype", exc: "Error: ENOENT: no such file or directory, open '/data/models/v3.onnx'", level: "error", st: "unresolved", sub: "new", count: 5, first: 30, last: 29, envs: "s", mech: "onunhandledrejection", stack: "node.ticks server.main inference.warmup inference.load fs.open", task: "main", prio: "medium"},
}

// errorTitle is Sentry's title of an error event: the type and the first
// line of the value, truncated.
func errorTitle(typ, value string) string {
	if value == "" {
		return typ
	}
	line, _, _ := strings.Cut(value, "\n")
	if r := []rune(line); len(r) > 100 {
		line = string(r[:97]) + "..."
	}
	return typ + ": " + line
}

func method(url string) string {
	if m, _, ok := strings.Cut(url, " "); ok {
		return m
	}
	return ""
}

// releaseAt is the newest release created at or before t ("" if none).
func releaseAt(newestFirst []*Release, t time.Time) string {
	for _, r := range newestFirst {
		if !r.DateCreated.After(t) {
			return r.Version
		}
	}
	if len(newestFirst) > 0 {
		return newestFirst[len(newestFirst)-1].Version
	}
	return ""
}

func priorityNumber(p string) int {
	switch p {
	case "low":
		return 25
	case "high":
		return 75
	}
	return 50
}

// person is a user serialization (the shape of api.index.json's user).
func person(id, name, email string) map[string]any {
	return map[string]any{
		"id": id, "name": name, "username": email, "email": email,
		"avatarUrl": "https://secure.gravatar.com/avatar/" + hexID("avatar", email) + "?s=32&d=mm",
		"isActive":  true, "hasPasswordAuth": true, "isManaged": false,
		"dateJoined": "2021-03-15T09:12:44.318223Z", "lastLogin": nil, "has2fa": false, "lastActive": nil,
		"isSuperuser": false, "isStaff": false, "experiments": map[string]any{},
		"emails": []any{map[string]any{"id": id, "email": email, "is_verified": true}},
		"avatar": map[string]any{"avatarType": "letter_avatar", "avatarUuid": nil},
	}
}

// userActor is the assignedTo / actor form of a user.
func userActor(u map[string]any) map[string]any {
	return map[string]any{"type": "user", "id": u["id"], "name": u["name"], "email": u["email"]}
}

func teamActor(t *Team) map[string]any {
	return map[string]any{"type": "team", "id": t.ID, "name": t.Slug}
}

// assignee resolves "user:<id>" / "team:<slug or id>" for demo specs.
func assignee(d *Data, o *Org, ref string) map[string]any {
	kind, id, _ := strings.Cut(ref, ":")
	if kind == "team" {
		return teamActor(o.team(id))
	}
	for _, m := range d.members(o) {
		if m["id"] == id {
			return userActor(m)
		}
	}
	panic("sentrytest: demo assignee " + ref)
}

func activity(is *Issue, typ string, user map[string]any, data map[string]any, at time.Time) map[string]any {
	var u any
	if user != nil {
		u = copyMap(user)
	}
	return map[string]any{"id": strconv.Itoa(1000 + len(is.Activity)*7 + hashInt(7, is.ID, typ)), "type": typ, "user": u, "data": data, "dateCreated": isoTime(at)}
}

func stringList(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// ExampleData holds only Sentry's published examples: organization
// the-interstellar-jurisdiction with projects pump-station and prime-mover,
// issue 1 (PUMP-STATION-1, issue.get.json) with event.latest.json as its
// latest event, release frontend@1.0.0 and the user of api.index.json.
// Timestamps are the examples' own (2018). Each call returns a fresh copy.
func ExampleData() *Data {
	d := &Data{}
	d.User = exampleObject("api.index.json")["user"].(map[string]any)
	orgTpl := exampleObject("organizations.list.json")
	created, _ := time.Parse(time.RFC3339Nano, orgTpl["dateCreated"].(string))
	o := &Org{
		ID: orgTpl["id"].(string), Slug: orgTpl["slug"].(string), Name: orgTpl["name"].(string),
		DateCreated: created, Role: "owner", Fields: orgTpl,
		// The published feature list is abridged; global-views is what lets
		// the example user search both of its projects at once.
		Features:        append(stringList(orgTpl["features"]), "global-views"),
		OrganizationURL: orgTpl["links"].(map[string]any)["organizationUrl"].(string),
	}
	d.Orgs = []*Org{o}

	issueTpl := exampleObject("issue.get.json")
	projTpl := exampleObject("projects.list.json")
	teamTpl := projTpl["team"].(map[string]any)
	o.Teams = []*Team{{ID: teamTpl["id"].(string), Slug: teamTpl["slug"].(string), Name: teamTpl["name"].(string)}}
	pumpTpl := issueTpl["project"].(map[string]any)
	pmCreated, _ := time.Parse(time.RFC3339Nano, projTpl["dateCreated"].(string))
	pump := &Project{
		ID: pumpTpl["id"].(string), Slug: pumpTpl["slug"].(string), Name: pumpTpl["name"].(string),
		Platform: pumpTpl["platform"].(string), DateCreated: created.Add(3 * time.Second), Team: o.Teams[0].Slug,
		Environments: []string{"prod"}, Fields: copyMap(projTpl),
	}
	prime := &Project{
		ID: projTpl["id"].(string), Slug: projTpl["slug"].(string), Name: projTpl["name"].(string),
		Platform: projTpl["platform"].(string), DateCreated: pmCreated, Team: o.Teams[0].Slug,
		Environments: stringList(projTpl["environments"]), Fields: projTpl,
	}
	o.Projects = []*Project{pump, prime}

	relTpl := exampleObject("releases.list.json")
	relCreated, _ := time.Parse(time.RFC3339Nano, relTpl["dateCreated"].(string))
	// The published release names a project "sentry" that the examples
	// do not otherwise contain; here it belongs to pump-station.
	o.Releases = []*Release{{ID: int(relTpl["id"].(float64)), Version: relTpl["version"].(string), Projects: []string{pump.Slug}, DateCreated: relCreated, Status: relTpl["status"].(string), Fields: relTpl}}

	john := issueTpl["assignedTo"].(map[string]any)
	o.Members = []map[string]any{person(john["id"].(string), john["name"].(string), john["email"].(string))}

	first, _ := time.Parse(time.RFC3339Nano, issueTpl["firstSeen"].(string))
	last, _ := time.Parse(time.RFC3339Nano, issueTpl["lastSeen"].(string))
	count, _ := strconv.Atoi(issueTpl["count"].(string))
	is := &Issue{
		ID: issueTpl["id"].(string), ShortID: issueTpl["shortId"].(string), Project: pump.Slug,
		Title: issueTpl["title"].(string), Culprit: issueTpl["culprit"].(string), Level: issueTpl["level"].(string),
		Type: issueTpl["type"].(string), Platform: issueTpl["platform"].(string),
		Metadata: issueTpl["metadata"].(map[string]any), Status: issueTpl["status"].(string),
		Substatus: issueTpl["substatus"].(string), Priority: issueTpl["priority"].(string),
		Count: count, UserCount: int(issueTpl["userCount"].(float64)), FirstSeen: first, LastSeen: last,
		Environments: []string{"prod"},
		FirstRelease: issueTpl["firstRelease"].(map[string]any)["version"].(string),
		AssignedTo:   john, IsSubscribed: issueTpl["isSubscribed"].(bool), HasSeen: issueTpl["hasSeen"].(bool),
		IsBookmarked: issueTpl["isBookmarked"].(bool), IsPublic: issueTpl["isPublic"].(bool),
		Permalink:   issueTpl["permalink"].(string),
		releaseInfo: map[string]any{issueTpl["firstRelease"].(map[string]any)["version"].(string): issueTpl["firstRelease"]},
	}
	for _, a := range issueTpl["activity"].([]any) {
		is.Activity = append(is.Activity, a.(map[string]any))
	}
	ev := exampleObject("event.latest.json")
	// The published event belongs to another group; attach it to issue 1.
	ev["groupID"], ev["projectID"] = is.ID, pump.ID
	is.Events = []map[string]any{ev}
	o.Issues = []*Issue{is}
	return d
}

// demoCheck guards the table against typos at init time.
var _ = func() bool {
	for _, sp := range demoIssues {
		stack(sp.stack)
		if !strings.Contains(sp.exc, ": ") {
			panic(fmt.Sprintf("sentrytest: demo issue %q has no type", sp.exc))
		}
		if math.IsNaN(sp.first) || sp.first < sp.last {
			panic(fmt.Sprintf("sentrytest: demo issue %q is last seen before first seen", sp.exc))
		}
	}
	return true
}()
