package sentrytest

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// statuses maps issue id -> status of every issue of acme.
func statuses(s *Server) map[string]string {
	s.data.mu.Lock()
	defer s.data.mu.Unlock()
	out := map[string]string{}
	for _, is := range s.data.org("acme").Issues {
		out[is.ID] = is.Status
	}
	return out
}

func changedIDs(before, after map[string]string) []string {
	var out []string
	for id, st := range after {
		if before[id] != st {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func activityTypes(t *testing.T, s *Server, id string) []string {
	t.Helper()
	var out []string
	for _, a := range s.Issue(id)["activity"].([]any) {
		out = append(out, a.(map[string]any)["type"].(string))
	}
	return out
}

// TestBulkUpdateTrap reproduces Sentry's trap: a bulk PUT whose ids match
// nothing (or that has no id) changes the issues of the default search
// (is:unresolved), up to 1000 of them.
func TestBulkUpdateTrap(t *testing.T) {
	for _, q := range []string{"?id=999999", "", "?id=4504131"} { // unknown, none, another org's
		t.Run(q, func(t *testing.T) {
			s := newTestServer(t, nil, Options{}, "event:write")
			before := statuses(s)
			var unresolved []string
			for id, st := range before {
				if st == "unresolved" && id != "4504131" && id != "4504132" {
					unresolved = append(unresolved, id)
				}
			}
			slices.Sort(unresolved)
			r := do(t, s, "PUT", "/api/0/organizations/acme/issues/"+q, testToken, `{"status": "ignored"}`)
			wantJSON(t, r, 200, `{"status": "ignored", "statusDetails": {}, "inbox": null}`)
			if got := changedIDs(before, statuses(s)); !reflect.DeepEqual(got, unresolved) {
				t.Errorf("changed %v, want every unresolved issue %v", got, unresolved)
			}
		})
	}
	t.Run("at most 1000", func(t *testing.T) {
		d := DemoData()
		d.AddIssues("acme", "backend", 1005)
		s := newTestServer(t, d, Options{}, "event:write")
		do(t, s, "PUT", "/api/0/organizations/acme/issues/?id=1&project=11", testToken, `{"priority": "low"}`)
		n := 0
		for _, is := range d.org("acme").Issues {
			if is.Project == "backend" && is.Priority == "low" && !is.priorityLockedAt.IsZero() {
				n++
			}
		}
		if n != bulkMutationLimit {
			t.Errorf("%d issues changed, want %d", n, bulkMutationLimit)
		}
	})
}

func TestBulkUpdate(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		body    string
		status  int
		want    string // exact body; "example:<file>" compares with an example
		changed []string
	}{
		{name: "explicit ids, escalating", query: "?id=4504103&id=4504105&project=11", body: `{"status": "ignored", "substatus": "archived_until_escalating"}`,
			status: 200, want: "example:issues.bulk_update.escalating.response.json", changed: []string{"4504103", "4504105"}},
		{name: "out-of-scope id dropped", query: "?id=4504103&id=4504114&project=11", body: `{"status": "resolved"}`,
			status: 200, want: `{"status": "resolved", "statusDetails": {}, "inbox": null}`, changed: []string{"4504103"}},
		{name: "unresolve several", query: "?id=4504107&id=4504108", body: `{"status": "unresolved", "substatus": "ongoing"}`,
			status: 200, want: "example:issues.bulk_update.unresolved.response.json", changed: []string{"4504107", "4504108"}},
		{name: "flags", query: "?id=4504103", body: `{"isBookmarked": true, "isSubscribed": true, "hasSeen": true, "priority": "high"}`,
			status: 200, want: "example:issues.bulk_update.flags.response.json"},
		{name: "non-integer id", query: "?id=BACKEND-3", body: `{"status": "resolved"}`, status: 500},
		{name: "unknown environment before ids", query: "?id=abc&environment=nope", body: `{"status": "resolved"}`, status: 404, want: `{"detail": "The requested resource does not exist"}`},
		{name: "nothing found", query: "?id=999999&query=nosuchtext0123", body: `{"status": "resolved"}`, status: 204},
		{name: "invalid search", query: "?id=999999&query=is:bogus", body: `{"status": "resolved"}`, status: 400, want: `{"detail": "Invalid query. Error getting group ids and group list"}`},
		{name: "next release over two projects", query: "?id=4504103&id=4504114", body: `{"status": "resolvedInNextRelease"}`,
			status: 400, want: "example:issues.bulk_update.multi_project_release.error.json"},
		{name: "in release over two projects", query: "?id=4504103&id=4504114", body: `{"status": "resolved", "statusDetails": {"inRelease": "latest"}}`,
			status: 400, want: `{"detail": "Cannot set resolved in release for multiple projects."}`},
		{name: "plain resolve over two projects", query: "?id=4504103&id=4504114", body: `{"status": "resolved"}`,
			status: 200, want: `{"status": "resolved", "statusDetails": {}, "inbox": null}`, changed: []string{"4504103", "4504114"}},
		{name: "DRF field error", query: "?id=4504103", body: `{"assignedTo": "user:999"}`, status: 400, want: `{"assignedTo": ["User does not exist"]}`},
		{name: "unknown release in one project", query: "?id=4504103&project=11", body: `{"status": "resolved", "statusDetails": {"inRelease": "frontend@5.3.0"}}`,
			status: 400, want: `{"statusDetails": {"inRelease": ["Unable to find a release with the given version."]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, nil, Options{}, "event:write")
			before := statuses(s)
			r := do(t, s, "PUT", "/api/0/organizations/acme/issues/"+tt.query, testToken, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			switch {
			case tt.status == 204:
				if len(r.body) != 0 {
					t.Errorf("204 with a body %q", r.body)
				}
			case tt.status == 500:
				if m := r.object(t); m["detail"] != "Internal Error" || m["errorId"] == nil {
					t.Errorf("500 body %s", r.body)
				}
			case strings.HasPrefix(tt.want, "example:"):
				b, _ := json.Marshal(exampleJSON(t, strings.TrimPrefix(tt.want, "example:")))
				wantJSON(t, r, tt.status, string(b))
			default:
				wantJSON(t, r, tt.status, tt.want)
			}
			if got := changedIDs(before, statuses(s)); !slices.Equal(got, tt.changed) {
				t.Errorf("changed %v, want %v", got, tt.changed)
			}
		})
	}
}

func TestBulkUpdateShapesAndActivity(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:write")
	path := "/api/0/organizations/acme/issues/?id=4504103&id=4504105&project=11"
	// Archive until a count: the answer has handle_ignored's keys.
	r := do(t, s, "PUT", path, testToken, `{"status": "ignored", "substatus": "archived_until_condition_met", "statusDetails": {"ignoreCount": 100, "ignoreWindow": 60}}`)
	got, want := r.object(t), exampleJSON(t, "issues.bulk_update.ignore.response.json").(map[string]any)
	gotKeys, wantKeys := keys(got), keys(want)
	slices.Sort(gotKeys)
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("keys %v, want %v", gotKeys, wantKeys)
	}
	sd := got["statusDetails"].(map[string]any)
	for _, k := range []string{"ignoreCount", "ignoreWindow", "ignoreUntil", "ignoreUserCount", "ignoreUserWindow"} {
		if !reflect.DeepEqual(sd[k], want["statusDetails"].(map[string]any)[k]) {
			t.Errorf("statusDetails.%s = %v, want %v", k, sd[k], want["statusDetails"].(map[string]any)[k])
		}
	}
	if got["substatus"] != "archived_until_condition_met" || s.Issue("4504105")["substatus"] != "archived_until_condition_met" {
		t.Errorf("substatus %v / stored %v", got["substatus"], s.Issue("4504105")["substatus"])
	}
	// Each change is recorded as an activity on every issue, newest first.
	do(t, s, "PUT", path, testToken, `{"assignedTo": "user:2"}`)
	r = do(t, s, "PUT", path, testToken, `{"assignedTo": ""}`)
	wantJSON(t, r, 200, `{"assignedTo": null}`)
	do(t, s, "PUT", path, testToken, `{"priority": "high"}`)
	do(t, s, "PUT", path, testToken, `{"status": "unresolved"}`)
	do(t, s, "PUT", path, testToken, `{"status": "resolved"}`)
	for _, id := range []string{"4504103", "4504105"} {
		if got := activityTypes(t, s, id); !slices.Equal(got[:6], []string{"set_resolved", "set_unresolved", "set_priority", "unassigned", "assigned", "set_ignored"}) {
			t.Errorf("%s activity %v", id, got)
		}
		// Several issues reopened at once are ongoing (infer_substatus).
	}
	// Without event:write the PUT is refused before anything.
	s.AddToken("reader", "event:read")
	before := statuses(s)
	wantDetail(t, do(t, s, "PUT", path, "reader", `{"status": "ignored"}`), 403, msgForbidden)
	if got := changedIDs(before, statuses(s)); got != nil {
		t.Errorf("a refused PUT changed %v", got)
	}
}

func TestBulkUnresolveSeveralIsOngoing(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:write")
	// One issue: resolved -> regressed, ignored (old) -> ongoing.
	r := do(t, s, "PUT", "/api/0/organizations/acme/issues/?id=4504107", testToken, `{"status": "unresolved"}`)
	wantJSON(t, r, 200, `{"status": "unresolved", "statusDetails": {}}`)
	if sub := s.Issue("4504107")["substatus"]; sub != "regressed" {
		t.Errorf("one reopened resolved issue: %v", sub)
	}
	do(t, s, "PUT", "/api/0/organizations/acme/issues/?id=4504117&id=4504128", testToken, `{"status": "unresolved"}`)
	for _, id := range []string{"4504117", "4504128"} {
		if sub := s.Issue(id)["substatus"]; sub != "ongoing" {
			t.Errorf("%s reopened with others: %v", id, sub)
		}
	}
}

func TestBulkUpdateProjectRoute(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:write")
	before := statuses(s)
	// Short ids are looked up in the whole organization.
	r := do(t, s, "PUT", "/api/0/projects/acme/backend/issues/?id=BACKEND-3&id=frontend-2", testToken, `{"status": "resolved"}`)
	wantJSON(t, r, 200, `{"status": "resolved", "statusDetails": {}, "inbox": null}`)
	if got := changedIDs(before, statuses(s)); !slices.Equal(got, []string{"4504103", "4504114"}) {
		t.Errorf("changed %v", got)
	}
	if r := do(t, s, "PUT", "/api/0/projects/acme/backend/issues/?id=BACKEND-ZZZ", testToken, `{"status": "resolved"}`); r.status != 500 {
		t.Errorf("unknown short id: %d %s", r.status, r.body)
	}
	// With any numeric id only the numeric ids of the project count.
	before = statuses(s)
	do(t, s, "PUT", "/api/0/projects/acme/backend/issues/?id=4504105&id=BACKEND-4&id=4504116", testToken, `{"status": "resolved"}`)
	if got := changedIDs(before, statuses(s)); !slices.Equal(got, []string{"4504105"}) {
		t.Errorf("changed %v", got)
	}
}

func TestArchiveUntilEscalating(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:write")
	// ignoreUntilEscalating is not a request field: DRF drops it, and
	// infer_substatus gives archived_forever.
	m := do(t, s, "PUT", "/api/0/organizations/acme/issues/4504103/", testToken, `{"status": "ignored", "statusDetails": {"ignoreUntilEscalating": true}}`).object(t)
	if m["substatus"] != "archived_forever" || len(m["statusDetails"].(map[string]any)) != 0 {
		t.Errorf("dropped field: %v %v", m["substatus"], m["statusDetails"])
	}
	m = do(t, s, "PUT", "/api/0/organizations/acme/issues/4504105/", testToken, `{"status": "ignored", "substatus": "archived_until_escalating"}`).object(t)
	if m["status"] != "ignored" || m["substatus"] != "archived_until_escalating" || !reflect.DeepEqual(m["statusDetails"], map[string]any{"ignoreUntilEscalating": true}) {
		t.Errorf("until escalating: %v %v %v", m["status"], m["substatus"], m["statusDetails"])
	}
	if got := activityTypes(t, s, "4504105"); got[0] != "set_ignored" {
		t.Errorf("activity %v", got)
	}
}

func TestAssignmentMembershipChecks(t *testing.T) {
	d := DemoData()
	acme := d.org("acme")
	acme.ClosedMembership = true
	acme.team("platform").Members = []string{"2"} // Sam; Priya (3) is on no team
	s := newTestServer(t, d, Options{}, "event:write")
	tests := []struct {
		path, body string
		status     int
		want       string
	}{
		{"/api/0/organizations/acme/issues/4504103/", `{"assignedTo": "user:3"}`, 400, "example:error.400.assign_non_member.json"},
		{"/api/0/organizations/acme/issues/?id=4504103&id=4504105", `{"assignedTo": "priya@acme.example"}`, 400, "example:error.400.assign_non_member.json"},
		{"/api/0/organizations/acme/issues/4504103/", `{"assignedTo": "team:5"}`, 400, `{"assignedTo": ["Cannot assign to a team without access to the project"]}`},
		{"/api/0/organizations/acme/issues/4504103/", `{"assignedTo": "team:7"}`, 400, `{"assignedTo": ["Team is not a member of this organization"]}`},
		{"/api/0/organizations/acme/issues/4504103/", `{"assignedTo": "user:2"}`, 200, ""},
		{"/api/0/organizations/acme/issues/4504103/", `{"assignedTo": "team:4"}`, 200, ""},
		{"/api/0/organizations/acme/issues/4504103/", `{"assignedTo": "user:1"}`, 200, ""},                                         // the token's user is on platform
		{"/api/0/organizations/acme/issues/4504114/", `{"assignedTo": "user:1"}`, 400, "example:error.400.assign_non_member.json"}, // not on web
	}
	for _, tt := range tests {
		r := do(t, s, "PUT", tt.path, testToken, tt.body)
		if r.status != tt.status {
			t.Errorf("%s %s: status %d, want %d: %s", tt.path, tt.body, r.status, tt.status, r.body)
			continue
		}
		if strings.HasPrefix(tt.want, "example:") {
			b, _ := json.Marshal(exampleJSON(t, strings.TrimPrefix(tt.want, "example:")))
			wantJSON(t, r, tt.status, string(b))
		} else if tt.want != "" {
			wantJSON(t, r, tt.status, tt.want)
		}
	}
}
