package sentrytest

import (
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Commit is a commit of a release.
type Commit struct {
	ID      string // sha
	Message string
	// AuthorName and AuthorEmail are the commit's author; an author whose
	// email is a member's is serialized as that user, as Sentry matches
	// commit authors to users by email.
	AuthorName, AuthorEmail string
	Repository              string // e.g. acme/backend
	Date                    time.Time
}

// Deploy is a deploy of a release to an environment.
type Deploy struct {
	ID                        string
	Environment               string
	Name, URL                 string    // "" = null
	DateStarted, DateFinished time.Time // DateStarted zero = null
}

func init() {
	addRoute("OrganizationReleaseDetailsEndpoint", "organizations/{org}/releases/{version}", permRelease,
		map[string]func(*call){http.MethodGet: getRelease}, nil)
	addRoute("OrganizationReleaseCommitsEndpoint", "organizations/{org}/releases/{version}/commits", permRelease,
		map[string]func(*call){http.MethodGet: listReleaseCommits}, nil)
	addRoute("ReleaseDeploysEndpoint", "organizations/{org}/releases/{version}/deploys", permRelease,
		map[string]func(*call){http.MethodGet: listReleaseDeploys}, nil)
}

// releaseFromPath resolves {version} (an exact match, as Release.version)
// among the releases of the given projects: 404 when there is none. A
// version with "/" never gets here: the decoded path has another segment,
// so no route matches (or "a/commits" is release a's commits).
func (c *call) releaseFromPath(o *Org, projects []*Project) *Release {
	for _, r := range o.Releases {
		if r.Version == c.p["version"] && slices.ContainsFunc(projects, func(p *Project) bool { return slices.Contains(r.Projects, p.Slug) }) {
			return r
		}
	}
	c.notFound()
	return nil
}

// releaseOfPath is the organization, the projects projectsOf allows, and
// the {version} release among them; a nil release means the error has
// been answered.
func (c *call) releaseOfPath(projectsOf func(*call, *Org) ([]*Project, bool)) (*Org, []*Project, *Release) {
	o := c.org()
	if o == nil {
		return nil, nil, nil
	}
	projects, ok := projectsOf(c, o)
	if !ok {
		return nil, nil, nil
	}
	return o, projects, c.releaseFromPath(o, projects)
}

// permittedProjects is has_release_permission's set: every project of the
// organization (include_all_accessible), or the ?project= ones.
func (c *call) permittedProjects(o *Org) ([]*Project, bool) {
	if len(c.q.getlist("project")) == 0 {
		return o.Projects, true
	}
	return c.projects(o)
}

// GET /api/0/organizations/{org}/releases/{version}/
// (OrganizationReleaseDetailsEndpoint): 404 for an unknown version or one
// in none of the permitted projects; ?project= fills currentProjectMeta.
func getRelease(c *call) {
	o, projects, r := c.releaseOfPath((*call).permittedProjects)
	if r == nil {
		return
	}
	m := exampleObject("release.get.json")
	for k, val := range c.v.release(o, r) {
		m[k] = val
	}
	stages := map[string]any{}
	for _, slug := range r.Projects {
		stages[slug] = map[string]any{"stage": "low_adoption", "adopted": nil, "unadopted": nil}
	}
	m["adoptionStages"] = stages
	m["currentProjectMeta"] = map[string]any{}
	if len(c.q.getlist("project")) > 0 {
		m["currentProjectMeta"] = adjacentReleases(o, projects[0], r)
	}
	c.json(200, m)
}

// adjacentReleases is currentProjectMeta for a project: the releases
// around r by date, and the first and last.
func adjacentReleases(o *Org, p *Project, r *Release) map[string]any {
	rels := o.projectReleases(p.Slug) // newest first
	meta := map[string]any{"nextReleaseVersion": nil, "prevReleaseVersion": nil, "firstReleaseVersion": nil, "lastReleaseVersion": nil, "sessionsLowerBound": nil, "sessionsUpperBound": nil}
	if len(rels) == 0 {
		return meta
	}
	meta["lastReleaseVersion"], meta["firstReleaseVersion"] = rels[0].Version, rels[len(rels)-1].Version
	if i := slices.Index(rels, r); i >= 0 {
		if i > 0 {
			meta["nextReleaseVersion"] = rels[i-1].Version
		}
		if i+1 < len(rels) {
			meta["prevReleaseVersion"] = rels[i+1].Version
		}
	}
	return meta
}

// GET .../releases/{version}/commits/ (OrganizationReleaseCommitsEndpoint):
// the release among get_projects' projects, its commits in ReleaseCommit
// order, paginated.
func listReleaseCommits(c *call) {
	o, _, r := c.releaseOfPath((*call).projects)
	if r == nil {
		return
	}
	serveOffsetPage(c, r.Commits, func(cm *Commit) any { return c.v.commit(o, cm) })
}

// GET .../releases/{version}/deploys/ (ReleaseDeploysEndpoint): newest
// finished first, paginated.
func listReleaseDeploys(c *call) {
	_, _, r := c.releaseOfPath((*call).permittedProjects)
	if r == nil {
		return
	}
	deploys := slices.Clone(r.Deploys)
	slices.SortStableFunc(deploys, func(a, b *Deploy) int { return b.DateFinished.Compare(a.DateFinished) })
	serveOffsetPage(c, deploys, func(dp *Deploy) any { return deploy(dp) })
}

// releaseCommitFields sets what ReleaseSerializer says of commits and
// deploys: commitCount, lastCommit, authors, deployCount, lastDeploy.
func (v *view) releaseCommitFields(m map[string]any, o *Org, r *Release) {
	m["commitCount"], m["lastCommit"], m["authors"] = len(r.Commits), nil, []any{}
	if len(r.Commits) > 0 {
		m["lastCommit"] = v.commit(o, r.Commits[0])
	}
	var seen []string
	authors := []any{}
	for _, cm := range r.Commits {
		if slices.Contains(seen, strings.ToLower(cm.AuthorEmail)) {
			continue
		}
		seen = append(seen, strings.ToLower(cm.AuthorEmail))
		a := v.commitAuthor(o, cm)
		a["email"] = cm.AuthorEmail
		authors = append(authors, a)
	}
	m["authors"] = authors
	m["deployCount"], m["lastDeploy"] = len(r.Deploys), nil
	var last *Deploy
	for _, dp := range r.Deploys {
		if last == nil || dp.DateFinished.After(last.DateFinished) {
			last = dp
		}
	}
	if last != nil {
		m["lastDeploy"] = deploy(last)
	}
}

// commitAuthor is the user an author's email belongs to (the user
// serialization), else {name, email}.
func (v *view) commitAuthor(o *Org, cm *Commit) map[string]any {
	for _, u := range v.d.members(o) {
		if e, _ := u["email"].(string); e != "" && strings.EqualFold(e, cm.AuthorEmail) {
			return copyMap(u)
		}
	}
	return map[string]any{"name": cm.AuthorName, "email": cm.AuthorEmail}
}

// commit is CommitSerializer's row with the releases that contain the
// commit (release.commits.json).
func (v *view) commit(o *Org, cm *Commit) map[string]any {
	m := exampleObject("release.commits.json")
	m["id"], m["message"], m["dateCreated"] = cm.ID, cm.Message, isoTime(cm.Date)
	m["author"] = v.commitAuthor(o, cm)
	m["repository"] = repository(cm.Repository)
	releases := []any{}
	for _, r := range o.Releases {
		if slices.ContainsFunc(r.Commits, func(x *Commit) bool { return x.ID == cm.ID }) {
			releases = append(releases, map[string]any{"version": r.Version, "shortVersion": shortVersion(r.Version), "ref": nil, "url": nil, "dateReleased": nullableTime(r.DateReleased), "dateCreated": isoTime(r.DateCreated)})
		}
	}
	m["releases"] = releases
	return m
}

// repository is a repository serialization (release.get.json's
// lastCommit.repository), on GitHub.
func repository(name string) map[string]any {
	m := copyMap(exampleObject("release.get.json")["lastCommit"].(map[string]any)["repository"].(map[string]any))
	id := strconv.Itoa(1 + hashInt(9999, "repo", name))
	m["id"], m["name"], m["url"], m["externalSlug"] = id, name, "https://github.com/"+name, name
	m["externalId"] = strconv.Itoa(100000 + hashInt(900000, "repo-ext", name))
	return m
}

// deploy is a row of the deploys list (release.deploys.json).
func deploy(dp *Deploy) map[string]any {
	m := exampleObject("release.deploys.json")
	m["id"], m["environment"] = dp.ID, dp.Environment
	m["dateStarted"], m["dateFinished"] = nullableTime(dp.DateStarted), isoTime(dp.DateFinished)
	m["name"], m["url"] = nil, nil
	if dp.Name != "" {
		m["name"] = dp.Name
	}
	if dp.URL != "" {
		m["url"] = dp.URL
	}
	return m
}

// sha is a deterministic 40-hex commit id.
func sha(parts ...string) string {
	sum := sha1.Sum([]byte("commit\x00" + strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

// demoCommits are the demo's commit history per project, newest first:
// message, author email (members' are users; the bot is not).
var demoCommits = map[string][][2]string{
	"backend": {
		{"fix(billing): guard proration against zero-day periods\n\nA plan change on the first day of a cycle divided by zero.", "priya@acme.example"},
		{"feat(orders): cursor pagination for the orders API", "sam@acme.example"},
		{"chore(deps): bump psycopg2-binary from 2.9.9 to 2.9.10", "bot@renovateapp.com"},
		{"fix(db): retry replica connections once before failing", "mateo@acme.example"},
		{"refactor(cache): one redis client per worker", "mateo@acme.example"},
		{"feat(webhooks): verify Stripe signatures with the new secret", "dana@acme.example"},
		{"test(billing): proration edge cases", "priya@acme.example"},
		{"fix(auth): case-insensitive email on signup", "sam@acme.example"},
		{"chore: drop Python 3.9 from CI", "dana@acme.example"},
		{"feat(reports): monthly report runs in chunks", "priya@acme.example"},
		{"fix(imports): detect the CSV encoding", "mateo@acme.example"},
		{"docs: runbook for replica failover", "sam@acme.example"},
		{"chore(deps): bump django from 4.2.15 to 4.2.16", "bot@renovateapp.com"},
		{"fix(orders): reject non-numeric page numbers", "priya@acme.example"},
		{"feat(invoices): PDF export", "dana@acme.example"},
		{"fix(tasks): receipts for deleted users", "mateo@acme.example"},
		{"chore: release 2.13.2", "sam@acme.example"},
	},
	"frontend": {
		{"fix(checkout): handle a missing payment intent", "sam@acme.example"},
		{"feat(dashboard): lazy-load the charts", "priya@acme.example"},
		{"fix(dates): format dates in the user's time zone", "sam@acme.example"},
		{"chore(deps): bump react-router from 6.26.1 to 6.26.2", "bot@renovateapp.com"},
		{"feat(settings): retry failed saves", "dana@acme.example"},
	},
	"payments": {
		{"fix(ledger): round half to even", "dana@acme.example"},
		{"feat(refunds): partial refunds", "mateo@acme.example"},
	},
}

// commitsPerRelease is how many commits each release of a project has,
// newest release first; the rest of the history is older.
var commitsPerRelease = []int{13, 4}

// demoReleaseHistory gives acme's newest releases commits and deploys:
// backend's newest has 13 commits (more than a page of 10) and deploys
// to staging then production; payments' newest was never deployed.
func demoReleaseHistory(d *Data, o *Org) {
	names := map[string]string{}
	for _, u := range d.members(o) {
		names[u["email"].(string)] = u["name"].(string)
	}
	names["bot@renovateapp.com"] = "renovate[bot]"
	for _, p := range o.Projects {
		history := demoCommits[p.Slug]
		rels := o.projectReleases(p.Slug)
		next := 0
		for i, r := range rels {
			n := 0
			if i < len(commitsPerRelease) {
				n = min(commitsPerRelease[i], len(history)-next)
			}
			for k := 0; k < n; k++ {
				msg, email := history[next][0], history[next][1]
				r.Commits = append(r.Commits, &Commit{
					ID: sha(r.Version, strconv.Itoa(k)), Message: msg, AuthorName: names[email], AuthorEmail: email,
					Repository: "acme/" + p.Slug, Date: r.DateCreated.Add(-time.Duration(30+k*97) * time.Minute),
				})
				next++
			}
			if i > 1 || p.Slug == "payments" && i == 0 {
				continue
			}
			staging := &Deploy{ID: strconv.Itoa(53070900 + r.ID*2), Environment: "staging", Name: r.Version + " to staging",
				DateStarted: r.DateCreated.Add(8 * time.Minute), DateFinished: r.DateCreated.Add(11 * time.Minute)}
			prod := &Deploy{ID: strconv.Itoa(53070901 + r.ID*2), Environment: "production",
				DateFinished: r.DateReleased, URL: "https://ci.acme.example/deploys/" + strconv.Itoa(r.ID)}
			r.Deploys = append(r.Deploys, staging, prod)
		}
	}
}
