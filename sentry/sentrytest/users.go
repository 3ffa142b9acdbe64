package sentrytest

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
)

// SessionCookie is the name of Sentry's browser session cookie
// (Django's SESSION_COOKIE_NAME in src/sentry/conf/server.py).
const SessionCookie = "sentrysid"

// User is a further Sentry user, besides Data.User, who signs in through
// the browser (AddUser). Tokens minted for the user by /oauth/authorize/ and
// /oauth/token/ act as that user on the REST API: GET /api/0/ names the
// user, GET /api/0/organizations/ lists only the user's organizations, and
// the endpoints of any other organization answer 403.
//
// Such users do not appear in member lists, as assignees or as authors of
// activity. In a member organization a user's role is that of the
// Membership with their UserID (Role "" = member), else Org.Role.
type User struct {
	ID, Name, Email string
	// Orgs are the slugs of the organizations the user is a member of;
	// nil means every organization.
	Orgs []string
}

// AddUser registers (or replaces, by ID) a user and returns a new value of
// the session cookie (SessionCookie) signed in as that user: a request to
// /oauth/authorize/ carrying it authorizes for the user. ID must not be
// empty; an ID equal to Data.User's makes a user who shadows the default
// user's name and email only on that user's own tokens.
func (s *Server) AddUser(u User) (session string) {
	if u.ID == "" {
		panic("sentrytest: AddUser needs a user ID")
	}
	if u.Orgs != nil {
		u.Orgs = slices.Clone(u.Orgs)
	}
	session = randomHex()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = &u
	s.sessions[session] = u.ID
	return session
}

// sessionUserLocked is the id of the user the request's session cookie
// signs in, or "" (the default user) when it names no known session.
func (s *Server) sessionUserLocked(r *http.Request) string {
	for _, ck := range r.CookiesNamed(SessionCookie) {
		if id, ok := s.sessions[ck.Value]; ok {
			return id
		}
	}
	return ""
}

// userLocked is the registered user of a token's user id; nil for the
// default user ("").
func (s *Server) userLocked(id string) *User {
	if id == "" {
		return nil
	}
	return s.users[id]
}

// defaultUserID is Data.User's id as a string ("" when there is no user).
func (s *Server) defaultUserID() string {
	if id := s.data.userID(); id != nil {
		return fmt.Sprint(id)
	}
	return ""
}

// member reports whether the request's user belongs to the organization.
// This is the one place that decides membership: listOrganizations filters
// with it, and access answers 403 for an organization it refuses.
func (c *call) member(o *Org) bool {
	return c.user == nil || c.user.Orgs == nil || slices.Contains(c.user.Orgs, o.Slug)
}

// role is the request's user's org role in a member organization.
func (c *call) role(o *Org) string {
	if c.user != nil {
		for _, m := range o.Memberships {
			if m.UserID == c.user.ID {
				return cmp.Or(m.Role, "member")
			}
		}
	}
	return o.Role
}

// selfUser is the request's user in the serialization of the "user"
// object of GET /api/0/.
func (c *call) selfUser() map[string]any {
	if c.user == nil {
		return copyMap(c.d.User)
	}
	m := exampleObject("api.index.json")["user"].(map[string]any)
	for k, v := range person(c.user.ID, c.user.Name, c.user.Email) {
		m[k] = v
	}
	return m
}

// tokenUserLocked is the "user" object of token responses for a token's
// user id ("" = Data.User).
func (s *Server) tokenUserLocked(id string) map[string]string {
	if u := s.userLocked(id); u != nil {
		return map[string]string{"id": u.ID, "name": u.Name, "email": u.Email}
	}
	s.data.mu.Lock()
	defer s.data.mu.Unlock()
	u := s.data.User
	str := func(k string) string {
		if v, ok := u[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	return map[string]string{"id": str("id"), "name": str("name"), "email": str("email")}
}
