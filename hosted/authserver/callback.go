package authserver

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sentry-mcp/sentry-mcp/hosted/store"
	"github.com/sentry-mcp/sentry-mcp/sentry"
)

// callback is where Sentry sends the browser back: the pending sign-in is
// taken (single use), Sentry's code exchanged, membership of a pinned
// organization checked, the grant stored, and the browser sent on to the
// MCP client with our own code.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		page(w, http.StatusBadRequest, "Sign-in failed", "Sentry's answer has no state; start the sign-in again from your MCP client.")
		return
	}
	p, err := s.cfg.Store.TakePending(r.Context(), state)
	if errors.Is(err, store.ErrNotFound) {
		page(w, http.StatusBadRequest, "Sign-in failed", "This sign-in has expired or was already completed. Start it again from your MCP client.")
		return
	}
	if err != nil {
		s.log.Error("reading a pending sign-in failed", "error", err)
		page(w, http.StatusInternalServerError, "Sign-in failed", "The server could not read the sign-in; try again.")
		return
	}
	c, cerr := r.Cookie(s.cookieName())
	if cerr != nil || subtle.ConstantTimeCompare(store.HashToken(c.Value), p.Browser) != 1 {
		page(w, http.StatusBadRequest, "Sign-in failed", "This sign-in was started in another browser. Start it again from your MCP client, in this browser.")
		return
	}
	back := func(code, describe string) {
		s.redirectToClient(w, r, p.RedirectURI, "error", code, "error_description", describe, "state", p.ClientState)
	}
	if e := q.Get("error"); e != "" {
		switch e {
		case "access_denied":
			back("access_denied", "access was denied in Sentry")
		case "invalid_scope":
			back("invalid_scope", "Sentry refused the requested scopes: the server's Sentry OAuth application does not allow them")
		default:
			back("server_error", "Sentry refused the sign-in")
		}
		return
	}
	code := q.Get("code")
	if code == "" {
		back("server_error", "Sentry answered without a code")
		return
	}
	ctx, cancel := ctxTimeout(r)
	defer cancel()
	up := s.cfg.Sentry
	up.Scopes = p.Scopes
	cred, err := up.Exchange(ctx, code, s.issuer+"/oauth/callback", p.Verifier)
	if err != nil {
		s.log.Warn("exchanging Sentry's code failed", "client_id", p.ClientID, "error", err)
		back("server_error", "the server could not complete the sign-in with Sentry")
		return
	}
	if p.Org != "" {
		if msg := s.member(r, cred.AccessToken, p.Org); msg != "" {
			back("access_denied", msg)
			return
		}
	}
	g := &store.Grant{ClientID: p.ClientID, ClientName: p.ClientName, Resource: p.Resource, Org: p.Org, Consented: p.Scopes, Credential: cred}
	if err := s.cfg.Store.CreateGrant(r.Context(), g); err != nil {
		s.log.Error("storing a grant failed", "error", err)
		back("server_error", "the server could not store the sign-in")
		return
	}
	ours := random(prefixCode, 32)
	if err := s.cfg.Store.PutCode(r.Context(), ours, &store.Code{
		GrantID: g.ID, ClientID: p.ClientID, RedirectURI: p.RedirectURI, Challenge: p.CodeChallenge,
		Resource: p.Resource, Scopes: p.Scopes, Expires: time.Now().Add(codeLifetime),
	}); err != nil {
		s.log.Error("storing an authorization code failed", "error", err)
		back("server_error", "the server could not store the sign-in")
		return
	}
	user := ""
	if cred.User != nil {
		user = cred.User.ID
	}
	s.log.Info("signed in", "grant", g.ID, "client_id", p.ClientID, "sentry_user", user, "resource", p.Resource, "scopes", strings.Join(cred.Scopes, " "))
	s.redirectToClient(w, r, p.RedirectURI, "code", ours, "state", p.ClientState)
}

// member says why the signed-in user may not use organization org ("" =
// they may): Sentry lists only the organizations a user belongs to.
func (s *Server) member(r *http.Request, token, org string) string {
	ctx, cancel := ctxTimeout(r)
	defer cancel()
	ctx = sentry.WithTokenSource(ctx, sentry.StaticToken(token))
	orgs, _, err := s.cfg.API.ListOrganizations(ctx, sentry.ListOptions{Query: "slug:" + org})
	if err != nil {
		s.log.Warn("checking organization membership failed", "organization", org, "error", err)
		return "the server could not check that you belong to the organization " + org + " (it needs org:read)"
	}
	for _, o := range orgs {
		if strings.EqualFold(o.Slug, org) {
			return ""
		}
	}
	return "your Sentry account is not a member of the organization " + org
}
