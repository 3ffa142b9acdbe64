package sentry

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Whoami returns GET /api/0/: the token's user and scopes.
func (c *Client) Whoami(ctx context.Context) (*Index, *Response, error) {
	var v Index
	r, err := c.do(ctx, call{method: http.MethodGet, base: c.base, route: "/api/0/"}, &v)
	if err != nil {
		return nil, r, err
	}
	return &v, r, nil
}

// ListOptions are the paging options shared by lists.
type ListOptions struct {
	Query   string
	Cursor  string
	PerPage int // 0 = Sentry's default (100)
}

func (o ListOptions) values() url.Values {
	q := url.Values{}
	if o.Query != "" {
		q.Set("query", o.Query)
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	if o.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(o.PerPage))
	}
	return q
}

// ListOrganizations lists the organizations the user belongs to.
func (c *Client) ListOrganizations(ctx context.Context, opt ListOptions) ([]Organization, *Response, error) {
	var v []Organization
	r, err := c.do(ctx, call{method: http.MethodGet, base: c.base, route: "/api/0/organizations/", query: opt.values()}, &v)
	if err != nil {
		return nil, r, err
	}
	c.rememberRegions(v)
	return v, r, nil
}

// ListProjects lists an organization's projects.
func (c *Client) ListProjects(ctx context.Context, org string, opt ListOptions) ([]Project, *Response, error) {
	var v []Project
	r, err := c.do(ctx, call{method: http.MethodGet, org: org, route: "/api/0/organizations/%s/projects/", args: []string{org}, query: opt.values()}, &v)
	if err != nil {
		return nil, r, err
	}
	return v, r, nil
}

// ListTeams lists an organization's teams, by slug. Teams come without
// their projects (detailed=0), which no tool shows.
func (c *Client) ListTeams(ctx context.Context, org string, opt ListOptions) ([]TeamRow, *Response, error) {
	var v []TeamRow
	q := opt.values()
	q.Set("detailed", "0")
	r, err := c.do(ctx, call{method: http.MethodGet, org: org, route: "/api/0/organizations/%s/teams/", args: []string{org}, query: q}, &v)
	if err != nil {
		return nil, r, err
	}
	return v, r, nil
}

// ListEnvironments lists all of an organization's environments, hidden
// ones too (visibility=all; Sentry does not paginate them).
func (c *Client) ListEnvironments(ctx context.Context, org string) ([]Environment, *Response, error) {
	var v []Environment
	r, err := c.do(ctx, call{method: http.MethodGet, org: org, route: "/api/0/organizations/%s/environments/", args: []string{org}, query: url.Values{"visibility": {"all"}}}, &v)
	if err != nil {
		return nil, r, err
	}
	return v, r, nil
}

// IssueListOptions filter an organization's issue list.
type IssueListOptions struct {
	Projects    []string // numeric project ids
	Query       string   // Sentry search syntax; "" sends Sentry's default (is:unresolved)
	AllStatuses bool     // send an empty query (every status)
	Sort        string
	StatsPeriod string
	Environment string
	Limit       int
	Cursor      string
}

// ListIssues lists an organization's issues.
func (c *Client) ListIssues(ctx context.Context, org string, opt IssueListOptions) ([]Issue, *Response, error) {
	// No per-issue sparkline: no tool shows it, it is a quarter of the
	// response, and it is the costliest part of the query for Sentry.
	q := url.Values{"groupStatsPeriod": {""}}
	for _, id := range opt.Projects {
		q.Add("project", id)
	}
	if opt.Query != "" || opt.AllStatuses {
		q.Set("query", opt.Query)
	}
	setNonEmpty(q, "sort", opt.Sort)
	setNonEmpty(q, "statsPeriod", opt.StatsPeriod)
	setNonEmpty(q, "environment", opt.Environment)
	setNonEmpty(q, "cursor", opt.Cursor)
	if opt.Limit > 0 {
		q.Set("limit", strconv.Itoa(opt.Limit))
	}
	var v []Issue
	r, err := c.do(ctx, call{method: http.MethodGet, org: org, route: "/api/0/organizations/%s/issues/", args: []string{org}, query: q}, &v)
	if err != nil {
		return nil, r, err
	}
	return v, r, nil
}

// issueCall addresses an issue: the org-scoped path when org is known
// (which also accepts short ids), else the top-level one (numeric ids only).
func issueCall(method, org, id, suffix string) call {
	if org == "" {
		return call{method: method, route: "/api/0/issues/%s/" + suffix, args: []string{id}}
	}
	return call{method: method, org: org, route: "/api/0/organizations/%s/issues/%s/" + suffix, args: []string{org, id}}
}

// GetIssue returns an issue's details. id is numeric, or a short id when org is set.
func (c *Client) GetIssue(ctx context.Context, org, id string) (*Issue, *Response, error) {
	var v Issue
	r, err := c.do(ctx, issueCall(http.MethodGet, org, id, ""), &v)
	if err != nil {
		return nil, r, err
	}
	return &v, r, nil
}

// LatestEvent returns an issue's most recent event.
func (c *Client) LatestEvent(ctx context.Context, org, id string) (*Event, *Response, error) {
	return c.GetIssueEvent(ctx, org, id, "latest")
}

// IssueUpdate is the body of PUT .../issues/{id}/; only set fields are sent.
type IssueUpdate struct {
	Status        string         `json:"status,omitempty"`
	Substatus     string         `json:"substatus,omitempty"`
	StatusDetails map[string]any `json:"statusDetails,omitempty"`
	// AssignedTo is user:ID, team:ID or an email; "" unassigns; nil
	// leaves the assignee alone.
	AssignedTo *string `json:"assignedTo,omitempty"`
	Priority   string  `json:"priority,omitempty"`
}

// UpdateIssue changes an issue and returns it as Sentry re-read it.
func (c *Client) UpdateIssue(ctx context.Context, org, id string, u IssueUpdate) (*Issue, *Response, error) {
	var v Issue
	cl := issueCall(http.MethodPut, org, id, "")
	cl.body = u
	r, err := c.do(ctx, cl, &v)
	if err != nil {
		return nil, r, err
	}
	return &v, r, nil
}

// ReleaseListOptions filter an organization's releases.
type ReleaseListOptions struct {
	Projects []string // numeric project ids
	ListOptions
}

// ListReleases lists an organization's releases, newest first.
func (c *Client) ListReleases(ctx context.Context, org string, opt ReleaseListOptions) ([]Release, *Response, error) {
	q := opt.values()
	for _, id := range opt.Projects {
		q.Add("project", id)
	}
	var v []Release
	r, err := c.do(ctx, call{method: http.MethodGet, org: org, route: "/api/0/organizations/%s/releases/", args: []string{org}, query: q}, &v)
	if err != nil {
		return nil, r, err
	}
	return v, r, nil
}

// setNonEmpty sets q's key k to v unless v is empty (Sentry's default).
func setNonEmpty(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}
