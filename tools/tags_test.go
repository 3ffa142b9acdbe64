package tools_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

func TestGetIssueTags(t *testing.T) {
	tests := []struct {
		name     string
		args     map[string]any
		wantReqs []string
		wantText []string
		want     []schemas.TagDistribution // the first tags, compared as JSON
	}{
		{"every key with its top values", map[string]any{"issue": "FRONTEND-1", "organization": "acme"},
			[]string{"GET /api/0/organizations/acme/issues/FRONTEND-1/tags/?limit=5"},
			[]string{
				"Tags of issue FRONTEND-1, each with its top values (share, events, value):\nbrowser: 2,871 events, 4 values\n   34%  976  Chrome 126.0.0\n   34%  976  Safari 17.5\n   17%  488  Firefox 127.0\n   15%  431  Mobile Safari 17.5\n",
				"release: 2,871 events, 4 values\n   51%  1,464  frontend@5.1.3\n   17%    488  frontend@5.3.0\n",
				"\nget_issue_tags with key lists every value of one tag.",
			},
			[]schemas.TagDistribution{{Key: "browser", Total: 2871, Unique: 4, Values: []schemas.TagValueCount{{Value: "Chrome 126.0.0", Count: 976, Percent: 34}, {Value: "Safari 17.5", Count: 976, Percent: 34}, {Value: "Firefox 127.0", Count: 488, Percent: 17}, {Value: "Mobile Safari 17.5", Count: 431, Percent: 15}}}}},
		{"in one environment", map[string]any{"issue": "4504113", "environment": "staging"},
			[]string{"GET /api/0/issues/4504113/tags/?environment=staging&limit=5"},
			[]string{"environment: 431 events, 1 value\n  100%  431  staging\n"}, nil},
		{"one key, every value", map[string]any{"issue": "FRONTEND-1", "organization": "acme", "key": "browser"},
			[]string{"GET /api/0/organizations/acme/issues/FRONTEND-1/tags/browser/", "GET /api/0/organizations/acme/issues/FRONTEND-1/tags/browser/values/?per_page=50&sort=count"},
			[]string{"Tag browser of issue FRONTEND-1: 2,871 events, 4 distinct values. Most frequent first (share, events, first seen, last seen, value):\n   34%  976  20", "Z  Chrome 126.0.0\n   34%  976  20", "Z  Mobile Safari 17.5"},
			nil},
		{"a user tag names the user", map[string]any{"issue": "4504113", "key": "sentry:user"},
			[]string{"GET /api/0/issues/4504113/tags/sentry:user/", "GET /api/0/issues/4504113/tags/sentry:user/values/?per_page=50&sort=count"},
			[]string{"Z  id:48213 (48213)\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{})
			res := h.call("get_issue_tags", tt.args)
			var out schemas.IssueTagsOutput
			structured(t, res, &out)
			if got := sortedRequests(h); !slices.Equal(got, tt.wantReqs) {
				t.Errorf("requests %q, want %q", got, tt.wantReqs)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(text(res), w) {
					t.Errorf("text lacks %q:\n%s", w, text(res))
				}
			}
			if tt.want != nil {
				got, _ := json.Marshal(out.Tags[:len(tt.want)])
				want, _ := json.Marshal(tt.want)
				if string(got) != string(want) {
					t.Errorf("structured %s, want %s", got, want)
				}
			}
			for _, td := range out.Tags {
				sum := int64(0)
				for _, v := range td.Values {
					sum += v.Count
				}
				if tt.args["key"] == nil && td.Unique == int64(len(td.Values)) && sum != td.Total {
					t.Errorf("%s: all values shown but they add to %d of %d", td.Key, sum, td.Total)
				}
			}
			if tt.args["key"] != nil {
				v := out.Tags[0].Values[0]
				if v.FirstSeen == "" || v.LastSeen == "" || v.FirstSeen > v.LastSeen || v.Percent == 0 {
					t.Errorf("value %+v", v)
				}
			}
		})
	}
}

// manyUsers gives FRONTEND-1 events from n distinct users.
func manyUsers(t *testing.T, n int) *sentrytest.Data {
	data := sentrytest.DemoData()
	var is *sentrytest.Issue
	for _, i := range data.Orgs[0].Issues {
		if i.ShortID == "FRONTEND-1" {
			is = i
		}
	}
	b, _ := json.Marshal(is.Events[0])
	for i := 0; i < n; i++ {
		var ev map[string]any
		json.Unmarshal(b, &ev)
		for _, tg := range ev["tags"].([]any) {
			if m := tg.(map[string]any); m["key"] == "user" {
				m["value"] = fmt.Sprintf("id:%d", 70000+i)
			}
		}
		is.Events = append(is.Events, ev)
	}
	return data
}

func TestGetIssueTagsPaginatesOneKey(t *testing.T) {
	data := manyUsers(t, 70)
	users := map[any]bool{}
	for _, is := range data.Orgs[0].Issues {
		if is.ShortID == "FRONTEND-1" {
			for _, ev := range is.Events {
				for _, tg := range ev["tags"].([]any) {
					if m := tg.(map[string]any); m["key"] == "user" {
						users[m["value"]] = true
					}
				}
			}
		}
	}
	unique := int64(len(users)) // the demo's own users and the 70 added
	h := newHarness(t, setup{data: data})
	args := map[string]any{"issue": "FRONTEND-1", "organization": "acme", "key": "user"}
	var p1 schemas.IssueTagsOutput
	res := h.call("get_issue_tags", args)
	structured(t, res, &p1)
	if len(p1.Tags) != 1 || len(p1.Tags[0].Values) != 50 || p1.NextCursor == "" || p1.Tags[0].Unique != unique {
		t.Fatalf("page 1: %d values, cursor %q, unique %d", len(p1.Tags[0].Values), p1.NextCursor, p1.Tags[0].Unique)
	}
	if !strings.HasSuffix(text(res), "\nMore results: call again with cursor=\""+p1.NextCursor+"\".") {
		t.Errorf("text does not end with the cursor line:\n%s", text(res))
	}
	h.fake.ResetRequests()
	args["cursor"] = p1.NextCursor
	var p2 schemas.IssueTagsOutput
	structured(t, h.call("get_issue_tags", args), &p2)
	if int64(len(p2.Tags[0].Values)) != unique-50 || p2.NextCursor != "" {
		t.Errorf("page 2: %d values, cursor %q", len(p2.Tags[0].Values), p2.NextCursor)
	}
	if !slices.Contains(h.apiRequests(), "GET /api/0/organizations/acme/issues/FRONTEND-1/tags/user/values/?cursor="+strings.ReplaceAll(p1.NextCursor, ":", "%3A")+"&per_page=50&sort=count") {
		t.Errorf("requests %v", h.apiRequests())
	}
	seen := map[string]bool{}
	for _, v := range append(p1.Tags[0].Values, p2.Tags[0].Values...) {
		if seen[v.Value] {
			t.Errorf("%s on both pages", v.Value)
		}
		seen[v.Value] = true
	}
}

func TestGetIssueTagsErrors(t *testing.T) {
	tests := []struct {
		name     string
		s        setup
		args     map[string]any
		want     string
		wantReqs int
	}{
		{"cursor without key", setup{}, map[string]any{"issue": "FRONTEND-1", "organization": "acme", "cursor": "0:50:0"},
			"cursor pages the values of one tag: give key too (the list of tags is not paginated)", 0},
		{"a key that cannot be one", setup{}, map[string]any{"issue": "FRONTEND-1", "organization": "acme", "key": "../../issues"}, "key", 0},
		{"unknown key", setup{}, map[string]any{"issue": "FRONTEND-1", "organization": "acme", "key": "brwser"},
			`Issue FRONTEND-1 has no tag "brwser"; its keys: browser, browser.name, environment, handled, level, mechanism, os, os.name, release, transaction, url, user. get_issue_tags without key lists them with their values.`, 3},
		{"unknown environment", setup{}, map[string]any{"issue": "FRONTEND-1", "organization": "acme", "environment": "prod"},
			`No environment "prod" in organization "acme"; its environments: production, staging.`, 2},
		{"unknown environment with key", setup{}, map[string]any{"issue": "FRONTEND-1", "organization": "acme", "key": "browser", "environment": "prod"},
			`No environment "prod" in organization "acme"`, 3},
		{"unknown issue", setup{}, map[string]any{"issue": "FRONTEND-999", "organization": "acme"}, `Not found: issue "FRONTEND-999" in organization "acme"`, 1},
		{"unknown issue with key", setup{}, map[string]any{"issue": "99", "key": "browser"}, `Not found: issue "99"`, 3},
		{"without event:read", setup{tokenScopes: []string{"org:read", "project:read"}}, map[string]any{"issue": "FRONTEND-1", "organization": "acme"}, "get_issue_tags needs the Sentry scope event:read", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.s)
			h.wantError("get_issue_tags", tt.args, tt.want, tt.wantReqs)
		})
	}
}

func TestGetIssueShowsTheIssuesTagDistribution(t *testing.T) {
	h := newHarness(t, setup{})
	var d schemas.IssueDetail
	res := h.call("get_issue", map[string]any{"issue": "BACKEND-1", "organization": "acme"})
	structured(t, res, &d)
	want := []string{"GET /api/0/organizations/acme/issues/BACKEND-1/", "GET /api/0/organizations/acme/issues/BACKEND-1/events/latest/", "GET /api/0/organizations/acme/issues/BACKEND-1/tags/?limit=3"}
	if got := sortedRequests(h); !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
	if !strings.Contains(text(res), "\nTags (share of events): environment=production (85%), staging (15%); ") ||
		!strings.Contains(text(res), "\nMore: get_issue_tags (all tag values), list_issue_activity (comments, history).\n") {
		t.Errorf("text:\n%s", text(res))
	}
	if d.TagsFromEvent || len(d.Tags) == 0 || d.Tags[0].Key != "environment" || !slices.Equal(d.Tags[0].Top, []string{"production (85%)", "staging (15%)"}) {
		t.Errorf("tags %+v (from event %v)", d.Tags, d.TagsFromEvent)
	}
}

// When the tags endpoint fails, get_issue still answers, with the latest
// event's tags labelled as such.
func TestGetIssueFallsBackToTheEventsTags(t *testing.T) {
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	fake.AddToken(secretToken, memberScopes...)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/tags/") {
			w.WriteHeader(404) // a Sentry without the endpoint
			return
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	fake.URL = proxy.URL
	h := newHarnessWith(t, fake, setup{})
	var d schemas.IssueDetail
	res := h.call("get_issue", map[string]any{"issue": "BACKEND-1", "organization": "acme"})
	structured(t, res, &d)
	if !d.TagsFromEvent || len(d.Tags) == 0 || len(d.Tags[0].Top) != 1 || strings.Contains(d.Tags[0].Top[0], "%") {
		t.Errorf("tags %+v (from event %v)", d.Tags, d.TagsFromEvent)
	}
	if !strings.Contains(text(res), "\nLatest event's tags: environment=") || strings.Contains(text(res), "share of events") {
		t.Errorf("text:\n%s", text(res))
	}
}

func TestHostileTagsAreRenderedAsData(t *testing.T) {
	data := hostileData()
	org := data.Orgs[0]
	is := org.Issues[len(org.Issues)-1]
	huge := strings.Repeat("v", 300_000)
	is.Events[0]["tags"] = append(is.Events[0]["tags"].([]any), map[string]any{"key": "huge", "value": huge}, map[string]any{"key": "browser", "value": hostile})
	h := newHarness(t, setup{data: data})
	for _, args := range []map[string]any{
		{"issue": is.ID},
		{"issue": is.ID, "key": "browser"},
	} {
		var out schemas.IssueTagsOutput
		res := h.call("get_issue_tags", args)
		structured(t, res, &out)
		assertInert(t, "get_issue_tags", text(res))
		whole, _ := json.Marshal(res)
		if len(whole) > 64<<10 || strings.Contains(text(res), huge[:1000]) {
			t.Errorf("%v: result %d bytes, the huge value whole in the text: %v", args, len(whole), strings.Contains(text(res), huge[:1000]))
		}
		if args["key"] == nil && (!out.Truncated || !strings.Contains(text(res), "chars)")) {
			t.Errorf("the huge value is not cut with a note (truncated %v)", out.Truncated)
		}
	}
	var d schemas.IssueDetail
	res := h.call("get_issue", map[string]any{"issue": is.ID})
	structured(t, res, &d)
	assertInert(t, "get_issue", text(res))
}
