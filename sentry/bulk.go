package sentry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// MaxBulkIDs bounds the issues of one bulk update request.
const MaxBulkIDs = 100

// ErrBulkWithoutIDs refuses a bulk update with no issue id: Sentry would
// apply it to up to 1000 issues of its default search (BEHAVIOUR.md 4.10).
var ErrBulkWithoutIDs = errors.New("sentry: refusing a bulk issue update without issue ids: Sentry would apply it to the issues of its default search")

// ErrNoIssuesMatched is a bulk update that Sentry answered 204: none of
// the issues was found, and nothing was changed.
var ErrNoIssuesMatched = errors.New("sentry: the bulk issue update matched no issue")

// BulkUpdate is Sentry's answer to a bulk issue update: only the fields
// the request changed (status, substatus, statusDetails, assignedTo,
// priority...), not the issues.
type BulkUpdate struct {
	Status        string         `json:"status"`
	Substatus     string         `json:"substatus"`
	StatusDetails map[string]any `json:"statusDetails"`
	AssignedTo    *Assignee      `json:"assignedTo"`
	Priority      string         `json:"priority"`
}

// LookupIssue returns an issue without its stats, tags and releases
// (collapse), which is all a lookup before a change needs. id is numeric,
// or a short id when org is set.
func (c *Client) LookupIssue(ctx context.Context, org, id string) (*Issue, *Response, error) {
	cl := issueCall(http.MethodGet, org, id, "")
	cl.query = url.Values{"collapse": {"stats", "tags", "release"}}
	var v Issue
	r, err := c.do(ctx, cl, &v)
	if err != nil {
		return nil, r, err
	}
	return &v, r, nil
}

// BulkUpdateIssues changes several issues of one project with one
// PUT /api/0/organizations/{org}/issues/?id=..&project=.. . ids are
// numeric issue ids, projectID the numeric id of the project they are in.
//
// Sentry drops ids outside the request's projects and, when no id is left,
// applies the change to up to 1000 issues of the request's search (default
// is:unresolved). So a request without ids is never sent (ErrBulkWithoutIDs),
// project= keeps the ids in scope, and query= names the same ids: should
// they all be gone by the time Sentry looks (deleted, merged), its search
// finds those issues or nothing, never the project's unresolved issues.
func (c *Client) BulkUpdateIssues(ctx context.Context, org, projectID string, ids []string, u IssueUpdate) (*BulkUpdate, *Response, error) {
	if len(ids) == 0 {
		return nil, nil, ErrBulkWithoutIDs
	}
	if len(ids) > MaxBulkIDs {
		return nil, nil, fmt.Errorf("sentry: %d issues in one bulk update, at most %d", len(ids), MaxBulkIDs)
	}
	if !numericRE.MatchString(projectID) {
		return nil, nil, &InvalidArgumentError{Value: projectID}
	}
	q := url.Values{}
	for _, id := range ids {
		if !numericRE.MatchString(id) {
			return nil, nil, &InvalidArgumentError{Value: id}
		}
		q.Add("id", id)
	}
	q.Set("project", projectID)
	q.Set("query", "issue.id:["+strings.Join(ids, ",")+"]")
	var v BulkUpdate
	r, err := c.do(ctx, call{method: http.MethodPut, org: org, route: "/api/0/organizations/%s/issues/", args: []string{org}, query: q, body: u}, &v)
	if err != nil {
		return nil, r, err
	}
	if r.StatusCode == http.StatusNoContent {
		return nil, r, ErrNoIssuesMatched
	}
	return &v, r, nil
}
