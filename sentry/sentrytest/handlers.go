package sentrytest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

const maxHits = 1000 // SEARCH_MAX_HITS

// GET /api/0/
func getIndex(c *call) {
	if c.tok == nil {
		c.json(200, example("api.index.anonymous.json"))
		return
	}
	m := exampleObject("api.index.json")
	m["auth"] = map[string]any{"scopes": deepCopy(c.tok.scopes)}
	m["user"] = c.selfUser()
	c.json(200, m)
}

// tokenizeQuery is sentry.search.utils.tokenize_query: key:value tokens by
// key, everything else under "query".
func tokenizeQuery(q string) (keys []string, vals map[string][]string) {
	vals = map[string][]string{}
	add := func(k, v string) {
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = append(vals[k], v)
	}
	for _, tok := range splitSearch(q) {
		if strings.ToUpper(tok) == "OR" || strings.ToUpper(tok) == "AND" || strings.Trim(tok, "()") == "" {
			continue
		}
		state := "query"
		for i := 0; i < len(tok); i++ {
			ch := tok[i]
			if i == 0 && (ch == '"' || ch == '\'' || ch == ':') {
				break
			}
			if ch == ':' {
				if i+1 < len(tok) && (tok[i+1] == ':' || tok[i+1] == ' ') {
					state = "query"
				} else {
					state = "tags"
				}
				break
			}
		}
		if state == "query" {
			add("query", strings.Trim(tok, `"'`))
			continue
		}
		k, v, _ := strings.Cut(tok, ":")
		add(strings.Trim(k, `"'`), strings.Trim(v, `"'`))
	}
	return keys, vals
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// GET /api/0/organizations/
func listOrganizations(c *call) {
	orgs := slices.DeleteFunc(slices.Clone(c.d.Orgs), func(o *Org) bool { return !c.member(o) })
	if owner, _ := c.q.get("owner"); owner == "1" || owner == "true" {
		out := []any{}
		for _, o := range orgs {
			if r := c.role(o); r == "" || r == "owner" {
				out = append(out, map[string]any{"organization": c.v.organization(o), "singleOwner": true})
			}
		}
		c.json(200, out)
		return
	}
	if q, _ := c.q.get("query"); q != "" {
		keys, vals := tokenizeQuery(q)
		for _, k := range keys {
			vs := vals[k]
			orgs = slices.DeleteFunc(orgs, func(o *Org) bool {
				switch k {
				case "query":
					t := strings.ToLower(strings.Join(vs, " "))
					return !strings.Contains(strings.ToLower(o.Name), t) && !strings.Contains(strings.ToLower(o.Slug), t)
				case "slug":
					return !containsFold(vs, o.Slug)
				case "id":
					return !slices.Contains(vs, o.ID)
				case "status":
					return !containsFold(vs, "active")
				case "email":
					return !slices.ContainsFunc(c.d.members(o), func(m map[string]any) bool { s, _ := m["email"].(string); return containsFold(vs, s) })
				case "platform":
					return !slices.ContainsFunc(o.Projects, func(p *Project) bool { return slices.Contains(vs, p.Platform) })
				}
				return true
			})
		}
	}
	// DateTimePaginator on -date_added.
	slices.SortStableFunc(orgs, func(a, b *Org) int { return b.DateCreated.Compare(a.DateCreated) })
	serveSeqPage(c, orgs, func(o *Org) any { return c.v.organization(o) })
}

// GET /api/0/organizations/{org}/teams/ (organization_teams.py): active
// teams ordered by slug, OffsetPaginator; query tokens query (name or slug
// contains), slug:, id: (integers), hasExternalTeams:; any other token
// matches nothing; detailed=0 drops projects and externalTeams.
func listTeams(c *call) {
	o := c.org()
	if o == nil {
		return
	}
	teams := slices.Clone(o.Teams)
	if q, _ := c.q.get("query"); q != "" {
		keys, vals := tokenizeQuery(q)
		for _, k := range keys {
			vs := vals[k]
			if k == "id" && slices.ContainsFunc(vs, func(s string) bool { return !isDecimal(s) }) {
				c.detail(400, "Invalid id value")
				return
			}
			teams = slices.DeleteFunc(teams, func(t *Team) bool {
				switch k {
				case "query":
					s := strings.ToLower(strings.Join(vs, " "))
					return !strings.Contains(strings.ToLower(t.Name), s) && !strings.Contains(strings.ToLower(t.Slug), s)
				case "slug":
					return !slices.Contains(vs, t.Slug)
				case "id":
					return !slices.Contains(vs, t.ID)
				case "hasExternalTeams":
					return !slices.Contains(vs, "false") // the fake's teams have no external teams
				}
				return true
			})
		}
	}
	slices.SortFunc(teams, func(a, b *Team) int { return strings.Compare(a.Slug, b.Slug) })
	detailed, _ := c.q.get("detailed")
	serveOffsetPage(c, teams, func(t *Team) any { return c.v.team(o, t, detailed != "0") })
}

var projectStatsPeriods = []string{"", "1h", "24h", "7d", "14d", "30d", "90d"}

// GET /api/0/organizations/{org}/projects/
func listProjects(c *call) {
	o := c.org()
	if o == nil {
		return
	}
	if sp, ok := c.q.get("statsPeriod"); ok && !slices.Contains(projectStatsPeriods, sp) {
		c.json(400, map[string]any{"error": map[string]any{"params": map[string]any{"stats_period": map[string]any{
			"message": "Invalid stats_period. Valid choices are '', '1h', '24h', '7d', '14d', '30d', and '90d'"}}}})
		return
	}
	projects := slices.Clone(o.Projects)
	if q, _ := c.q.get("query"); q != "" {
		keys, vals := tokenizeQuery(q)
		for _, k := range keys {
			vs := vals[k]
			if k == "id" && slices.ContainsFunc(vs, func(s string) bool { return !isDecimal(s) }) {
				c.json(400, map[string]any{"error": "'id' must be an integer"})
				return
			}
			projects = slices.DeleteFunc(projects, func(p *Project) bool {
				switch k {
				case "query":
					t := strings.ToLower(strings.Join(vs, " "))
					return !strings.Contains(strings.ToLower(p.Name), t) && !strings.Contains(strings.ToLower(p.Slug), t)
				case "id":
					return !slices.Contains(vs, p.ID)
				case "slug":
					return !slices.Contains(vs, p.Slug)
				case "team":
					return !slices.Contains(vs, p.Team)
				case "!team":
					return slices.Contains(vs, p.Team)
				case "is_member":
					return p.NotMember
				case "platform":
					return !slices.Contains(vs, p.Platform)
				}
				return true
			})
		}
	}
	// Bookmarked first, then by slug.
	slices.SortStableFunc(projects, func(a, b *Project) int {
		if a.IsBookmarked != b.IsBookmarked {
			if a.IsBookmarked {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Slug, b.Slug)
	})
	if all, _ := c.q.get("all_projects"); all == "1" {
		out := []any{}
		for _, p := range projects {
			out = append(out, c.v.project(o, p))
		}
		c.json(200, out)
		return
	}
	serveOffsetPage(c, projects, func(pr *Project) any { return c.v.project(o, pr) })
}

// environments is get_environments: the requested names, 404 when one is
// unknown in the organization.
func (c *call) environments(o *Org) ([]string, bool) {
	var envs []string
	for _, e := range c.q.getlist("environment") {
		if !slices.Contains(envs, e) {
			envs = append(envs, e)
		}
	}
	known := o.environments()
	for _, e := range envs {
		if !slices.Contains(known, e) {
			c.notFound()
			return nil, false
		}
	}
	return envs, true
}

// projects is OrganizationEndpoint.get_projects: ?project= ids, -1 for all,
// none for the user's member projects.
func (c *call) projects(o *Org) ([]*Project, bool) {
	var ids []int
	for _, raw := range c.q.getlist("project") {
		n, err := pyInt(raw)
		if err != nil {
			c.detail(400, "Invalid project parameter. Values must be numbers.")
			return nil, false
		}
		ids = append(ids, n)
	}
	var out []*Project
	switch {
	case slices.Contains(ids, -1):
		out = slices.Clone(o.Projects)
	case len(ids) == 0:
		for _, p := range o.Projects {
			if !p.NotMember {
				out = append(out, p)
			}
		}
	default:
		for _, id := range ids {
			p := o.project(strconv.Itoa(id))
			if p == nil || id < 0 {
				c.detail(403, msgForbidden)
				return nil, false
			}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out, true
}

// dateRange is get_date_range_from_stats_period (statsPeriod, its alias
// timeframe, or start+end). With none of them it returns zero times: Sentry
// defaults to the last 90 days, which on real data (90-day retention) is
// the same as no window, and keeps ExampleData's 2018 issue listable.
func (c *call) dateRange(invalid func(msg string)) (time.Time, time.Time, bool) {
	now := c.v.now
	sp, ok := c.q.get("statsPeriod")
	if tf, has := c.q.get("timeframe"); has {
		sp, ok = tf, true
	}
	if ok {
		d, valid := parseStatsPeriod(sp)
		if !valid {
			invalid("Invalid statsPeriod: " + pyRepr(sp))
			return time.Time{}, time.Time{}, false
		}
		return now.Add(-d), now, true
	}
	start, _ := c.q.get("start")
	end, _ := c.q.get("end")
	if start == "" && end == "" {
		return time.Time{}, time.Time{}, true
	}
	if start == "" || end == "" {
		invalid("start and end are both required")
		return time.Time{}, time.Time{}, false
	}
	st, err := parseISO(start)
	if err != nil {
		invalid(start + " is not a valid ISO8601 date query")
		return time.Time{}, time.Time{}, false
	}
	en, err := parseISO(end)
	if err != nil {
		invalid(end + " is not a valid ISO8601 date query")
		return time.Time{}, time.Time{}, false
	}
	if !st.Before(en) {
		invalid("start must be before end")
		return time.Time{}, time.Time{}, false
	}
	return st, en, true
}

func parseISO(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date %q", s)
}

var eventIDRe = regexp.MustCompile(`^(?i:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)

// normalizeEventID is sentry.utils.validators.normalize_event_id.
func normalizeEventID(s string) string {
	if !eventIDRe.MatchString(s) {
		return ""
	}
	return strings.ToLower(strings.ReplaceAll(s, "-", ""))
}

func eventIDOf(ev map[string]any) string {
	id, _ := ev["eventID"].(string)
	return id
}

// searchParams are the parts build_query_params_from_request validates.
type searchParams struct {
	limit  int
	cursor *cursor
	search issueSearch
	sort   string
}

func (c *call) searchParams() (searchParams, bool) {
	sp := searchParams{limit: 100, sort: "date"}
	if raw, _ := c.q.get("limit"); raw != "" {
		n, err := pyInt(raw)
		if err != nil {
			c.detail(400, "invalid limit")
			return sp, false
		}
		// The search paginators cap at max_limit=100.
		sp.limit = min(max(n, 0), 100)
	}
	cur, ok := c.cursorParam()
	if !ok {
		return sp, false
	}
	sp.cursor = cur
	q, has := c.q.get("query")
	if !has {
		q = "is:unresolved"
	}
	q = strings.TrimSpace(q)
	if q != "" {
		s, err := parseIssueSearch(q)
		if err != nil {
			c.detail(400, "Error parsing search query: "+err.Error())
			return sp, false
		}
		sp.search = s
	}
	if s, ok := c.q.get("sort"); ok {
		sp.sort = s
	}
	if !slices.Contains(sortOptions, sp.sort) {
		c.detail(400, "Error parsing search query: Invalid sort: "+pyRepr(sp.sort))
		return sp, false
	}
	if sp.sort == "inbox" && !slices.ContainsFunc(sp.search.filters, func(f searchFilter) bool {
		return f.key == "is" && !f.negate && slices.Contains(f.values, "for_review")
	}) {
		c.detail(400, "Sort key 'inbox' only supported for inbox search")
		return sp, false
	}
	return sp, true
}

// runSearch filters, sorts and pages issues and answers with the stream
// serialization and the cursor headers.
func (c *call) runSearch(o *Org, projects []*Project, envs []string, start, end time.Time, sp searchParams, orgList bool, statsPeriod string) {
	var list []*Issue
	for _, is := range o.Issues {
		if !slices.ContainsFunc(projects, func(p *Project) bool { return p.Slug == is.Project }) {
			continue
		}
		if len(envs) > 0 && !slices.ContainsFunc(is.Environments, func(e string) bool { return slices.Contains(envs, e) }) {
			continue
		}
		if !start.IsZero() && (is.LastSeen.Before(start) || is.FirstSeen.After(end)) {
			continue
		}
		if !c.v.matches(o, is, sp.search) {
			continue
		}
		list = append(list, is)
	}
	c.v.sortIssues(list, sp.sort)
	p, err := seqPage(len(list), sp.limit, sp.cursor)
	if err != nil {
		c.detail(400, err.Error())
		return
	}
	out := []any{}
	for _, is := range list[p.start:p.end] {
		out = append(out, c.v.stream(o, is, orgList, statsPeriod, envs, c.q.getlist("expand")))
	}
	h := c.w.Header()
	h.Set("X-Hits", strconv.Itoa(len(list)))
	h.Set("X-Max-Hits", strconv.Itoa(maxHits))
	h.Set("Link", c.linkHeader(p))
	c.json(200, out)
}

func (c *call) directHit(o *Org, is *Issue, orgList bool, statsPeriod string, envs []string, matchingEvent string) {
	m := c.v.stream(o, is, orgList, statsPeriod, envs, c.q.getlist("expand"))
	if matchingEvent != "" {
		m["matchingEventId"] = matchingEvent
	}
	c.w.Header().Set("X-Sentry-Direct-Hit", "1")
	c.json(200, []any{m})
}

// GET /api/0/organizations/{org}/issues/
func listOrgIssues(c *call) {
	o := c.org()
	if o == nil {
		return
	}
	start, end, ok := c.dateRange(func(msg string) { c.detail(400, msg) })
	if !ok {
		return
	}
	statsPeriod := "24h"
	if gsp, has := c.q.get("groupStatsPeriod"); has {
		if !slices.Contains([]string{"", "24h", "14d", "auto"}, gsp) {
			c.detail(400, "Invalid stats_period. Valid choices are '', '24h', '14d' and 'auto'")
			return
		}
		statsPeriod = gsp
		if gsp == "auto" {
			statsPeriod = "24h"
			if !start.IsZero() && end.Sub(start) > 7*24*time.Hour {
				statsPeriod = "14d"
			}
		}
	}
	envs, ok := c.environments(o)
	if !ok {
		return
	}
	projects, ok := c.projects(o)
	if !ok {
		return
	}
	if len(projects) == 0 {
		c.json(200, []any{})
		return
	}
	if len(projects) > 1 && !slices.Contains(o.Features, "global-views") {
		c.detail(400, "You do not have the multi project stream feature enabled")
		return
	}
	raw, _ := c.q.get("query")
	if q := strings.TrimSpace(raw); q != "" {
		if eid := normalizeEventID(q); eid != "" {
			var hits []*Issue
			for _, is := range o.Issues {
				p := o.project(is.Project)
				inScope := !p.NotMember || slices.Contains(projects, p)
				if inScope && slices.ContainsFunc(is.Events, func(ev map[string]any) bool { return eventIDOf(ev) == eid }) {
					hits = append(hits, is)
				}
			}
			if len(hits) == 1 {
				c.directHit(o, hits[0], true, statsPeriod, envs, eid)
				return
			}
			if len(hits) > 1 {
				out := []any{}
				for _, is := range hits {
					out = append(out, c.v.stream(o, is, true, statsPeriod, envs, nil))
				}
				c.json(200, out)
				return
			}
		}
		if sl, _ := c.q.get("shortIdLookup"); sl == "1" && looksLikeShortID(q) {
			if is := o.issueByShortID(q); is != nil {
				c.directHit(o, is, true, statsPeriod, envs, "")
				return
			}
		}
	}
	if groups := c.q.getlist("group"); len(groups) > 0 {
		out := []any{}
		for _, g := range groups {
			if _, err := pyInt(g); err != nil {
				c.detail(400, "Group ids must be integers")
				return
			}
		}
		for _, is := range o.Issues {
			if slices.Contains(groups, is.ID) && slices.ContainsFunc(projects, func(p *Project) bool { return p.Slug == is.Project }) {
				out = append(out, c.v.stream(o, is, true, statsPeriod, envs, c.q.getlist("expand")))
			}
		}
		c.json(200, out)
		return
	}
	sp, ok := c.searchParams()
	if !ok {
		return
	}
	c.runSearch(o, projects, envs, start, end, sp, true, statsPeriod)
}

// projectFromPath resolves {org}/{project} of project endpoints.
func (c *call) projectFromPath() (*Org, *Project) {
	o := c.d.org(c.p["org"])
	if o == nil {
		c.notFound()
		return nil, nil
	}
	p := o.project(c.p["project"])
	if p == nil {
		c.notFound()
		return nil, nil
	}
	if !c.access(o) {
		return nil, nil
	}
	return o, p
}

// GET /api/0/projects/{org}/{project}/issues/
func listProjectIssues(c *call) {
	o, p := c.projectFromPath()
	if p == nil {
		return
	}
	statsPeriod := "24h"
	if sp, has := c.q.get("statsPeriod"); has {
		if sp != "" && sp != "24h" && sp != "14d" {
			c.detail(400, msgProjStatsRange)
			return
		}
		statsPeriod = sp
	}
	raw, _ := c.q.get("query")
	q := strings.TrimSpace(raw)
	if hashes := c.q.getlist("hashes"); len(hashes) > 0 {
		if q != "" {
			c.detail(400, "Cannot use 'hashes' with 'query'")
			return
		}
		c.json(200, []any{})
		return
	}
	if q != "" {
		if eid := normalizeEventID(q); eid != "" {
			for _, is := range o.Issues {
				if is.Project != p.Slug {
					continue
				}
				for _, ev := range is.Events {
					if eventIDOf(ev) == eid {
						m := c.v.stream(o, is, false, statsPeriod, nil, nil)
						m["matchingEventId"] = eid
						if tags, ok := ev["tags"].([]any); ok {
							for _, t := range tags {
								if tm, ok := t.(map[string]any); ok && tm["key"] == "environment" {
									m["matchingEventEnvironment"] = tm["value"]
								}
							}
						}
						c.w.Header().Set("X-Sentry-Direct-Hit", "1")
						c.json(200, []any{m})
						return
					}
				}
			}
		} else if sl, _ := c.q.get("shortIdLookup"); sl == "1" && looksLikeShortID(q) {
			if is := o.issueByShortID(q); is != nil && is.Project == p.Slug {
				c.directHit(o, is, false, statsPeriod, nil, "")
				return
			}
		}
	}
	var envs []string
	if env, ok := c.q.get("environment"); ok {
		if !slices.Contains(o.environments(), env) {
			// prep_search: an unknown environment finds nothing.
			h := c.w.Header()
			h.Set("X-Hits", "0")
			h.Set("X-Max-Hits", strconv.Itoa(maxHits))
			h.Set("Link", c.linkHeader(page{prev: cursor{}, next: cursor{}}))
			c.json(200, []any{})
			return
		}
		envs = []string{env}
	}
	sp, ok := c.searchParams()
	if !ok {
		return
	}
	c.runSearch(o, []*Project{p}, envs, time.Time{}, time.Time{}, sp, false, statsPeriod)
}

// issueFromPath is GroupEndpoint.convert_args: numeric id, or on the
// organization path also a short id.
func (c *call) issueFromPath() (*Org, *Issue) {
	id := c.p["issue"]
	var o *Org
	var is *Issue
	if slug, ok := c.p["org"]; ok {
		o = c.d.org(slug)
		if o == nil {
			c.notFound()
			return nil, nil
		}
		if isDecimal(id) {
			is = o.issue(id)
		} else {
			is = o.issueByShortID(id)
		}
	} else if isDecimal(id) {
		o, is = c.d.issueByID(id)
	}
	if is == nil {
		c.notFound()
		return nil, nil
	}
	if !c.access(o) {
		return nil, nil
	}
	return o, is
}

// GET .../issues/{id}/
func getIssue(c *call) {
	o, is := c.issueFromPath()
	if is == nil {
		return
	}
	envs, ok := c.environments(o)
	if !ok {
		return
	}
	m := c.v.issueDetails(o, is, envs)
	for _, col := range c.q.getlist("collapse") {
		switch col {
		case "release":
			delete(m, "firstRelease")
			delete(m, "lastRelease")
		case "tags":
			delete(m, "tags")
		case "stats":
			delete(m, "stats")
		}
	}
	for _, e := range c.q.getlist("expand") {
		switch e {
		case "inbox":
			m["inbox"] = c.v.inbox(is)
		case "owners", "forecast":
			m[e] = nil
		case "integrationIssues", "sentryAppIssues":
			m[e] = []any{}
		case "latestEventHasAttachments":
			m[e] = false
		}
	}
	c.json(200, m)
}

// GET .../issues/{id}/events/{event_id}/
func getIssueEvent(c *call) {
	o, is := c.issueFromPath()
	if is == nil {
		return
	}
	envs, ok := c.environments(o)
	if !ok {
		return
	}
	start, end, ok := c.dateRange(func(string) { c.detail(400, "Invalid date range") })
	if !ok {
		return
	}
	var candidates []map[string]any
	for _, ev := range is.Events {
		if len(envs) > 0 {
			env := ""
			if tags, ok := ev["tags"].([]any); ok {
				for _, t := range tags {
					if tm, ok := t.(map[string]any); ok && tm["key"] == "environment" {
						env, _ = tm["value"].(string)
					}
				}
			}
			if !slices.Contains(envs, env) {
				continue
			}
		}
		if !start.IsZero() {
			if when, err := parseISO(fmt.Sprint(ev["dateCreated"])); err == nil && (when.Before(start) || when.After(end)) {
				continue
			}
		}
		candidates = append(candidates, ev)
	}
	var ev map[string]any
	switch id := c.p["event"]; id {
	case "latest":
		if len(candidates) > 0 {
			ev = candidates[0]
		}
	case "recommended":
		ev = recommendedEvent(candidates)
	case "oldest":
		if len(candidates) > 0 {
			ev = candidates[len(candidates)-1]
		}
	default:
		want := normalizeEventID(id)
		for _, e := range is.Events {
			if want != "" && eventIDOf(e) == want {
				ev = e
			}
		}
		if ev == nil {
			c.detail(404, "Event not found. The event ID may be incorrect, or its age exceeded the retention period.")
			return
		}
	}
	if ev == nil {
		c.detail(404, msgNoEvent)
		return
	}
	c.json(200, copyMap(ev))
}

// GET /api/0/organizations/{org}/shortids/{short_id}/
func lookupShortID(c *call) {
	o, is := c.issueFromPath()
	if is == nil {
		return
	}
	m := exampleObject("shortid.get.json")
	m["organizationSlug"] = o.Slug
	m["projectSlug"] = is.Project
	m["groupId"] = is.ID
	m["shortId"] = is.ShortID
	m["group"] = c.v.issueBase(o, is)
	c.json(200, m)
}

// GET /api/0/organizations/{org}/releases/
func listReleases(c *call) {
	o := c.org()
	if o == nil {
		return
	}
	status := "open"
	if s, ok := c.q.get("status"); ok {
		status = s
	}
	if status != "open" && status != "archived" {
		c.detail(400, "invalid value for status")
		return
	}
	if s, ok := c.q.get("sort"); ok && s != "date" && s != "build" && s != "semver" {
		c.detail(400, "invalid sort")
		return
	}
	if _, ok := c.environments(o); !ok {
		return
	}
	projects, ok := c.projects(o)
	if !ok {
		return
	}
	if len(projects) == 0 {
		c.json(200, []any{})
		return
	}
	q, _ := c.q.get("query")
	var list []*Release
	for _, r := range o.Releases {
		rs := r.Status
		if rs == "" {
			rs = "open"
		}
		if rs != status {
			continue
		}
		if !slices.ContainsFunc(projects, func(p *Project) bool { return slices.Contains(r.Projects, p.Slug) }) {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(r.Version), strings.ToLower(q)) {
			continue
		}
		list = append(list, r)
	}
	slices.SortStableFunc(list, func(a, b *Release) int {
		if cmp := b.DateCreated.Compare(a.DateCreated); cmp != 0 {
			return cmp
		}
		return b.ID - a.ID
	})
	serveOffsetPage(c, list, func(r *Release) any { return c.v.release(o, r) })
}
