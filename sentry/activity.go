package sentry

import (
	"context"
	"encoding/json"
	"net/http"
)

// Activity is one entry of an issue's activity log (and a comment, which
// is an activity of type "note"). Data's payload depends on Type; only a
// note's {"text": ...} is documented, so it is kept raw.
type Activity struct {
	ID          FlexString                 `json:"id"`
	Type        string                     `json:"type"`
	User        *User                      `json:"user"`
	Data        map[string]json.RawMessage `json:"data"`
	DateCreated string                     `json:"dateCreated"`
}

// IssueActivity returns an issue's activity, newest first: Sentry sends at
// most the newest 100 entries and does not paginate.
func (c *Client) IssueActivity(ctx context.Context, org, id string) ([]Activity, *Response, error) {
	var v struct {
		Activity []Activity `json:"activity"`
	}
	r, err := c.do(ctx, issueCall(http.MethodGet, org, id, "activities/"), &v)
	if err != nil {
		return nil, r, err
	}
	return v.Activity, r, nil
}

// AddIssueComment posts a comment (a note) on an issue and returns it as
// Sentry stored it. POST is never retried after a transient failure (it is
// not idempotent); Sentry itself refuses the same comment from the same
// user within an hour.
func (c *Client) AddIssueComment(ctx context.Context, org, id, text string) (*Activity, *Response, error) {
	cl := issueCall(http.MethodPost, org, id, "comments/")
	cl.body = map[string]string{"text": text}
	var v Activity
	r, err := c.do(ctx, cl, &v)
	if err != nil {
		return nil, r, err
	}
	return &v, r, nil
}
