package authserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/hosted/store"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

// Errors of Authenticate (each answered with 401 and the challenge).
var (
	ErrNoToken      = errors.New("no bearer token")
	ErrInvalidToken = errors.New("the bearer token is unknown, expired or revoked")
	ErrWrongTarget  = errors.New("the bearer token was issued for another resource")
	ErrSignInAgain  = errors.New("Sentry no longer accepts this sign-in")
)

// Authenticate verifies the bearer token of a request to resource ("/mcp"
// or "/mcp/{org}") and returns the caller: that user's Sentry scopes,
// narrowed to what they consented to for this client and to the
// operator's bound, pinned to the resource's organization, with the
// grant's refreshing Sentry token source. Only tokens this server issued
// are accepted: a Sentry token is as unknown as any other string.
func (s *Server) Authenticate(r *http.Request, resource string) (*tools.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, ErrNoToken
	}
	t, err := s.cfg.Store.LookupToken(r.Context(), strings.TrimSpace(tok))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrInvalidToken
	case err != nil:
		return nil, unavailableError{fmt.Errorf("looking up the bearer token: %w", err)}
	case t.Kind != "access":
		return nil, ErrInvalidToken
	case t.Resource != resource:
		return nil, ErrWrongTarget
	}
	// What a grant is bound to (organization, consent) never changes, and
	// its Sentry token source is shared: both are kept per grant, so a
	// request costs one lookup (its token). A revoked grant's tokens are
	// gone, so the token lookup refuses it first.
	e := s.cached(t.GrantID)
	if e == nil {
		g, err := s.cfg.Store.Grant(r.Context(), t.GrantID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, ErrInvalidToken
		case err != nil:
			return nil, unavailableError{fmt.Errorf("reading the grant: %w", err)}
		}
		e = s.entry(g)
	}
	ts := e.ts
	st, err := ts.Status()
	switch {
	case errors.Is(err, auth.ErrNotSignedIn): // revoked meanwhile
		return nil, ErrInvalidToken
	case err != nil:
		return nil, unavailableError{fmt.Errorf("reading the grant's Sentry sign-in: %w", err)}
	}
	if st.NeedsSignIn && !st.Valid {
		return nil, ErrSignInAgain
	}
	// What Sentry granted (updated by each refresh) within what the user
	// approved for this client (the credential's requested scopes), then
	// within this token's scopes (a refresh may narrow them).
	p := &tools.Principal{
		Key:   "grant:" + t.GrantID,
		Token: ts,
		Grant: auth.NewGrant(intersect(st.Credential.EffectiveScopes(), auth.Expand(t.Scopes)), s.cfg.Scopes, s.cfg.ReadOnly),
		Org:   e.org,
	}
	if st.NeedsSignIn && st.Credential != nil && !st.Credential.Expiry.IsZero() {
		p.Warning = fmt.Sprintf("Sentry refused to refresh this sign-in: it works until %s; remove and add this server in your MCP client (or sign in again) before then", st.Credential.Expiry.Format(time.RFC3339))
	}
	return p, nil
}

// unavailableError is an Authenticate failure that is not about the token
// (the database did not answer): the HTTP server answers 503, so the client
// keeps its tokens.
type unavailableError struct{ err error }

func (e unavailableError) Error() string     { return e.err.Error() }
func (e unavailableError) Unwrap() error     { return e.err }
func (e unavailableError) Unavailable() bool { return true }

func intersect(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	out := []string{}
	for _, s := range a {
		if in[s] {
			out = append(out, s)
		}
	}
	return out
}

// grantEntry is what the server keeps of a grant in memory: its Sentry
// token source (one per grant in this process, so that its refreshes are
// shared by every request, and serialised across processes by the grant's
// lock in the database) and what the grant is bound to.
type grantEntry struct {
	ts  *auth.RefreshingTokenSource
	org string
}

func (s *Server) cached(grantID string) *grantEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sources[grantID]
}

// source is the grant's Sentry token source.
func (s *Server) source(g *store.Grant) *auth.RefreshingTokenSource { return s.entry(g).ts }

// entry is the grant's entry, made on first use.
func (s *Server) entry(g *store.Grant) *grantEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.sources[g.ID]; ok {
		return e
	}
	if len(s.sources) >= maxSources {
		// Evict an idle one (it is rebuilt from the database when needed);
		// one with a refresh in flight stays, so that Wait still sees it.
		idle, cancel := context.WithCancel(context.Background())
		cancel()
		for id, e := range s.sources {
			if e.ts.Wait(idle) == nil {
				delete(s.sources, id)
				break
			}
		}
	}
	ts := auth.NewRefreshingTokenSource(auth.TokenSourceOptions{
		Host:       s.cfg.Sentry.BaseURL,
		Store:      s.cfg.Store.CredentialStore(g.ID, s.cfg.Sentry.ClientID, s.cfg.Sentry.ClientSecret),
		Locker:     s.cfg.Store.Locker(g.ID),
		Margin:     s.cfg.RefreshMargin,
		HTTPClient: s.cfg.Sentry.HTTPClient,
		Logger:     s.log.With("grant", g.ID),
		OnRefresh:  s.cfg.OnRefresh,
		Now:        s.cfg.Now,
	})
	e := &grantEntry{ts: ts, org: g.Org}
	s.sources[g.ID] = e
	return e
}

// forget drops a revoked grant's token source.
func (s *Server) forget(grantID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sources, grantID)
}

// Wait blocks until no Sentry refresh runs in the background (or ctx
// ends): at shutdown, a refresh Sentry has answered must be saved, since
// Sentry has rotated the grant's tokens by then.
func (s *Server) Wait(ctx context.Context) error {
	s.mu.Lock()
	sources := make([]*auth.RefreshingTokenSource, 0, len(s.sources))
	for _, e := range s.sources {
		sources = append(sources, e.ts)
	}
	s.mu.Unlock()
	for _, ts := range sources {
		if err := ts.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}
