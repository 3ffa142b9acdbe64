package sentrytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The embedded examples must be verbatim copies of the shared ground truth.
func TestEmbeddedExamplesMatchShared(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared", "sentry-api", "examples")
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("shared examples not found at %s", shared)
	}
	entries, err := examples.ReadDir("examples")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no embedded examples")
	}
	for _, e := range entries {
		got, _ := examples.ReadFile("examples/" + e.Name())
		want, err := os.ReadFile(filepath.Join(shared, e.Name()))
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s", e.Name(), shared)
		}
	}
}

func TestAuthentication(t *testing.T) {
	clock := &fixedClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := newTestServer(t, nil, Options{Now: clock.now}, "org:read")
	s.AddToken("expired", "org:read")
	s.ExpireToken("expired")
	s.AddToken("old", "org:read")
	tests := []struct {
		name, path, auth string
		clock            time.Duration
		status           int
		detail           string
	}{
		{"no header", "/api/0/organizations/", "", 0, 401, "Authentication credentials were not provided."},
		{"unknown token", "/api/0/organizations/", "nope", 0, 401, "Invalid token"},
		{"expired token", "/api/0/organizations/", "expired", 0, 401, "Token expired"},
		{"token past 30 days", "/api/0/organizations/", "old", 30*24*time.Hour + time.Second, 401, "Token expired"},
		{"token at 29 days", "/api/0/organizations/", "old", 29 * 24 * time.Hour, 200, ""},
		{"bearer without value", "/api/0/organizations/", "raw:Bearer", 0, 401, "Invalid token header. No credentials provided."},
		{"bearer with spaces", "/api/0/organizations/", "raw:Bearer a b", 0, 401, "Invalid token header. Token string should not contain spaces."},
		{"lower-case scheme", "/api/0/organizations/", "raw:bearer " + testToken, 0, 200, ""},
		{"other scheme is anonymous", "/api/0/organizations/", "raw:Token " + testToken, 0, 401, "Authentication credentials were not provided."},
		{"index anonymous", "/api/0/", "", 0, 200, ""},
		{"index with invalid bearer", "/api/0/", "nope", 0, 401, "Invalid token"},
		{"index with expired bearer", "/api/0/", "expired", 0, 401, "Token expired"},
	}
	base := clock.now()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.set(base.Add(tt.clock))
			r := do(t, s, "GET", tt.path, tt.auth, "")
			if tt.status != 401 {
				if r.status != tt.status {
					t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
				}
				return
			}
			wantDetail(t, r, 401, tt.detail)
			if got := r.header.Get("WWW-Authenticate"); got != `xBasic realm="api"` {
				t.Errorf("WWW-Authenticate %q", got)
			}
		})
	}
	clock.set(base)
	if r := do(t, s, "GET", "/api/0/", "", ""); !reflect.DeepEqual(r.json(t), exampleJSON(t, "api.index.anonymous.json")) {
		t.Errorf("anonymous index %s", r.body)
	}
}

func TestIndexShowsExpandedScopes(t *testing.T) {
	tests := []struct {
		grant []string
		want  []string
	}{
		{[]string{"org:write", "event:admin"}, []string{"event:admin", "event:read", "event:write", "org:read", "org:write"}},
		{[]string{"project:admin"}, []string{"project:admin", "project:read", "project:write"}},
		{[]string{"org:admin"}, []string{"org:admin", "org:integrations", "org:read", "org:write"}},
		{[]string{"member:write"}, []string{"member:invite", "member:read", "member:write"}},
		{[]string{"alerts:write", "project:releases", "openid"}, []string{"alerts:read", "alerts:write", "openid", "project:releases"}},
		{[]string{"event:read event:read"}, []string{"event:read"}},
	}
	for _, tt := range tests {
		s := newTestServer(t, nil, Options{}, tt.grant...)
		r := get(t, s, "/api/0/")
		m := r.object(t)
		got := stringList(m["auth"].(map[string]any)["scopes"])
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("grant %v: scopes %v, want %v", tt.grant, got, tt.want)
		}
		if !reflect.DeepEqual(s.TokenScopes(testToken), tt.want) {
			t.Errorf("TokenScopes %v", s.TokenScopes(testToken))
		}
		if u := m["user"].(map[string]any); u["name"] != "Dana Reyes" || u["id"] != "1" || u["email"] != "dana@acme.example" {
			t.Errorf("user %v", u)
		}
		if !reflect.DeepEqual(sortedKeys(m), sortedKeys(exampleJSON(t, "api.index.json").(map[string]any))) {
			t.Errorf("index keys %v", keys(m))
		}
	}
}

func sortedKeys(m map[string]any) []string {
	k := keys(m)
	slices.Sort(k)
	return k
}

func TestScopeEnforcement(t *testing.T) {
	memberOrg := DemoData()
	memberOrg.Orgs[0].Role = "member"
	tests := []struct {
		name   string
		data   *Data
		scopes []string
		method string
		path   string
		body   string
		status int
	}{
		{"event:admin lists issues", nil, []string{"event:admin"}, "GET", "/api/0/organizations/acme/issues/", "", 200},
		{"event:read lists issues", nil, []string{"event:read"}, "GET", "/api/0/organizations/acme/issues/", "", 200},
		{"org:read cannot list issues", nil, []string{"org:read"}, "GET", "/api/0/organizations/acme/issues/", "", 403},
		{"project:read cannot list org projects", nil, []string{"project:read"}, "GET", "/api/0/organizations/acme/projects/", "", 403},
		{"org:read lists projects", nil, []string{"org:read"}, "GET", "/api/0/organizations/acme/projects/", "", 200},
		{"org:read lists teams", nil, []string{"org:read"}, "GET", "/api/0/organizations/acme/teams/", "", 200},
		{"org:admin lists teams", nil, []string{"org:admin"}, "GET", "/api/0/organizations/acme/teams/", "", 200},
		{"org:read lists environments", nil, []string{"org:read"}, "GET", "/api/0/organizations/acme/environments/", "", 200},
		{"event:read cannot list environments", nil, []string{"event:read"}, "GET", "/api/0/organizations/acme/environments/", "", 403},
		{"team:read cannot list teams", nil, []string{"team:read"}, "GET", "/api/0/organizations/acme/teams/", "", 403},
		{"org:admin lists orgs by hierarchy", nil, []string{"org:admin"}, "GET", "/api/0/organizations/", "", 200},
		{"event:read cannot list orgs", nil, []string{"event:read"}, "GET", "/api/0/organizations/", "", 403},
		{"org:read cannot list releases", nil, []string{"org:read"}, "GET", "/api/0/organizations/acme/releases/", "", 403},
		{"project:read lists releases", nil, []string{"project:read"}, "GET", "/api/0/organizations/acme/releases/", "", 200},
		{"project:admin lists releases (via its own entry)", nil, []string{"project:admin"}, "GET", "/api/0/organizations/acme/releases/", "", 200},
		{"project:releases lists releases", nil, []string{"project:releases"}, "GET", "/api/0/organizations/acme/releases/", "", 200},
		{"org:ci lists releases", nil, []string{"org:ci"}, "GET", "/api/0/organizations/acme/releases/", "", 200},
		{"event:read cannot update", nil, []string{"event:read"}, "PUT", "/api/0/issues/4504101/", `{"hasSeen":true}`, 403},
		{"event:write updates", nil, []string{"event:write"}, "PUT", "/api/0/issues/4504101/", `{"hasSeen":true}`, 200},
		{"event:admin updates", nil, []string{"event:admin"}, "PUT", "/api/0/organizations/acme/issues/BACKEND-1/", `{"hasSeen":true}`, 200},
		{"event:read reads latest event", nil, []string{"event:read"}, "GET", "/api/0/issues/4504101/events/latest/", "", 200},
		{"project:read cannot read issue", nil, []string{"project:read"}, "GET", "/api/0/issues/4504101/", "", 403},
		{"no scope needed for index", nil, []string{"email"}, "GET", "/api/0/", "", 200},
		{"403 before 404", nil, []string{"org:read"}, "GET", "/api/0/organizations/no-such-org/issues/", "", 403},
		{"404 after the scope check", nil, []string{"event:read"}, "GET", "/api/0/organizations/no-such-org/issues/", "", 404},
		{"HEAD is not in the scope map", nil, []string{"event:read"}, "HEAD", "/api/0/organizations/acme/issues/", "", 403},
		{"POST on a GET-only endpoint", nil, []string{"event:admin"}, "POST", "/api/0/organizations/acme/issues/", "{}", 405},
		// The member role bounds the token: org:ci passes the endpoint's
		// pre-check but is not among a member's scopes.
		{"member role bounds org:ci", memberOrg, []string{"org:ci"}, "GET", "/api/0/organizations/acme/releases/", "", 403},
		{"member role keeps project:releases", memberOrg, []string{"project:releases"}, "GET", "/api/0/organizations/acme/releases/", "", 200},
		{"member role bounds event:admin to its event scopes", memberOrg, []string{"event:admin"}, "PUT", "/api/0/organizations/acme/issues/BACKEND-1/", `{"hasSeen":true}`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, tt.data, Options{}, tt.scopes...)
			r := do(t, s, tt.method, tt.path, testToken, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			switch tt.status {
			case 403:
				if tt.method != "HEAD" {
					wantDetail(t, r, 403, "You do not have permission to perform this action.")
				}
			case 405:
				wantDetail(t, r, 405, `Method "POST" not allowed.`)
			}
		})
	}
}

func TestTrailingSlashAndCatchAll(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "org:read", "event:read")
	r := get(t, s, "/api/0/organizations")
	want := "Route not found, did you forget a trailing slash?\n\ntry: /api/0/organizations/\n" + strings.Repeat(" ", len("try: /api/0/organizations/")-1) + "^\n"
	if r.status != 404 || string(r.body) != want || r.header.Get("Content-Type") != "text/plain" {
		t.Errorf("no slash: %d %q %q", r.status, r.body, r.header.Get("Content-Type"))
	}
	r = do(t, s, "GET", "/api/0/organizations/acme/issues", testToken, "", "Content-Type", "application/json")
	wantJSON(t, r, 404, `{"info": "Route not found, did you forget a trailing slash? try: /api/0/organizations/acme/issues/"}`)
	for _, p := range []string{"/api/0/nope/", "/api/0/organizations/acme/nope/", "/api/0/issues/1/events/notanid/", "/api/0//"} {
		r = get(t, s, p)
		if r.status != 404 || len(r.body) != 0 {
			t.Errorf("%s: %d %q, want an empty 404", p, r.status, r.body)
		}
	}
	if r := get(t, s, "/organizations/acme/"); r.status != 404 {
		t.Errorf("web path: %d", r.status)
	}
}

var linkRe = regexp.MustCompile(`^<([^>]*)>; rel="previous"; results="(true|false)"; cursor="([^"]*)", <([^>]*)>; rel="next"; results="(true|false)"; cursor="([^"]*)"$`)

type links struct {
	prevURL, prevCursor, nextURL, nextCursor string
	prevResults, nextResults                 bool
}

func parseLinks(t *testing.T, h string) links {
	t.Helper()
	m := linkRe.FindStringSubmatch(h)
	if m == nil {
		t.Fatalf("Link header %q is not Sentry's format", h)
	}
	l := links{prevURL: m[1], prevResults: m[2] == "true", prevCursor: m[3], nextURL: m[4], nextResults: m[5] == "true", nextCursor: m[6]}
	for _, u := range []struct{ url, cur string }{{l.prevURL, l.prevCursor}, {l.nextURL, l.nextCursor}} {
		if !strings.HasSuffix(u.url, "&cursor="+u.cur) {
			t.Fatalf("link URL %q does not end with &cursor=%s", u.url, u.cur)
		}
	}
	return l
}

func TestIssuePaginationFollowsCursors(t *testing.T) {
	for _, extra := range []int{0, 250} {
		t.Run(fmt.Sprintf("demo+%d", extra), func(t *testing.T) {
			data := DemoData()
			if extra > 0 {
				data.AddIssues("acme", "backend", extra)
			}
			s := newTestServer(t, data, Options{}, "event:read")
			total := 0
			for _, o := range data.Orgs {
				if o.Slug == "acme" {
					total = len(o.Issues)
				}
			}
			seen := map[string]bool{}
			path := "/api/0/organizations/acme/issues/?limit=10&query="
			pages := 0
			for {
				r := get(t, s, path)
				if r.status != 200 {
					t.Fatalf("%s: %d %s", path, r.status, r.body)
				}
				if r.header.Get("X-Hits") != strconv.Itoa(total) || r.header.Get("X-Max-Hits") != "1000" {
					t.Fatalf("X-Hits %q X-Max-Hits %q, want %d and 1000", r.header.Get("X-Hits"), r.header.Get("X-Max-Hits"), total)
				}
				l := parseLinks(t, r.header.Get("Link"))
				if !strings.HasPrefix(l.nextURL, s.URL+"/api/0/organizations/acme/issues/?limit=10&query=&cursor=") {
					t.Fatalf("next URL %q", l.nextURL)
				}
				if l.prevResults != (pages > 0) {
					t.Errorf("page %d: previous results=%v", pages, l.prevResults)
				}
				for _, it := range r.list(t) {
					id := it.(map[string]any)["id"].(string)
					if seen[id] {
						t.Errorf("issue %s seen twice", id)
					}
					seen[id] = true
				}
				pages++
				if !l.nextResults {
					break
				}
				if pages > 100 {
					t.Fatal("pagination does not end")
				}
				path = strings.TrimPrefix(l.nextURL, s.URL)
			}
			if len(seen) != total || pages != (total+9)/10 {
				t.Errorf("saw %d of %d issues on %d pages", len(seen), total, pages)
			}
		})
	}
}

func TestLinkHeaderFormat(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "org:read", "project:read")
	// OffsetPaginator: first page of 2 has prev 2:-1:1 (false) and next 2:1:0.
	r := get(t, s, "/api/0/organizations/acme/projects/?per_page=2")
	want := fmt.Sprintf(`<%[1]s/api/0/organizations/acme/projects/?per_page=2&cursor=2:-1:1>; rel="previous"; results="false"; cursor="2:-1:1", <%[1]s/api/0/organizations/acme/projects/?per_page=2&cursor=2:1:0>; rel="next"; results="true"; cursor="2:1:0"`, s.URL)
	if got := r.header.Get("Link"); got != want {
		t.Errorf("Link\n got %s\nwant %s", got, want)
	}
	if slugs := slugsOf(r.list(t)); !reflect.DeepEqual(slugs, []string{"backend", "frontend"}) {
		t.Errorf("page 1 %v", slugs)
	}
	r = get(t, s, "/api/0/organizations/acme/projects/?per_page=2&cursor=2:1:0")
	l := parseLinks(t, r.header.Get("Link"))
	if l.nextResults || !l.prevResults || l.prevCursor != "2:0:1" || l.nextCursor != "2:2:0" {
		t.Errorf("page 2 links %+v", l)
	}
	if slugs := slugsOf(r.list(t)); !reflect.DeepEqual(slugs, []string{"payments"}) {
		t.Errorf("page 2 %v", slugs)
	}
	// No other parameters: "?&cursor=".
	r = get(t, s, "/api/0/organizations/")
	if l := parseLinks(t, r.header.Get("Link")); !strings.HasSuffix(l.nextURL, "/api/0/organizations/?&cursor="+l.nextCursor) || l.nextResults {
		t.Errorf("orgs links %+v", l)
	}
	// Parameters are re-encoded in first-seen order, repeats together.
	r = get(t, s, "/api/0/organizations/acme/releases/?project=11&query=backend%402&project=12&per_page=1")
	if l := parseLinks(t, r.header.Get("Link")); !strings.HasSuffix(l.nextURL, "?project=11&project=12&query=backend%402&per_page=1&cursor=1:1:0") {
		t.Errorf("releases next %q", l.nextURL)
	}
}

func slugsOf(l []any) []string {
	var out []string
	for _, p := range l {
		out = append(out, p.(map[string]any)["slug"].(string))
	}
	return out
}

func TestListParameterErrors(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "org:read", "project:read", "event:read")
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/api/0/organizations/?per_page=abc", 400, `{"detail": "Invalid per_page parameter."}`},
		{"/api/0/organizations/?per_page=101", 400, `{"detail": "Invalid per_page value. Must be between 1 and 100."}`},
		{"/api/0/organizations/acme/projects/?per_page=1.5", 400, `{"detail": "Invalid per_page parameter."}`},
		{"/api/0/organizations/acme/releases/?per_page=500", 400, `{"detail": "Invalid per_page value. Must be between 1 and 100."}`},
		{"/api/0/organizations/acme/releases/?cursor=garbage", 400, `{"detail": "Invalid cursor parameter."}`},
		{"/api/0/organizations/?cursor=1:2", 400, `{"detail": "Invalid cursor parameter."}`},
		{"/api/0/organizations/acme/issues/?cursor=x:y:z", 400, `{"detail": "Invalid cursor parameter."}`},
		{"/api/0/organizations/acme/projects/?cursor=100:-1:0", 400, `{"detail": "Pagination offset cannot be negative"}`},
		{"/api/0/organizations/acme/issues/?limit=ten", 400, `{"detail": "invalid limit"}`},
		{"/api/0/projects/acme/backend/issues/?limit=1.0", 400, `{"detail": "invalid limit"}`},
		{"/api/0/organizations/acme/issues/?statsPeriod=7x", 400, `{"detail": "Invalid statsPeriod: '7x'"}`},
		{"/api/0/organizations/acme/issues/?sort=random", 400, `{"detail": "Error parsing search query: Invalid sort: 'random'"}`},
		{"/api/0/organizations/acme/issues/?groupStatsPeriod=7d", 400, `{"detail": "Invalid stats_period. Valid choices are '', '24h', '14d' and 'auto'"}`},
		{"/api/0/organizations/acme/issues/?query=is:bogus", 400, `{"detail": "Error parsing search query: Invalid value for \"is\" search, valid values are ['archived', 'assigned', 'escalating', 'for_review', 'ignored', 'linked', 'new', 'ongoing', 'regressed', 'reprocessing', 'resolved', 'unassigned', 'unlinked', 'unresolved']"}`},
		{"/api/0/organizations/acme/issues/?project=abc", 400, `{"detail": "Invalid project parameter. Values must be numbers."}`},
		{"/api/0/organizations/acme/issues/?project=21", 403, `{"detail": "You do not have permission to perform this action."}`},
		{"/api/0/organizations/acme/issues/?environment=qa", 404, `{"detail": "The requested resource does not exist"}`},
		{"/api/0/organizations/acme/issues/?sort=inbox", 400, `{"detail": "Sort key 'inbox' only supported for inbox search"}`},
		{"/api/0/projects/acme/backend/issues/?statsPeriod=7d", 400, string(mustRead(t, "error.400.invalid_stats_period.json"))},
		{"/api/0/projects/acme/backend/issues/?hashes=abc&query=x", 400, `{"detail": "Cannot use 'hashes' with 'query'"}`},
		{"/api/0/organizations/acme/releases/?status=deleted", 400, `{"detail": "invalid value for status"}`},
		{"/api/0/organizations/acme/projects/?query=id:abc", 400, `{"error": "'id' must be an integer"}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			wantJSON(t, get(t, s, tt.path), tt.status, tt.body)
		})
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := examples.ReadFile("examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNotFound(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "org:read", "project:read", "event:read")
	notFound := string(mustRead(t, "error.404.json"))
	labsIssue := ""
	for _, o := range s.data.Orgs {
		if o.Slug == "acme-labs" {
			labsIssue = o.Issues[0].ID
		}
	}
	for _, p := range []string{
		"/api/0/organizations/no-such-org/projects/",
		"/api/0/organizations/999/issues/",
		"/api/0/projects/acme/nope/issues/",
		"/api/0/projects/acme/21/issues/",
		"/api/0/organizations/acme/issues/999999/",
		"/api/0/organizations/acme/issues/" + labsIssue + "/",
		"/api/0/organizations/acme/issues/PROTOTYPE-1/",
		"/api/0/organizations/acme/issues/not-a-short-id!/",
		"/api/0/issues/BACKEND-1/",
		"/api/0/issues/999999/",
		"/api/0/issues/999999/events/latest/",
		"/api/0/organizations/acme/shortids/NOPE-1/",
		"/api/0/organizations/%2e%2e/issues/1/",
	} {
		t.Run(p, func(t *testing.T) { wantJSON(t, get(t, s, p), 404, notFound) })
	}
	// Encoded slashes are decoded before routing (as WSGI does): no route.
	if r := get(t, s, "/api/0/organizations/acme/issues/1%2F..%2F..%2Fapi-tokens/"); r.status != 404 || len(r.body) != 0 {
		t.Errorf("encoded slashes: %d %q", r.status, r.body)
	}
	// An issue without events.
	var noEvents *Issue
	for _, is := range s.data.Orgs[0].Issues {
		if len(is.Events) == 0 {
			noEvents = is
		}
	}
	wantJSON(t, get(t, s, "/api/0/issues/"+noEvents.ID+"/events/latest/"), 404, string(mustRead(t, "error.404.no_event.json")))
	wantDetail(t, get(t, s, "/api/0/issues/4504101/events/0123456789abcdef0123456789abcdef/"), 404, "Event not found. The event ID may be incorrect, or its age exceeded the retention period.")
	wantDetail(t, get(t, s, "/api/0/issues/4504101/events/latest/?environment=nope"), 404, "The requested resource does not exist")
}

func TestHostilePathsNeverPanicAndAreLogged(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "org:read", "event:read")
	paths := []string{
		"/api/0/organizations/../../api-tokens/",
		"/api/0/organizations/%2e%2e/projects/",
		"/api/0/organizations/acme%2F..%2F..%2Fapi-tokens/projects/",
		"/api/0/organizations/acme/issues/" + strings.Repeat("9", 100000) + "/",
		"/api/0/organizations/" + strings.Repeat("a", 100000) + "/issues/",
		"/api/0/organizations/acme/issues/?query=" + strings.Repeat("%22", 5000),
		"/api/0/organizations/acme/issues/?query=%ZZ&cursor=%00:%00:%00",
		"/api/0/issues/%00/",
		"/api/0/organizations/acme/issues/?query=is:[]",
		"/api/0/organizations/acme/issues/?query=level:%22",
		"/api/0/organizations/acme/issues/?query=!:x%20::%20a:[,]",
		"/api/0/projects/acme/backend/issues/?cursor=9223372036854775807:9223372036854775807:1",
		"/api/0/organizations/acme/projects/?cursor=1e400:1:0",
		"/api/0/organizations/acme/projects/?cursor=1.5:3:0&per_page=-1",
	}
	for _, p := range paths {
		r := get(t, s, p)
		if r.status >= 500 {
			t.Errorf("%.80s: %d %s", p, r.status, r.body)
		}
	}
	if n := len(s.Requests()); n != len(paths) {
		t.Errorf("%d requests logged, want %d", n, len(paths))
	}
	if got := s.Requests()[0]; got.Method != "GET" || got.Authorization != "Bearer "+testToken || got.Path != "/api/0/organizations/../../api-tokens/" {
		t.Errorf("logged %+v", got)
	}
	s.ResetRequests()
	if len(s.Requests()) != 0 {
		t.Error("ResetRequests kept requests")
	}
}

func TestFailNext(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "org:read")
	s.FailNext(2, 502, "<html>bad gateway</html>")
	for i := 0; i < 2; i++ {
		r := do(t, s, "GET", "/api/0/organizations/", "", "")
		if r.status != 502 || string(r.body) != "<html>bad gateway</html>" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("failure %d: %d %q %q", i, r.status, r.body, r.header.Get("Content-Type"))
		}
	}
	if r := get(t, s, "/api/0/organizations/"); r.status != 200 {
		t.Errorf("after the failures: %d", r.status)
	}
	s.FailNext(1, 500, "")
	r := get(t, s, "/api/0/no/route/")
	m := r.object(t)
	if r.status != 500 || m["detail"] != "Internal Error" || len(fmt.Sprint(m["errorId"])) != 32 {
		t.Errorf("500: %s", r.body)
	}
	if n := len(s.Requests()); n != 4 {
		t.Errorf("%d requests logged", n)
	}
}

func TestRateLimitHeaders(t *testing.T) {
	clock := &fixedClock{t: time.Date(2026, 5, 1, 12, 0, 0, 300e6, time.UTC)}
	t.Run("sentry.io", func(t *testing.T) {
		s := newTestServer(t, nil, Options{Now: clock.now}, "event:read", "org:read", "project:read")
		tests := []struct {
			path  string
			limit string
		}{
			{"/api/0/organizations/acme/issues/4504101/", "5"},
			{"/api/0/organizations/acme/issues/4504101/events/latest/", "15"},
			{"/api/0/projects/acme/backend/issues/", "5"},
			{"/api/0/organizations/acme/releases/", "40"},
			{"/api/0/organizations/acme/issues/", "470"},
			{"/api/0/organizations/", "470"},
		}
		for _, tt := range tests {
			r := get(t, s, tt.path)
			h := r.header
			if h.Get("X-Sentry-Rate-Limit-Limit") != tt.limit || h.Get("X-Sentry-Rate-Limit-Reset") != strconv.FormatInt(clock.now().Unix()+1, 10) ||
				h.Get("X-Sentry-Rate-Limit-ConcurrentLimit") != "100" || h.Get("X-Sentry-Rate-Limit-ConcurrentRemaining") != "99" {
				t.Errorf("%s: headers %v", tt.path, h)
			}
			limit, _ := strconv.Atoi(tt.limit)
			if h.Get("X-Sentry-Rate-Limit-Remaining") != strconv.Itoa(limit-1) {
				t.Errorf("%s: remaining %s", tt.path, h.Get("X-Sentry-Rate-Limit-Remaining"))
			}
		}
		// Not enforced by default: honest counts, no 429.
		for i := 0; i < 7; i++ {
			r := get(t, s, "/api/0/issues/4504101/")
			if r.status != 200 {
				t.Fatalf("request %d: %d", i, r.status)
			}
			if i == 6 && r.header.Get("X-Sentry-Rate-Limit-Remaining") != "0" {
				t.Errorf("remaining after 8 requests: %s", r.header.Get("X-Sentry-Rate-Limit-Remaining"))
			}
		}
	})
	t.Run("self-hosted", func(t *testing.T) {
		s := newTestServer(t, nil, Options{SelfHosted: true, EnforceRateLimits: true, Now: clock.now}, "event:read")
		for i := 0; i < 8; i++ {
			r := get(t, s, "/api/0/issues/4504101/")
			if r.status != 200 {
				t.Fatalf("self-hosted request %d: %d", i, r.status)
			}
			for k := range r.header {
				if strings.HasPrefix(strings.ToLower(k), "x-sentry-rate-limit") {
					t.Errorf("self-hosted sends %s", k)
				}
			}
		}
	})
	t.Run("enforced", func(t *testing.T) {
		s := newTestServer(t, nil, Options{EnforceRateLimits: true, Now: clock.now}, "event:read")
		for i := 1; i <= 6; i++ {
			r := get(t, s, "/api/0/organizations/acme/issues/BACKEND-1/")
			if i <= 5 {
				if r.status != 200 || r.header.Get("X-Sentry-Rate-Limit-Remaining") != strconv.Itoa(5-i) {
					t.Fatalf("request %d: %d remaining %s", i, r.status, r.header.Get("X-Sentry-Rate-Limit-Remaining"))
				}
				continue
			}
			if r.status != 429 || string(r.body) != string(bytes.TrimSpace(compactJSON(t, mustRead(t, "error.429.json")))) {
				t.Errorf("429: %d %s", r.status, r.body)
			}
			if r.header.Get("Content-Type") != "text/html; charset=utf-8" || r.header.Get("Retry-After") != "" ||
				r.header.Get("X-Sentry-Rate-Limit-Remaining") != "0" || r.header.Get("X-Sentry-Rate-Limit-Limit") != "5" {
				t.Errorf("429 headers %v", r.header)
			}
		}
		// PUT has its own window; the next second opens a new one.
		if r := do(t, s, "PUT", "/api/0/issues/4504101/", testToken, "{}"); r.status != 403 {
			t.Errorf("PUT with event:read: %d", r.status)
		}
		clock.set(clock.now().Add(time.Second))
		if r := get(t, s, "/api/0/organizations/acme/issues/BACKEND-1/"); r.status != 200 {
			t.Errorf("next window: %d", r.status)
		}
	})
}

func compactJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jsonCompact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTeamsList(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "org:read")
	slugs := func(body string) string {
		var rows []map[string]any
		if err := json.Unmarshal([]byte(body), &rows); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		var out []string
		for _, r := range rows {
			out = append(out, r["slug"].(string))
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct{ query, want string }{
		{"", "payments-oncall,platform,web"},
		{"?query=PLAT", "platform"},
		{"?query=slug:web", "web"},
		{"?query=id:4", "platform"},
		{"?query=hasExternalTeams:false", "payments-oncall,platform,web"},
		{"?query=role:admin", ""},
		{"?per_page=2", "payments-oncall,platform"},
	} {
		r := get(t, s, "/api/0/organizations/acme/teams/"+tc.query)
		if r.status != 200 || slugs(string(r.body)) != tc.want {
			t.Errorf("%s: %d %s, want %s", tc.query, r.status, r.body, tc.want)
		}
	}
	wantDetail(t, get(t, s, "/api/0/organizations/acme/teams/?query=id:abc"), 400, "Invalid id value")
	// Rows have Sentry's shape; detailed=0 drops projects.
	var rows []map[string]any
	json.Unmarshal(get(t, s, "/api/0/organizations/acme/teams/?query=platform").body, &rows)
	if len(rows) != 1 || rows[0]["memberCount"] != float64(6) || rows[0]["isMember"] != true || rows[0]["projects"] == nil || rows[0]["access"] == nil {
		t.Errorf("row %v", rows)
	}
	var plain []map[string]any
	json.Unmarshal(get(t, s, "/api/0/organizations/acme/teams/?query=platform&detailed=0").body, &plain)
	if _, ok := plain[0]["projects"]; ok || len(plain) != 1 {
		t.Errorf("detailed=0 still has projects: %v", plain)
	}
	if r := get(t, s, "/api/0/organizations/acme/teams/?per_page=2"); !strings.Contains(r.header.Get("Link"), `rel="next"; results="true"`) {
		t.Errorf("Link %q", r.header.Get("Link"))
	}
}

func TestEnvironmentsList(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "org:read")
	for _, tc := range []struct{ query, want string }{
		{"", `[{"id":"1","name":"production"},{"id":"2","name":"staging"}]`},
		{"?visibility=all", `[{"id":"1","name":"production"},{"id":"2","name":"staging"}]`},
		{"?visibility=hidden", `[]`},
	} {
		r := get(t, s, "/api/0/organizations/acme/environments/"+tc.query)
		if r.status != 200 || strings.TrimSpace(string(r.body)) != tc.want || r.header.Get("Link") != "" {
			t.Errorf("%q: %d %s (Link %q), want %s unpaginated", tc.query, r.status, r.body, r.header.Get("Link"), tc.want)
		}
	}
	d := DemoData()
	d.Orgs[0].HiddenEnvironments = []string{"canary"}
	hs := newTestServer(t, d, Options{}, "org:read")
	for q, want := range map[string]string{"": `[{"id":"2","name":"production"},{"id":"3","name":"staging"}]`, "?visibility=hidden": `[{"id":"1","name":"canary"}]`, "?visibility=all": `[{"id":"1","name":"canary"},{"id":"2","name":"production"},{"id":"3","name":"staging"}]`} {
		if r := get(t, hs, "/api/0/organizations/acme/environments/"+q); strings.TrimSpace(string(r.body)) != want {
			t.Errorf("hidden canary, %q: %s, want %s", q, r.body, want)
		}
	}
	wantDetail(t, get(t, s, "/api/0/organizations/acme/environments/?visibility=gone"), 400, "Invalid value for 'visibility', valid values are: ['all', 'hidden', 'visible']")
	if r := get(t, s, "/api/0/organizations/nope/environments/"); r.status != 404 {
		t.Errorf("unknown org: %d", r.status)
	}
}
