package sentry

import (
	"context"
	"net/http"
)

// Member is an entry of GET /api/0/organizations/{org}/members/: a member
// (User set) or a pending invite (User nil, Pending). ID is the member id;
// assignment takes the user id, User.ID.
type Member struct {
	ID      FlexString `json:"id"`
	Email   string     `json:"email"`
	Name    string     `json:"name"`
	User    *User      `json:"user"`
	OrgRole string     `json:"orgRole"`
	Role    string     `json:"role"` // older Sentry versions
	Pending bool       `json:"pending"`
	Expired bool       `json:"expired"`
}

// ListMembers lists an organization's members and pending invites, by
// member id.
func (c *Client) ListMembers(ctx context.Context, org string, opt ListOptions) ([]Member, *Response, error) {
	var v []Member
	r, err := c.do(ctx, call{method: http.MethodGet, org: org, route: "/api/0/organizations/%s/members/", args: []string{org}, query: opt.values()}, &v)
	if err != nil {
		return nil, r, err
	}
	return v, r, nil
}
