package sentry

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxVersion is Release.version's length (DB_VERSION_LENGTH).
const maxVersion = 250

// VersionProblem says why v cannot be a release version in a request path,
// or "" when it can. Sentry refuses versions with "/", "\", tabs, newlines
// or form feeds (BAD_RELEASE_CHARS), blank ones, "." and ".."; "/" would
// not reach the release endpoint anyway. Other control characters are
// refused too: no tool shows them as they are.
func VersionProblem(v string) string {
	switch {
	case strings.TrimSpace(v) == "":
		return "it is empty"
	case utf8.RuneCountInString(v) > maxVersion:
		return "it is longer than 250 characters"
	case !utf8.ValidString(v):
		return "it is not valid UTF-8"
	case strings.ContainsAny(v, "/\\"):
		return `Sentry allows no "/" or "\" in release versions`
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f }):
		return "it contains control characters"
	case strings.TrimSpace(v) == "." || strings.TrimSpace(v) == "..":
		return `Sentry allows no release named "." or ".."`
	}
	return ""
}

// escapeComponent percent-encodes s as JavaScript's encodeURIComponent
// does, as Sentry's own clients encode a version ("@" is %40, "+" %2B).
func escapeComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// ReleaseDetail is GET /api/0/organizations/{org}/releases/{version}/.
type ReleaseDetail struct {
	Release
	Authors []User `json:"authors"`
}

// Commit is an entry of a release's commits.
type Commit struct {
	ID          string `json:"id"`
	Message     string `json:"message"`
	DateCreated string `json:"dateCreated"`
	// Author is a Sentry user or, for authors Sentry does not know,
	// just a name and an email.
	Author     *User `json:"author"`
	Repository *struct {
		Name string `json:"name"`
	} `json:"repository"`
}

// Deploy is an entry of a release's deploys.
type Deploy struct {
	ID           FlexString `json:"id"`
	Environment  string     `json:"environment"`
	Name         string     `json:"name"`
	DateStarted  string     `json:"dateStarted"`
	DateFinished string     `json:"dateFinished"`
}

// GetRelease returns a release of an organization. project (a numeric id,
// optional) makes Sentry look for it in that project only.
func (c *Client) GetRelease(ctx context.Context, org, version, project string) (*ReleaseDetail, *Response, error) {
	q := url.Values{}
	if project != "" {
		q.Set("project", project)
	}
	var v ReleaseDetail
	r, err := c.do(ctx, call{method: http.MethodGet, org: org, route: "/api/0/organizations/%s/releases/{version}/", args: []string{org}, version: version, query: q}, &v)
	if err != nil {
		return nil, r, err
	}
	return &v, r, nil
}

// ListReleaseCommits lists a release's commits, newest first as the
// release's creator gave them.
func (c *Client) ListReleaseCommits(ctx context.Context, org, version string, opt ListOptions) ([]Commit, *Response, error) {
	var v []Commit
	r, err := c.do(ctx, call{method: http.MethodGet, org: org, route: "/api/0/organizations/%s/releases/{version}/commits/", args: []string{org}, version: version, query: opt.values()}, &v)
	if err != nil {
		return nil, r, err
	}
	return v, r, nil
}

// ListReleaseDeploys lists a release's deploys, newest first.
func (c *Client) ListReleaseDeploys(ctx context.Context, org, version string, opt ListOptions) ([]Deploy, *Response, error) {
	var v []Deploy
	r, err := c.do(ctx, call{method: http.MethodGet, org: org, route: "/api/0/organizations/%s/releases/{version}/deploys/", args: []string{org}, version: version, query: opt.values()}, &v)
	if err != nil {
		return nil, r, err
	}
	return v, r, nil
}
