// Package authserver is hosted mode's OAuth 2.1 authorization server for
// MCP clients (MCP specification, Authorization): metadata (RFC 8414),
// client registration (RFC 7591 and client ID metadata documents), the
// authorization code flow with PKCE, a consent page per client, the
// upstream sign-in to Sentry, tokens bound to one resource (RFC 8707),
// refresh-token rotation and revocation (RFC 7009). It also verifies the
// bearer tokens it issued and turns them into the caller's principal.
//
// It is a proxy towards Sentry with one upstream OAuth application: the
// user approves each MCP client here before being sent to Sentry, and
// the Sentry tokens never leave the server (no token passthrough either
// way).
package authserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/hosted/clientmeta"
	"github.com/sentry-mcp/sentry-mcp/hosted/ratelimit"
	"github.com/sentry-mcp/sentry-mcp/hosted/secrets"
	"github.com/sentry-mcp/sentry-mcp/hosted/store"
	"github.com/sentry-mcp/sentry-mcp/sentry"
)

// Lifetimes of what the server issues.
const (
	AccessTokenLifetime  = time.Hour
	RefreshTokenLifetime = 30 * 24 * time.Hour
	codeLifetime         = 5 * time.Minute
	pendingLifetime      = 10 * time.Minute
)

// DefaultScopes are asked for when a client names none: every read-only
// tool except list_members.
var DefaultScopes = auth.ScopePresets["read"]

// Config configures the authorization server.
type Config struct {
	// PublicURL is the origin clients use (scheme://host[:port]); every URL
	// the server issues is built from it, never from a request's Host.
	PublicURL *url.URL
	Store     *store.DB
	Keys      *secrets.Keys
	// Sentry is the upstream OAuth application (confidential; redirect URI
	// <PublicURL>/oauth/callback) and the Sentry it signs in to.
	Sentry auth.OAuthClient
	// API is the Sentry API client (organization membership for /mcp/{org}).
	API *sentry.Client
	// Scopes bound what any user may grant (--scopes; nil = every Sentry
	// scope); ReadOnly drops the scopes that write.
	Scopes   []string
	ReadOnly bool
	// Metadata fetches client ID metadata documents (nil: the SSRF-safe
	// default).
	Metadata *clientmeta.Fetcher
	// RegistrationsPerMinute per client IP (0: 20); other OAuth endpoints
	// allow ten times as many.
	RegistrationsPerMinute int
	TrustedProxies         []netip.Prefix
	// RefreshMargin: Sentry tokens are refreshed this long before they
	// expire (auth.DefaultRefreshMargin is the usual; 0 = only once expired
	// or rejected, as on stdio).
	RefreshMargin time.Duration
	OnRefresh     func(outcome string)
	Logger        *slog.Logger
	// Now is the clock of the grants' Sentry tokens (nil: time.Now).
	Now func() time.Time
}

// Server is the authorization server. Its Handler serves
// /.well-known/oauth-authorization-server and /oauth/*; Authenticate
// verifies bearer tokens for the MCP endpoint.
type Server struct {
	cfg      Config
	issuer   string
	allowed  []string // scopes users may grant, sorted
	defaults []string // DefaultScopes within allowed
	meta     *clientmeta.Fetcher
	register *ratelimit.Limiter
	general  *ratelimit.Limiter
	log      *slog.Logger

	mu      sync.Mutex
	sources map[string]*grantEntry // grant id -> its token source and bindings
}

// maxSources bounds the token sources kept in memory.
const maxSources = 10000

// New returns the authorization server.
func New(cfg Config) (*Server, error) {
	if cfg.PublicURL == nil || cfg.PublicURL.Host == "" || (cfg.PublicURL.Scheme != "https" && cfg.PublicURL.Scheme != "http") {
		return nil, fmt.Errorf("authserver: the public URL must be an http(s) origin")
	}
	if cfg.Store == nil || cfg.Keys == nil || cfg.API == nil {
		return nil, fmt.Errorf("authserver: Store, Keys and API are required")
	}
	if cfg.Sentry.ClientID == "" || cfg.Sentry.ClientSecret == "" {
		return nil, fmt.Errorf("hosted mode needs the Sentry OAuth application: set SENTRY_CLIENT_ID and SENTRY_CLIENT_SECRET (redirect URI %s/oauth/callback)", origin(cfg.PublicURL))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RegistrationsPerMinute <= 0 {
		cfg.RegistrationsPerMinute = 20
	}
	meta := cfg.Metadata
	if meta == nil {
		meta = &clientmeta.Fetcher{}
	}
	s := &Server{
		cfg:      cfg,
		issuer:   origin(cfg.PublicURL),
		meta:     meta,
		register: ratelimit.New(cfg.RegistrationsPerMinute),
		general:  ratelimit.New(10 * cfg.RegistrationsPerMinute),
		log:      cfg.Logger,
		sources:  map[string]*grantEntry{},
	}
	s.allowed = s.bound(auth.KnownScopes)
	slices.Sort(s.allowed)
	s.defaults = s.bound(DefaultScopes)
	if len(s.defaults) == 0 { // --scopes excludes every default: ask for what is allowed
		s.defaults = slices.Clone(s.allowed)
	}
	return s, nil
}

// origin is u's scheme://host, the issuer and the base of every URL.
func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

// Issuer is the authorization server's issuer identifier (its metadata's
// "issuer" and the "iss" of each authorization response).
func (s *Server) Issuer() string { return s.issuer }

// ScopesSupported are the Sentry scopes users may grant here.
func (s *Server) ScopesSupported() []string { return slices.Clone(s.allowed) }

// Defaults are the scopes asked for when a client names none, within the
// operator's bound.
func (s *Server) Defaults() []string { return slices.Clone(s.defaults) }

// bound keeps the scopes the operator allows: within --scopes (with its
// hierarchy), without write and admin scopes when read-only, and never
// the OpenID ones (the server has no use for them), in the order given.
func (s *Server) bound(scopes []string) []string {
	var within map[string]bool
	if s.cfg.Scopes != nil {
		within = map[string]bool{}
		for _, sc := range auth.Expand(s.cfg.Scopes) {
			within[sc] = true
		}
	}
	var out []string
	for _, sc := range scopes {
		switch {
		case !slices.Contains(auth.KnownScopes, sc), sc == "openid", sc == "profile", sc == "email":
		case within != nil && !within[sc]:
		case s.cfg.ReadOnly && writes(sc):
		case slices.Contains(out, sc):
		default:
			out = append(out, sc)
		}
	}
	return out
}

// writes reports whether a scope lets the holder change Sentry.
func writes(scope string) bool {
	return strings.HasSuffix(scope, ":write") || strings.HasSuffix(scope, ":admin") || scope == "member:invite" || scope == "org:integrations"
}

// Handler serves the authorization server's endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.metadata)
	mux.Handle("POST /oauth/register", s.limited(s.register, http.HandlerFunc(s.registerClient)))
	mux.Handle("GET /oauth/authorize", s.limited(s.general, http.HandlerFunc(s.authorize)))
	mux.Handle("POST /oauth/authorize", s.limited(s.general, http.HandlerFunc(s.decide)))
	mux.Handle("GET /oauth/callback", s.limited(s.general, http.HandlerFunc(s.callback)))
	mux.Handle("POST /oauth/token", s.limited(s.general, http.HandlerFunc(s.token)))
	mux.Handle("POST /oauth/revoke", s.limited(s.general, http.HandlerFunc(s.revoke)))
	return mux
}

func (s *Server) limited(l *ratelimit.Limiter, h http.Handler) http.Handler {
	return ratelimit.Middleware(l, s.cfg.TrustedProxies, h)
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	methods := []string{"none", "client_secret_basic", "client_secret_post"}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         s.issuer,
		"authorization_endpoint":                         s.issuer + "/oauth/authorize",
		"token_endpoint":                                 s.issuer + "/oauth/token",
		"registration_endpoint":                          s.issuer + "/oauth/register",
		"revocation_endpoint":                            s.issuer + "/oauth/revoke",
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          methods,
		"revocation_endpoint_auth_methods_supported":     methods,
		"scopes_supported":                               s.allowed,
		"client_id_metadata_document_supported":          true,
		"authorization_response_iss_parameter_supported": true,
	})
}

// random is n random bytes, base64url without padding, after prefix.
func random(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Token prefixes make our secrets recognisable (secret scanners, logs).
const (
	prefixAccess  = "smcp_at_"
	prefixRefresh = "smcp_rt_"
	prefixCode    = "smcp_ac_"
	prefixSecret  = "smcp_cs_"
)

// resourcePath checks an RFC 8707 resource indicator: this server's /mcp
// or /mcp/{org}. It returns the path and the organization.
func (s *Server) resourcePath(resource string) (path, org string, ok bool) {
	u, err := url.Parse(resource)
	if err != nil || u.Scheme+"://"+u.Host != s.issuer || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", false
	}
	p := strings.TrimSuffix(u.Path, "/")
	if p == "/mcp" {
		return p, "", true
	}
	// The path stays as the client wrote it (it is the URL it connects to
	// and the resource the metadata names); the pin is lowercased.
	if o, found := strings.CutPrefix(p, "/mcp/"); found && sentry.ValidSlug(o) {
		return "/mcp/" + o, strings.ToLower(o), true
	}
	return "", "", false
}

// ctxTimeout bounds what one OAuth request does upstream.
func ctxTimeout(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 30*time.Second)
}
