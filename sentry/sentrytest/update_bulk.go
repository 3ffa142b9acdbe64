package sentrytest

import (
	"slices"
	"strconv"
	"strings"
)

// The bulk issue update (BEHAVIOUR.md 4.10): PUT on the issue index
// endpoints with ?id=... . Sentry filters the ids to the organization and
// the projects in scope, silently dropping the others, and when none is
// left (or none was given) it applies the change to up to
// BULK_MUTATION_LIMIT issues of the request's issue search, whose query
// defaults to is:unresolved. The fake reproduces that trap.

// bulkMutationLimit is BULK_MUTATION_LIMIT.
const bulkMutationLimit = 1000

// PUT /api/0/organizations/{org}/issues/ (organization_group_index.py put).
func bulkPutOrgIssues(c *call) {
	o := c.org()
	if o == nil {
		return
	}
	projects, ok := c.projects(o)
	if !ok {
		return
	}
	// The search function is built with get_environments first: an
	// unknown environment is a 404 before any id is read.
	envs, ok := c.environments(o)
	if !ok {
		return
	}
	var ids []string
	for _, raw := range c.q.getlist("id") {
		// int(id), uncaught: a non-integer id is a 500.
		id, ok := pyIntString(raw)
		if !ok {
			c.internalError()
			return
		}
		ids = append(ids, id)
	}
	var list []*Issue
	for _, is := range o.Issues {
		if slices.Contains(ids, is.ID) && inProjects(projects, is) {
			list = append(list, is)
		}
	}
	c.bulkUpdate(o, projects, envs, list)
}

// PUT /api/0/projects/{org}/{project}/issues/ (project_group_index.py put).
func bulkPutProjectIssues(c *call) {
	o, p := c.projectFromPath()
	if p == nil {
		return
	}
	var envs []string
	if env, ok := c.q.get("environment"); ok {
		envs = []string{env}
	}
	raw := c.q.getlist("id")
	var list []*Issue
	if slices.ContainsFunc(raw, isDecimal) {
		// get_group_list: with any numeric id, only the numeric ids count.
		for _, is := range o.Issues {
			if is.Project == p.Slug && slices.ContainsFunc(raw, func(id string) bool { return isDecimal(id) && strings.TrimLeft(id, "0") == is.ID }) {
				list = append(list, is)
			}
		}
	} else {
		// Otherwise each id is a short id, looked up in the whole
		// organization (no project filter); an unknown one is an uncaught
		// DoesNotExist.
		for _, id := range raw {
			is := o.issueByShortID(id)
			if is == nil {
				c.internalError()
				return
			}
			if !slices.Contains(list, is) {
				list = append(list, is)
			}
		}
	}
	c.bulkUpdate(o, []*Project{p}, envs, list)
}

func inProjects(projects []*Project, is *Issue) bool {
	return slices.ContainsFunc(projects, func(p *Project) bool { return p.Slug == is.Project })
}

// pyIntString is Python's int() of a query value, as a decimal string.
func pyIntString(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "__") || strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") {
		return "", false
	}
	s = strings.ReplaceAll(s, "_", "")
	s = strings.TrimPrefix(s, "+")
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimPrefix(s, "-")
	if !isDecimal(digits) {
		return "", false
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "0", true
	}
	if neg {
		return "-" + digits, true
	}
	return digits, true
}

// bulkUpdate is update_groups: list holds the issues the ids matched; when
// it is empty the request's search picks them. Then validation once per
// project in scope, the update, and the answer: the validated keys and the
// computed ones, or 204 when nothing was found.
func (c *call) bulkUpdate(o *Org, projects []*Project, envs []string, list []*Issue) {
	if len(list) == 0 {
		found, ok := c.bulkSearch(o, projects, envs)
		if !ok {
			c.detail(400, "Invalid query. Error getting group ids and group list")
			return
		}
		list = found
	}
	if len(list) == 0 {
		// Sentry attaches {"detail": "No groups found"}; a 204 carries no body.
		c.w.WriteHeader(204)
		return
	}
	raw, ok := c.requestData()
	if !ok {
		return
	}
	data, isObj := raw.(map[string]any)
	if !isObj {
		c.internalError()
		return
	}
	var u *update
	for _, p := range projects {
		var errs fieldErrors
		if u, errs = c.validateUpdate(o, p, data); len(errs) > 0 {
			c.json(400, errs)
			return
		}
	}
	if u == nil {
		c.w.WriteHeader(204)
		return
	}
	if u.has["discard"] && u.bools["discard"] {
		c.json(400, map[string]any{"detail": []any{"You do not have that feature enabled"}})
		return
	}
	result, status, body := c.applyUpdates(o, list, u)
	if status != 0 {
		c.json(status, body)
		return
	}
	c.json(200, result)
}

// bulkSearch is the search function of the bulk PUT: the issue search of
// the request's query (default is:unresolved), environment, projects and
// sort, at most BULK_MUTATION_LIMIT issues. ok is false when the search
// parameters are invalid (Sentry's ValidationError).
func (c *call) bulkSearch(o *Org, projects []*Project, envs []string) ([]*Issue, bool) {
	q, has := c.q.get("query")
	if !has {
		q = "is:unresolved"
	}
	var search issueSearch
	if q = strings.TrimSpace(q); q != "" {
		s, err := parseIssueSearch(q)
		if err != nil {
			return nil, false
		}
		search = s
	}
	sort := "date"
	if s, ok := c.q.get("sort"); ok {
		sort = s
	}
	if !slices.Contains(sortOptions, sort) {
		return nil, false
	}
	if raw, _ := c.q.get("limit"); raw != "" {
		if _, err := strconv.Atoi(strings.TrimSpace(raw)); err != nil {
			return nil, false
		}
	}
	var list []*Issue
	for _, is := range o.Issues {
		if !inProjects(projects, is) {
			continue
		}
		if len(envs) > 0 && !slices.ContainsFunc(is.Environments, func(e string) bool { return slices.Contains(envs, e) }) {
			continue
		}
		if c.v.matches(o, is, search) {
			list = append(list, is)
		}
	}
	c.v.sortIssues(list, sort)
	if len(list) > bulkMutationLimit {
		list = list[:bulkMutationLimit]
	}
	return list, true
}
