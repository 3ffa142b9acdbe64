package sentrytest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestIssueComments(t *testing.T) {
	clock := &fixedClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := newTestServer(t, DemoDataAt(clock.t), Options{Now: clock.now}, "event:write")
	s.AddToken("reader", "event:read", "org:read")
	for _, path := range []string{"/api/0/organizations/acme/issues/PAYMENTS-2/comments/", "/api/0/issues/4504125/notes/"} {
		wantDetail(t, do(t, s, "POST", path, "reader", `{"text": "x"}`), 403, msgForbidden)
	}
	const path = "/api/0/organizations/acme/issues/PAYMENTS-2/comments/"
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"missing text", `{}`, 400, `{"text": ["This field is required."]}`},
		{"blank text", `{"text": "  "}`, 400, `{"text": ["This field may not be blank."]}`},
		{"null text", `{"text": null}`, 400, `{"text": ["This field may not be null."]}`},
		{"text not a string", `{"text": {"a": 1}}`, 400, `{"text": ["Not a valid string."]}`},
		{"not an object", `["text"]`, 400, `{"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}`},
		{"bad mention", `{"text": "x", "mentions": ["bob"]}`, 400, `{"mentions": {"0": ["Could not parse actor. Format should be ` + "`type:id`" + ` where type is ` + "`team` or `user`" + `."]}}`},
		{"not JSON", `{"text": `, 400, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, s, "POST", path, testToken, tt.body)
			if tt.want == "" {
				if r.status != tt.status || !strings.HasPrefix(fmt.Sprint(r.object(t)["detail"]), "JSON parse error") {
					t.Errorf("%d %s", r.status, r.body)
				}
				return
			}
			wantJSON(t, r, tt.status, tt.want)
		})
	}
	missing := exampleJSON(t, "error.400.comment_missing_text.json")
	if fmt.Sprint(do(t, s, "POST", path, testToken, `{}`).json(t)) != fmt.Sprint(missing) {
		t.Error("the missing-text error differs from Sentry's example")
	}
	if s.Issue("4504125")["isSubscribed"] != false {
		t.Fatal("demo issue PAYMENTS-2 should start unsubscribed")
	}

	r := do(t, s, "POST", path, testToken, `{"text": "  Looking into this  ", "mentions": ["user:2"]}`)
	note := r.object(t)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	sameKeys(t, "note", note, exampleJSON(t, "issue.comment.create.json").(map[string]any))
	if note["type"] != "note" || fmt.Sprint(note["data"]) != "map[text:Looking into this]" || note["dateCreated"] != "2026-05-01T12:00:00Z" || note["user"].(map[string]any)["id"] != "1" {
		t.Errorf("note %s", r.body)
	}
	// The same text again within the hour, even with other mentions, is a duplicate.
	wantDetail(t, do(t, s, "POST", "/api/0/issues/4504125/notes/", testToken, `{"text": "Looking into this"}`), 400, exampleDetail("error.400.comment_duplicate.json"))
	if r := do(t, s, "POST", path, testToken, `{"text": "Looking into this", "external_id": "x1"}`); r.status != 201 {
		t.Errorf("other data (external_id) is not a duplicate: %d %s", r.status, r.body)
	}
	clock.set(clock.t.Add(61 * time.Minute))
	if r := do(t, s, "POST", path, testToken, `{"text": "Looking into this"}`); r.status != 201 {
		t.Errorf("after an hour: %d %s", r.status, r.body)
	}

	// Comments are activity of type note, and count in numComments; the user is subscribed.
	d := s.Issue("4504125")
	acts := d["activity"].([]any)
	first := acts[0].(map[string]any)
	if first["type"] != "note" || d["numComments"] != 3 || d["isSubscribed"] != true || fmt.Sprint(d["subscriptionDetails"]) != "map[reason:comment]" {
		t.Errorf("after comments: first activity %v, numComments %v, subscribed %v %v", first, d["numComments"], d["isSubscribed"], d["subscriptionDetails"])
	}
	list := get(t, s, "/api/0/issues/4504125/comments/").list(t)
	if len(list) != 3 || list[2].(map[string]any)["id"] != note["id"] {
		t.Errorf("notes list (newest first) %v", list)
	}
	pg := get(t, s, "/api/0/issues/4504125/comments/?per_page=2")
	if len(pg.list(t)) != 2 || !strings.Contains(pg.header.Get("Link"), `rel="next"; results="true"`) {
		t.Errorf("notes page: %s, Link %s", pg.body, pg.header.Get("Link"))
	}
}

func TestCommentWithoutAUser(t *testing.T) {
	data := DemoData()
	data.User = nil // an organization token: no user
	s := newTestServer(t, data, Options{}, "event:write")
	wantDetail(t, do(t, s, "POST", "/api/0/issues/4504101/comments/", testToken, `{"text": "x"}`), 403, "Key doesn't have permission to create Note")
	wantDetail(t, do(t, s, "POST", "/api/0/issues/4504101/comments/", testToken, `{}`), 403, "Key doesn't have permission to create Note")
}

func TestIssueActivities(t *testing.T) {
	data := DemoData()
	is := data.Orgs[0].issue("4504101")
	for i := 0; i < 150; i++ {
		is.Activity = append(is.Activity, activity(is, "set_unresolved", nil, map[string]any{}, is.FirstSeen))
	}
	s := newTestServer(t, data, Options{}, "event:read")
	r := get(t, s, "/api/0/organizations/acme/issues/BACKEND-1/activities/")
	body := r.object(t)
	acts := body["activity"].([]any)
	if len(body) != 1 || len(acts) != 100 || r.header.Get("Link") != "" {
		t.Fatalf("activities: %d entries, keys %v, Link %q (want the newest 100, not paginated)", len(acts), keys(body), r.header.Get("Link"))
	}
	tpl := exampleJSON(t, "issue.activities.json").(map[string]any)["activity"].([]any)
	var types []string
	for i, a := range acts {
		m := a.(map[string]any)
		sameKeys(t, "activity", m, tpl[0].(map[string]any))
		if i > 0 && m["dateCreated"].(string) > acts[i-1].(map[string]any)["dateCreated"].(string) {
			t.Errorf("activity not newest first at %d", i)
		}
		types = append(types, m["type"].(string))
	}
	// The demo's top issue has a discussion.
	if strings.Join(types[:4], " ") != "note note set_priority assigned" {
		t.Errorf("demo activity of BACKEND-1: %v", types[:4])
	}
	s.AddToken("proj", "project:read")
	wantDetail(t, do(t, s, "GET", "/api/0/issues/4504101/activities/", "proj", ""), 403, msgForbidden)
	wantDetail(t, get(t, s, "/api/0/issues/999/activities/"), 404, msgNotFound)
}
