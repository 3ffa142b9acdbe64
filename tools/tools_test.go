package tools_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

func TestListedToolsFollowTheGrant(t *testing.T) {
	tests := []struct {
		name string
		s    setup
		want []string
	}{
		{"member", setup{}, allTools},
		{"read only hides writes", setup{readOnly: true}, toolSet(orgReadTools, eventReadTools, releaseTools, memberTools)},
		{"event:read cannot write", setup{tokenScopes: []string{"org:read", "event:read"}}, toolSet(orgReadTools, eventReadTools)},
		{"event:admin covers write by hierarchy", setup{tokenScopes: []string{"event:admin"}}, toolSet(eventReadTools, eventWriteTools)},
		{"project:admin covers releases via project:read", setup{tokenScopes: []string{"project:admin"}}, toolSet(releaseTools)},
		{"org:ci alone lists releases", setup{tokenScopes: []string{"org:ci"}}, toolSet(releaseTools)},
		{"member:read alone lists members", setup{tokenScopes: []string{"member:read"}}, toolSet(memberTools)},
		{"member:invite implies member:read", setup{tokenScopes: []string{"member:invite"}}, toolSet(memberTools)},
		{"org:admin does not list members", setup{tokenScopes: []string{"org:admin"}}, toolSet(orgReadTools)},
		{"--scopes narrows", setup{bound: []string{"event:read"}}, toolSet(eventReadTools)},
		{"--scopes cannot widen", setup{tokenScopes: []string{"org:read"}, bound: []string{"event:admin", "org:read"}}, toolSet(orgReadTools)},
		{"unknown grant lists all", setup{unknownGrant: true}, allTools},
		{"unknown grant, read only", setup{unknownGrant: true, readOnly: true}, toolSet(orgReadTools, eventReadTools, releaseTools, memberTools)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.s)
			got := h.listNames()
			slices.Sort(got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tools/list = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRefusedToolsNameTheScopeAndSendNothing(t *testing.T) {
	tests := []struct {
		name     string
		s        setup
		tool     string
		args     map[string]any
		wantText string
	}{
		{"resolve without event:write", setup{tokenScopes: []string{"org:read", "event:read"}}, "resolve_issue", map[string]any{"issue": "1"}, "needs the Sentry scope event:write or event:admin"},
		{"read-only", setup{readOnly: true}, "resolve_issue", map[string]any{"issue": "1"}, "read-only"},
		{"list_issues without event scope", setup{tokenScopes: []string{"org:read"}}, "list_issues", map[string]any{"organization": "acme"}, "event:read"},
		{"--scopes bound", setup{bound: []string{"event:read"}}, "list_organizations", nil, "org:read"},
		{"releases without project scope", setup{tokenScopes: []string{"org:read"}}, "list_releases", map[string]any{"organization": "acme"}, "project:releases"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.s)
			res := h.call(tt.tool, tt.args)
			if !res.IsError || !strings.Contains(text(res), tt.wantText) {
				t.Errorf("got isError=%v %q, want an error mentioning %q", res.IsError, text(res), tt.wantText)
			}
			if reqs := h.apiRequests(); len(reqs) != 0 {
				t.Errorf("a refused call reached Sentry: %v", reqs)
			}
		})
	}
}

func TestUnknownGrantMapsSentry403ToScopeMessage(t *testing.T) {
	h := newHarness(t, setup{tokenScopes: []string{"event:read"}, unknownGrant: true})
	res := h.call("resolve_issue", map[string]any{"issue": firstIssue(t, h).ID})
	if !res.IsError || !strings.Contains(text(res), "event:write") || !strings.Contains(text(res), "denied") {
		t.Errorf("got %q", text(res))
	}
}

func firstIssue(t *testing.T, h *harness) schemas.IssueSummary {
	t.Helper()
	var out schemas.IssuesOutput
	structured(t, h.call("list_issues", map[string]any{"organization": "acme", "limit": 1}), &out)
	if len(out.Issues) == 0 {
		t.Fatal("demo data has no unresolved issue")
	}
	return out.Issues[0]
}

func TestHappyPaths(t *testing.T) {
	h := newHarness(t, setup{})

	var who schemas.WhoamiOutput
	structured(t, h.call("whoami", nil), &who)
	if who.User == nil || who.User.Name == "" || !slices.Contains(who.TokenScopes, "event:read") || len(who.EnabledTools) != len(allTools) {
		t.Errorf("whoami = %+v", who)
	}

	var orgs schemas.OrganizationsOutput
	structured(t, h.call("list_organizations", nil), &orgs)
	if !slices.ContainsFunc(orgs.Organizations, func(o schemas.Organization) bool { return o.Slug == "acme" }) {
		t.Errorf("orgs = %+v", orgs)
	}

	var projects schemas.ProjectsOutput
	structured(t, h.call("list_projects", map[string]any{"organization": "acme"}), &projects)
	var slugs []string
	for _, p := range projects.Projects {
		slugs = append(slugs, p.Slug)
	}
	if !reflect.DeepEqual(slugs, []string{"backend", "frontend", "payments"}) {
		t.Errorf("projects = %v", slugs)
	}

	var issues schemas.IssuesOutput
	res := h.call("list_issues", map[string]any{"organization": "acme", "project": "backend", "sort": "freq"})
	structured(t, res, &issues)
	if len(issues.Issues) == 0 {
		t.Fatal("no backend issues")
	}
	for i, is := range issues.Issues {
		if is.Project != "backend" || is.Status != "unresolved" {
			t.Errorf("issue %+v does not match project=backend is:unresolved", is)
		}
		if i > 0 && is.Count > issues.Issues[i-1].Count {
			t.Errorf("sort=freq not descending at %d", i)
		}
	}
	if !strings.Contains(text(res), issues.Issues[0].ShortID) {
		t.Errorf("text does not name the issues: %q", text(res))
	}
	reqs := h.apiRequests()
	if !slices.ContainsFunc(reqs, func(r string) bool {
		return strings.HasPrefix(r, "GET /api/0/organizations/acme/issues/?") && strings.Contains(r, "project=11") && strings.Contains(r, "sort=freq") && strings.Contains(r, "limit=25")
	}) {
		t.Errorf("list_issues did not resolve the project to its id: %v", reqs)
	}

	var rels schemas.ReleasesOutput
	structured(t, h.call("list_releases", map[string]any{"organization": "acme", "project": "backend"}), &rels)
	if len(rels.Releases) == 0 || !strings.HasPrefix(rels.Releases[0].Version, "backend@") {
		t.Errorf("releases = %+v", rels)
	}
}

func TestGetIssue(t *testing.T) {
	h := newHarness(t, setup{})
	first := firstIssue(t, h)
	for _, ref := range []map[string]any{
		{"issue": first.ID},
		{"issue": first.ShortID, "organization": "acme"},
		{"issue": strings.ToLower(first.ShortID), "organization": "acme"},
		{"issue": h.fake.URL + "/organizations/acme/issues/" + first.ID + "/"},
	} {
		var d schemas.IssueDetail
		res := h.call("get_issue", ref)
		structured(t, res, &d)
		if d.ID != first.ID || d.Title == "" || d.Permalink == "" || d.Event == nil || len(d.Event.Exceptions) == 0 {
			t.Fatalf("get_issue(%v) = %+v", ref, d)
		}
		x := d.Event.Exceptions[len(d.Event.Exceptions)-1]
		inApp, collapsed := 0, 0
		for _, f := range x.Frames {
			if f.InApp {
				inApp++
				if f.File == "" || f.Function == "" || f.Line == 0 {
					t.Errorf("in-app frame lacks detail: %+v", f)
				}
			}
			collapsed += f.Omitted
		}
		if inApp == 0 || collapsed == 0 {
			t.Errorf("want in-app frames and collapsed library frames, got %+v", x.Frames)
		}
		if !strings.Contains(text(res), x.Type) || !strings.Contains(text(res), "library frame") {
			t.Errorf("text lacks the exception: %s", text(res))
		}
		if !strings.HasSuffix(text(res), "\nMore: get_event (breadcrumbs, request, user, contexts); list_issue_events (other events).") {
			t.Errorf("text does not end pointing to get_event: %s", text(res))
		}
	}
}

func TestGetIssueResultSize(t *testing.T) {
	for _, tt := range []struct {
		name string
		data *sentrytest.Data
		org  string
	}{
		{"demo", sentrytest.DemoData(), "acme"},
		{"Sentry's published example", sentrytest.ExampleData(), "the-interstellar-jurisdiction"},
	} {
		h := newHarness(t, setup{data: tt.data})
		var issues schemas.IssuesOutput
		structured(t, h.call("list_issues", map[string]any{"organization": tt.org, "limit": 100}), &issues)
		maxText, maxResult, totalText, totalRaw := 0, 0, 0, 0
		for _, is := range issues.Issues {
			res := h.call("get_issue", map[string]any{"issue": is.ID, "organization": tt.org})
			if res.IsError {
				t.Fatalf("get_issue %s: %s", is.ShortID, text(res))
			}
			whole, _ := json.Marshal(res)
			maxText = max(maxText, len(text(res)))
			maxResult = max(maxResult, len(whole))
			totalText += len(text(res))
			totalRaw += rawSize(t, h, "/api/0/organizations/"+tt.org+"/issues/"+is.ID+"/") +
				rawSize(t, h, "/api/0/organizations/"+tt.org+"/issues/"+is.ID+"/events/latest/")
		}
		n := len(issues.Issues)
		t.Logf("%s: get_issue on %d issues: text mean %d bytes (max %d), whole result with structuredContent max %d bytes; Sentry sent a mean %d bytes for the same",
			tt.name, n, totalText/n, maxText, maxResult, totalRaw/n)
		// What an agent needs to fix the bug should fit in a couple of KB.
		if maxText > 4096 || maxResult > 10240 {
			t.Errorf("%s: get_issue text max %d bytes (budget 4096), result max %d (budget 10240)", tt.name, maxText, maxResult)
		}
	}
}

// rawSize is the byte size of Sentry's own answer for path.
func rawSize(t *testing.T, h *harness, path string) int {
	req, _ := http.NewRequest("GET", h.fake.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+secretToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return len(b)
}

func TestIssueWithoutEvents(t *testing.T) {
	h := newHarness(t, setup{})
	var issues schemas.IssuesOutput
	structured(t, h.call("list_issues", map[string]any{"organization": "acme", "query": "", "limit": 100}), &issues)
	found := false
	for _, is := range issues.Issues {
		var d schemas.IssueDetail
		res := h.call("get_issue", map[string]any{"issue": is.ID})
		structured(t, res, &d)
		if d.Event == nil {
			found = true
			if !strings.Contains(text(res), "No event") {
				t.Errorf("text should say there is no event: %s", text(res))
			}
		}
	}
	if !found {
		t.Error("demo data should hold an issue without events")
	}
}

func TestResolveIssue(t *testing.T) {
	tests := []struct {
		args map[string]any
		want schemas.ResolveOutput
	}{
		{map[string]any{}, schemas.ResolveOutput{Status: "resolved"}},
		{map[string]any{"resolution": "resolved"}, schemas.ResolveOutput{Status: "resolved"}},
		{map[string]any{"resolution": "next_release"}, schemas.ResolveOutput{Status: "resolved", InNextRelease: true}},
		{map[string]any{"resolution": "in_release", "release": "backend@2.14.0"}, schemas.ResolveOutput{Status: "resolved", InRelease: "backend@2.14.0"}},
	}
	for _, tt := range tests {
		h := newHarness(t, setup{})
		is := firstIssueIn(t, h, "backend")
		args := map[string]any{"issue": is.ShortID, "organization": "acme"}
		for k, v := range tt.args {
			args[k] = v
		}
		var out schemas.ResolveOutput
		structured(t, h.call("resolve_issue", args), &out)
		tt.want.ID, tt.want.ShortID, tt.want.Permalink = is.ID, is.ShortID, out.Permalink
		if !reflect.DeepEqual(out, tt.want) || out.Permalink == "" {
			t.Errorf("resolve %v = %+v", tt.args, out)
		}
		if st := h.fake.Issue(is.ID)["status"]; st != "resolved" {
			t.Errorf("the fake's issue is %v after resolve", st)
		}
		// Idempotent: again is fine.
		if res := h.call("resolve_issue", args); res.IsError {
			t.Errorf("second resolve: %s", text(res))
		}
	}
}

func firstIssueIn(t *testing.T, h *harness, project string) schemas.IssueSummary {
	t.Helper()
	var out schemas.IssuesOutput
	structured(t, h.call("list_issues", map[string]any{"organization": "acme", "project": project, "limit": 1}), &out)
	if len(out.Issues) == 0 {
		t.Fatalf("no unresolved issue in %s", project)
	}
	h.fake.ResetRequests()
	return out.Issues[0]
}

func TestArgumentErrors(t *testing.T) {
	h := newHarness(t, setup{})
	tests := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"list_issues", map[string]any{}, "organization"},
		{"list_issues", map[string]any{"organization": "acme", "limit": "ten"}, "limit"},
		{"list_issues", map[string]any{"organization": "acme", "limit": 0}, "limit"},
		{"list_issues", map[string]any{"organization": "acme", "limit": 101}, "limit"},
		{"list_issues", map[string]any{"organization": "acme", "sort": "random"}, "sort"},
		{"list_issues", map[string]any{"organization": "acme", "period": "yesterday"}, "period"},
		{"list_issues", map[string]any{"organization": "acme", "bogus": 1}, "bogus"},
		{"list_issues", map[string]any{"organization": "acme", "project": "nope"}, "not found"},
		{"get_issue", map[string]any{}, "issue"},
		{"get_issue", map[string]any{"issue": "BACKEND-1"}, "needs organization"},
		{"get_issue", map[string]any{"issue": "not an id"}, "not an issue id"},
		{"resolve_issue", map[string]any{"issue": "1", "resolution": "in_release"}, "needs release"},
		{"resolve_issue", map[string]any{"issue": "1", "release": "x"}, "only used with"},
		{"resolve_issue", map[string]any{"issue": "1", "resolution": "wontfix"}, "resolution"},
		{"list_projects", map[string]any{"organization": 7}, "organization"},
	}
	for _, tt := range tests {
		res := h.call(tt.tool, tt.args)
		if !res.IsError || !strings.Contains(text(res), tt.want) {
			t.Errorf("%s %v: got isError=%v %q, want mention of %q", tt.tool, tt.args, res.IsError, text(res), tt.want)
		}
	}
}

func TestHostileInputNeverLeavesTheIntendedEndpoint(t *testing.T) {
	var evilHits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { evilHits.Add(1) }))
	defer evil.Close()
	h := newHarness(t, setup{})
	evilHost := strings.TrimPrefix(evil.URL, "http://")
	tests := []struct {
		tool string
		args map[string]any
	}{
		{"list_projects", map[string]any{"organization": "../../api-tokens"}},
		{"list_projects", map[string]any{"organization": "%2e%2e"}},
		{"list_projects", map[string]any{"organization": "acme/../../api-tokens"}},
		{"list_issues", map[string]any{"organization": "acme?query=x"}},
		{"list_issues", map[string]any{"organization": "acme#x"}},
		{"list_issues", map[string]any{"organization": "acme", "project": "../x"}},
		{"list_issues", map[string]any{"organization": "аcme"}}, // Cyrillic a
		{"list_issues", map[string]any{"organization": "acme\r\nX: y"}},
		{"list_issues", map[string]any{"organization": strings.Repeat("a", 1<<20)}},
		{"list_releases", map[string]any{"organization": "acme", "project": "..%2f"}},
		{"get_issue", map[string]any{"issue": "../../api-tokens/"}},
		{"get_issue", map[string]any{"issue": "1/../../../api-tokens"}},
		{"get_issue", map[string]any{"issue": "1", "organization": ".."}},
		{"get_issue", map[string]any{"issue": evil.URL + "/organizations/acme/issues/1/"}},
		{"get_issue", map[string]any{"issue": "http://" + strings.TrimPrefix(h.fake.URL, "http://") + "@" + evilHost + "/organizations/acme/issues/1/"}},
		{"get_issue", map[string]any{"issue": h.fake.URL + "/organizations/%2e%2e/issues/1/"}},
		{"get_issue", map[string]any{"issue": h.fake.URL + "/organizations/acme/issues/1%2F..%2F..%2Fapi-tokens/"}},
		{"resolve_issue", map[string]any{"issue": evil.URL + "/organizations/acme/issues/1/"}},
		{"get_issue", map[string]any{"issue": strings.Repeat("9", 1<<20)}},
	}
	for _, tt := range tests {
		res := h.call(tt.tool, tt.args)
		name := tt.tool + " " + clip(tt.args)
		if !res.IsError {
			t.Errorf("%s: accepted: %s", name, text(res))
		}
		if len(text(res)) > 1000 {
			t.Errorf("%s: error text of %d bytes echoes the input", name, len(text(res)))
		}
		for _, r := range h.apiRequests() {
			t.Errorf("%s: reached Sentry: %s", name, r)
		}
		h.fake.ResetRequests()
	}
	if n := evilHits.Load(); n != 0 {
		t.Errorf("%d requests reached a foreign host", n)
	}
}

func clip(v any) string {
	s := strings.ReplaceAll(strings.TrimSpace(strings.Join(strings.Fields(strings.ReplaceAll(stringify(v), "\n", " ")), " ")), "\r", "")
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}

func stringify(v any) string {
	var b strings.Builder
	for k, x := range v.(map[string]any) {
		b.WriteString(k + "=")
		if s, ok := x.(string); ok {
			b.WriteString(s)
		}
		b.WriteString(" ")
	}
	return b.String()
}

func TestOrganizationPin(t *testing.T) {
	h := newHarness(t, setup{org: "acme"})
	res := h.call("list_issues", map[string]any{"organization": "acme-labs"})
	if !res.IsError || !strings.Contains(text(res), "pinned") {
		t.Errorf("other org: %q", text(res))
	}
	var out schemas.IssuesOutput
	structured(t, h.call("list_issues", map[string]any{}), &out) // the pin fills an omitted organization
	if len(out.Issues) == 0 {
		t.Error("no issues via the pin")
	}
	var orgs schemas.OrganizationsOutput
	structured(t, h.call("list_organizations", nil), &orgs)
	if len(orgs.Organizations) != 1 || orgs.Organizations[0].Slug != "acme" {
		t.Errorf("pinned list_organizations = %+v", orgs)
	}
	res = h.call("get_issue", map[string]any{"issue": h.fake.URL + "/organizations/acme-labs/issues/1/"})
	if !res.IsError || !strings.Contains(text(res), "pinned") {
		t.Errorf("issue URL in another org: %q", text(res))
	}
}

func TestPaginationFollowsCursors(t *testing.T) {
	data := sentrytest.ExampleData()
	data.AddIssues("the-interstellar-jurisdiction", "pump-station", 57)
	h := newHarness(t, setup{data: data, tokenScopes: []string{"org:read", "event:read"}})
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		args := map[string]any{"organization": "the-interstellar-jurisdiction", "limit": 10, "query": ""}
		if cursor != "" {
			args["cursor"] = cursor
		}
		var out schemas.IssuesOutput
		res := h.call("list_issues", args)
		structured(t, res, &out)
		pages++
		for _, is := range out.Issues {
			if seen[is.ID] {
				t.Errorf("issue %s on two pages", is.ID)
			}
			seen[is.ID] = true
		}
		if out.NextCursor == "" {
			if strings.Contains(text(res), "cursor=") {
				t.Error("last page still offers a cursor")
			}
			break
		}
		if !strings.Contains(text(res), out.NextCursor) {
			t.Error("text does not say how to get more")
		}
		cursor = out.NextCursor
		if pages > 20 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != 58 || pages != 6 {
		t.Errorf("saw %d issues on %d pages, want 58 on 6", len(seen), pages)
	}
	// Never fetch all pages silently: one call, one request.
	h.fake.ResetRequests()
	h.call("list_issues", map[string]any{"organization": "the-interstellar-jurisdiction", "limit": 10, "project": "2"})
	if n := len(h.apiRequests()); n != 1 {
		t.Errorf("one list call sent %d requests", n)
	}
}

func TestSentryErrorsBecomeToolErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   []string
	}{
		{"400", 400, `{"detail": "Invalid query: unknown key foo"}`, []string{"rejected", "unknown key foo"}},
		{"401 expired", 401, `{"detail": "Token expired"}`, []string{"Token expired", "Sign in again"}},
		{"403", 403, `{"detail": "You do not have permission to perform this action."}`, []string{"denied", "event:read"}},
		{"404", 404, `{"detail": "The requested resource does not exist"}`, []string{"Not found", "list_organizations"}},
		{"429", 429, `{"detail": "You are attempting to use this endpoint too frequently. Limit is 5 requests in 1 seconds"}`, []string{"rate-limited", "Try again"}},
		{"500", 500, `{"detail": "Internal Error", "errorId": "abc"}`, []string{"server error", "500"}},
		{"502 html", 502, `<html><body>Bad gateway</body></html>`, []string{"server error", "502"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{})
			n := 1
			if tt.status >= 500 {
				n = 3 // more than the client retries
			}
			h.fake.FailNext(n, tt.status, tt.body)
			res := h.call("list_issues", map[string]any{"organization": "acme"})
			if !res.IsError {
				t.Fatalf("not an error: %s", text(res))
			}
			for _, w := range tt.want {
				if !strings.Contains(text(res), w) {
					t.Errorf("%q lacks %q", text(res), w)
				}
			}
			if strings.Contains(text(res), "<html") {
				t.Errorf("HTML leaked into the message: %q", text(res))
			}
			// The next call works.
			if res := h.call("list_issues", map[string]any{"organization": "acme"}); res.IsError {
				t.Errorf("next call: %s", text(res))
			}
		})
	}
}

func TestExpiredAndInvalidTokens(t *testing.T) {
	h := newHarness(t, setup{})
	h.fake.ExpireToken(secretToken)
	res := h.call("list_organizations", nil)
	if !res.IsError || !strings.Contains(text(res), "Token expired") {
		t.Errorf("expired: %q", text(res))
	}
	for _, r := range h.fake.Requests() {
		if r.Authorization != "Bearer "+secretToken {
			t.Errorf("Authorization header %q", r.Authorization)
		}
	}
}

func TestUnknownOrganization(t *testing.T) {
	h := newHarness(t, setup{})
	res := h.call("list_issues", map[string]any{"organization": "no-such-org"})
	if !res.IsError || !strings.Contains(text(res), "Not found") {
		t.Errorf("got %q", text(res))
	}
	res = h.call("get_issue", map[string]any{"issue": "999999"})
	if !res.IsError || !strings.Contains(text(res), "Not found") {
		t.Errorf("got %q", text(res))
	}
}

func TestRegionRouting(t *testing.T) {
	data := sentrytest.DemoData()
	region := sentrytest.NewServer(data, sentrytest.Options{})
	defer region.Close()
	region.AddToken(secretToken, memberScopes...)
	main := sentrytest.NewServer(data, sentrytest.Options{RegionURL: region.URL})
	defer main.Close()
	main.AddToken(secretToken, memberScopes...)
	h := newHarnessWith(t, main, setup{trusted: []string{strings.TrimPrefix(region.URL, "http://")}})
	region.ResetRequests()
	if res := h.call("list_issues", map[string]any{"organization": "acme"}); res.IsError {
		t.Fatal(text(res))
	}
	var onRegion int
	for _, r := range region.Requests() {
		if strings.HasPrefix(r.Path, "/api/0/organizations/acme/issues/") {
			onRegion++
		}
	}
	for _, r := range main.Requests() {
		if strings.HasPrefix(r.Path, "/api/0/organizations/acme/issues/") {
			t.Errorf("org call went to the main host: %s", r.Path)
		}
	}
	if onRegion != 1 {
		t.Errorf("%d issue list calls on the region host, want 1", onRegion)
	}
	// The region is learned once, then cached.
	main.ResetRequests()
	h.call("list_projects", map[string]any{"organization": "acme"})
	if n := len(main.Requests()); n != 0 {
		t.Errorf("second org call asked the main host again: %v", main.Requests())
	}
}

func TestResolveInUnknownReleaseSaysWhy(t *testing.T) {
	h := newHarness(t, setup{})
	is := firstIssueIn(t, h, "backend")
	res := h.call("resolve_issue", map[string]any{"issue": is.ID, "resolution": "in_release", "release": "backend@9.9.9"})
	if !res.IsError || !strings.Contains(text(res), "inRelease") {
		t.Errorf("got %q", text(res))
	}
	if st := h.fake.Issue(is.ID)["status"]; st != "unresolved" {
		t.Errorf("a rejected resolve changed the issue to %v", st)
	}
}

// TestInjectionStaysInsideItsParameter: values that end up in a query
// string reach exactly the intended endpoint, as one parameter, intact.
func TestInjectionStaysInsideItsParameter(t *testing.T) {
	h := newHarness(t, setup{})
	tests := []struct {
		tool  string
		args  map[string]any
		path  string
		param string
		value string
	}{
		{"list_issues", map[string]any{"organization": "acme", "query": "is:unresolved&project=-1#frag"}, "/api/0/organizations/acme/issues/", "query", "is:unresolved&project=-1#frag"},
		{"list_issues", map[string]any{"organization": "acme", "query": "a\r\nX-Injected: 1"}, "/api/0/organizations/acme/issues/", "query", "a\r\nX-Injected: 1"},
		{"list_issues", map[string]any{"organization": "acme", "environment": "prod?x=1#y"}, "/api/0/organizations/acme/issues/", "environment", "prod?x=1#y"},
		{"list_organizations", map[string]any{"query": "slug:acme&owner=1"}, "/api/0/organizations/", "query", "slug:acme&owner=1"},
		{"list_projects", map[string]any{"organization": "acme", "query": "../../api-tokens/"}, "/api/0/organizations/acme/projects/", "query", "../../api-tokens/"},
		{"list_releases", map[string]any{"organization": "acme", "query": "1.0/../../x"}, "/api/0/organizations/acme/releases/", "query", "1.0/../../x"},
	}
	for _, tt := range tests {
		h.fake.ResetRequests()
		h.call(tt.tool, tt.args) // the fake may answer 400 to odd searches; what matters is where it went
		reqs := h.fake.Requests()
		// An environment that matches nothing is followed by the
		// environments lookup (which takes no parameters).
		if len(reqs) == 2 && reqs[1].Path == "/api/0/organizations/acme/environments/" && reqs[1].RawQuery == "visibility=all" && tt.param == "environment" {
			reqs = reqs[:1]
		}
		if len(reqs) != 1 {
			t.Errorf("%s %v: %d requests: %v", tt.tool, tt.args, len(reqs), h.apiRequests())
			continue
		}
		r := reqs[0]
		q, err := url.ParseQuery(r.RawQuery)
		if r.Method != "GET" || r.Path != tt.path || err != nil {
			t.Errorf("%s: went to %s %s?%s", tt.tool, r.Method, r.Path, r.RawQuery)
			continue
		}
		if got := q[tt.param]; len(got) != 1 || got[0] != tt.value {
			t.Errorf("%s: %s = %q, want %q", tt.tool, tt.param, got, tt.value)
		}
		for _, smuggled := range []string{"owner", "X-Injected"} {
			if q.Has(smuggled) {
				t.Errorf("%s: smuggled parameter %s", tt.tool, smuggled)
			}
		}
		if tt.param == "query" && tt.tool == "list_issues" && q.Has("project") {
			t.Errorf("query smuggled a project filter: %v", q)
		}
	}
}

// TestOddCursorsAreRefused: a cursor is opaque but has Sentry's shape; one
// that could carry other parameters is refused before any request.
func TestOddCursorsAreRefused(t *testing.T) {
	h := newHarness(t, setup{})
	for _, c := range []string{"0:0:0&limit=100", "0:0:0\r\nX: 1", "0:0:0#x", "a b"} {
		h.fake.ResetRequests()
		res := h.call("list_issues", map[string]any{"organization": "acme", "cursor": c})
		if !res.IsError || !strings.Contains(text(res), "cursor") {
			t.Errorf("cursor %q: %q", c, text(res))
		}
		if n := len(h.fake.Requests()); n != 0 {
			t.Errorf("cursor %q: %d requests", c, n)
		}
	}
}

func TestSelfHostedSendsNoRateLimitHeaders(t *testing.T) {
	h := newHarness(t, setup{opts: sentrytest.Options{SelfHosted: true}})
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"list_issues", map[string]any{"organization": "acme"}},
		{"get_issue", map[string]any{"issue": "BACKEND-1", "organization": "acme"}},
		{"list_releases", map[string]any{"organization": "acme"}},
		{"resolve_issue", map[string]any{"issue": "BACKEND-1", "organization": "acme"}},
	} {
		if res := h.call(c.tool, c.args); res.IsError {
			t.Errorf("%s on self-hosted: %s", c.tool, text(res))
		}
	}
}

// TestUserActionRequiredSaysWhatToDo: SSO, 2FA and sudo 401s tell the
// agent what the user must complete and where, not to sign in again.
func TestUserActionRequiredSaysWhatToDo(t *testing.T) {
	for _, tc := range []struct {
		code string
		want []string
	}{
		{sentry.CodeSSORequired, []string{"single sign-on", "/auth/login/acme/", "does not help"}},
		{sentry.Code2FARequired, []string{"two-factor authentication", "Settings > Account > Security"}},
		{sentry.CodeSudoRequired, []string{"confirm your identity"}},
	} {
		h := newHarness(t, setup{})
		h.fake.RequireUserAction("acme", tc.code)
		res := h.call("list_issues", map[string]any{"organization": "acme"})
		for _, w := range append(tc.want, "try again") {
			if !res.IsError || !strings.Contains(text(res), w) {
				t.Errorf("%s: %q lacks %q", tc.code, text(res), w)
			}
		}
		if strings.Contains(text(res), "auth login") {
			t.Errorf("%s: says to sign in again: %q", tc.code, text(res))
		}
	}
}

func TestListTeams(t *testing.T) {
	h := newHarness(t, setup{})
	var out schemas.TeamsOutput
	res := h.call("list_teams", map[string]any{"organization": "acme"})
	structured(t, res, &out)
	var slugs []string
	for _, tm := range out.Teams {
		slugs = append(slugs, tm.Slug)
	}
	if strings.Join(slugs, ",") != "payments-oncall,platform,web" || out.Teams[1].Members != 6 || !out.Teams[1].IsMember || out.Teams[2].IsMember {
		t.Errorf("teams = %+v", out.Teams)
	}
	if txt := text(res); !strings.Contains(txt, "platform  Platform (id 4, 6 members, you are a member)") || !strings.Contains(txt, "(id 6, 1 member,") || !strings.Contains(txt, "web  Web (id 5, 3 members)") {
		t.Errorf("text:\n%s", txt)
	}
	if reqs := h.apiRequests(); len(reqs) != 1 || reqs[0] != "GET /api/0/organizations/acme/teams/?detailed=0" {
		t.Errorf("requests %v", reqs)
	}
	h.fake.ResetRequests()
	structured(t, h.call("list_teams", map[string]any{"organization": "acme", "query": "plat"}), &out)
	if len(out.Teams) != 1 || out.Teams[0].Slug != "platform" {
		t.Errorf("query plat: %+v", out.Teams)
	}
	if reqs := h.apiRequests(); len(reqs) != 1 || !strings.Contains(reqs[0], "query=plat") {
		t.Errorf("requests %v", reqs)
	}
	// Sentry's answer to a bad id filter reaches the agent.
	if res := h.call("list_teams", map[string]any{"organization": "acme", "query": "id:abc"}); !res.IsError || !strings.Contains(text(res), "Invalid id value") {
		t.Errorf("id:abc: %q", text(res))
	}
	if res := h.call("list_teams", map[string]any{"organization": "nope"}); !res.IsError || !strings.Contains(text(res), `organization "nope"`) {
		t.Errorf("unknown org: %q", text(res))
	}
	// Without org:read it is neither listed nor callable.
	h2 := newHarness(t, setup{tokenScopes: []string{"event:read", "member:read"}})
	if slices.Contains(h2.listNames(), "list_teams") {
		t.Error("list_teams listed without org:read")
	}
	if res := h2.call("list_teams", map[string]any{"organization": "acme"}); !res.IsError || !strings.Contains(text(res), "org:read") || len(h2.apiRequests()) != 0 {
		t.Errorf("without org:read: %q", text(res))
	}
}

// whoami and refusals say which sign-in enables what the grant hides.
func TestSignInHintNamesTheScopes(t *testing.T) {
	tests := []struct {
		name   string
		scopes []string
		want   string
	}{
		{"reader", []string{"org:read", "event:read"}, "To enable list_members, resolve_issue, update_issue, add_issue_comment, list_releases, get_release: sentry-mcp auth login --scopes triage (or widen --scopes / SENTRY_MCP_SCOPES)."},
		{"org:ci alone", []string{"org:ci"}, "sentry-mcp auth login --scopes triage"},
		{"everything", []string{"org:read", "event:write", "project:read", "member:read"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{tokenScopes: tt.scopes})
			got := text(h.call("whoami", nil))
			if tt.want == "" && strings.Contains(got, "To enable") || !strings.Contains(got, tt.want) {
				t.Errorf("whoami:\n%s\nwant %q", got, tt.want)
			}
		})
	}
	h := newHarness(t, setup{tokenScopes: []string{"org:read", "event:read"}})
	if got := text(h.call("resolve_issue", map[string]any{"issue": "1"})); !strings.Contains(got, "(sentry-mcp auth login --scopes triage)") {
		t.Errorf("refusal: %s", got)
	}
}
