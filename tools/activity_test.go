package tools_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

func issueByShortID(data *sentrytest.Data, short string) *sentrytest.Issue {
	for _, o := range data.Orgs {
		for _, is := range o.Issues {
			if is.ShortID == short {
				return is
			}
		}
	}
	panic("no issue " + short)
}

func TestListIssueActivity(t *testing.T) {
	h := newHarness(t, setup{})
	var out schemas.ActivityOutput
	res := h.call("list_issue_activity", map[string]any{"issue": "BACKEND-1", "organization": "acme"})
	structured(t, res, &out)
	if got := h.apiRequests(); !slices.Equal(got, []string{"GET /api/0/organizations/acme/issues/BACKEND-1/activities/"}) {
		t.Errorf("requests %v", got)
	}
	lines := strings.Split(text(res), "\n")
	want := []string{
		"Z Dana Reyes: commented:",
		"    Reproduced with a same-day signup. Fix in review:",
		"    - guard days == 0 in billing.prorate",
		"    - add a test for same-day invoices",
		"Z Sam Okafor: commented:",
		"    Started with 2.14.0: prorate() divides by the billable days, which is 0 for accounts created today.",
		"Z Dana Reyes: set the priority to high",
		"Z Dana Reyes: assigned the issue to dana@acme.example",
		"Z Sentry: first seen",
	}
	if len(lines) != len(want) {
		t.Fatalf("text:\n%s", text(res))
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("line %d %q, want it to end with %q", i+1, lines[i], w)
		}
	}
	if len(out.Activity) != 5 || out.Activity[0].Type != "note" || out.Activity[0].User != "Dana Reyes" || !strings.HasPrefix(out.Activity[0].Text, "Reproduced") || out.Activity[4].User != "" || out.Activity[4].What != "first seen" {
		t.Errorf("structured %+v", out.Activity)
	}
}

// Each known activity type reads as a phrase, from the data keys Sentry
// is known to send; odd data falls back to the bare phrase, an unknown
// type to its name.
func TestActivityPhrases(t *testing.T) {
	data := sentrytest.DemoData()
	is := issueByShortID(data, "PAYMENTS-2")
	user := map[string]any{"id": "2", "name": "", "email": "sam@acme.example"}
	at := func(i int) string { return data.BaseTime.Add(-time.Duration(i) * time.Minute).Format(time.RFC3339) }
	cases := []struct {
		typ  string
		data map[string]any
		want string
	}{
		{"set_resolved_in_release", map[string]any{"version": "payments@1.8.0"}, "resolved the issue in release payments@1.8.0"},
		{"set_resolved_in_release", map[string]any{"version": ""}, "resolved the issue in the next release"},
		{"set_ignored", map[string]any{"ignoreCount": 1000, "ignoreWindow": 60}, "archived the issue until it occurs 1000 more times within 1 hour"},
		{"set_ignored", map[string]any{"ignoreDuration": 1440}, "archived the issue for 1 day"},
		{"set_ignored", map[string]any{"ignoreUserCount": 5}, "archived the issue until it affects 5 more users"},
		{"set_ignored", map[string]any{"ignoreUntilEscalating": true}, "archived the issue until it escalates"},
		{"set_ignored", map[string]any{"ignoreCount": "lots"}, "archived the issue"},
		{"assigned", map[string]any{"assignee": "4", "assigneeType": "team"}, "assigned the issue to team:4"},
		{"unassigned", nil, "unassigned the issue"},
		{"set_regression", map[string]any{"version": "payments@1.8.0"}, "the issue regressed in release payments@1.8.0"},
		{"set_regression", map[string]any{"version": []any{1}}, "the issue regressed"},
		{"merge", map[string]any{"issues": []any{map[string]any{"id": "1"}, map[string]any{"id": "2"}}}, "merged 2 issues into this one"},
		{"deploy", map[string]any{"version": "payments@1.8.0", "environment": "production"}, "deployed release payments@1.8.0 to production"},
		{"set_priority", map[string]any{"priority": "low"}, "set the priority to low"},
		{"set_resolved_in_commit", map[string]any{"commit": map[string]any{"id": "abc123"}}, "resolved the issue in a commit (abc123)"},
		{"seer_fix_started", nil, "Seer: fix started"},
		{"brand_new_type", nil, "brand_new_type"},
	}
	is.Activity = nil
	for i, c := range cases {
		is.Activity = append(is.Activity, map[string]any{"id": string(rune('a' + i)), "type": c.typ, "user": user, "data": c.data, "dateCreated": at(i)})
	}
	h := newHarness(t, setup{data: data})
	var out schemas.ActivityOutput
	res := h.call("list_issue_activity", map[string]any{"issue": is.ID})
	structured(t, res, &out)
	if len(out.Activity) != len(cases) {
		t.Fatalf("%d entries: %s", len(out.Activity), text(res))
	}
	for i, c := range cases {
		if out.Activity[i].What != c.want || out.Activity[i].User != "sam@acme.example" {
			t.Errorf("%s %v: %q by %q, want %q", c.typ, c.data, out.Activity[i].What, out.Activity[i].User, c.want)
		}
		if !strings.Contains(text(res), "sam@acme.example: "+c.want+"\n") && !strings.HasSuffix(text(res), c.want) {
			t.Errorf("text lacks %q", c.want)
		}
	}
}

func TestHostileCommentsAreRenderedAsData(t *testing.T) {
	data := hostileData()
	is := issueByShortID(data, "BACKEND-1")
	u := map[string]any{"id": "9", "name": "Eve" + hostile}
	huge := strings.Repeat("h", 200_000) + "\n" + strings.Repeat("line\n", 500)
	add := func(text string, typ string) {
		is.Activity = append([]map[string]any{{"id": "x", "type": typ, "user": u, "data": map[string]any{"text": text, "version": hostile}, "dateCreated": data.BaseTime.Format(time.RFC3339)}}, is.Activity...)
	}
	add(hostile, "note")
	add(huge, "note")
	add("", hostile)
	add("", "set_resolved_in_release")
	for i := 0; i < 120; i++ {
		add(huge, "note")
	}
	h := newHarness(t, setup{data: data})
	var out schemas.ActivityOutput
	res := h.call("list_issue_activity", map[string]any{"issue": is.ID})
	structured(t, res, &out)
	assertInert(t, "list_issue_activity", text(res))
	whole, _ := json.Marshal(res)
	if len(whole) > 64<<10 || !out.Truncated || strings.Contains(text(res), huge[:3000]) {
		t.Errorf("result %d bytes, truncated %v", len(whole), out.Truncated)
	}
	if !strings.Contains(text(res), "Sentry returns the newest 100 entries") || len(out.Activity) > 100 {
		t.Errorf("%d entries; text does not say only the newest 100 are shown", len(out.Activity))
	}
	// Fewer, smaller comments: all of them there, the hostile one escaped.
	data = hostileData()
	is = issueByShortID(data, "BACKEND-1")
	add(hostile, "note")
	add(strings.Repeat("z", 10_000), "note")
	add("", "set_resolved_in_release")
	h = newHarness(t, setup{data: data})
	res = h.call("list_issue_activity", map[string]any{"issue": is.ID})
	structured(t, res, &out)
	assertInert(t, "list_issue_activity", text(res))
	if !strings.Contains(text(res), "chars)") || !strings.Contains(text(res), "resolved the issue in release x\\nMore results") {
		t.Errorf("text:\n%s", text(res))
	}
}

func TestListIssueActivityErrors(t *testing.T) {
	h := newHarness(t, setup{})
	if res := h.call("list_issue_activity", map[string]any{"issue": "BACKEND-999", "organization": "acme"}); !res.IsError || !strings.Contains(text(res), `Not found: issue "BACKEND-999" in organization "acme"`) {
		t.Errorf("unknown issue: %s", text(res))
	}
	h = newHarness(t, setup{tokenScopes: []string{"org:read", "project:read"}})
	if slices.Contains(h.listNames(), "list_issue_activity") {
		t.Error("listed without event:read")
	}
	if res := h.call("list_issue_activity", map[string]any{"issue": "1"}); !res.IsError || !strings.Contains(text(res), "event:read") || len(h.apiRequests()) != 0 {
		t.Errorf("refusal %q, requests %v", text(res), h.apiRequests())
	}
}

func TestAddIssueComment(t *testing.T) {
	h := newHarness(t, setup{})
	var out schemas.CommentOutput
	res := h.call("add_issue_comment", map[string]any{"issue": "PAYMENTS-2", "organization": "acme", "text": "Looking into this.\nRetry storm?"})
	structured(t, res, &out)
	reqs := h.fake.Requests()
	if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != "/api/0/organizations/acme/issues/PAYMENTS-2/comments/" || string(reqs[0].Body) != `{"text":"Looking into this.\nRetry storm?"}` {
		t.Fatalf("requests %+v", reqs)
	}
	if out.ID == "" || out.Date == "" || text(res) != "Added comment "+out.ID+" to issue PAYMENTS-2 at "+out.Date[:16]+"Z." {
		t.Errorf("result %+v %q", out, text(res))
	}
	// It is there, as a note, and a repeat is refused by Sentry in plain words.
	var acts schemas.ActivityOutput
	structured(t, h.call("list_issue_activity", map[string]any{"issue": "PAYMENTS-2", "organization": "acme"}), &acts)
	if acts.Activity[0].ID != out.ID || acts.Activity[0].Text != "Looking into this.\nRetry storm?" {
		t.Errorf("activity %+v", acts.Activity[0])
	}
	res = h.call("add_issue_comment", map[string]any{"issue": "PAYMENTS-2", "organization": "acme", "text": "Looking into this.\nRetry storm?"})
	if !res.IsError || text(res) != "Sentry refused the comment: You have already posted that comment. It refuses the same text from the same user within an hour; list_issue_activity shows the comment already posted." {
		t.Errorf("duplicate: %q", text(res))
	}
}

func TestAddIssueCommentErrors(t *testing.T) {
	noUser := sentrytest.DemoData()
	noUser.User = nil
	tests := []struct {
		name     string
		s        setup
		args     map[string]any
		want     string
		wantReqs int
	}{
		{"blank", setup{}, map[string]any{"issue": "4504101", "text": " \n\t "}, "text is blank; give the comment to post", 0},
		{"too long", setup{}, map[string]any{"issue": "4504101", "text": strings.Repeat("é", 5001)}, "text", 0},
		{"blank to Sentry", setup{}, map[string]any{"issue": "4504101", "text": "\x1c\x1d"}, "Sentry refused the comment: text: This field may not be blank.", 1},
		{"token without a user", setup{data: noUser}, map[string]any{"issue": "4504101", "text": "x"},
			"Sentry refused the comment (Key doesn't have permission to create Note): comments need a token of a user", 1},
		{"unknown issue", setup{}, map[string]any{"issue": "99", "text": "x"}, `Not found: issue "99"`, 1},
		{"read-only", setup{readOnly: true}, map[string]any{"issue": "4504101", "text": "x"}, "add_issue_comment is disabled: this server runs read-only", 0},
		{"without event:write", setup{tokenScopes: []string{"org:read", "event:read"}}, map[string]any{"issue": "4504101", "text": "x"}, "add_issue_comment needs the Sentry scope event:write or event:admin", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.s)
			h.wantError("add_issue_comment", tt.args, tt.want, tt.wantReqs)
			if tt.wantReqs == 0 && slices.Contains(h.listNames(), "add_issue_comment") != (tt.name == "blank" || tt.name == "too long") {
				t.Errorf("add_issue_comment listed: %v", h.listNames())
			}
		})
	}
}

// A comment whose answer never came is not sent again (POST is not
// idempotent), and the agent is told how to find out.
func TestAddIssueCommentLostAnswer(t *testing.T) {
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	fake.AddToken(secretToken, memberScopes...)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			fake.Handler().ServeHTTP(httptest.NewRecorder(), r) // posted, but the answer is lost
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
			return
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	fake.URL = proxy.URL
	h := newHarnessWith(t, fake, setup{})
	res := h.call("add_issue_comment", map[string]any{"issue": "4504101", "text": "x"})
	if !res.IsError || !strings.Contains(text(res), "The comment may or may not have been added: list_issue_activity shows it.") {
		t.Errorf("%q", text(res))
	}
	if n := len(h.apiRequests()); n != 1 {
		t.Errorf("the POST was sent %d times: %v", n, h.apiRequests())
	}
}
