package sentrytest

import (
	"strings"
	"testing"
)

const relPath = "/api/0/organizations/acme/releases/"

func TestReleaseDetailScopes(t *testing.T) {
	memberOrg := DemoData()
	memberOrg.Orgs[0].Role = "member"
	for _, suffix := range []string{"", "commits/", "deploys/"} {
		path := relPath + "backend%402.14.0/" + suffix
		for _, tt := range []struct {
			data   *Data
			scopes []string
			status int
		}{
			{nil, []string{"org:read", "event:admin", "member:admin"}, 403},
			{nil, []string{"org:ci"}, 200},
			{nil, []string{"project:read"}, 200},
			{nil, []string{"project:releases"}, 200},
			{nil, []string{"project:admin"}, 200},
			{memberOrg, []string{"org:ci"}, 403}, // the member role has no org:ci
			{memberOrg, []string{"project:releases"}, 200},
		} {
			s := newTestServer(t, tt.data, Options{}, tt.scopes...)
			r := get(t, s, path)
			if r.status != tt.status {
				t.Errorf("%s %v: %d %s", path, tt.scopes, r.status, r.body)
			} else if r.status == 403 {
				wantDetail(t, r, 403, msgForbidden)
			}
		}
	}
}

func TestReleaseDetail(t *testing.T) {
	data := DemoData()
	o := data.Orgs[0]
	o.Releases = append(o.Releases, &Release{ID: 990, Version: "orphan@1", Projects: []string{"gone"}, DateCreated: data.BaseTime})
	s := newTestServer(t, data, Options{}, "project:read")
	m := get(t, s, relPath+"backend%402.14.0/").object(t)
	if k, w := keys(m), keys(exampleJSON(t, "release.get.json").(map[string]any)); !sameStrings(k, w) {
		t.Errorf("keys %v, want %v", k, w)
	}
	if m["version"] != "backend@2.14.0" || m["commitCount"] != float64(13) || m["deployCount"] != float64(2) || len(m["authors"].([]any)) != 5 {
		t.Errorf("release %v", m)
	}
	if lc := m["lastCommit"].(map[string]any); !strings.HasPrefix(lc["message"].(string), "fix(billing)") || lc["repository"].(map[string]any)["name"] != "acme/backend" {
		t.Errorf("lastCommit %v", lc)
	}
	if ld := m["lastDeploy"].(map[string]any); ld["environment"] != "production" {
		t.Errorf("lastDeploy %v", ld)
	}
	if a := m["authors"].([]any)[0].(map[string]any); a["id"] != "3" || a["email"] != "priya@acme.example" {
		t.Errorf("author %v", a)
	}
	if len(m["currentProjectMeta"].(map[string]any)) != 0 {
		t.Errorf("currentProjectMeta without project: %v", m["currentProjectMeta"])
	}
	// ?project= names the project: Sentry looks for the release there only.
	meta := get(t, s, relPath+"backend%402.13.2/?project=11").object(t)["currentProjectMeta"].(map[string]any)
	if meta["nextReleaseVersion"] != "backend@2.14.0" || meta["prevReleaseVersion"] != "backend@2.13.1" || meta["firstReleaseVersion"] != "backend@2.12.0" {
		t.Errorf("currentProjectMeta %v", meta)
	}
	wantDetail(t, get(t, s, relPath+"backend%402.13.2/?project=12"), 404, msgNotFound)
	wantDetail(t, get(t, s, relPath+"backend%402.13.2/?project=999"), 403, msgForbidden)
	wantDetail(t, get(t, s, relPath+"backend%402.13.2/?project=x"), 400, "Invalid project parameter. Values must be numbers.")
	// Unknown, in no project, another organization's, or not exactly the version: 404.
	for _, v := range []string{"backend%402.14", "orphan%401", "prototype%400.3.0", "BACKEND%402.14.0", "a%5Cb"} {
		for _, suffix := range []string{"", "commits/", "deploys/"} {
			wantDetail(t, get(t, s, relPath+v+"/"+suffix), 404, msgNotFound)
		}
	}
	// "/" in a version (encoded or not) is another path: no route, as in Sentry.
	for _, p := range []string{"a%2Fb/", "a/b/", "a%2Fb/commits/"} {
		if r := get(t, s, relPath+p); r.status != 404 || len(r.body) != 0 {
			t.Errorf("%s: %d %q", p, r.status, r.body)
		}
	}
	// ... and an encoded "/commits" is release backend@2.14.0's commits.
	if r := get(t, s, relPath+"backend%402.14.0%2Fcommits/"); r.status != 200 || len(r.list(t)) != 13 {
		t.Errorf("decoded commits path: %d", r.status)
	}
	// Unencoded "@" and "+" are the same release.
	if r := get(t, s, relPath+"backend@2.14.0/"); r.status != 200 {
		t.Errorf("raw @: %d", r.status)
	}
	o.Releases = append(o.Releases, &Release{ID: 991, Version: "1.0.0+build.7", Projects: []string{"backend"}, DateCreated: data.BaseTime})
	if r := get(t, s, relPath+"1.0.0%2Bbuild.7/"); r.status != 200 || r.object(t)["version"] != "1.0.0+build.7" {
		t.Errorf("%%2B: %d %s", r.status, r.body)
	}
	// The releases list serializes commits and deploys the same way.
	for _, row := range get(t, s, relPath+"?query=backend%402.14.0").list(t) {
		if r := row.(map[string]any); r["commitCount"] != float64(13) || r["lastDeploy"].(map[string]any)["environment"] != "production" {
			t.Errorf("list row %v", r)
		}
	}
}

func TestReleaseCommitsAndDeploys(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "org:ci")
	r := get(t, s, relPath+"backend%402.14.0/commits/?per_page=10")
	rows := r.list(t)
	if len(rows) != 10 || !strings.Contains(r.header.Get("Link"), `rel="next"; results="true"; cursor="10:1:0"`) {
		t.Fatalf("page 1: %d rows, Link %s", len(rows), r.header.Get("Link"))
	}
	first := rows[0].(map[string]any)
	want := keys(exampleJSON(t, "release.commits.json").([]any)[0].(map[string]any))
	if k := keys(first); !sameStrings(k, append(want, "author", "repository")) {
		t.Errorf("commit keys %v", k)
	}
	if len(first["id"].(string)) != 40 || first["author"].(map[string]any)["id"] != "3" || first["releases"].([]any)[0].(map[string]any)["version"] != "backend@2.14.0" {
		t.Errorf("commit %v", first)
	}
	bot := rows[2].(map[string]any)["author"].(map[string]any)
	if len(bot) != 2 || bot["name"] != "renovate[bot]" || bot["email"] != "bot@renovateapp.com" {
		t.Errorf("an author Sentry does not know is a name and an email: %v", bot)
	}
	r = get(t, s, relPath+"backend%402.14.0/commits/?per_page=10&cursor=10:1:0")
	if rows := r.list(t); len(rows) != 3 || !strings.Contains(r.header.Get("Link"), `rel="next"; results="false"`) {
		t.Errorf("page 2: %d rows, Link %s", len(rows), r.header.Get("Link"))
	}
	wantDetail(t, get(t, s, relPath+"backend%402.14.0/commits/?cursor=zz"), 400, msgInvalidCursor)
	if rows := get(t, s, relPath+"backend%402.12.0/commits/").list(t); len(rows) != 0 {
		t.Errorf("a release without commits: %v", rows)
	}

	deploys := get(t, s, relPath+"backend%402.14.0/deploys/").list(t)
	if len(deploys) != 2 {
		t.Fatalf("deploys %v", deploys)
	}
	prod, staging := deploys[0].(map[string]any), deploys[1].(map[string]any)
	if k, w := keys(prod), keys(exampleJSON(t, "release.deploys.json").([]any)[0].(map[string]any)); !sameStrings(k, w) {
		t.Errorf("deploy keys %v, want %v", k, w)
	}
	if prod["environment"] != "production" || prod["dateStarted"] != nil || prod["name"] != nil || staging["environment"] != "staging" || staging["dateStarted"] == nil {
		t.Errorf("deploys newest first: %v", deploys)
	}
	if rows := get(t, s, relPath+"payments%401.8.0/deploys/").list(t); len(rows) != 0 {
		t.Errorf("payments@1.8.0 was never deployed: %v", rows)
	}
}
