package tools_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

// sent is a request the fake saw, with its body.
type sent struct{ req, body string }

func (h *harness) sent() []sent {
	var out []sent
	for _, r := range h.fake.Requests() {
		s := r.Method + " " + r.Path
		if r.RawQuery != "" {
			s += "?" + r.RawQuery
		}
		out = append(out, sent{s, string(r.Body)})
	}
	return out
}

func (h *harness) puts() []sent {
	var out []sent
	for _, s := range h.sent() {
		if strings.HasPrefix(s.req, "PUT ") {
			out = append(out, s)
		}
	}
	return out
}

const backend3 = "/api/0/organizations/acme/issues/BACKEND-3/"

// TestUpdateIssueRequests: each option combination sends exactly these
// requests, and the result shows the state Sentry applied.
func TestUpdateIssueRequests(t *testing.T) {
	tests := []struct {
		name  string
		args  map[string]any
		want  []sent // "" body: not checked (GET)
		check func(t *testing.T, is schemas.UpdatedIssue, txt string)
	}{
		{"reopen", map[string]any{"issue": "BACKEND-8", "status": "unresolved"},
			[]sent{{"PUT /api/0/organizations/acme/issues/BACKEND-8/", `{"status":"unresolved"}`}},
			func(t *testing.T, is schemas.UpdatedIssue, txt string) {
				if is.Status != "unresolved" || is.Substatus != "ongoing" || !strings.Contains(txt, "BACKEND-8 ") || !strings.Contains(txt, " - unresolved (ongoing), unassigned") {
					t.Errorf("%+v %q", is, txt)
				}
			}},
		{"archive = until escalating", map[string]any{"issue": "BACKEND-3", "status": "archived"},
			[]sent{{"PUT " + backend3, `{"status":"ignored","substatus":"archived_until_escalating"}`}},
			func(t *testing.T, is schemas.UpdatedIssue, txt string) {
				if is.Status != "ignored" || is.Substatus != "archived_until_escalating" || is.Archived != "until it escalates" || !strings.Contains(txt, "archived until it escalates") {
					t.Errorf("%+v %q", is, txt)
				}
			}},
		{"archive for 30m", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_for": "30m"},
			[]sent{{"PUT " + backend3, `{"status":"ignored","substatus":"archived_until_condition_met","statusDetails":{"ignoreDuration":30}}`}},
			func(t *testing.T, is schemas.UpdatedIssue, txt string) {
				if is.Substatus != "archived_until_condition_met" || !strings.HasPrefix(is.Archived, "until 20") || !strings.HasSuffix(is.Archived, "Z") {
					t.Errorf("%+v", is)
				}
			}},
		{"archive for 24h", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_for": "24h"},
			[]sent{{"PUT " + backend3, `{"status":"ignored","substatus":"archived_until_condition_met","statusDetails":{"ignoreDuration":1440}}`}}, nil},
		{"archive for 7d", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_for": "7d"},
			[]sent{{"PUT " + backend3, `{"status":"ignored","substatus":"archived_until_condition_met","statusDetails":{"ignoreDuration":10080}}`}}, nil},
		{"archive until count in a window", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_until_count": 100, "archive_window": "1h"},
			[]sent{{"PUT " + backend3, `{"status":"ignored","substatus":"archived_until_condition_met","statusDetails":{"ignoreCount":100,"ignoreWindow":60}}`}},
			func(t *testing.T, is schemas.UpdatedIssue, txt string) {
				if is.Archived != "until it occurs 100 more times within 1 hour" || !strings.Contains(txt, "archived until it occurs 100 more times within 1 hour") {
					t.Errorf("%+v %q", is, txt)
				}
			}},
		{"archive until count", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_until_count": 5},
			[]sent{{"PUT " + backend3, `{"status":"ignored","substatus":"archived_until_condition_met","statusDetails":{"ignoreCount":5}}`}}, nil},
		{"archive until users in 7d", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_until_users": 10, "archive_window": "7d"},
			[]sent{{"PUT " + backend3, `{"status":"ignored","substatus":"archived_until_condition_met","statusDetails":{"ignoreUserCount":10,"ignoreUserWindow":10080}}`}},
			func(t *testing.T, is schemas.UpdatedIssue, txt string) {
				if is.Archived != "until it affects 10 more users within 7 days" {
					t.Errorf("%+v", is)
				}
			}},
		{"archive forever", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_forever": true},
			[]sent{{"PUT " + backend3, `{"status":"ignored","substatus":"archived_forever"}`}},
			func(t *testing.T, is schemas.UpdatedIssue, txt string) {
				if is.Archived != "forever" || !strings.Contains(txt, "archived forever") {
					t.Errorf("%+v %q", is, txt)
				}
			}},
		{"priority", map[string]any{"issue": "BACKEND-3", "priority": "high"},
			[]sent{{"PUT " + backend3, `{"priority":"high"}`}},
			func(t *testing.T, is schemas.UpdatedIssue, txt string) {
				if is.Priority != "high" || is.Status != "unresolved" || !strings.Contains(txt, "priority high") {
					t.Errorf("%+v %q", is, txt)
				}
			}},
		{"unassign", map[string]any{"issue": "BACKEND-1", "assignee": "none"},
			[]sent{{"PUT /api/0/organizations/acme/issues/BACKEND-1/", `{"assignedTo":""}`}},
			func(t *testing.T, is schemas.UpdatedIssue, txt string) {
				if is.Assignee != "" || !strings.Contains(txt, "unassigned") {
					t.Errorf("%+v %q", is, txt)
				}
			}},
		{"user id", map[string]any{"issue": "BACKEND-3", "assignee": "user:2"},
			[]sent{{"PUT " + backend3, `{"assignedTo":"user:2"}`}},
			func(t *testing.T, is schemas.UpdatedIssue, txt string) {
				if is.Assignee != "Sam Okafor" || !strings.Contains(txt, "assigned to Sam Okafor") {
					t.Errorf("%+v %q", is, txt)
				}
			}},
		{"email, sent as it is", map[string]any{"issue": "BACKEND-3", "assignee": "Priya@acme.example"},
			[]sent{{"PUT " + backend3, `{"assignedTo":"Priya@acme.example"}`}},
			func(t *testing.T, is schemas.UpdatedIssue, txt string) {
				if is.Assignee != "Priya Natarajan" {
					t.Errorf("%+v", is)
				}
			}},
		{"me", map[string]any{"issue": "BACKEND-3", "assignee": "me"},
			[]sent{{"GET /api/0/", ""}, {"PUT " + backend3, `{"assignedTo":"user:1"}`}},
			func(t *testing.T, is schemas.UpdatedIssue, txt string) {
				if is.Assignee != "Dana Reyes" {
					t.Errorf("%+v", is)
				}
			}},
		{"team slug", map[string]any{"issue": "BACKEND-3", "assignee": "team:platform"},
			[]sent{{"GET /api/0/organizations/acme/teams/?detailed=0&query=slug%3Aplatform", ""}, {"PUT " + backend3, `{"assignedTo":"team:4"}`}},
			func(t *testing.T, is schemas.UpdatedIssue, txt string) {
				if is.Assignee != "team:platform" || !strings.Contains(txt, "assigned to team:platform") {
					t.Errorf("%+v %q", is, txt)
				}
			}},
		{"team id", map[string]any{"issue": "BACKEND-3", "assignee": "team:4"},
			[]sent{{"PUT " + backend3, `{"assignedTo":"team:4"}`}}, nil},
		{"all at once, numeric id", map[string]any{"issue": "4504103", "organization": "", "status": "archived", "archive_forever": true, "assignee": "user:3", "priority": "low"},
			[]sent{{"PUT /api/0/issues/4504103/", `{"status":"ignored","substatus":"archived_forever","assignedTo":"user:3","priority":"low"}`}},
			func(t *testing.T, is schemas.UpdatedIssue, txt string) {
				want := schemas.UpdatedIssue{ID: "4504103", ShortID: "BACKEND-3", Title: is.Title, Status: "ignored", Substatus: "archived_forever", Archived: "forever", Assignee: "Priya Natarajan", Priority: "low"}
				if is != want || is.Title == "" {
					t.Errorf("%+v", is)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{})
			args := map[string]any{"organization": "acme"}
			for k, v := range tt.args {
				args[k] = v
			}
			if args["organization"] == "" {
				delete(args, "organization")
			}
			res := h.call("update_issue", args)
			var out schemas.UpdateOutput
			structured(t, res, &out)
			got := h.sent()
			if len(got) != len(tt.want) {
				t.Fatalf("requests %v, want %v", got, tt.want)
			}
			for i, w := range tt.want {
				if got[i].req != w.req || (w.body != "" && got[i].body != w.body) {
					t.Errorf("request %d = %s %s, want %s %s", i, got[i].req, got[i].body, w.req, w.body)
				}
			}
			if len(out.Issues) != 1 {
				t.Fatalf("issues %+v", out.Issues)
			}
			is := out.Issues[0]
			// The result is Sentry's state, which the fake now holds.
			f := h.fake.Issue(is.ID)
			if f["status"] != is.Status || fmt.Sprint(f["priority"]) != is.Priority {
				t.Errorf("result %+v, fake %v %v", is, f["status"], f["priority"])
			}
			if tt.check != nil {
				tt.check(t, is, text(res))
			}
		})
	}
}

// TestUpdateIssueArgumentErrors: conflicts and bad values are tool errors
// that say what to do, and nothing reaches Sentry.
func TestUpdateIssueArgumentErrors(t *testing.T) {
	many := make([]any, 26)
	for i := range many {
		many[i] = fmt.Sprint(4504101 + i)
	}
	tests := []struct {
		name string
		args map[string]any
		want string
	}{
		{"neither issue nor issues", map[string]any{"status": "archived"}, "issue (or issues, for several) is required"},
		{"both issue and issues", map[string]any{"issue": "BACKEND-3", "issues": []any{"BACKEND-4"}, "status": "archived"}, "not both"},
		{"no change", map[string]any{"issue": "BACKEND-3"}, "needs a change"},
		{"archive option without status", map[string]any{"issue": "BACKEND-3", "archive_for": "1h"}, `need status "archived"`},
		{"archive option with unresolved", map[string]any{"issue": "BACKEND-3", "status": "unresolved", "archive_forever": true}, `need status "archived"`},
		{"two archive options", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_for": "1h", "archive_until_count": 3}, "at most one of"},
		{"three archive options", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_forever": true, "archive_until_users": 3, "archive_until_count": 3}, "archive_until_count, archive_until_users, archive_forever"},
		{"window without count", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_window": "1h"}, "archive_window goes with"},
		{"window with duration", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_for": "1h", "archive_window": "1h"}, "archive_window goes with"},
		{"window over 7d", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_until_count": 3, "archive_window": "8d"}, "at most 7d"},
		{"seconds", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_for": "30s"}, "duration like 30m"},
		{"zero duration", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_for": "0m"}, "at least 1m"},
		{"zero count", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_until_count": 0}, "minimum"},
		{"negative count", map[string]any{"issue": "BACKEND-3", "status": "archived", "archive_until_count": -1}, "minimum"},
		{"bad status", map[string]any{"issue": "BACKEND-3", "status": "resolved"}, "status"},
		{"bad priority", map[string]any{"issue": "BACKEND-3", "priority": "urgent"}, "priority"},
		{"bare name", map[string]any{"issue": "BACKEND-3", "assignee": "sam"}, "me, an email, user:ID, team:SLUG or none"},
		{"member-looking id", map[string]any{"issue": "BACKEND-3", "assignee": "2"}, "me, an email, user:ID, team:SLUG or none"},
		{"user without a number", map[string]any{"issue": "BACKEND-3", "assignee": "user:sam"}, "list_members shows each member's user id"},
		{"team slug with a numeric issue alone", map[string]any{"issue": "4504103", "assignee": "team:platform", "organization": ""}, "needs organization"},
		{"26 issues", map[string]any{"issues": many, "status": "archived"}, "maxItems"},
		{"two organizations", map[string]any{"issues": []any{"http://HOST/organizations/acme/issues/4504103/", "http://HOST/organizations/acme-labs/issues/4504131/"}, "status": "archived", "organization": ""}, "one organization"},
		{"bulk needs organization", map[string]any{"issues": []any{"4504103", "4504105"}, "status": "archived", "organization": ""}, "issues needs organization"},
		{"bad item", map[string]any{"issues": []any{"4504103", "not an issue"}, "status": "archived"}, "not an issue id"},
	}
	h := newHarness(t, setup{})
	host := strings.TrimPrefix(h.fake.URL, "http://")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.fake.ResetRequests()
			args := map[string]any{"organization": "acme"}
			for k, v := range tt.args {
				if l, ok := v.([]any); ok {
					c := make([]any, len(l))
					for i, x := range l {
						c[i] = strings.ReplaceAll(fmt.Sprint(x), "HOST", host)
					}
					v = c
				}
				args[k] = v
			}
			if args["organization"] == "" {
				delete(args, "organization")
			}
			res := h.call("update_issue", args)
			if !res.IsError || !strings.Contains(text(res), tt.want) {
				t.Errorf("got isError=%v %q, want an error mentioning %q", res.IsError, text(res), tt.want)
			}
			if reqs := h.apiRequests(); len(reqs) != 0 {
				t.Errorf("requests were sent: %v", reqs)
			}
		})
	}
	// resolve_issue takes issues too, and refuses both.
	for _, args := range []map[string]any{
		{"issue": "BACKEND-3", "issues": []any{"BACKEND-4"}, "organization": "acme"},
		{"organization": "acme"},
	} {
		h.fake.ResetRequests()
		if res := h.call("resolve_issue", args); !res.IsError || !strings.Contains(text(res), "issue") {
			t.Errorf("resolve_issue %v: %q", args, text(res))
		}
		if reqs := h.apiRequests(); len(reqs) != 0 {
			t.Errorf("requests were sent: %v", reqs)
		}
	}
}

// TestUpdateIssueRefusals: Sentry's refusals reach the agent in plain words.
func TestUpdateIssueRefusals(t *testing.T) {
	d := sentrytest.DemoData()
	d.Orgs[0].ClosedMembership = true
	d.Orgs[0].Teams[0].Members = []string{"2"} // Sam is on platform (backend, payments)
	h := newHarness(t, setup{data: d})
	tests := []struct {
		args map[string]any
		want []string
	}{
		{map[string]any{"issue": "BACKEND-3", "assignee": "user:3"}, []string{"Sentry refused the change: assignedTo: Cannot assign to non-team member.", "list_members"}},
		{map[string]any{"issue": "FRONTEND-2", "assignee": "user:2"}, []string{"Cannot assign to non-team member"}},
		{map[string]any{"issue": "BACKEND-3", "assignee": "user:999"}, []string{"assignedTo: User does not exist"}},
		{map[string]any{"issue": "BACKEND-3", "assignee": "nobody@acme.example"}, []string{"Could not parse actor"}},
		{map[string]any{"issue": "BACKEND-3", "assignee": "team:web"}, []string{"Cannot assign to a team without access to the project"}},
		{map[string]any{"issue": "BACKEND-3", "assignee": "team:nope"}, []string{`team "nope" was not found`, "list_teams"}},
		{map[string]any{"issue": "BACKEND-999", "status": "archived"}, []string{"Not found", "BACKEND-999"}},
		{map[string]any{"issues": []any{"BACKEND-3", "FRONTEND-2"}, "assignee": "user:2"}, []string{"Not changed: FRONTEND-2. Changed: BACKEND-3.", "Cannot assign to non-team member"}},
	}
	for _, tt := range tests {
		args := map[string]any{"organization": "acme"}
		for k, v := range tt.args {
			args[k] = v
		}
		res := h.call("update_issue", args)
		for _, w := range tt.want {
			if !res.IsError || !strings.Contains(text(res), w) {
				t.Errorf("%v: got isError=%v %q, want %q", tt.args, res.IsError, text(res), w)
			}
		}
	}
	if a := h.fake.Issue("4504103")["assignedTo"]; a == nil || a.(map[string]any)["id"] != "2" {
		t.Errorf("the backend part of the mixed call was not applied: %v", a)
	}
	if a := h.fake.Issue("4504114")["assignedTo"]; a != nil {
		t.Errorf("a refused assignment changed FRONTEND-2: %v", a)
	}
}

// TestTeamSlugNeedsOrgRead: without org:read the teams list is out of
// reach; the error says to pass team:ID, and team:ID works.
func TestTeamSlugNeedsOrgRead(t *testing.T) {
	for _, unknown := range []bool{false, true} {
		h := newHarness(t, setup{tokenScopes: []string{"event:write"}, unknownGrant: unknown})
		res := h.call("update_issue", map[string]any{"issue": "BACKEND-3", "organization": "acme", "assignee": "team:platform"})
		if !res.IsError || !strings.Contains(text(res), "needs the org:read scope; pass team:ID") {
			t.Errorf("unknown grant %v: %q", unknown, text(res))
		}
		for _, p := range h.puts() {
			t.Errorf("a PUT was sent: %v", p)
		}
		if !unknown && len(h.apiRequests()) != 0 {
			t.Errorf("a known grant without org:read still asked Sentry: %v", h.apiRequests())
		}
		if res := h.call("update_issue", map[string]any{"issue": "BACKEND-3", "organization": "acme", "assignee": "team:4"}); res.IsError {
			t.Errorf("team:ID: %s", text(res))
		}
	}
}

// TestUpdateIssueBulk: every issue is looked up first, then one PUT per
// project with its ids and project id; the result lists every issue.
func TestUpdateIssueBulk(t *testing.T) {
	h := newHarness(t, setup{})
	url := h.fake.URL + "/organizations/acme/issues/4504126/"
	res := h.call("update_issue", map[string]any{"organization": "acme", "issues": []any{"BACKEND-3", "4504105", "frontend-2", url, "BACKEND-3"}, "status": "archived", "assignee": "user:2", "priority": "high"})
	var out schemas.UpdateOutput
	structured(t, res, &out)
	got := h.sent()
	var gets []string
	for _, s := range got[:4] {
		gets = append(gets, s.req)
	}
	slices.Sort(gets)
	wantGets := []string{
		"GET /api/0/organizations/acme/issues/4504105/?collapse=stats&collapse=tags&collapse=release",
		"GET /api/0/organizations/acme/issues/4504126/?collapse=stats&collapse=tags&collapse=release",
		"GET /api/0/organizations/acme/issues/BACKEND-3/?collapse=stats&collapse=tags&collapse=release",
		"GET /api/0/organizations/acme/issues/FRONTEND-2/?collapse=stats&collapse=tags&collapse=release",
	}
	if !slices.Equal(gets, wantGets) {
		t.Errorf("lookups %v", gets)
	}
	body := `{"status":"ignored","substatus":"archived_until_escalating","assignedTo":"user:2","priority":"high"}`
	want := []sent{
		{"PUT /api/0/organizations/acme/issues/?id=4504103&id=4504105&project=11&query=issue.id%3A%5B4504103%2C4504105%5D", body},
		{"PUT /api/0/organizations/acme/issues/?id=4504114&project=12&query=issue.id%3A%5B4504114%5D", body},
		{"PUT /api/0/organizations/acme/issues/?id=4504126&project=13&query=issue.id%3A%5B4504126%5D", body},
	}
	if !slices.Equal(got[4:], want) {
		t.Errorf("PUTs\n%v\nwant\n%v", got[4:], want)
	}
	var shorts []string
	for _, is := range out.Issues {
		shorts = append(shorts, is.ShortID)
		if is.Status != "ignored" || is.Archived != "until it escalates" || is.Assignee != "Sam Okafor" || is.Priority != "high" || is.Title == "" {
			t.Errorf("%+v", is)
		}
		if f := h.fake.Issue(is.ID); f["status"] != "ignored" || f["substatus"] != "archived_until_escalating" {
			t.Errorf("fake %s: %v %v", is.ShortID, f["status"], f["substatus"])
		}
	}
	if !slices.Equal(shorts, []string{"BACKEND-3", "BACKEND-5", "FRONTEND-2", "PAYMENTS-3"}) {
		t.Errorf("issues %v", shorts)
	}
	txt := text(res)
	if !strings.HasPrefix(txt, "Updated 4 issues in organization acme:\nBACKEND-3 ") || strings.Count(txt, "archived until it escalates, assigned to Sam Okafor, priority high") != 4 {
		t.Errorf("text %q", txt)
	}
	// Nothing else changed: the default search's issues are untouched.
	if f := h.fake.Issue("4504109"); f["status"] != "unresolved" {
		t.Errorf("BACKEND-9 is %v", f["status"])
	}
}

// TestBulkWithAnUnknownIssueChangesNothing: one unknown issue (or one of
// another organization) fails the whole call, naming it, before any PUT.
func TestBulkWithAnUnknownIssueChangesNothing(t *testing.T) {
	h := newHarness(t, setup{})
	res := h.call("update_issue", map[string]any{"organization": "acme", "issues": []any{"BACKEND-3", "BACKEND-ZZZ", "4504131", "4504105"}, "status": "archived"})
	if !res.IsError || !strings.Contains(text(res), `Nothing was changed: issue "BACKEND-ZZZ", "4504131" not found in organization "acme"`) {
		t.Errorf("got %q", text(res))
	}
	if p := h.puts(); len(p) != 0 {
		t.Errorf("PUTs were sent: %v", p)
	}
	for _, id := range []string{"4504103", "4504105", "4504131"} {
		if st := h.fake.Issue(id)["status"]; st != "unresolved" {
			t.Errorf("%s is %v", id, st)
		}
	}
	res = h.call("resolve_issue", map[string]any{"organization": "acme", "issues": []any{"BACKEND-3", "999999"}})
	if !res.IsError || !strings.Contains(text(res), `"999999" not found`) || len(h.puts()) != 0 {
		t.Errorf("resolve_issue: %q, PUTs %v", text(res), h.puts())
	}
}

func TestResolveIssueBulk(t *testing.T) {
	d := sentrytest.DemoData()
	acme := d.Orgs[0]
	acme.Releases = slices.DeleteFunc(acme.Releases, func(r *sentrytest.Release) bool { return slices.Contains(r.Projects, "payments") })
	h := newHarness(t, setup{data: d})
	res := h.call("resolve_issue", map[string]any{"organization": "acme", "issues": []any{"BACKEND-3", "FRONTEND-2"}, "resolution": "next_release"})
	var out schemas.ResolveOutput
	structured(t, res, &out)
	body := `{"status":"resolved","statusDetails":{"inNextRelease":true}}`
	want := []sent{
		{"PUT /api/0/organizations/acme/issues/?id=4504103&project=11&query=issue.id%3A%5B4504103%5D", body},
		{"PUT /api/0/organizations/acme/issues/?id=4504114&project=12&query=issue.id%3A%5B4504114%5D", body},
	}
	if got := h.puts(); !slices.Equal(got, want) {
		t.Errorf("PUTs %v", got)
	}
	if out.Status != "resolved" || !out.InNextRelease || len(out.Issues) != 2 || !out.Issues[1].InNextRelease || out.Issues[1].ShortID != "FRONTEND-2" {
		t.Errorf("%+v", out)
	}
	if txt := text(res); !strings.HasPrefix(txt, "Resolved 2 issues in the next release:\nBACKEND-3 ") || !strings.Contains(txt, "resolved in the next release") {
		t.Errorf("text %q", txt)
	}
	// A project without releases: Sentry's refusal reaches the agent, with
	// what was and was not changed.
	h.fake.ResetRequests()
	res = h.call("resolve_issue", map[string]any{"organization": "acme", "issues": []any{"BACKEND-4", "PAYMENTS-3"}, "resolution": "next_release"})
	if !res.IsError || !strings.Contains(text(res), "Not changed: PAYMENTS-3. Changed: BACKEND-4.") || !strings.Contains(text(res), "No release data present in the system") {
		t.Errorf("got %q", text(res))
	}
	if st := h.fake.Issue("4504104")["status"]; st != "resolved" {
		t.Errorf("BACKEND-4 is %v", st)
	}
	if st := h.fake.Issue("4504126")["status"]; st != "unresolved" {
		t.Errorf("PAYMENTS-3 is %v", st)
	}
	// A list of one is the single-issue PUT.
	h.fake.ResetRequests()
	h.call("resolve_issue", map[string]any{"organization": "acme", "issues": []any{"BACKEND-5"}})
	if got := h.puts(); len(got) != 1 || got[0].req != "PUT /api/0/organizations/acme/issues/BACKEND-5/" {
		t.Errorf("PUTs %v", got)
	}
}

// TestBulkLookupsStayWithinRateLimits: with Sentry's 5 issue lookups per
// second enforced, 25 issues (the most a call takes) are looked up and
// changed without a 429 reaching the agent.
func TestBulkLookupsStayWithinRateLimits(t *testing.T) {
	d := sentrytest.DemoData()
	d.AddIssues("acme", "backend", 25)
	h := newHarness(t, setup{data: d, opts: sentrytest.Options{EnforceRateLimits: true}})
	var ids []any
	for id := 4504133; len(ids) < 25; id++ {
		ids = append(ids, fmt.Sprint(id))
	}
	start := time.Now()
	res := h.call("update_issue", map[string]any{"organization": "acme", "issues": ids, "priority": "low"})
	var out schemas.UpdateOutput
	structured(t, res, &out)
	t.Logf("25 lookups + 1 PUT in %v", time.Since(start).Round(time.Millisecond))
	if len(out.Issues) != 25 || len(h.puts()) != 1 {
		t.Errorf("%d issues, PUTs %v", len(out.Issues), h.puts())
	}
}

func TestUpdateIssueGating(t *testing.T) {
	for _, s := range []setup{{readOnly: true}, {tokenScopes: []string{"org:read", "event:read"}}} {
		h := newHarness(t, s)
		if slices.Contains(h.listNames(), "update_issue") {
			t.Errorf("%+v: update_issue is listed", s)
		}
		res := h.call("update_issue", map[string]any{"issue": "BACKEND-3", "organization": "acme", "status": "archived"})
		want := "event:write"
		if s.readOnly {
			want = "read-only"
		}
		if !res.IsError || !strings.Contains(text(res), want) {
			t.Errorf("%+v: %q", s, text(res))
		}
		if reqs := h.apiRequests(); len(reqs) != 0 {
			t.Errorf("requests: %v", reqs)
		}
	}
	h := newHarness(t, setup{tokenScopes: []string{"event:write"}})
	if !slices.Contains(h.listNames(), "update_issue") {
		t.Error("event:write does not list update_issue")
	}
}

func TestUpdateIssueHostileData(t *testing.T) {
	h := newHarness(t, setup{data: hostileData()})
	var ids []any
	for id := 4504133; id <= 4504134; id++ { // the two hostile issues
		ids = append(ids, fmt.Sprint(id))
	}
	for _, args := range []map[string]any{
		{"organization": "acme", "issues": ids, "assignee": "me", "status": "archived"},
		{"organization": "acme", "issue": ids[0], "assignee": "me", "priority": "low"},
	} {
		res := h.call("update_issue", args)
		var out schemas.UpdateOutput
		structured(t, res, &out)
		assertInert(t, "update_issue", text(res))
		if len(out.Issues) == 0 || !strings.HasPrefix(out.Issues[0].Assignee, "Dana") {
			t.Errorf("%+v", out.Issues)
		}
	}
	res := h.call("resolve_issue", map[string]any{"organization": "acme", "issues": ids})
	var out schemas.ResolveOutput
	structured(t, res, &out)
	assertInert(t, "resolve_issue", text(res))
}

// When Sentry finds none of the looked-up issues at the bulk PUT (204:
// deleted or merged in between), the call says nothing was changed there.
func TestUpdateIssueBulkNoneMatchedAtThePut(t *testing.T) {
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	fake.AddToken(secretToken, memberScopes...)
	var puts atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/api/0/organizations/acme/issues/" {
			puts.Add(1)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	fake.URL = proxy.URL
	h := newHarnessWith(t, fake, setup{tokenScopes: memberScopes})
	res := h.call("update_issue", map[string]any{"issues": []any{"BACKEND-3", "BACKEND-5"}, "organization": "acme", "priority": "low"})
	if !res.IsError || !strings.Contains(text(res), "Sentry found none of them") || puts.Load() != 1 {
		t.Errorf("isError=%v, %d PUTs: %s", res.IsError, puts.Load(), text(res))
	}
	for _, id := range []string{"4504103", "4504105"} {
		if p := fake.Issue(id)["priority"]; p == "low" {
			t.Errorf("issue %s changed: priority %v", id, p)
		}
	}
}
