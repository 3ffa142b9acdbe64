package sentrytest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// topIssueID is BACKEND-2 (4504102): 6 events, production only.
const topIssueID = "4504102"

func eventIDs(t *testing.T, l []any) []string {
	t.Helper()
	var out []string
	for _, e := range l {
		out = append(out, e.(map[string]any)["eventID"].(string))
	}
	return out
}

func TestIssueEventsScopes(t *testing.T) {
	for _, tt := range []struct {
		scopes []string
		path   string
		want   int
	}{
		{[]string{"event:read"}, "/api/0/issues/" + topIssueID + "/events/", 200},
		{[]string{"event:admin"}, "/api/0/organizations/acme/issues/BACKEND-2/events/", 200},
		{[]string{"org:read", "project:read"}, "/api/0/issues/" + topIssueID + "/events/", 403},
		{[]string{"event:read"}, "/api/0/groups/" + topIssueID + "/events/", 200},
		// The event-id lookup is an organization endpoint: org scopes, not event ones.
		{[]string{"org:read"}, "/api/0/organizations/acme/eventids/" + hexID("event", topIssueID, "0") + "/", 200},
		{[]string{"org:write"}, "/api/0/organizations/acme/eventids/" + hexID("event", topIssueID, "0") + "/", 200},
		{[]string{"event:admin"}, "/api/0/organizations/acme/eventids/" + hexID("event", topIssueID, "0") + "/", 403},
		// Project event details: ProjectPermission.
		{[]string{"project:read"}, "/api/0/projects/acme/backend/events/" + hexID("event", topIssueID, "0") + "/", 200},
		{[]string{"event:read"}, "/api/0/projects/acme/backend/events/" + hexID("event", topIssueID, "0") + "/", 403},
	} {
		s := newTestServer(t, nil, Options{}, tt.scopes...)
		if r := get(t, s, tt.path); r.status != tt.want {
			t.Errorf("%v GET %s: %d, want %d (%s)", tt.scopes, tt.path, r.status, tt.want, r.body)
		}
	}
}

func TestIssueEventsList(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:read")
	_, is := s.data.issueByID(topIssueID)
	r := get(t, s, "/api/0/organizations/acme/issues/BACKEND-2/events/")
	all := r.list(t)
	if len(all) != len(is.Events) || len(all) < 5 {
		t.Fatalf("%d events, want all %d (5 or more)", len(all), len(is.Events))
	}
	// Simple rows, the keys of issue.events.list.json, newest first.
	tpl := exampleObject("issue.events.list.json")
	var last time.Time
	for i, e := range all {
		row := e.(map[string]any)
		if got, want := sortedKeys(row), sortedKeys(tpl); !slices.Equal(got, want) {
			t.Fatalf("row keys %v, want %v", got, want)
		}
		if row["id"] != row["eventID"] || row["groupID"] != topIssueID || row["event.type"] != "error" {
			t.Errorf("row %v", row)
		}
		when, _ := parseISO(row["dateCreated"].(string))
		if i > 0 && !when.Before(last) {
			t.Errorf("row %d not older than the one before", i)
		}
		last = when
	}
	if !strings.Contains(r.header.Get("Link"), `rel="next"; results="false"; cursor="0:100:0"`) {
		t.Errorf("Link %q", r.header.Get("Link"))
	}
	// Pages: GenericOffsetPaginator cursors 0:{offset}:{is_prev}.
	r = get(t, s, "/api/0/issues/"+topIssueID+"/events/?per_page=2")
	if l := r.list(t); len(l) != 2 || !strings.Contains(r.header.Get("Link"), `rel="next"; results="true"; cursor="0:2:0"`) || !strings.Contains(r.header.Get("Link"), `rel="previous"; results="false"; cursor="0:0:1"`) {
		t.Fatalf("page 1: %d rows, Link %q", len(l), r.header.Get("Link"))
	}
	r = get(t, s, "/api/0/issues/"+topIssueID+"/events/?per_page=2&cursor=0:4:0")
	if got := eventIDs(t, r.list(t)); !slices.Equal(got, eventIDs(t, all[4:min(6, len(all))])) {
		t.Errorf("page 3: %v", got)
	}
	// full=1 gives whole events.
	if ev := get(t, s, "/api/0/issues/"+topIssueID+"/events/?full=1&per_page=1").list(t)[0].(map[string]any); ev["entries"] == nil || ev["contexts"] == nil {
		t.Errorf("full row lacks entries: %v", sortedKeys(ev))
	}
	// sample=1: the same events in another, stable order.
	s1 := eventIDs(t, get(t, s, "/api/0/issues/"+topIssueID+"/events/?sample=1").list(t))
	s2 := eventIDs(t, get(t, s, "/api/0/issues/"+topIssueID+"/events/?sample=true").list(t))
	if !slices.Equal(s1, s2) || slices.Equal(s1, eventIDs(t, all)) || len(s1) != len(all) {
		t.Errorf("sample order %v vs %v", s1, eventIDs(t, all))
	}
}

func TestIssueEventsFilters(t *testing.T) {
	clock := &fixedClock{}
	data := DemoData()
	clock.set(data.BaseTime)
	s := newTestServer(t, data, Options{Now: clock.now}, "event:read")
	_, is := s.data.issueByID(topIssueID)
	latest := is.Events[0]
	user := latest["user"].(map[string]any)["email"].(string)
	n := func(q string) int { return len(get(t, s, "/api/0/issues/"+topIssueID+"/events/?"+q).list(t)) }
	wantUser := 0
	for _, ev := range is.Events {
		if ev["user"].(map[string]any)["email"] == user {
			wantUser++
		}
	}
	for _, tt := range []struct {
		q    string
		want int
	}{
		{"environment=production", len(is.Events)},
		{"environment=staging", 0}, // a known environment without events of this issue
		{"environment=nope", 0},    // unknown: get_environments raises, the endpoint answers []
		{"statsPeriod=1h", 1},
		{"query=user.email:" + user, wantUser},
		{"query=!user.email:" + user, len(is.Events) - wantUser},
		{"query=release:" + eventTag(latest, "release"), countTag(is, "release", eventTag(latest, "release"))},
		{"query=release:backend@*", len(is.Events)},
		{"query=connect", len(is.Events)},
		{"query=nothing-like-it", 0},
		{"query=has:url", len(is.Events)},
		{"query=user.email:nobody@example.com+OR+user.email:" + user, wantUser},
		{"query=" + eventIDOf(is.Events[2]), 1},                             // direct hit
		{"query=" + eventIDOf(is.Events[2]) + "&environment=production", 1}, // direct hit, filters ignored
		{"query=" + hexID("event", "4504101", "0"), 0},                      // another issue's event
		{"start=" + isoTime(data.BaseTime.Add(-time.Hour)) + "&end=" + isoTime(data.BaseTime), 1},
	} {
		if got := n(tt.q); got != tt.want {
			t.Errorf("?%s: %d events, want %d", tt.q, got, tt.want)
		}
	}
	if r := get(t, s, "/api/0/issues/"+topIssueID+"/events/?environment=nope"); r.header.Get("Link") != "" {
		t.Errorf("the unknown-environment [] carries a Link header: %q", r.header.Get("Link"))
	}
	// The default window is the last 90 days.
	clock.set(data.BaseTime.Add(120 * 24 * time.Hour))
	s.AddToken(testToken, "event:read") // the first one expired meanwhile
	if got := n(""); got != 0 {
		t.Errorf("120 days later: %d events, want none in the default 90-day window", got)
	}
	if got := n("statsPeriod=150d"); got != len(is.Events) {
		t.Errorf("statsPeriod=150d: %d", got)
	}
}

func countTag(is *Issue, key, value string) int {
	n := 0
	for _, ev := range is.Events {
		if eventTag(ev, key) == value {
			n++
		}
	}
	return n
}

func TestIssueEventsErrors(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:read")
	base := "/api/0/issues/" + topIssueID + "/events/"
	wantDetail(t, get(t, s, base+"?per_page=0"), 400, "Invalid per_page value. Must be between 1 and 100.")
	wantDetail(t, get(t, s, base+"?per_page=101"), 400, "Invalid per_page value. Must be between 1 and 100.")
	wantDetail(t, get(t, s, base+"?per_page=x"), 400, "Invalid per_page parameter.")
	wantDetail(t, get(t, s, base+"?cursor=nope"), 400, "Invalid cursor parameter.")
	wantDetail(t, get(t, s, base+"?cursor=0:-5:0"), 400, "Pagination offset cannot be negative")
	wantDetail(t, get(t, s, base+"?statsPeriod=1x"), 400, "Invalid statsPeriod: '1x'")
	wantDetail(t, get(t, s, base+"?query=release:"), 400, "Empty string after 'release:'")
	wantDetail(t, get(t, s, base+"?query=(release:1"), 400, fmt.Sprintf(msgEventSearchParse, "(release:1", 1))
	wantDetail(t, get(t, s, base+`?query=message:"unclosed`), 400, fmt.Sprintf(msgEventSearchParse, `"unclosed`, 9))
	wantDetail(t, get(t, s, "/api/0/issues/999999/events/"), 404, msgNotFound)
	wantDetail(t, get(t, s, "/api/0/organizations/acme-labs/issues/"+topIssueID+"/events/"), 404, msgNotFound)
}

func TestIssueEventDetails(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:read")
	_, is := s.data.issueByID(topIssueID)
	base := "/api/0/organizations/acme/issues/BACKEND-2/events/"
	if ev := get(t, s, base+"latest/").object(t); ev["eventID"] != eventIDOf(is.Events[0]) || ev["previousEventID"] != eventIDOf(is.Events[1]) || ev["nextEventID"] != nil {
		t.Errorf("latest: %v prev %v next %v", ev["eventID"], ev["previousEventID"], ev["nextEventID"])
	}
	oldest := is.Events[len(is.Events)-1]
	if ev := get(t, s, base+"oldest/").object(t); ev["eventID"] != eventIDOf(oldest) || ev["previousEventID"] != nil {
		t.Errorf("oldest: %v prev %v", ev["eventID"], ev["previousEventID"])
	}
	if ev := get(t, s, base+"recommended/").object(t); ev["eventID"] == nil {
		t.Errorf("recommended: %v", ev)
	}
	id := eventIDOf(is.Events[2])
	dashed := id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
	for _, ref := range []string{id, strings.ToUpper(id), dashed} {
		if ev := get(t, s, base+ref+"/").object(t); ev["eventID"] != id {
			t.Errorf("%s: %v", ref, ev["eventID"])
		}
	}
	wantDetail(t, get(t, s, base+"12345/"), 404, "Event not found. The event ID may be incorrect, or its age exceeded the retention period.")
	wantDetail(t, get(t, s, base+eventIDOf(s.data.Orgs[0].Issues[0].Events[0])+"/"), 404, "Event not found. The event ID may be incorrect, or its age exceeded the retention period.")
	if r := get(t, s, base+"newest/"); r.status != 404 || len(r.body) != 0 {
		t.Errorf("an unroutable event id: %d %q", r.status, r.body)
	}
	// The demo's events carry what get_event shows.
	ev := is.Events[0]
	var req map[string]any
	for _, en := range ev["entries"].([]any) {
		if en.(map[string]any)["type"] == "request" {
			req = en.(map[string]any)["data"].(map[string]any)
		}
	}
	headers := fmt.Sprint(req["headers"])
	if !strings.Contains(headers, "Authorization") || !strings.Contains(headers, "Cookie") || len(req["cookies"].([]any)) == 0 || req["env"] == nil {
		t.Errorf("the demo request should carry credentials for the tools to drop: %v", req)
	}
	ctx := ev["contexts"].(map[string]any)
	if ctx["trace"].(map[string]any)["trace_id"] == "" || ctx["runtime"] == nil || ctx["os"] == nil || ev["user"] == nil || ev["sdk"] == nil {
		t.Errorf("contexts %v user %v", ctx, ev["user"])
	}
}

func TestEventIDLookup(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "org:read")
	_, is := s.data.issueByID(topIssueID)
	id := eventIDOf(is.Events[1])
	m := get(t, s, "/api/0/organizations/acme/eventids/"+id+"/").object(t)
	if got, want := sortedKeys(m), sortedKeys(exampleObject("eventids.get.json")); !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	if m["organizationSlug"] != "acme" || m["projectSlug"] != "backend" || m["groupId"] != topIssueID || m["eventId"] != id || m["event"].(map[string]any)["eventID"] != id {
		t.Errorf("lookup %v", m)
	}
	wantDetail(t, get(t, s, "/api/0/organizations/acme/eventids/latest/"), 400, msgEventIDInvalid)
	wantDetail(t, get(t, s, "/api/0/organizations/acme/eventids/zz"+id[2:]+"/"), 400, msgEventIDInvalid)
	wantDetail(t, get(t, s, "/api/0/organizations/acme/eventids/"+hexID("nope")+"/"), 404, msgNotFound)
	// An event of another organization is not found in this one.
	wantDetail(t, get(t, s, "/api/0/organizations/acme-labs/eventids/"+id+"/"), 404, msgNotFound)
	wantDetail(t, get(t, s, "/api/0/organizations/nope/eventids/"+id+"/"), 404, msgNotFound)
}

func TestEventIDLookupRateLimit(t *testing.T) {
	clock := &fixedClock{}
	clock.set(time.Unix(1_800_000_000, 0))
	s := newTestServer(t, nil, Options{Now: clock.now, EnforceRateLimits: true}, "org:read")
	path := "/api/0/organizations/acme/eventids/" + hexID("event", topIssueID, "0") + "/"
	if r := get(t, s, path); r.status != 200 || r.header.Get("X-Sentry-Rate-Limit-Limit") != "1" {
		t.Fatalf("first: %d, limit %q", r.status, r.header.Get("X-Sentry-Rate-Limit-Limit"))
	}
	wantDetail(t, get(t, s, path), 429, "You are attempting to use this endpoint too frequently. Limit is 1 requests in 1 seconds")
	clock.set(clock.now().Add(time.Second))
	if r := get(t, s, path); r.status != 200 {
		t.Errorf("next window: %d", r.status)
	}
}

func TestProjectEventDetails(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "project:read")
	_, is := s.data.issueByID(topIssueID)
	id := eventIDOf(is.Events[3])
	if ev := get(t, s, "/api/0/projects/acme/backend/events/"+id+"/").object(t); ev["eventID"] != id {
		t.Errorf("by id: %v", ev["eventID"])
	}
	if ev := get(t, s, "/api/0/projects/acme/backend/events/"+id+"/?group_id="+topIssueID).object(t); ev["eventID"] != id {
		t.Errorf("with its group: %v", ev["eventID"])
	}
	wantDetail(t, get(t, s, "/api/0/projects/acme/backend/events/"+id+"/?group_id=4504101"), 404, "Event not found")
	wantDetail(t, get(t, s, "/api/0/projects/acme/frontend/events/"+id+"/"), 404, "Event not found")
	wantDetail(t, get(t, s, "/api/0/projects/acme/nope/events/"+id+"/"), 404, msgNotFound)
	if r := get(t, s, "/api/0/projects/acme/backend/events/latest/"); r.status != 404 || len(r.body) != 0 {
		t.Errorf("latest is not routed: %d %q", r.status, r.body)
	}
}

func TestDemoEvents(t *testing.T) {
	d := DemoData()
	total := 0
	for _, o := range d.Orgs {
		for _, is := range o.Issues {
			total += len(is.Events)
			envs := map[string]bool{}
			for i, ev := range is.Events {
				envs[eventEnvironment(ev)] = true
				if i > 0 && !eventTime(ev).Before(eventTime(is.Events[i-1])) {
					t.Errorf("%s: event %d is not older than the one before", is.ShortID, i)
				}
			}
			if len(is.Events) > 0 && len(envs) != len(is.Environments) {
				t.Errorf("%s: events in %v, issue in %v", is.ShortID, envs, is.Environments)
			}
			if n := len(is.Events); n > 0 && (!eventTime(is.Events[n-1]).Equal(is.FirstSeen) && n > 1 || !eventTime(is.Events[0]).Equal(is.LastSeen)) {
				t.Errorf("%s: events from %v to %v, issue seen %v to %v", is.ShortID, is.Events[n-1]["dateCreated"], is.Events[0]["dateCreated"], is.FirstSeen, is.LastSeen)
			}
		}
	}
	if total < 90 || total > 150 {
		t.Errorf("the demo holds %d events", total)
	}
	// Deterministic.
	if a, b := DemoDataAt(d.BaseTime).Orgs[0].Issues[1].Events[3], d.Orgs[0].Issues[1].Events[3]; fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("two demos differ")
	}
}
