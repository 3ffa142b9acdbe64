package tools_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

// demoTop is the demo's top issue (list_issues' first): BACKEND-2, six
// events, production only.
func demoTop(t *testing.T, data *sentrytest.Data) *sentrytest.Issue {
	t.Helper()
	for _, is := range data.Orgs[0].Issues {
		if is.ShortID == "BACKEND-2" {
			return is
		}
	}
	t.Fatal("no BACKEND-2 in the demo")
	return nil
}

func eventID(ev map[string]any) string { return ev["eventID"].(string) }

// credentials are what the demo's requests carry that no result may show.
func credentials(t *testing.T, is *sentrytest.Issue) []string {
	t.Helper()
	var out []string
	for _, ev := range is.Events {
		for _, en := range ev["entries"].([]any) {
			en := en.(map[string]any)
			if en["type"] != "request" {
				continue
			}
			data := en["data"].(map[string]any)
			for _, h := range data["headers"].([]any) {
				kv := h.([]any)
				if n := kv[0].(string); n == "Authorization" || n == "Cookie" {
					out = append(out, kv[1].(string))
				}
			}
			for _, c := range data["cookies"].([]any) {
				out = append(out, c.([]any)[1].(string))
			}
			out = append(out, data["env"].(map[string]any)["REMOTE_ADDR"].(string))
		}
	}
	if len(out) == 0 {
		t.Fatal("the demo's requests carry no credentials to test with")
	}
	return out
}

func TestGetEvent(t *testing.T) {
	data := sentrytest.DemoData()
	h := newHarness(t, setup{data: data})
	is := demoTop(t, data)
	latest, oldest, third := is.Events[0], is.Events[len(is.Events)-1], is.Events[2]
	id3 := eventID(third)
	dashed := id3[:8] + "-" + id3[8:12] + "-" + id3[12:16] + "-" + id3[16:20] + "-" + id3[20:]
	for _, tt := range []struct {
		args map[string]any
		req  string
		want map[string]any
	}{
		{map[string]any{"issue": is.ID}, "GET /api/0/issues/" + is.ID + "/events/latest/", latest},
		{map[string]any{"issue": is.ShortID, "organization": "acme"}, "GET /api/0/organizations/acme/issues/BACKEND-2/events/latest/", latest},
		{map[string]any{"issue": h.fake.URL + "/organizations/acme/issues/" + is.ID + "/", "event": "oldest"}, "GET /api/0/organizations/acme/issues/" + is.ID + "/events/oldest/", oldest},
		{map[string]any{"issue": is.ID, "event": "recommended"}, "GET /api/0/issues/" + is.ID + "/events/recommended/", nil},
		{map[string]any{"issue": is.ID, "event": id3}, "GET /api/0/issues/" + is.ID + "/events/" + id3 + "/", third},
		{map[string]any{"issue": is.ID, "event": dashed}, "GET /api/0/issues/" + is.ID + "/events/" + dashed + "/", third},
		{map[string]any{"event": id3, "organization": "acme"}, "GET /api/0/organizations/acme/eventids/" + id3 + "/", third},
	} {
		h.fake.ResetRequests()
		res := h.call("get_event", tt.args)
		var out schemas.EventDetail
		structured(t, res, &out)
		if reqs := h.apiRequests(); len(reqs) != 1 || reqs[0] != tt.req {
			t.Errorf("%v: requests %v, want [%s]", tt.args, reqs, tt.req)
		}
		if tt.want != nil && out.ID != eventID(tt.want) {
			t.Errorf("%v: event %s, want %s", tt.args, out.ID, eventID(tt.want))
		}
		if out.Issue != is.ID || len(out.Exceptions) != 1 || out.User == nil || out.Request == nil || len(out.Breadcrumbs) == 0 || out.Contexts["trace_id"] == "" || out.Tags["environment"] != "production" {
			t.Errorf("%v: %+v", tt.args, out)
		}
		if _, lookup := tt.args["issue"]; !lookup && out.Project != "backend" {
			t.Errorf("the event-id lookup names the project: %q", out.Project)
		}
		whole, _ := json.Marshal(res)
		for _, c := range credentials(t, is) {
			if strings.Contains(string(whole), c) {
				t.Errorf("%v: the result shows the request's credential %q", tt.args, c)
			}
		}
		for _, s := range []string{"Authorization", "Cookie", "REMOTE_ADDR", "csrftoken", "sessionid="} {
			if strings.Contains(string(whole), s) {
				t.Errorf("%v: the result mentions %q", tt.args, s)
			}
		}
	}

	// The whole text of the latest event, every part in its place.
	res := h.call("get_event", map[string]any{"issue": is.ID})
	var out schemas.EventDetail
	structured(t, res, &out)
	txt := text(res)
	u := latest["user"].(map[string]any)
	trace := latest["contexts"].(map[string]any)["trace"].(map[string]any)["trace_id"].(string)
	for _, want := range []string{
		"Event " + eventID(latest) + ": OperationalError: could not connect to server: Connection refused\n",
		"issue " + is.ID + ", at ",
		", release " + out.Release + ", environment production, SDK sentry.python.django 2.8.0\n",
		"OperationalError (unhandled, mechanism django):\n    could not connect to server",
		"Stack (most recent call last):\n  … 8 library frame(s)\n  app/api/views/orders.py:63 in list_orders\n      61 |     def list_orders(self, request):\n",
		"    > 27 |         conn = psycopg2.connect(dsn, connect_timeout=3)\n      28 |     except psycopg2.OperationalError:\n",
		"Local variables of get_connection:\n  args = ()\n  attempt = 1\n",
		"Request: GET https://api.acme.example/api/v1/orders/\n  Headers: Accept: application/json; Content-Type: application/json; Host: api.acme.example; User-Agent: python-requests/2.32.3; X-Request-Id: ",
		"  Not shown: 2 other headers, cookies, environment.\n",
		"User: id " + u["id"].(string) + ", email " + u["email"].(string) + ", IP " + u["ip_address"].(string) + "\n",
		"Contexts: os Linux 6.1.0-21-cloud-amd64; runtime CPython 3.12.3; trace " + trace + "\n",
		"Tags: environment=production, handled=no, level=error,",
		"Breadcrumbs (last 4, oldest first):\n  ",
		` query (info): SELECT "accounts_user"."id"`,
		" httplib (info): GET http://internal-auth.acme.svc/v1/introspect [200]",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("text lacks %q:\n%s", want, txt)
		}
	}
	f := out.Exceptions[0].Frames
	if n := len(f); n < 3 || f[n-2].Function != "get_connection" || len(f[n-2].Pre) != 2 || len(f[n-2].Post) != 2 || f[0].Omitted != 8 {
		t.Errorf("frames %+v", f)
	}
	if out.Vars["request"] != "<WSGIRequest: GET '/api/v1/orders/'>" || out.Request.Headers["User-Agent"] == "" || len(out.Request.Headers) != 5 {
		t.Errorf("vars %v request %+v", out.Vars, out.Request)
	}
	// Measured on the demo's top issue (reported in the closing note).
	sj, _ := json.Marshal(res.StructuredContent)
	t.Logf("get_event on %s: text %d bytes, structured %d bytes", is.ShortID, len(txt), len(sj))
	if len(txt) > 6<<10 {
		t.Errorf("get_event text on the demo's top issue is %d bytes, budget 6 KB", len(txt))
	}
}

func TestGetEventErrors(t *testing.T) {
	data := sentrytest.DemoData()
	is := demoTop(t, data)
	id := eventID(is.Events[1])
	var noEvents *sentrytest.Issue
	for _, x := range data.Orgs[0].Issues {
		if len(x.Events) == 0 {
			noEvents = x
		}
	}
	unknown := strings.Repeat("ab", 16)
	for _, tt := range []struct {
		name string
		s    setup
		args map[string]any
		reqs int // requests sent
		want string
	}{
		{"not an event id", setup{}, map[string]any{"issue": is.ID, "event": "newest"}, 0, `event "newest" is not an event id`},
		{"too short", setup{}, map[string]any{"issue": is.ID, "event": "abc123"}, 0, "is not an event id"},
		{"latest needs issue", setup{}, map[string]any{"organization": "acme"}, 0, `event "latest" needs issue`},
		{"a number needs issue", setup{}, map[string]any{"event": "12345", "organization": "acme"}, 0, `event "12345" needs issue`},
		{"the lookup needs organization", setup{}, map[string]any{"event": id}, 0, "needs organization"},
		{"the lookup needs org:read", setup{tokenScopes: []string{"event:read"}}, map[string]any{"event": id, "organization": "acme"}, 0, "needs the org:read scope, which this sign-in lacks; pass issue too"},
		{"Sentry refuses the lookup", setup{tokenScopes: []string{"event:read"}, unknownGrant: true}, map[string]any{"event": id, "organization": "acme"}, 1, "Sentry denied finding event " + id + " by its id alone (You do not have permission to perform this action); that needs the org:read scope: pass issue too"},
		{"unknown event of an issue", setup{}, map[string]any{"issue": is.ID, "event": unknown}, 1, `Not found: event "` + unknown + `" of issue "` + is.ID + `" (Event not found. The event ID may be incorrect, or its age exceeded the retention period). list_issue_events shows the valid ones.`},
		{"unknown event id", setup{}, map[string]any{"event": unknown, "organization": "acme"}, 1, `Not found: event "` + unknown + `" in organization "acme"`},
		{"an issue without events", setup{}, map[string]any{"issue": noEvents.ID}, 1, "Issue " + noEvents.ID + " has no latest event (Sentry: No matching event found. Try changing the environments, date range, or query)."},
		{"unknown issue", setup{}, map[string]any{"issue": "999999"}, 1, `Not found: issue "999999"`},
		{"unknown short id", setup{}, map[string]any{"issue": "BACKEND-ZZZ", "organization": "acme"}, 1, `Not found: issue "BACKEND-ZZZ" in organization "acme"`},
		{"short id without organization", setup{}, map[string]any{"issue": "BACKEND-2"}, 0, "needs organization"},
		{"pinned elsewhere", setup{org: "acme-labs"}, map[string]any{"event": id, "organization": "acme"}, 0, "needs organization"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.data = data
			h := newHarness(t, tt.s)
			res := h.call("get_event", tt.args)
			if !res.IsError || !strings.Contains(text(res), tt.want) {
				t.Errorf("got isError=%v %q, want an error with %q", res.IsError, text(res), tt.want)
			}
			if reqs := h.apiRequests(); len(reqs) != tt.reqs {
				t.Errorf("requests %v, want %d", reqs, tt.reqs)
			}
		})
	}
}

// The event-id lookup is limited to 1 request a second: the second of two
// lookups in a row waits for the next window (the client waits out a
// short 429) and succeeds.
func TestGetEventLookupRateLimit(t *testing.T) {
	data := sentrytest.DemoData()
	h := newHarness(t, setup{data: data, opts: sentrytest.Options{EnforceRateLimits: true}})
	is := demoTop(t, data)
	for _, ev := range is.Events[:2] {
		res := h.call("get_event", map[string]any{"event": eventID(ev), "organization": "acme"})
		var out schemas.EventDetail
		structured(t, res, &out)
		if out.ID != eventID(ev) {
			t.Errorf("got %s", out.ID)
		}
	}
	if n := len(h.apiRequests()); n < 2 || n > 3 {
		t.Errorf("%d requests, want 2 or 3 (one 429 waited out): %v", n, h.apiRequests())
	}
}

func TestEventToolsNeedEventRead(t *testing.T) {
	h := newHarness(t, setup{tokenScopes: []string{"org:read", "project:read"}})
	for _, name := range []string{"get_event", "list_issue_events"} {
		if slices.Contains(h.listNames(), name) {
			t.Errorf("%s listed without event:read", name)
		}
		res := h.call(name, map[string]any{"issue": "4504102", "event": strings.Repeat("ab", 16), "organization": "acme"})
		if !res.IsError || !strings.Contains(text(res), "event:read") {
			t.Errorf("%s without event:read: %q", name, text(res))
		}
	}
	if reqs := h.apiRequests(); len(reqs) != 0 {
		t.Errorf("refused calls reached Sentry: %v", reqs)
	}
	// event:admin allows them by Sentry's hierarchy.
	h = newHarness(t, setup{tokenScopes: []string{"event:admin"}})
	for _, name := range []string{"get_event", "list_issue_events"} {
		if !slices.Contains(h.listNames(), name) {
			t.Errorf("%s not listed with event:admin", name)
		}
	}
}

func TestListIssueEvents(t *testing.T) {
	data := sentrytest.DemoData()
	h := newHarness(t, setup{data: data})
	is := demoTop(t, data)

	res := h.call("list_issue_events", map[string]any{"issue": is.ShortID, "organization": "acme"})
	var out schemas.IssueEventsOutput
	structured(t, res, &out)
	if reqs := h.apiRequests(); len(reqs) != 1 || reqs[0] != "GET /api/0/organizations/acme/issues/BACKEND-2/events/?per_page=25" {
		t.Errorf("requests %v", reqs)
	}
	if len(out.Events) != len(is.Events) || out.NextCursor != "" {
		t.Fatalf("%d events (cursor %q), want %d", len(out.Events), out.NextCursor, len(is.Events))
	}
	for i, r := range out.Events {
		ev := is.Events[i]
		u := ev["user"].(map[string]any)
		want := schemas.EventRow{ID: eventID(ev), Date: ev["dateCreated"].(string), Title: is.Title, User: u["email"].(string), Environment: "production", Release: tagOf(ev, "release")}
		if r != want {
			t.Errorf("row %d = %+v, want %+v", i, r, want)
		}
	}
	lines := strings.Split(text(res), "\n")
	if lines[0] != "Every event listed: "+is.Title || len(lines) != 1+len(is.Events) {
		t.Errorf("text:\n%s", text(res))
	}
	r0 := out.Events[0]
	if want := r0.ID + " at " + r0.Date[:16] + "Z, production, " + r0.Release + ", user " + r0.User; lines[1] != want {
		t.Errorf("row line %q, want %q", lines[1], want)
	}

	// Arguments map to Sentry's parameters.
	h.fake.ResetRequests()
	user := out.Events[0].User
	structured(t, h.call("list_issue_events", map[string]any{"issue": is.ID, "query": "user.email:" + user, "environment": "production", "period": "30d", "limit": 10}), &out)
	if reqs := h.apiRequests(); len(reqs) != 1 || reqs[0] != "GET /api/0/issues/"+is.ID+"/events/?environment=production&per_page=10&query=user.email%3A"+strings.ReplaceAll(user, "@", "%40")+"&statsPeriod=30d" {
		t.Errorf("requests %v", reqs)
	}
	for _, r := range out.Events {
		if r.User != user {
			t.Errorf("query user.email:%s gave %+v", user, r)
		}
	}

	// A query that is an event id is Sentry's direct hit.
	structured(t, h.call("list_issue_events", map[string]any{"issue": is.ID, "query": eventID(is.Events[3])}), &out)
	if len(out.Events) != 1 || out.Events[0].ID != eventID(is.Events[3]) || !strings.Contains(text(h.call("list_issue_events", map[string]any{"issue": is.ID, "query": eventID(is.Events[3])})), ": "+is.Title) {
		t.Errorf("direct hit %+v", out.Events)
	}
}

func tagOf(ev map[string]any, key string) string {
	for _, tg := range ev["tags"].([]any) {
		if m := tg.(map[string]any); m["key"] == key {
			return m["value"].(string)
		}
	}
	return ""
}

func TestListIssueEventsPages(t *testing.T) {
	data := sentrytest.DemoData()
	h := newHarness(t, setup{data: data})
	is := demoTop(t, data)
	var seen []string
	cursor := ""
	for page := 0; page < 5; page++ {
		args := map[string]any{"issue": is.ID, "limit": 4}
		if cursor != "" {
			args["cursor"] = cursor
		}
		res := h.call("list_issue_events", args)
		var out schemas.IssueEventsOutput
		structured(t, res, &out)
		for _, r := range out.Events {
			seen = append(seen, r.ID)
		}
		if out.NextCursor != "" && !strings.HasSuffix(text(res), `More results: call again with cursor="`+out.NextCursor+`".`) {
			t.Errorf("page %d text does not end with the cursor:\n%s", page, text(res))
		}
		if cursor = out.NextCursor; cursor == "" {
			break
		}
		if cursor != "0:4:0" {
			t.Errorf("cursor %q, want Sentry's offset cursor 0:4:0", cursor)
		}
	}
	var want []string
	for _, ev := range is.Events {
		want = append(want, eventID(ev))
	}
	if !slices.Equal(seen, want) {
		t.Errorf("pages gave %v, want %v", seen, want)
	}
	if reqs := h.apiRequests(); len(reqs) != 2 || !strings.Contains(reqs[1], "cursor=0%3A4%3A0") {
		t.Errorf("requests %v", reqs)
	}
}

func TestListIssueEventsErrors(t *testing.T) {
	data := sentrytest.DemoData()
	is := demoTop(t, data)
	for _, tt := range []struct {
		name    string
		args    map[string]any
		reqs    []string
		want    string
		isError bool
	}{
		{"unknown environment", map[string]any{"issue": is.ShortID, "organization": "acme", "environment": "prod"},
			[]string{"GET /api/0/organizations/acme/issues/BACKEND-2/events/?environment=prod&per_page=25", "GET /api/0/organizations/acme/environments/?visibility=all"},
			`No environment "prod" in organization "acme"; its environments: production, staging.`, true},
		{"a known environment without events", map[string]any{"issue": is.ShortID, "organization": "acme", "environment": "staging"},
			[]string{"GET /api/0/organizations/acme/issues/BACKEND-2/events/?environment=staging&per_page=25", "GET /api/0/organizations/acme/environments/?visibility=all"},
			"No events of issue BACKEND-2 match in the last 90 days (Sentry's default; period widens it).", false},
		{"no match in a period", map[string]any{"issue": is.ID, "query": "release:nope", "period": "1h"},
			[]string{"GET /api/0/issues/" + is.ID + "/events/?per_page=25&query=release%3Anope&statsPeriod=1h"},
			"No events of issue " + is.ID + " match.", false},
		{"Sentry's query error", map[string]any{"issue": is.ID, "query": "(release:1"}, []string{"GET /api/0/issues/" + is.ID + "/events/?per_page=25&query=%28release%3A1"},
			"Sentry rejected the request: Parse error at '(release:1' (column 1)", true},
		{"bad period", map[string]any{"issue": is.ID, "period": "3x"}, nil, `period "3x" is not a duration`, true},
		{"unknown issue", map[string]any{"issue": "999999"}, []string{"GET /api/0/issues/999999/events/?per_page=25"}, `Not found: issue "999999"`, true},
		{"odd cursor", map[string]any{"issue": is.ID, "cursor": "0:0:0\nx"}, nil, "not a valid Sentry cursor", true},
		{"limit over 100", map[string]any{"issue": is.ID, "limit": 101}, nil, "limit", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{data: data})
			res := h.call("list_issue_events", tt.args)
			if res.IsError != tt.isError || !strings.Contains(text(res), tt.want) {
				t.Errorf("got isError=%v %q, want %v with %q", res.IsError, text(res), tt.isError, tt.want)
			}
			if reqs := h.apiRequests(); !slices.Equal(reqs, tt.reqs) {
				t.Errorf("requests %v, want %v", reqs, tt.reqs)
			}
		})
	}
}

// hostileEvent is an event whose every part get_event shows is hostile,
// huge or a credential.
func hostileEvent(ev map[string]any) {
	huge := strings.Repeat("A", 20_000)
	ev["title"] = "T" + hostile
	ev["user"] = map[string]any{"id": "u" + hostile, "email": "e" + hostile, "username": huge, "ip_address": "1.2.3.4" + hostile}
	ev["sdk"] = map[string]any{"name": "sdk" + hostile, "version": 7}
	ev["contexts"] = map[string]any{
		"browser": map[string]any{"name": "B" + hostile, "version": huge},
		"os":      "not an object",
		"device":  map[string]any{"model": []any{"odd"}, "family": "F" + hostile},
		"trace":   map[string]any{"trace_id": "t" + hostile},
	}
	var tags []any
	for i := 0; i < 120; i++ {
		v := hostile
		if i < 5 {
			v += huge
		}
		tags = append(tags, map[string]any{"key": fmt.Sprintf("k%03d%s", i, hostile), "value": v})
	}
	ev["tags"] = tags
	var crumbs []any
	for i := 0; i < 500; i++ {
		m := fmt.Sprintf("m%d%s", i, hostile)
		if i >= 490 {
			m += huge
		}
		crumbs = append(crumbs, map[string]any{"timestamp": 1541539195.5 + float64(i), "category": "c" + hostile, "level": "l" + hostile, "message": m, "type": "default"})
	}
	crumbs = append(crumbs, map[string]any{"timestamp": "2026-01-01T00:00:00Z", "category": 7, "data": map[string]any{"url": "https://x.example/" + hostile, "method": "GET", "status_code": 500}},
		map[string]any{"timestamp": "2026-01-01T00:00:01Z", "category": "http", "data": map[string]any{"url": "https://u:SECRETW@x.example/a?access_token=SECRETX&page=3", "method": "GET"}},
		map[string]any{"timestamp": "2026-01-01T00:00:02Z", "category": "custom", "data": map[string]any{"Authorization": "Bearer SECRETY", "api_key": "SECRETZ", "next": "https://x.example/cb?token=SECRET1", "step": 2}})
	for _, en := range ev["entries"].([]any) {
		en := en.(map[string]any)
		switch en["type"] {
		case "breadcrumbs":
			en["data"] = map[string]any{"values": crumbs}
		case "exception":
			x := en["data"].(map[string]any)["values"].([]any)[0].(map[string]any)
			x["mechanism"] = map[string]any{"type": "m" + hostile, "handled": false}
			frames := x["stacktrace"].(map[string]any)["frames"].([]any)
			f := frames[len(frames)-1].(map[string]any)
			f["inApp"] = true
			vars := map[string]any{"big": huge, "nested": map[string]any{"deep": []any{hostile, huge}}, "api_token": "SECRETU", "password": "SECRETV"}
			for i := 0; i < 60; i++ {
				vars[fmt.Sprintf("v%02d%s", i, hostile)] = hostile
			}
			f["vars"] = vars
			var ln int
			fmt.Sscan(fmt.Sprint(f["lineNo"]), &ln)
			f["context"] = []any{[]any{ln - 1, "\tpre" + hostile}, []any{ln, "cur" + hostile}, []any{ln + 1, huge}}
		}
	}
	ev["entries"] = append(ev["entries"].([]any), map[string]any{"type": "request", "data": map[string]any{
		"method": "POST" + hostile,
		"url":    "https://admin:PASSWORDX@app.example/p" + hostile + "?token=SECRETT&page=2#frag",
		"query":  []any{[]any{"api_key", "SECRETQ"}, []any{"q", "x" + hostile}, []any{"Session", "SECRETS"}},
		"headers": []any{
			[]any{"Authorization", "Bearer SECRETA"}, []any{"authorization", "Basic SECRETB"}, []any{"Cookie", "sid=SECRETC"},
			[]any{"Set-Cookie", "sid=SECRETD"}, []any{"X-Auth-Token", "SECRETE"}, []any{"X-Api-Key", "SECRETF"},
			[]any{"X-Client-Secret", "SECRETG"}, []any{"X-Amz-Security-Token", "SECRETH"}, []any{"Proxy-Authorization", "SECRETI"},
			[]any{"User-Agent", "UA" + hostile}, []any{"Referer", "https://app.example/reset?token=SECRETJ"},
			[]any{"User-Agent\nAuthorization", "SECRETK"}, []any{"X-Forwarded-For", "SECRETL"},
		},
		"cookies": []any{[]any{"sid", "SECRETM"}},
		"env":     map[string]any{"REMOTE_ADDR": "SECRETN", "SECRET_KEY": "SECRETO"},
		"data":    map[string]any{"password": "SECRETP"},
	}})
}

func TestHostileEventIsRenderedAsData(t *testing.T) {
	data := sentrytest.DemoData()
	data.AddIssues("acme", "backend", 1)
	org := data.Orgs[0]
	is := org.Issues[len(org.Issues)-1]
	hostileEvent(is.Events[0])
	h := newHarness(t, setup{data: data})
	res := h.call("get_event", map[string]any{"issue": is.ID})
	var out schemas.EventDetail
	structured(t, res, &out)
	txt := text(res)
	assertInert(t, "get_event", txt)
	whole, _ := json.Marshal(res)
	for _, s := range []string{"SECRETA", "SECRETB", "SECRETC", "SECRETD", "SECRETE", "SECRETF", "SECRETG", "SECRETH", "SECRETI", "SECRETJ", "SECRETK", "SECRETL", "SECRETM", "SECRETN", "SECRETO", "SECRETP", "SECRETQ", "SECRETS", "SECRETT", "PASSWORDX", "SECRETU", "SECRETV", "SECRETW", "SECRETX", "SECRETY", "SECRETZ", "SECRET1"} {
		if strings.Contains(string(whole), s) {
			t.Errorf("the result shows %s", s)
		}
	}
	if len(txt) > 32<<10 || len(whole) > 64<<10 || !out.Truncated {
		t.Errorf("text %d bytes, whole result %d bytes, truncated %v", len(txt), len(whole), out.Truncated)
	}
	// 500 + 1 breadcrumbs: the client keeps the last 100, the tool 30.
	for _, want := range []string{"Breadcrumbs (last 30, oldest first; 473 earlier not shown):", "GET https://***@x.example/a?access_token=[filtered]&page=3", "Authorization=[filtered], api_key=[filtered], next=https://x.example/cb?token=[filtered], step=2", "password = [filtered]", "  2026-01-01T00:00:00Z 7: GET https://x.example/x\\nMore results", "[500]", "… 70 more tags", "… 44 more variables", "Not shown: 11 other headers, cookies, environment.", "Query: api_key=[filtered]&q=xx\\nMore results", "page=2&token=[filtered]\n", "page=2", "token=[filtered]", "api_key=[filtered]", "Session=[filtered]", "mechanism m"} {
		if !strings.Contains(txt, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	if len(out.Request.Headers) != 2 || out.Request.Headers["User-Agent"] != "UA"+hostile || out.Request.Headers["Referer"] != "https://app.example/reset" {
		t.Errorf("headers %q", out.Request.Headers)
	}
	if strings.Contains(out.Request.URL, "PASSWORDX") || strings.Contains(out.Request.URL, "frag") || !strings.HasPrefix(out.Request.URL, "https://***@app.example/p") {
		t.Errorf("url %q", out.Request.URL)
	}
	if out.User == nil || out.User.ID != "u"+hostile || len(out.User.Username) > 1000 {
		t.Errorf("user %+v", out.User)
	}
	if out.Contexts["trace_id"] != "t"+hostile || out.Contexts["device"] != "F"+hostile || out.Contexts["os"] != "" {
		t.Errorf("contexts %q", out.Contexts)
	}
	if len(out.Breadcrumbs) > 30 || len(out.Tags) > 50 || len(out.Vars) > 20 {
		t.Errorf("%d breadcrumbs, %d tags, %d vars", len(out.Breadcrumbs), len(out.Tags), len(out.Vars))
	}
	// The same event listed.
	res = h.call("list_issue_events", map[string]any{"issue": is.ID, "period": "14d"})
	if res.IsError {
		t.Fatal(text(res))
	}
	assertInert(t, "list_issue_events", text(res))
}

// Context lines are numbered by their own line numbers: out of order,
// repeated or broken context shows only the unbroken run around the
// frame's line, each line under its own number.
func TestContextLinesKeepTheirNumbers(t *testing.T) {
	data := sentrytest.DemoData()
	data.AddIssues("acme", "backend", 1)
	org := data.Orgs[0]
	is := org.Issues[len(org.Issues)-1]
	var ln int
	for _, en := range is.Events[0]["entries"].([]any) {
		en := en.(map[string]any)
		if en["type"] != "exception" {
			continue
		}
		x := en["data"].(map[string]any)["values"].([]any)[0].(map[string]any)
		frames := x["stacktrace"].(map[string]any)["frames"].([]any)
		f := frames[len(frames)-1].(map[string]any)
		f["inApp"] = true
		fmt.Sscan(fmt.Sprint(f["lineNo"]), &ln)
		f["context"] = []any{[]any{ln + 1, "after"}, []any{ln - 3, "ctxFAR"}, []any{ln - 1, "ctxFIRST"}, []any{ln, "cur"}, []any{ln - 1, "before"}}
	}
	h := newHarness(t, setup{data: data})
	txt := text(h.call("get_event", map[string]any{"issue": is.ID}))
	for _, want := range []string{fmt.Sprintf("      %d | before\n    > %d | cur\n      %d | after\n", ln-1, ln, ln+1)} {
		if !strings.Contains(txt, want) {
			t.Errorf("text lacks %q:\n%s", want, txt)
		}
	}
	if strings.Contains(txt, "ctxFAR") || strings.Contains(txt, "ctxFIRST") {
		t.Errorf("a line outside the unbroken run, or a replaced one, is shown:\n%s", txt)
	}
}
