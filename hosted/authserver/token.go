package authserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sentry-mcp/sentry-mcp/hosted/store"
)

// verifierPattern is an RFC 7636 code verifier.
var verifierPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func tokenError(w http.ResponseWriter, status int, code, describe string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="sentry-mcp"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": describe})
}

// token is the token endpoint: authorization_code and refresh_token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "the request body is not a form")
		return
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			tokenError(w, http.StatusBadRequest, "invalid_request", "the parameter "+k+" is repeated")
			return
		}
	}
	c, err := s.authenticateClient(r)
	if err != nil {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong client credentials")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		s.exchangeCode(w, r, c)
	case "refresh_token":
		s.refresh(w, r, c)
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
	}
}

func (s *Server) exchangeCode(w http.ResponseWriter, r *http.Request, c *client) {
	f := r.PostForm
	code, err := s.cfg.Store.UseCode(r.Context(), f.Get("code"))
	switch {
	case errors.Is(err, store.ErrReplayed):
		// A code used twice was stolen or replayed: what it issued goes.
		if derr := s.cfg.Store.DeleteGrant(r.Context(), code.GrantID); derr != nil && !errors.Is(derr, store.ErrNotFound) {
			s.log.Error("revoking the grant of a replayed code failed", "grant", code.GrantID, "error", derr)
		}
		s.forget(code.GrantID)
		s.log.Warn("an authorization code was used twice; its grant is revoked", "grant", code.GrantID, "client_id", c.id)
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the authorization code was already used; what it issued is revoked")
		return
	case errors.Is(err, store.ErrNotFound):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown or expired authorization code")
		return
	case err != nil:
		s.serverError(w, "using an authorization code", err)
		return
	}
	switch {
	case code.ClientID != c.id:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the authorization code was issued to another client")
	case f.Get("redirect_uri") != code.RedirectURI && !(f.Get("redirect_uri") == "" && slices.Equal(c.redirectURIs, []string{code.RedirectURI})):
		// RFC 6749 s4.1.3: required when the authorization request had it;
		// a client with one registered URI may leave it out of both.
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request's")
	case !verifierPattern.MatchString(f.Get("code_verifier")) || !pkceMatches(f.Get("code_verifier"), code.Challenge):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code challenge")
	default:
		if res := f.Get("resource"); res != "" {
			if p, _, ok := s.resourcePath(res); !ok || p != code.Resource {
				tokenError(w, http.StatusBadRequest, "invalid_target", "resource differs from the authorization request's")
				return
			}
		}
		s.issue(w, r, &store.Token{GrantID: code.GrantID, ClientID: c.id, Resource: code.Resource, Scopes: code.Scopes})
		return
	}
	// A code that failed a check is spent; its grant has no use.
	_ = s.cfg.Store.DeleteGrant(r.Context(), code.GrantID)
	s.forget(code.GrantID)
}

func pkceMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request, c *client) {
	f := r.PostForm
	old := f.Get("refresh_token")
	// Everything is checked before anything changes: a refused request
	// leaves the chain as it was.
	t, retired, err := s.cfg.Store.LookupRefresh(r.Context(), old)
	switch {
	case errors.Is(err, store.ErrNotFound):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown, expired or revoked refresh token")
		return
	case err != nil:
		s.serverError(w, "looking up a refresh token", err)
		return
	case retired:
		s.leaked(w, r, t, c)
		return
	case t.ClientID != c.id:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown, expired or revoked refresh token")
		return
	}
	if res := f.Get("resource"); res != "" {
		if p, _, ok := s.resourcePath(res); !ok || p != t.Resource {
			tokenError(w, http.StatusBadRequest, "invalid_target", "resource differs from the one this refresh token is for")
			return
		}
	}
	scopes := t.Scopes
	if asked := strings.Fields(f.Get("scope")); len(asked) > 0 {
		for _, sc := range asked {
			if !slices.Contains(t.Scopes, sc) {
				tokenError(w, http.StatusBadRequest, "invalid_scope", "a refresh may only narrow the scopes granted: "+strings.Join(t.Scopes, " "))
				return
			}
		}
		scopes = asked
	}
	g, err := s.cfg.Store.Grant(r.Context(), t.GrantID)
	if errors.Is(err, store.ErrNotFound) {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the sign-in was revoked")
		return
	} else if err != nil {
		s.serverError(w, "reading a grant", err)
		return
	}
	if st, err := s.source(g).Status(); err == nil && st.NeedsSignIn && !st.Valid {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "Sentry no longer accepts this sign-in; sign in again")
		return
	}
	now := time.Now()
	next := store.Rotation{
		Access: random(prefixAccess, 32), Refresh: random(prefixRefresh, 32),
		AccessExpires: now.Add(AccessTokenLifetime), RefreshExpires: now.Add(RefreshTokenLifetime), Scopes: scopes,
	}
	switch t, err := s.cfg.Store.RotateRefresh(r.Context(), old, c.id, next); {
	case errors.Is(err, store.ErrRetired): // a concurrent refresh used its successor meanwhile
		s.leaked(w, r, t, c)
	case errors.Is(err, store.ErrNotFound):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown, expired or revoked refresh token")
	case err != nil:
		s.serverError(w, "rotating a refresh token", err)
	default:
		writeTokens(w, next.Access, next.Refresh, scopes)
	}
}

// leaked answers a refresh token presented after it was replaced: it has
// leaked (whoever presents it, since a public client's id is no secret),
// so the sign-in it belongs to ends.
func (s *Server) leaked(w http.ResponseWriter, r *http.Request, t *store.Token, c *client) {
	if err := s.cfg.Store.DeleteGrant(r.Context(), t.GrantID); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("revoking the grant of a reused refresh token failed", "grant", t.GrantID, "error", err)
	}
	s.forget(t.GrantID)
	s.log.Warn("a replaced refresh token was presented again; its sign-in is revoked", "grant", t.GrantID, "client_id", c.id, "issued_to", t.ClientID)
	tokenError(w, http.StatusBadRequest, "invalid_grant", "the refresh token was already replaced; the sign-in is revoked, sign in again")
}

// issue stores and returns the first access token and refresh token of a
// sign-in.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, t *store.Token) {
	now := time.Now()
	access, refresh := random(prefixAccess, 32), random(prefixRefresh, 32)
	at := *t
	at.Kind, at.Expires = "access", now.Add(AccessTokenLifetime)
	rt := *t
	rt.Kind, rt.Expires = "refresh", now.Add(RefreshTokenLifetime)
	if err := s.cfg.Store.PutToken(r.Context(), access, &at); err != nil {
		s.serverError(w, "storing a token", err)
		return
	}
	if err := s.cfg.Store.PutToken(r.Context(), refresh, &rt); err != nil {
		s.serverError(w, "storing a token", err)
		return
	}
	writeTokens(w, access, refresh, t.Scopes)
}

func writeTokens(w http.ResponseWriter, access, refresh string, scopes []string) {
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  access,
		"token_type":    "Bearer",
		"expires_in":    int(AccessTokenLifetime / time.Second),
		"refresh_token": refresh,
		"scope":         strings.Join(scopes, " "),
	})
}

func (s *Server) serverError(w http.ResponseWriter, doing string, err error) {
	s.log.Error(doing+" failed", "error", err)
	tokenError(w, http.StatusInternalServerError, "server_error", "the server could not complete the request; try again")
}

// revoke is RFC 7009: revoking an access token ends that token; revoking
// a refresh token ends the whole sign-in (its grant, every token of it).
// The answer is 200 whether or not the token was known.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "the request body is not a form")
		return
	}
	c, err := s.authenticateClient(r)
	if err != nil {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong client credentials")
		return
	}
	tok := r.PostForm.Get("token")
	t, err := s.cfg.Store.LookupToken(r.Context(), tok)
	if errors.Is(err, store.ErrNotFound) {
		// A replaced refresh token still names its sign-in: a client that
		// signs out with it ends that sign-in too.
		t, _, err = s.cfg.Store.LookupRefresh(r.Context(), tok)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		s.serverError(w, "looking up a token", err)
		return
	case t.ClientID != c.id:
		// Not this client's: nothing happens (RFC 7009 s2.1).
	case t.Kind == "refresh":
		if err := s.cfg.Store.DeleteGrant(r.Context(), t.GrantID); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.serverError(w, "revoking a grant", err)
			return
		}
		s.forget(t.GrantID)
		s.log.Info("revoked a sign-in", "grant", t.GrantID, "client_id", c.id)
	default:
		if err := s.cfg.Store.DeleteToken(r.Context(), tok); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.serverError(w, "revoking a token", err)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
