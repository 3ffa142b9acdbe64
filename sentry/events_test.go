package sentry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// eventJSON is a small event with everything get_event reads, in the
// shapes Sentry versions send.
const eventJSON = `{"eventID":"e1","groupID":7,"projectID":"11","title":"T","dateCreated":"2026-01-01T00:00:00Z",
"user":{"id":48213,"email":"a@b.c","username":null,"ip_address":"192.0.2.1","name":"N","data":{}},
"sdk":{"name":"sentry.python","version":"2.8.0"},
"contexts":{"browser":{"name":"Chrome","version":126,"type":"browser"},"os":"odd","trace":{"trace_id":"abc","span_id":"def","op":"http.server"}},
"entries":[
 {"type":"exception","data":{"values":[{"type":"E","value":"v","mechanism":{"type":"django","handled":false},"stacktrace":{"frames":[{"function":"f","lineNo":3,"inApp":true,"vars":{"a":1,"b":"'x'"},"context":[[2,"pre"],[3,"cur"],[4,"post"]]}]}}]}},
 {"type":"breadcrumbs","data":{"values":[{"timestamp":1541539195.5,"category":"query","level":"info","message":"SELECT 1"},{"timestamp":"2026-01-01T00:00:00.123Z","category":7,"data":{"url":"/x","method":"GET"}},{"bad":["shape"],"message":{"o":1}}]}},
 {"type":"request","data":{"url":"https://h/p","method":"GET","query":"b=2&a=1","headers":{"User-Agent":"ua","Cookie":"c"},"cookies":[["s","x"]],"env":{"REMOTE_ADDR":"1.2.3.4"}}}
]}`

func TestEventParts(t *testing.T) {
	var paths []string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		fmt.Fprint(w, eventJSON)
	})
	ev, _, err := c.GetIssueEvent(context.Background(), "acme", "BACKEND-1", "oldest")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(paths, []string{"/api/0/organizations/acme/issues/BACKEND-1/events/oldest/"}) {
		t.Errorf("paths %v", paths)
	}
	if ev.GroupID != "7" || ev.ProjectID != "11" || ev.User == nil || ev.User.ID != "48213" || ev.User.Username != "" || ev.SDK == nil || ev.SDK.Version != "2.8.0" {
		t.Errorf("event %+v user %+v", ev, ev.User)
	}
	if b, ok := ev.Context("browser"); !ok || b.Name != "Chrome" || b.Version != "126" {
		t.Errorf("browser %+v", b)
	}
	if _, ok := ev.Context("os"); ok {
		t.Error("a context that is not an object decoded")
	}
	if tr, _ := ev.Context("trace"); tr.TraceID != "abc" || tr.Op != "http.server" {
		t.Errorf("trace %+v", tr)
	}
	crumbs := ev.Breadcrumbs()
	if len(crumbs) != 3 || crumbs[0].Timestamp != "1541539195.5" || crumbs[1].Category != "7" || string(crumbs[1].Data["url"]) != `"/x"` || crumbs[2].Message != "" {
		t.Errorf("breadcrumbs %+v", crumbs)
	}
	r := ev.Request()
	if r == nil || r.URL != "https://h/p" {
		t.Fatalf("request %+v", r)
	}
	if got := r.QueryPairs(); !slices.Equal(got, []Pair{{"a", "1"}, {"b", "2"}}) {
		t.Errorf("query from a string %v", got)
	}
	if got := r.HeaderPairs(); !slices.Equal(got, []Pair{{"Cookie", "c"}, {"User-Agent", "ua"}}) {
		t.Errorf("headers from an object %v", got)
	}
	x := ev.Exceptions()
	if len(x) != 1 || x[0].Mechanism.Type != "django" || string(x[0].Stacktrace.Frames[0].Vars) != `{"a":1,"b":"'x'"}` || len(x[0].Stacktrace.Frames[0].Context) != 3 {
		t.Errorf("exceptions %+v", x)
	}
	for _, bad := range []string{"newest", "../x", strings.Repeat("a", 37), ""} {
		if _, _, err := c.GetIssueEvent(context.Background(), "acme", "1", bad); err == nil {
			t.Errorf("event %q was sent", bad)
		}
	}
	if len(paths) != 1 {
		t.Errorf("invalid events reached Sentry: %v", paths)
	}
}

func TestRequestPairsFromLists(t *testing.T) {
	r := Request{Query: []byte(`[["a","1"],["b",2],["bad"]]`), Headers: []byte(`[["X","y"],"odd",["A",null]]`)}
	if got := r.QueryPairs(); !slices.Equal(got, []Pair{{"a", "1"}, {"b", "2"}}) {
		t.Errorf("query %v", got)
	}
	if got := r.HeaderPairs(); !slices.Equal(got, []Pair{{"X", "y"}, {"A", ""}}) {
		t.Errorf("headers %v", got)
	}
}

func TestLookupEventID(t *testing.T) {
	for _, size := range []int{0, 400 << 10} { // small: decoded at once; large: streamed
		var paths []string
		c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			paths = append(paths, r.URL.Path)
			ev := strings.Replace(eventJSON, `"title":"T"`, `"title":"T","context":{"big":"`+strings.Repeat("z", size)+`"}`, 1)
			fmt.Fprintf(w, `{"organizationSlug":"acme","projectSlug":"backend","groupId":"7","eventId":"e1","event":%s}`, ev)
		})
		id := strings.Repeat("ab", 16)
		lk, _, err := c.LookupEventID(context.Background(), "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		if lk.ProjectSlug != "backend" || lk.GroupID != "7" || lk.Event.Title != "T" || len(lk.Event.Exceptions()) != 1 || lk.Event.User == nil {
			t.Errorf("size %d: lookup %+v", size, lk)
		}
		if !slices.Equal(paths, []string{"/api/0/organizations/acme/eventids/" + id + "/"}) {
			t.Errorf("paths %v", paths)
		}
		for _, bad := range []string{"latest", "12345", "x" + id[1:]} {
			if _, _, err := c.LookupEventID(context.Background(), "acme", bad); err == nil {
				t.Errorf("lookup of %q was sent", bad)
			}
		}
	}
}

// A small event is decoded at once, but one that carries the pruning
// decoder's own keys goes through it, so they cannot be forged.
func TestSmallEventCannotForgeOmittedCounts(t *testing.T) {
	body := `{"entries":[{"type":"exception","data":{"values":[{"type":"E","stacktrace":{"frames":[],"sentry-mcp:framesOmitted":5}}]}},` +
		`{"type":"breadcrumbs","data":{"values":[],"sentry-mcp:valuesOmitted":9}}]}`
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) })
	ev, _, err := c.LatestEvent(context.Background(), "", "1")
	if err != nil {
		t.Fatal(err)
	}
	if x := ev.Exceptions(); len(x) != 1 || x[0].Stacktrace.FramesOmitted != 0 || ev.ValuesOmitted("breadcrumbs") != 0 {
		t.Errorf("forged counts believed: %+v, %d", x, ev.ValuesOmitted("breadcrumbs"))
	}
}

func TestListIssueEvents(t *testing.T) {
	var got []string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Path+"?"+r.URL.RawQuery)
		w.Header().Set("Link", `<x>; rel="previous"; results="false"; cursor="0:0:1", <x>; rel="next"; results="true"; cursor="0:25:0"`)
		fmt.Fprint(w, `[{"id":"e1","eventID":"e1","title":"T","dateCreated":"2026-01-01T00:00:00Z","user":{"email":"a@b.c"},"tags":[{"key":"environment","value":"production"}]}]`)
	})
	rows, resp, err := c.ListIssueEvents(context.Background(), "", "42", IssueEventsOptions{Query: "user.email:a@b.c", Environment: "production", StatsPeriod: "14d", PerPage: 25, Cursor: "0:0:0"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "/api/0/issues/42/events/?cursor=0%3A0%3A0&environment=production&per_page=25&query=user.email%3Aa%40b.c&statsPeriod=14d"; len(got) != 1 || got[0] != want {
		t.Errorf("requests %v, want %s", got, want)
	}
	if len(rows) != 1 || rows[0].User.Email != "a@b.c" || resp.Page.NextCursor != "0:25:0" {
		t.Errorf("rows %+v, page %+v", rows, resp.Page)
	}
}

func TestFlexStringFastPathAgrees(t *testing.T) {
	for _, raw := range []string{`"plain"`, `"esc\"aped\n"`, `"\u00e9t\u00e9"`, "\"bad\xffutf8\"", `""`, `"é"`} {
		var fast FlexString
		var slow string
		if err := fast.UnmarshalJSON([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(raw), &slow); err != nil {
			t.Fatal(err)
		}
		if string(fast) != slow {
			t.Errorf("%q: %q, encoding/json says %q", raw, fast, slow)
		}
	}
}
