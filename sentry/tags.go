package sentry

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// MaxTagKeyLen is the longest tag key Sentry stores (Relay and tagstore
// cap keys at 200 characters; older Sentry at 32).
const MaxTagKeyLen = 200

// tagKeyRE is tagstore's TAG_KEY_RE ([a-zA-Z0-9_.:-]+), bounded.
var tagKeyRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,200}$`)

// ValidTagKey reports whether s can be sent as a tag key: Sentry's key
// characters (letters, digits, '_', '.', ':', '-'), at most MaxTagKeyLen,
// and at least one letter or digit, so that it is never a "." or ".."
// path segment.
func ValidTagKey(s string) bool {
	return tagKeyRE.MatchString(s) && strings.Trim(s, "_.:-") != ""
}

// fillTagKey puts a validated, escaped tag key in place of a path's {key}.
func fillTagKey(path, key string) (string, error) {
	if !ValidTagKey(key) {
		return "", &InvalidArgumentError{Value: key, What: "tag key"}
	}
	return strings.Replace(path, "{key}", url.PathEscape(key), 1), nil
}

// IssueTagsOptions filter GET .../issues/{id}/tags/.
type IssueTagsOptions struct {
	Limit       int // top values per key; 0 = Sentry's default (10)
	Environment string
}

// IssueTags returns an issue's tag keys, each with its total and most
// frequent values. Sentry does not paginate this list.
func (c *Client) IssueTags(ctx context.Context, org, id string, opt IssueTagsOptions) ([]TagSummary, *Response, error) {
	cl := issueCall(http.MethodGet, org, id, "tags/")
	cl.query = url.Values{}
	if opt.Limit > 0 {
		cl.query.Set("limit", strconv.Itoa(opt.Limit))
	}
	if opt.Environment != "" {
		cl.query.Set("environment", opt.Environment)
	}
	var v []TagSummary
	r, err := c.do(ctx, cl, &v)
	if err != nil {
		return nil, r, err
	}
	return v, r, nil
}

// IssueTag returns one tag key of an issue: its total, distinct values and
// top values.
func (c *Client) IssueTag(ctx context.Context, org, id, key, environment string) (*TagSummary, *Response, error) {
	cl := issueCall(http.MethodGet, org, id, "tags/{key}/")
	cl.tagKey = key
	if environment != "" {
		cl.query = url.Values{"environment": {environment}}
	}
	var v TagSummary
	r, err := c.do(ctx, cl, &v)
	if err != nil {
		return nil, r, err
	}
	return &v, r, nil
}

// TagValuesOptions page GET .../issues/{id}/tags/{key}/values/.
type TagValuesOptions struct {
	Sort        string // date, age or count (Sentry compares bare words); "" = Sentry's default
	Environment string
	Cursor      string
	PerPage     int
}

// IssueTagValues lists the values of one tag key of an issue, paginated.
func (c *Client) IssueTagValues(ctx context.Context, org, id, key string, opt TagValuesOptions) ([]TagValue, *Response, error) {
	cl := issueCall(http.MethodGet, org, id, "tags/{key}/values/")
	cl.tagKey = key
	cl.query = ListOptions{Cursor: opt.Cursor, PerPage: opt.PerPage}.values()
	if opt.Sort != "" {
		cl.query.Set("sort", opt.Sort)
	}
	if opt.Environment != "" {
		cl.query.Set("environment", opt.Environment)
	}
	var v []TagValue
	r, err := c.do(ctx, cl, &v)
	if err != nil {
		return nil, r, err
	}
	return v, r, nil
}
