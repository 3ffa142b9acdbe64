package sentrytest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func issueIDs(l []any) []string {
	var out []string
	for _, it := range l {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

func field[T any](l []any, key string) []T {
	var out []T
	for _, it := range l {
		v, _ := it.(map[string]any)[key].(T)
		out = append(out, v)
	}
	return out
}

func TestIssueListSearch(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	data := DemoDataAt(now)
	s := newTestServer(t, data, Options{Now: func() time.Time { return now }}, "event:read")
	acme := data.Orgs[0]
	count := func(pred func(*Issue) bool) int {
		n := 0
		for _, is := range acme.Issues {
			if pred(is) {
				n++
			}
		}
		return n
	}
	tests := []struct {
		query string
		want  int
		check func(*testing.T, []any)
	}{
		{"", count(func(is *Issue) bool { return is.Status == "unresolved" }), func(t *testing.T, l []any) {
			if st := field[string](l, "status"); slices.ContainsFunc(st, func(s string) bool { return s != "unresolved" }) {
				t.Errorf("default query returned %v", st)
			}
		}},
		{"query=", len(acme.Issues), nil},
		{"query=is:resolved", count(func(is *Issue) bool { return is.Status == "resolved" }), nil},
		{"query=is:ignored", count(func(is *Issue) bool { return is.Status == "ignored" }), nil},
		{"query=is:archived", count(func(is *Issue) bool { return is.Status == "ignored" }), nil},
		{"query=is:unresolved+level:warning", count(func(is *Issue) bool { return is.Status == "unresolved" && is.Level == "warning" }), nil},
		{"query=level:fatal", 1, nil},
		{"query=is:unresolved+is:assigned", count(func(is *Issue) bool { return is.Status == "unresolved" && is.AssignedTo != nil }), nil},
		{"query=is:unassigned", count(func(is *Issue) bool { return is.AssignedTo == nil }), nil},
		{"query=assigned:me", count(func(is *Issue) bool { return is.AssignedTo != nil && is.AssignedTo["id"] == "1" }), nil},
		{"query=assigned:%23platform", 1, nil},
		{"query=!level:error", count(func(is *Issue) bool { return is.Level != "error" }), nil},
		{"query=environment:staging", count(func(is *Issue) bool { return slices.Contains(is.Environments, "staging") }), nil},
		{"query=&environment=staging", count(func(is *Issue) bool { return slices.Contains(is.Environments, "staging") }), nil},
		{"query=release:backend@2.14.0", count(func(is *Issue) bool { return is.FirstRelease == "backend@2.14.0" || is.LastRelease == "backend@2.14.0" }), nil},
		{"query=division", 1, nil},
		{"query=Cannot+read+properties", 2, nil},
		{"query=%22nil+pointer%22", 1, nil},
		{"query=frontend-1a", 0, nil},
		{"query=is:unresolved+browser:Chrome*", -1, func(t *testing.T, l []any) {
			for _, p := range l {
				if p.(map[string]any)["project"].(map[string]any)["slug"] != "frontend" {
					t.Errorf("browser tag matched %v", p)
				}
			}
		}},
		{"query=&project=13", count(func(is *Issue) bool { return is.Project == "payments" }), nil},
		{"query=&project=11&project=12", count(func(is *Issue) bool { return is.Project != "payments" }), nil},
		{"query=&project=-1", len(acme.Issues), nil},
		{"query=&statsPeriod=24h", count(func(is *Issue) bool { return now.Sub(is.LastSeen) <= 24*time.Hour }), nil},
		{"query=&statsPeriod=14d", count(func(is *Issue) bool { return now.Sub(is.LastSeen) <= 14*24*time.Hour }), nil},
		{"query=age:-7d", count(func(is *Issue) bool { return now.Sub(is.FirstSeen) <= 7*24*time.Hour }), nil},
		{"query=timesSeen:>1000", count(func(is *Issue) bool { return is.Count > 1000 }), nil},
		{"query=is:for_review&sort=inbox", -1, nil},
		{"sort=freq", -1, func(t *testing.T, l []any) {
			c := field[string](l, "count")
			if !slices.IsSortedFunc(c, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return y - x }) {
				t.Errorf("sort=freq %v", c)
			}
		}},
		{"sort=user", -1, func(t *testing.T, l []any) {
			if u := field[float64](l, "userCount"); !slices.IsSortedFunc(u, func(a, b float64) int { return int(b - a) }) {
				t.Errorf("sort=user %v", u)
			}
		}},
		{"sort=new", -1, func(t *testing.T, l []any) {
			if f := field[string](l, "firstSeen"); !slices.IsSortedFunc(f, func(a, b string) int { return strings.Compare(b, a) }) {
				t.Errorf("sort=new %v", f)
			}
		}},
		{"query=", -1, func(t *testing.T, l []any) {
			if f := field[string](l, "lastSeen"); !slices.IsSortedFunc(f, func(a, b string) int { return strings.Compare(b, a) }) {
				t.Errorf("sort=date %v", f)
			}
		}},
		{"sort=trends", -1, nil},
		{"sort=recommended", -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := get(t, s, "/api/0/organizations/acme/issues/?"+tt.query)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			l := r.list(t)
			if tt.want >= 0 && len(l) != tt.want {
				t.Errorf("%d issues, want %d", len(l), tt.want)
			}
			if tt.check != nil {
				tt.check(t, l)
			}
		})
	}
}

func TestIssueListShapes(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:read")
	org := get(t, s, "/api/0/organizations/acme/issues/?limit=1&expand=inbox&expand=owners").list(t)[0].(map[string]any)
	tpl := exampleJSON(t, "issues.list.org.json").([]any)[0].(map[string]any)
	for k := range tpl {
		if _, ok := org[k]; !ok && k != "integrationIssues" && k != "sentryAppIssues" && k != "latestEventHasAttachments" && k != "sessionCount" && k != "derivedData" {
			t.Errorf("org list item lacks %q", k)
		}
	}
	if _, ok := org["inbox"]; !ok {
		t.Error("expand=inbox ignored")
	}
	if len(org["stats"].(map[string]any)["24h"].([]any)) != 24 {
		t.Errorf("stats %v", org["stats"])
	}
	plain := get(t, s, "/api/0/organizations/acme/issues/?limit=1").list(t)[0].(map[string]any)
	if _, ok := plain["inbox"]; ok {
		t.Error("inbox without expand")
	}
	proj := get(t, s, "/api/0/projects/acme/backend/issues/?statsPeriod=14d&limit=1").list(t)[0].(map[string]any)
	ptpl := exampleJSON(t, "issues.list.project.json").([]any)[0].(map[string]any)
	for k := range ptpl {
		if _, ok := proj[k]; !ok {
			t.Errorf("project list item lacks %q", k)
		}
	}
	if len(proj["stats"].(map[string]any)["14d"].([]any)) != 14 {
		t.Errorf("project stats %v", proj["stats"])
	}
	if _, ok := get(t, s, "/api/0/projects/acme/backend/issues/?statsPeriod=&limit=1").list(t)[0].(map[string]any)["stats"]; ok {
		t.Error("statsPeriod= should disable stats")
	}
	if p := proj["permalink"]; p != s.URL+"/organizations/acme/issues/"+proj["id"].(string)+"/" {
		t.Errorf("permalink %v", p)
	}
}

func TestMultiProjectNeedsGlobalViews(t *testing.T) {
	data := DemoData()
	data.Orgs[0].Features = slices.DeleteFunc(data.Orgs[0].Features, func(f string) bool { return f == "global-views" })
	s := newTestServer(t, data, Options{}, "event:read")
	for _, q := range []string{"", "?project=11&project=12", "?project=-1"} {
		wantDetail(t, get(t, s, "/api/0/organizations/acme/issues/"+q), 400, "You do not have the multi project stream feature enabled")
	}
	if r := get(t, s, "/api/0/organizations/acme/issues/?project=11"); r.status != 200 {
		t.Errorf("one project: %d", r.status)
	}
	// No member projects: an empty list.
	for _, p := range data.Orgs[0].Projects {
		p.NotMember = true
	}
	wantJSON(t, get(t, s, "/api/0/organizations/acme/issues/"), 200, `[]`)
}

func TestShortIDLookup(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:read")
	r := get(t, s, "/api/0/organizations/acme/shortids/backend-1/")
	m := r.object(t)
	if m["shortId"] != "BACKEND-1" || m["groupId"] != "4504101" || m["organizationSlug"] != "acme" || m["projectSlug"] != "backend" {
		t.Errorf("shortid %s", r.body)
	}
	if !reflect.DeepEqual(sortedKeys(m), sortedKeys(exampleJSON(t, "shortid.get.json").(map[string]any))) {
		t.Errorf("shortid keys %v", keys(m))
	}
	g := m["group"].(map[string]any)
	for k := range exampleJSON(t, "shortid.get.json").(map[string]any)["group"].(map[string]any) {
		if _, ok := g[k]; !ok {
			t.Errorf("group lacks %q", k)
		}
	}
	// Direct hit on the org issue list.
	r = get(t, s, "/api/0/organizations/acme/issues/?query=Backend-1&shortIdLookup=1")
	if r.header.Get("X-Sentry-Direct-Hit") != "1" || len(r.list(t)) != 1 || r.header.Get("Link") != "" {
		t.Errorf("direct hit: %v %s", r.header, r.body)
	}
	// Without shortIdLookup it is a plain search.
	if r = get(t, s, "/api/0/organizations/acme/issues/?query=BACKEND-1"); r.header.Get("X-Sentry-Direct-Hit") != "" {
		t.Error("direct hit without shortIdLookup")
	}
	// The project list only hits its own project's issues.
	if r = get(t, s, "/api/0/projects/acme/frontend/issues/?query=BACKEND-1&shortIdLookup=1"); r.header.Get("X-Sentry-Direct-Hit") != "" {
		t.Error("direct hit across projects")
	}
	if r = get(t, s, "/api/0/projects/acme/backend/issues/?query=BACKEND-1&shortIdLookup=1"); r.header.Get("X-Sentry-Direct-Hit") != "1" {
		t.Error("no direct hit in the project")
	}
	// An event id is a direct hit too.
	ev := get(t, s, "/api/0/issues/4504102/events/latest/").object(t)
	r = get(t, s, "/api/0/organizations/acme/issues/?query="+ev["eventID"].(string))
	if l := r.list(t); r.header.Get("X-Sentry-Direct-Hit") != "1" || len(l) != 1 || l[0].(map[string]any)["matchingEventId"] != ev["eventID"] {
		t.Errorf("event id hit: %s", r.body)
	}
	// Details by short id (case-insensitive) on the org path only.
	for _, p := range []string{"/api/0/organizations/acme/issues/backend-1/", "/api/0/organizations/1/issues/BACKEND-1/", "/api/0/issues/4504101/", "/api/0/groups/4504101/"} {
		if d := get(t, s, p).object(t); d["id"] != "4504101" {
			t.Errorf("%s: %v", p, d["id"])
		}
	}
}

func TestIssueDetailsShape(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:read")
	d := get(t, s, "/api/0/organizations/acme/issues/BACKEND-1/").object(t)
	for k := range exampleJSON(t, "issue.get.json").(map[string]any) {
		if _, ok := d[k]; !ok {
			t.Errorf("details lack %q", k)
		}
	}
	stats := d["stats"].(map[string]any)
	if len(stats["24h"].([]any)) != 24 || len(stats["30d"].([]any)) != 30 {
		t.Errorf("stats %v", stats)
	}
	var names []string
	for _, tg := range d["tags"].([]any) {
		m := tg.(map[string]any)
		names = append(names, m["name"].(string))
		if m["totalValues"] != float64(1243) {
			t.Errorf("tag %v", m)
		}
	}
	if !slices.IsSorted(names) || !slices.Contains(names, "Environment") || !slices.Contains(names, "Server") {
		t.Errorf("tags %v", names)
	}
	if fr := d["firstRelease"].(map[string]any); !strings.HasPrefix(fr["version"].(string), "backend@") {
		t.Errorf("firstRelease %v", fr)
	}
	if d["permalink"] != s.URL+"/organizations/acme/issues/4504101/" {
		t.Errorf("permalink %v", d["permalink"])
	}
	if c := get(t, s, "/api/0/issues/4504101/?collapse=stats&collapse=tags&collapse=release").object(t); c["stats"] != nil || c["tags"] != nil || c["firstRelease"] != nil {
		t.Errorf("collapse ignored: %v", keys(c))
	}
	// environment narrows the counts.
	if p := get(t, s, "/api/0/issues/4504101/?environment=staging").object(t); p["count"] == d["count"] {
		t.Errorf("environment=staging count %v", p["count"])
	}
}

func TestLatestEvent(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:read")
	for _, p := range []string{"/api/0/organizations/acme/issues/FRONTEND-1/events/latest/", "/api/0/issues/4504113/events/latest/"} {
		ev := get(t, s, p).object(t)
		for k := range exampleJSON(t, "event.latest.json").(map[string]any) {
			if _, ok := ev[k]; !ok {
				t.Errorf("event lacks %q", k)
			}
		}
		if ev["groupID"] != "4504113" || ev["projectID"] != "12" || ev["platform"] != "javascript" {
			t.Errorf("event %v %v %v", ev["groupID"], ev["projectID"], ev["platform"])
		}
	}
	older := get(t, s, "/api/0/issues/4504113/events/latest/?environment=staging").object(t)
	latest := get(t, s, "/api/0/issues/4504113/events/latest/").object(t)
	if older["eventID"] == latest["eventID"] || latest["previousEventID"] == nil {
		t.Error("environment does not pick another event")
	}
	if byID := get(t, s, "/api/0/issues/4504113/events/"+latest["eventID"].(string)+"/").object(t); byID["eventID"] != latest["eventID"] {
		t.Error("event by id")
	}
	if r := get(t, s, "/api/0/issues/4504113/events/latest/?statsPeriod=1x"); r.status != 400 {
		t.Errorf("bad range %d", r.status)
	}
}

func TestUpdateIssue(t *testing.T) {
	put := func(t *testing.T, s *Server, path, body string) resp {
		t.Helper()
		return do(t, s, "PUT", path, testToken, body)
	}
	tests := []struct {
		name    string
		path    string
		body    string
		status  int
		check   func(t *testing.T, got map[string]any)
		errBody string
	}{
		{name: "resolve", body: `{"status": "resolved"}`, status: 200, check: func(t *testing.T, m map[string]any) {
			if m["status"] != "resolved" || m["substatus"] != nil || len(m["statusDetails"].(map[string]any)) != 0 {
				t.Errorf("resolved: %v %v %v", m["status"], m["substatus"], m["statusDetails"])
			}
		}},
		{name: "resolve in next release", body: `{"status": "resolved", "statusDetails": {"inNextRelease": true}}`, status: 200, check: func(t *testing.T, m map[string]any) {
			sd := m["statusDetails"].(map[string]any)
			if m["status"] != "resolved" || sd["inNextRelease"] != true || sd["actor"].(map[string]any)["name"] != "Dana Reyes" {
				t.Errorf("next release: %v %v", m["status"], sd)
			}
		}},
		{name: "resolvedInNextRelease shorthand", body: `{"status": "resolvedInNextRelease"}`, status: 200, check: func(t *testing.T, m map[string]any) {
			if m["status"] != "resolved" || m["statusDetails"].(map[string]any)["inNextRelease"] != true {
				t.Errorf("shorthand: %v %v", m["status"], m["statusDetails"])
			}
		}},
		{name: "resolve in latest release", body: `{"status": "resolved", "statusDetails": {"inRelease": "latest"}}`, status: 200, check: func(t *testing.T, m map[string]any) {
			if sd := m["statusDetails"].(map[string]any); sd["inRelease"] != "backend@2.14.0" {
				t.Errorf("latest: %v", sd)
			}
		}},
		{name: "resolve in named release", path: "/api/0/issues/4504101/", body: `{"status": "resolved", "statusDetails": {"inRelease": "backend@2.13.1"}}`, status: 200, check: func(t *testing.T, m map[string]any) {
			if sd := m["statusDetails"].(map[string]any); sd["inRelease"] != "backend@2.13.1" {
				t.Errorf("named: %v", sd)
			}
		}},
		{name: "unknown release", body: `{"status": "resolved", "statusDetails": {"inRelease": "backend@9.9.9"}}`, status: 400, errBody: `{"statusDetails": {"inRelease": ["Unable to find a release with the given version."]}}`},
		{name: "release of another project", body: `{"status": "resolved", "statusDetails": {"inRelease": "frontend@5.3.0"}}`, status: 400, errBody: `{"statusDetails": {"inRelease": ["Unable to find a release with the given version."]}}`},
		{name: "unknown status", body: `{"status": "fixed"}`, status: 400, errBody: `{"status": ["\"fixed\" is not a valid choice."]}`},
		{name: "several errors", body: `{"status": true, "priority": "urgent", "hasSeen": "maybe"}`, status: 400, errBody: `{"status": ["\"True\" is not a valid choice."], "priority": ["\"urgent\" is not a valid choice."], "hasSeen": ["Must be a valid boolean."]}`},
		{name: "statusDetails not an object", body: `{"status": "resolved", "statusDetails": "soon"}`, status: 400, errBody: `{"statusDetails": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}}`},
		{name: "ignore window too long", body: `{"status": "ignored", "statusDetails": {"ignoreCount": 5, "ignoreWindow": 20000}}`, status: 400, errBody: `{"statusDetails": {"ignoreWindow": ["Ensure this value is less than or equal to 10080."]}}`},
		{name: "unknown assignee", body: `{"assignedTo": "user:999"}`, status: 400, errBody: `{"assignedTo": ["User does not exist"]}`},
		{name: "bad assignee", body: `{"assignedTo": "nobody"}`, status: 400, errBody: "{\"assignedTo\": [\"Could not parse actor. Format should be `type:id` where type is `team` or `user`.\"]}"},
		{name: "ignore for an hour", body: `{"status": "ignored", "statusDetails": {"ignoreDuration": 60}}`, status: 200, check: func(t *testing.T, m map[string]any) {
			sd := m["statusDetails"].(map[string]any)
			if m["status"] != "ignored" || m["substatus"] != "archived_until_condition_met" || sd["ignoreUntil"] == nil {
				t.Errorf("ignore: %v %v %v", m["status"], m["substatus"], sd)
			}
		}},
		{name: "archive forever", body: `{"status": "ignored", "substatus": "archived_forever"}`, status: 200, check: func(t *testing.T, m map[string]any) {
			if m["status"] != "ignored" || m["substatus"] != "archived_forever" {
				t.Errorf("archive: %v %v", m["status"], m["substatus"])
			}
		}},
		{name: "assign, seen, bookmark, priority", body: `{"assignedTo": "user:2", "hasSeen": true, "isBookmarked": true, "priority": "low"}`, status: 200, check: func(t *testing.T, m map[string]any) {
			a := m["assignedTo"].(map[string]any)
			if a["id"] != "2" || a["type"] != "user" || m["hasSeen"] != true || m["isBookmarked"] != true || m["priority"] != "low" || m["priorityLockedAt"] == nil {
				t.Errorf("fields: %v %v %v %v", a, m["hasSeen"], m["isBookmarked"], m["priority"])
			}
			if m["status"] != "unresolved" || m["substatus"] != "ongoing" {
				t.Errorf("status changed: %v", m["status"])
			}
		}},
		{name: "assign by email and team", body: `{"assignedTo": "team:4"}`, status: 200, check: func(t *testing.T, m map[string]any) {
			if a := m["assignedTo"].(map[string]any); a["type"] != "team" || a["name"] != "platform" {
				t.Errorf("team: %v", a)
			}
		}},
		{name: "unassign", body: `{"assignedTo": ""}`, status: 200, check: func(t *testing.T, m map[string]any) {
			if m["assignedTo"] != nil {
				t.Errorf("unassign: %v", m["assignedTo"])
			}
		}},
		{name: "empty body changes nothing", body: `{}`, status: 200, check: func(t *testing.T, m map[string]any) {
			if m["status"] != "unresolved" || m["assignedTo"].(map[string]any)["id"] != "1" || m["title"] != "ZeroDivisionError: division by zero" {
				t.Errorf("empty PUT changed %v", m)
			}
		}},
		{name: "short id on org path", path: "/api/0/organizations/acme/issues/backend-1/", body: `{"status": "resolved"}`, status: 200, check: func(t *testing.T, m map[string]any) {
			if m["status"] != "resolved" {
				t.Errorf("status %v", m["status"])
			}
		}},
		{name: "issue of another org", path: "/api/0/organizations/acme-labs/issues/4504101/", body: `{"status": "resolved"}`, status: 404, errBody: `{"detail": "The requested resource does not exist"}`},
		{name: "not JSON", body: `{"status": `, status: 400},
		{name: "discard", body: `{"discard": true}`, status: 400, errBody: `{"detail": ["You do not have that feature enabled"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, nil, Options{}, "event:admin")
			path := tt.path
			if path == "" {
				path = "/api/0/organizations/acme/issues/4504101/"
			}
			before := s.Issue("4504101")
			r := put(t, s, path, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			after := s.Issue("4504101")
			if tt.status != 200 {
				if tt.errBody != "" {
					wantJSON(t, r, tt.status, tt.errBody)
				}
				if before["status"] != after["status"] || !reflect.DeepEqual(before["assignedTo"], after["assignedTo"]) {
					t.Error("a rejected update changed the issue")
				}
				return
			}
			m := r.object(t)
			// Full base issue, no details-only fields.
			for k := range exampleJSON(t, "issue.update.response.json").(map[string]any) {
				if _, ok := m[k]; !ok {
					t.Errorf("response lacks %q", k)
				}
			}
			for _, k := range []string{"activity", "stats", "tags", "seenBy"} {
				if _, ok := m[k]; ok {
					t.Errorf("response has details field %q", k)
				}
			}
			tt.check(t, m)
			// The change is stored.
			for _, k := range []string{"status", "substatus", "statusDetails", "assignedTo", "hasSeen", "isBookmarked", "priority"} {
				if !reflect.DeepEqual(m[k], after[k]) {
					t.Errorf("Issue()[%s] = %v, PUT said %v", k, after[k], m[k])
				}
			}
			// GET agrees.
			g := get(t, s, "/api/0/issues/4504101/").object(t)
			if g["status"] != m["status"] || !reflect.DeepEqual(g["statusDetails"], m["statusDetails"]) {
				t.Errorf("GET after PUT: %v %v", g["status"], g["statusDetails"])
			}
		})
	}
}

func TestUpdateRoundTrips(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:write")
	do(t, s, "PUT", "/api/0/issues/4504101/", testToken, `{"status": "resolved", "statusDetails": {"inNextRelease": true}}`)
	m := do(t, s, "PUT", "/api/0/issues/4504101/", testToken, `{"status": "unresolved"}`).object(t)
	// infer_substatus: a resolved issue reopened is regressed.
	if m["status"] != "unresolved" || m["substatus"] != "regressed" || len(m["statusDetails"].(map[string]any)) != 0 {
		t.Errorf("unresolve: %v %v %v", m["status"], m["substatus"], m["statusDetails"])
	}
	d := s.Issue("4504101")
	var types []string
	for _, a := range d["activity"].([]any) {
		types = append(types, a.(map[string]any)["type"].(string))
	}
	if !slices.Equal(types[:2], []string{"set_unresolved", "set_resolved_in_release"}) {
		t.Errorf("activity %v", types)
	}
	// Resolved issues leave the default (is:unresolved) list.
	l := get(t, s, "/api/0/organizations/acme/issues/?project=11").list(t)
	if !slices.Contains(issueIDs(l), "4504101") {
		t.Error("unresolved issue missing from the list")
	}
	do(t, s, "PUT", "/api/0/issues/4504101/", testToken, `{"status": "resolved"}`)
	if l = get(t, s, "/api/0/organizations/acme/issues/?project=11").list(t); slices.Contains(issueIDs(l), "4504101") {
		t.Error("resolved issue still listed as unresolved")
	}
	// Form bodies are parsed; other media types are refused.
	if r := do(t, s, "PUT", "/api/0/issues/4504101/", testToken, "status=unresolved", "Content-Type", "application/x-www-form-urlencoded"); r.object(t)["status"] != "unresolved" {
		t.Errorf("form PUT: %s", r.body)
	}
	wantDetail(t, do(t, s, "PUT", "/api/0/issues/4504101/", testToken, "status=resolved", "Content-Type", "text/plain"), 415, `Unsupported media type "text/plain" in request.`)
	if s.Issue("nope") != nil {
		t.Error("Issue of an unknown id")
	}
}

func TestDemoData(t *testing.T) {
	at := time.Date(2026, 3, 10, 8, 30, 45, 0, time.UTC)
	a, b := DemoDataAt(at), DemoDataAt(at)
	sa := NewServer(a, Options{Now: func() time.Time { return at }})
	defer sa.Close()
	sb := NewServer(b, Options{Now: func() time.Time { return at }})
	defer sb.Close()
	if !reflect.DeepEqual(normalize(sa.Issue("4504101"), sa.URL), normalize(sb.Issue("4504101"), sb.URL)) {
		t.Error("DemoDataAt is not deterministic")
	}
	if a.Orgs[0].Issues[0] == b.Orgs[0].Issues[0] {
		t.Error("DemoData copies share issues")
	}
	if u := a.User; u["name"] != "Dana Reyes" || u["id"] != "1" || u["email"] != "dana@acme.example" {
		t.Errorf("user %v", u)
	}
	acme, labs := a.Orgs[0], a.Orgs[1]
	if acme.Slug != "acme" || acme.Name != "Acme Corp" || acme.ID != "1" || !slices.Contains(acme.Features, "global-views") {
		t.Errorf("acme %+v", acme)
	}
	if labs.Slug != "acme-labs" || len(labs.Projects) != 1 || labs.Projects[0].Slug != "prototype" {
		t.Errorf("acme-labs %+v", labs)
	}
	var slugs []string
	for _, p := range acme.Projects {
		slugs = append(slugs, p.Slug+"/"+p.Platform+"/"+p.ID)
	}
	if !slices.Equal(slugs, []string{"backend/python/11", "frontend/javascript/12", "payments/go/13"}) {
		t.Errorf("projects %v", slugs)
	}
	if n := len(acme.Issues); n < 28 || n > 32 {
		t.Errorf("%d acme issues", n)
	}
	noEvents := 0
	statuses := map[string]int{}
	for _, is := range acme.Issues {
		statuses[is.Status]++
		if at.Sub(is.FirstSeen) > 30*24*time.Hour || is.LastSeen.Before(is.FirstSeen) || is.LastSeen.After(at) {
			t.Errorf("%s seen %v..%v", is.ShortID, is.FirstSeen, is.LastSeen)
		}
		if is.FirstRelease == "" || is.LastRelease == "" || acme.release(is.FirstRelease, is.Project) == nil {
			t.Errorf("%s releases %q %q", is.ShortID, is.FirstRelease, is.LastRelease)
		}
		if len(is.Events) == 0 {
			noEvents++
			continue
		}
		if is.Status != "unresolved" {
			continue
		}
		ex := is.Events[0]["entries"].([]any)[0].(map[string]any)["data"].(map[string]any)["values"].([]any)[0].(map[string]any)
		frames := ex["stacktrace"].(map[string]any)["frames"].([]any)
		inApp, lib := 0, 0
		for _, f := range frames {
			fm := f.(map[string]any)
			for _, k := range []string{"filename", "absPath", "function", "module", "lineNo", "colNo", "inApp", "context"} {
				if _, ok := fm[k]; !ok {
					t.Errorf("%s frame lacks %s", is.ShortID, k)
				}
			}
			if fm["inApp"] == true {
				inApp++
			} else {
				lib++
			}
			if ctx := fm["context"].([]any); len(ctx) < 3 {
				t.Errorf("%s frame %v has %d context lines", is.ShortID, fm["function"], len(ctx))
			}
		}
		if len(frames) < 6 || len(frames) > 15 || inApp == 0 || lib == 0 {
			t.Errorf("%s: %d frames, %d in app", is.ShortID, len(frames), inApp)
		}
		if ex["mechanism"].(map[string]any)["handled"] == nil || ex["type"] == "" {
			t.Errorf("%s exception %v", is.ShortID, ex)
		}
	}
	if noEvents != 1 || statuses["unresolved"] < 18 || statuses["resolved"] < 2 || statuses["ignored"] < 2 {
		t.Errorf("%d issues without events, statuses %v", noEvents, statuses)
	}
	if acme.Issues[0].ShortID != "BACKEND-1" || len(acme.Issues[0].Events) == 0 {
		t.Error("BACKEND-1 should be the first issue, with events")
	}
	if got := base32Encode(42); got != "1A" {
		t.Errorf("base32(42) = %s", got)
	}
}

// normalize drops the server URL and wall-clock values from a serialization.
func normalize(m map[string]any, url string) string {
	b, _ := json.Marshal(m)
	return strings.ReplaceAll(string(b), url, "URL")
}

func TestAddIssues(t *testing.T) {
	data := ExampleData()
	data.AddIssues("the-interstellar-jurisdiction", "2", 3)
	data.AddIssues("the-interstellar-jurisdiction", "pump-station", 2)
	o := data.Orgs[0]
	if len(o.Issues) != 6 {
		t.Fatalf("%d issues", len(o.Issues))
	}
	var ids, short []string
	for _, is := range o.Issues {
		ids = append(ids, is.ID)
		short = append(short, is.ShortID)
		if len(is.Events) != 1 || is.Status != "unresolved" {
			t.Errorf("%s: %d events, %s", is.ShortID, len(is.Events), is.Status)
		}
	}
	if !slices.Equal(ids, []string{"1", "2", "3", "4", "5", "6"}) || short[5] != "PUMP-STATION-6" {
		t.Errorf("ids %v %v", ids, short)
	}
	s := newTestServer(t, data, Options{}, "event:read")
	if l := get(t, s, "/api/0/organizations/the-interstellar-jurisdiction/issues/?query=&project=2").list(t); len(l) != 6 {
		t.Errorf("%d listed", len(l))
	}
	if ev := get(t, s, "/api/0/issues/6/events/latest/").object(t); ev["groupID"] != "6" {
		t.Errorf("event %v", ev["groupID"])
	}
	defer func() {
		if recover() == nil {
			t.Error("AddIssues into an unknown project did not panic")
		}
	}()
	data.AddIssues("the-interstellar-jurisdiction", "nope", 1)
}

func TestExampleData(t *testing.T) {
	s := newTestServer(t, ExampleData(), Options{RegionURL: "https://us.example.test"}, "org:read", "event:read", "project:read")
	orgs := get(t, s, "/api/0/organizations/").list(t)
	want := exampleJSON(t, "organizations.list.json").([]any)[0].(map[string]any)
	got := orgs[0].(map[string]any)
	if got["slug"] != "the-interstellar-jurisdiction" || got["links"].(map[string]any)["regionUrl"] != "https://us.example.test" ||
		got["links"].(map[string]any)["organizationUrl"] != want["links"].(map[string]any)["organizationUrl"] {
		t.Errorf("org %v", got)
	}
	if !reflect.DeepEqual(sortedKeys(got), sortedKeys(want)) {
		t.Errorf("org keys %v", keys(got))
	}
	projects := get(t, s, "/api/0/organizations/the-interstellar-jurisdiction/projects/").list(t)
	if !slices.Equal(slugsOf(projects), []string{"prime-mover", "pump-station"}) {
		t.Errorf("projects %v", slugsOf(projects))
	}
	d := get(t, s, "/api/0/organizations/the-interstellar-jurisdiction/issues/PUMP-STATION-1/").object(t)
	tpl := exampleJSON(t, "issue.get.json").(map[string]any)
	for _, k := range []string{"id", "shortId", "title", "culprit", "permalink", "count", "userCount", "firstSeen", "lastSeen", "assignedTo", "firstRelease", "lastRelease", "status", "substatus", "metadata", "type", "activity"} {
		if !reflect.DeepEqual(d[k], tpl[k]) {
			t.Errorf("issue %s = %v, example %v", k, d[k], tpl[k])
		}
	}
	ev := get(t, s, "/api/0/issues/1/events/latest/").object(t)
	evt := exampleJSON(t, "event.latest.json").(map[string]any)
	evt["groupID"], evt["projectID"] = "1", "2"
	if !reflect.DeepEqual(ev, evt) {
		t.Error("latest event differs from event.latest.json")
	}
	rels := get(t, s, "/api/0/organizations/the-interstellar-jurisdiction/releases/").list(t)
	if len(rels) != 1 || rels[0].(map[string]any)["version"] != "frontend@1.0.0" {
		t.Errorf("releases %v", rels)
	}
	idx := get(t, s, "/api/0/").object(t)
	if !reflect.DeepEqual(idx["user"], exampleJSON(t, "api.index.json").(map[string]any)["user"]) {
		t.Errorf("user %v", idx["user"])
	}
}

func TestConcurrentRequestsShareData(t *testing.T) {
	data := DemoData()
	a := newTestServer(t, data, Options{}, "event:write", "org:read")
	b := newTestServer(t, data, Options{RegionURL: a.URL}, "event:write", "org:read")
	if l := get(t, b, "/api/0/organizations/").list(t); l[0].(map[string]any)["links"].(map[string]any)["regionUrl"] != a.URL {
		t.Errorf("regionUrl %v", l[0])
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			path := fmt.Sprintf("/api/0/issues/%d/", 4504101+i%5)
			if i%3 == 0 {
				do(t, s, "PUT", path, testToken, `{"hasSeen": true}`)
			} else {
				get(t, s, "/api/0/organizations/acme/issues/?query=")
			}
		}(i)
	}
	wg.Wait()
	if len(a.Requests())+len(b.Requests()) != 21 {
		t.Errorf("%d requests logged", len(a.Requests())+len(b.Requests()))
	}
}
