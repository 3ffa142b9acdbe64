// Package sentrytest is a faithful fake of Sentry's web API (the REST API
// under /api/0/) served over real HTTP, for tests and for the demo mode.
//
// It reproduces Sentry's routes (trailing slashes included), bearer token
// authentication with Sentry's 401 bodies, scopes expanded by Sentry's
// hierarchy and checked per endpoint, Link header pagination, issue search,
// issue updates, error bodies and rate-limit headers, as described in
// /work/shared/sentry-api/BEHAVIOUR.md. Objects are built from Sentry's
// published JSON examples (embedded from examples/), so they have Sentry's
// shapes and fields.
//
// Where Sentry's behaviour is less convenient than one might expect, the fake
// follows Sentry:
//   - an unknown route with a trailing slash is a 404 with an empty body
//     (CatchallEndpoint); without the slash it is the plain-text hint;
//   - PUT validation errors are DRF field errors, e.g.
//     {"status": ["\"x\" is not a valid choice."]} or
//     {"statusDetails": {"inRelease": ["Unable to find a release with the given version."]}};
//     only parse errors and update_groups refusals use {"detail": ...};
//   - statusDetails of a release resolution carries "actor" (the user);
//   - issue lists cap limit at 100 (the paginator's max_limit) rather than
//     refusing larger values;
//   - statsPeriod= (empty) is invalid on the organization issue list.
//
// Server.RequireUserAction makes an organization answer Sentry's SSO, 2FA
// or sudo 401 ({"detail": {"code": "sso-required", "message": ...,
// "extra": {"loginUrl": "/auth/login/<org>/"}}}) on its endpoints.
//
// The fake also runs Sentry's OAuth 2.0 authorization server under /oauth/
// (see oauth.go): authorization code grant with PKCE, refresh with rotation,
// the device authorization grant and the device verification page. Its
// tokens share the REST token table, so minted tokens work on /api/0/.
//
// Server.AddUser adds users who sign in through the browser (a session
// cookie at /oauth/authorize/); their tokens see only their organizations,
// and every other organization's endpoints answer 403.
//
// Simplifications: issue lists page by offset (cursors "0:{offset}:{prev}");
// without statsPeriod/start/end no date window is applied (Sentry's default
// is 90 days, its retention); membership is open (every project of an org is
// accessible); there are no repositories, so inCommit never validates.
package sentrytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune the fake.
type Options struct {
	// SelfHosted drops the X-Sentry-Rate-Limit-* headers and all rate
	// limiting, as self-hosted Sentry does.
	SelfHosted bool
	// EnforceRateLimits answers 429 once a caller exceeds an endpoint's
	// configured limit. Off by default; the headers are sent either way
	// (unless SelfHosted), with honest counts.
	EnforceRateLimits bool
	// RegionURL is every organization's links.regionUrl; "" is the
	// server's own URL.
	RegionURL string
	// Now is the clock for token expiry, rate-limit windows, statsPeriod
	// and stats; nil means time.Now. Server.Advance adds to it.
	Now func() time.Time

	// TokenLifetime is how long OAuth-minted access tokens live (at
	// /oauth/token/ and the implicit grant); 0 means 30 days, Sentry's.
	TokenLifetime time.Duration
	// DeviceInterval is the minimum time between two polls of one device
	// code before /oauth/token/ answers slow_down; 0 means 5 s, Sentry's.
	// The "interval" field of /oauth/device/code/ is this rounded up to
	// whole seconds, at least 1.
	DeviceInterval time.Duration
	// ReuseRefreshTokens models a provider that does not rotate refresh
	// tokens: a refresh replaces the access token only, the response omits
	// refresh_token and the old refresh token stays valid. Sentry rotates.
	ReuseRefreshTokens bool
}

// Server is a running fake Sentry.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234" (no trailing slash).
	URL string

	ts   *httptest.Server
	h    *handler
	data *Data
	opts Options

	mu       sync.Mutex // tokens, users, sessions and OAuth state (oauthState)
	tokens   map[string]*apiToken
	users    map[string]*User  // AddUser, by id
	sessions map[string]string // session cookie value -> user id
	oauth    oauthState

	clockOffset atomic.Int64 // Advance, in nanoseconds

	logMu      sync.Mutex // requests and fault injection
	requests   []Request
	failN      int
	failStatus int
	failBody   string
	oauthFail  struct {
		n, status int
		body      string
	}

	rl rateLimiter
}

// Request is one request the fake received.
type Request struct {
	Method, Path, RawQuery, Host string
	Authorization                string // raw header value as received
	// User is the id of the user whose valid bearer token authenticated
	// the request (Data.User's or an AddUser one); "" when none did.
	User string
	Body []byte
}

type apiToken struct {
	scopes  []string // expanded, sorted
	expires time.Time
	expired bool
	// OAuth-minted tokens only:
	app     string // client_id of the application
	refresh string // current refresh token ("" for implicit grants)
	user    string // id of an AddUser user; "" = Data.User
}

// NewServer starts a fake Sentry on a loopback port serving data (nil means
// DemoData()). Close it when done.
func NewServer(data *Data, opts Options) *Server {
	if data == nil {
		data = DemoData()
	}
	s := &Server{data: data, opts: opts, tokens: map[string]*apiToken{}, users: map[string]*User{}, sessions: map[string]string{}}
	s.oauth.init()
	s.h = &handler{s: s}
	s.ts = httptest.NewServer(s.h)
	s.URL = s.ts.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// Handler returns the server's handler, to mount it elsewhere.
func (s *Server) Handler() http.Handler { return s.h }

func (s *Server) now() time.Time {
	off := time.Duration(s.clockOffset.Load())
	if s.opts.Now != nil {
		return s.opts.Now().UTC().Add(off)
	}
	return time.Now().UTC().Add(off)
}

// Advance moves the fake's clock forward by d: token expiry, OAuth codes
// and device codes, device polling intervals and rate-limit windows all
// see Now()+offset (Options.Now, or time.Now).
func (s *Server) Advance(d time.Duration) {
	s.clockOffset.Add(int64(d))
}

// AddToken registers a bearer token of the data's user. Its scopes are
// stored expanded by Sentry's hierarchy and sorted; it expires 30 days
// after Now().
func (s *Server) AddToken(token string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = &apiToken{scopes: ExpandScopes(scopes...), expires: s.now().Add(30 * 24 * time.Hour)}
}

// ExpireToken makes later requests with the token fail with 401
// {"detail": "Token expired"}.
func (s *Server) ExpireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[token]; ok {
		t.expired = true
	}
}

// TokenScopes returns a registered token's stored (expanded) scopes.
func (s *Server) TokenScopes(token string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[token]; ok {
		return slices.Clone(t.scopes)
	}
	return nil
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Body = slices.Clone(r.Body)
		out[i] = r
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.requests = nil
}

// FailNext makes the next n requests (any route) answer status with body
// (Content-Type application/json) before authentication. An empty body
// with status 500 becomes Sentry's {"detail": "Internal Error", "errorId": ...}.
func (s *Server) FailNext(n int, status int, body string) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.failN, s.failStatus, s.failBody = n, status, body
}

// Issue returns the current state of an issue (the issue details shape, a
// deep copy), or nil if there is none.
func (s *Server) Issue(id string) map[string]any {
	s.data.mu.Lock()
	defer s.data.mu.Unlock()
	o, is := s.data.issueByID(id)
	if is == nil {
		return nil
	}
	v := &view{s: s, d: s.data, now: s.now()}
	return v.issueDetails(o, is, nil)
}

// InternalErrorBody is a body like Sentry's 500 responses, for FailNext.
func InternalErrorBody() string {
	return fmt.Sprintf(`{"detail":"Internal Error","errorId":"%s"}`, hexID("error", time.Now().String()))
}

type handler struct{ s *Server }

// maxBody bounds what is read (and recorded) of a request body.
const maxBody = 8 << 20

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.s
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			writeJSON(w, 500, map[string]any{"detail": "Internal Error", "errorId": hexID("panic", fmt.Sprint(p))})
		}
	}()
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	// Authentication has no side effects; it comes first so that the log
	// can say whose token a request carried.
	tok, authErr := s.authenticate(r)
	var user *User
	userID := ""
	if tok != nil && authErr == "" {
		s.mu.Lock()
		user = s.userLocked(tok.user)
		s.mu.Unlock()
		userID = s.defaultUserID()
		if user != nil {
			userID = user.ID
		}
	}

	s.logMu.Lock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host,
		Authorization: r.Header.Get("Authorization"), User: userID, Body: body,
	})
	fail := s.failN > 0
	status, fbody := s.failStatus, s.failBody
	if fail {
		s.failN--
	} else if s.oauthFail.n > 0 && strings.HasPrefix(r.URL.Path, "/oauth/") {
		fail = true
		status, fbody = s.oauthFail.status, s.oauthFail.body
		s.oauthFail.n--
	}
	s.logMu.Unlock()
	if fail {
		if fbody == "" && status == 500 {
			fbody = InternalErrorBody()
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, fbody)
		return
	}

	c := &call{s: s, w: w, r: r, body: body, q: parseQuery(r.URL.RawQuery), method: r.Method, tok: tok, user: user}
	path := r.URL.Path
	if strings.HasPrefix(path, "/oauth/") {
		s.serveOAuth(c)
		return
	}
	if !strings.HasPrefix(path, "/api/") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(404)
		io.WriteString(w, "<h1>Not Found</h1><p>The requested resource was not found on this server.</p>")
		return
	}
	rt, params := match(path)
	c.route, c.p = rt, params

	// Sentry's auth middleware resolves the bearer before the rate limit
	// middleware, which keys on the user (or the IP when there is none).
	key := "ip:" + remoteIP(r)
	if userID != "" {
		key = "user:" + userID
	}
	name, limit, window := "catchall", 470, 1
	if rt != nil {
		name, limit, window = rt.rateLimit(r.Method)
	}
	if !s.opts.SelfHosted {
		conc := rt.concurrency()
		st := s.rl.hit(key+"|"+name+"|"+r.Method, limit, window, s.now())
		defer s.rl.done(key + "|" + name + "|" + r.Method)
		hd := w.Header()
		hd.Set("X-Sentry-Rate-Limit-Limit", fmt.Sprint(limit))
		hd.Set("X-Sentry-Rate-Limit-Remaining", fmt.Sprint(max(limit-st.count, 0)))
		hd.Set("X-Sentry-Rate-Limit-Reset", fmt.Sprint(st.reset))
		hd.Set("X-Sentry-Rate-Limit-ConcurrentLimit", fmt.Sprint(conc))
		hd.Set("X-Sentry-Rate-Limit-ConcurrentRemaining", fmt.Sprint(max(conc-st.concurrent, 0)))
		if s.opts.EnforceRateLimits && (st.count > limit || st.concurrent > conc) {
			msg := fmt.Sprintf("You are attempting to use this endpoint too frequently. Limit is %d requests in %d seconds", limit, window)
			if st.count <= limit {
				msg = fmt.Sprintf("You are attempting to go above the allowed concurrency for this endpoint. Concurrency limit is %d", conc)
			}
			b, _ := json.Marshal(map[string]string{"detail": msg})
			hd.Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(429)
			w.Write(b)
			return
		}
	}

	if rt == nil {
		catchAll(w, r)
		return
	}
	if authErr != "" {
		c.unauthorized(authErr)
		return
	}
	if rt.perm != nil {
		if tok == nil {
			c.unauthorized(msgNoCredentials)
			return
		}
		if !anyScope(tok.scopes, rt.perm[r.Method]) {
			c.detail(403, msgForbidden)
			return
		}
	}
	fn := rt.handlers[r.Method]
	if fn == nil && r.Method == http.MethodHead {
		fn = rt.handlers[http.MethodGet]
	}
	if fn == nil {
		if r.Method == http.MethodOptions {
			writeJSON(w, 200, map[string]any{"name": rt.name, "description": "", "renders": []any{"application/json"}, "parses": []any{"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}})
			return
		}
		c.detail(405, fmt.Sprintf("Method %q not allowed.", r.Method))
		return
	}
	s.data.mu.Lock()
	defer s.data.mu.Unlock()
	c.d = s.data
	c.v = &view{s: s, d: s.data, now: s.now()}
	fn(c)
}

func (d *Data) userID() any {
	if d.User == nil {
		return nil
	}
	return d.User["id"]
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate follows UserAuthTokenAuthentication: it returns the token
// (nil when no bearer was sent) and the 401 detail on failure.
func (s *Server) authenticate(r *http.Request) (*apiToken, string) {
	parts := strings.Fields(r.Header.Get("Authorization"))
	if len(parts) == 0 || !strings.EqualFold(parts[0], "bearer") {
		return nil, ""
	}
	if len(parts) == 1 {
		return nil, "Invalid token header. No credentials provided."
	}
	if len(parts) > 2 {
		return nil, "Invalid token header. Token string should not contain spaces."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[parts[1]]
	if !ok {
		return nil, msgInvalidToken
	}
	if t.expired || !s.now().Before(t.expires) {
		return t, msgTokenExpired
	}
	if t.app != "" {
		if app := s.oauth.apps[t.app]; app == nil || app.Inactive {
			return t, msgAppInactive
		}
	}
	cp := *t
	return &cp, ""
}

// catchAll is sentry.api.endpoints.catchall.CatchallEndpoint.
func catchAll(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/") {
		help := "Route not found, did you forget a trailing slash?"
		suggestion := "try: " + r.URL.Path + "/"
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			writeJSON(w, 404, map[string]any{"info": help + " " + suggestion})
			return
		}
		arrow := strings.Repeat(" ", len(suggestion)-1) + "^"
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(404)
		io.WriteString(w, help+"\n\n"+suggestion+"\n"+arrow+"\n")
		return
	}
	// Django's HttpResponse(status=404): no body.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(404)
}

// call is one request being answered.
type call struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	body   []byte
	q      query
	p      map[string]string
	method string
	route  *route
	tok    *apiToken
	user   *User // the token's AddUser user; nil = Data.User
	d      *Data
	v      *view
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status, v = 500, map[string]any{"detail": "Internal Error"}
		b.Reset()
		enc.Encode(v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, strings.TrimSuffix(b.String(), "\n"))
}

func (c *call) json(status int, v any) { writeJSON(c.w, status, v) }

func (c *call) detail(status int, msg string) {
	c.json(status, map[string]any{"detail": msg})
}

func (c *call) notFound() { c.detail(404, msgNotFound) }

func (c *call) unauthorized(msg string) {
	c.w.Header().Set("WWW-Authenticate", `xBasic realm="api"`)
	c.detail(401, msg)
}

func (c *call) internalError() {
	c.json(500, map[string]any{"detail": "Internal Error", "errorId": hexID("error", c.r.URL.String(), c.s.now().String())})
}

// origin is the scheme and host the request was made to.
func (c *call) origin() string {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	if c.r.Host == "" {
		return c.s.URL
	}
	return scheme + "://" + c.r.Host
}

// allowed is the object permission check: the token's scopes bounded by
// the user's role in the organization, then the endpoint's any-of list.
func (c *call) allowed(o *Org) bool {
	if c.route.perm == nil {
		return true
	}
	return anyScope(effectiveScopes(c.tok.scopes, c.role(o)), c.route.perm[c.method])
}

// org resolves {org} (slug or id): 404 when unknown, 403 when the user is
// not a member or the role forbids. It answers and returns nil on failure.
func (c *call) org() *Org {
	o := c.d.org(c.p["org"])
	if o == nil {
		c.notFound()
		return nil
	}
	if !c.access(o) {
		return nil
	}
	return o
}

// access is OrganizationPermission.has_object_permission for every
// endpoint of an organization (its own, its projects' and its issues'):
// a user who is not a member gets 403 {"detail": "You do not have
// permission to perform this action."} (BEHAVIOUR.md s4.4: "org where the
// user is not a member -> 403"; with no membership the request's access
// has no scopes, so the scope check fails), then the organization's
// UserAction 401 (it concerns members only), then the scope check bounded
// by the role. It answers and returns false on failure.
func (c *call) access(o *Org) bool {
	if !c.member(o) {
		c.detail(403, msgForbidden)
		return false
	}
	return !c.userActionRequired(o) && c.allowedOrDenied(o)
}

// allowedOrDenied is allowed, answering 403 when not.
func (c *call) allowedOrDenied(o *Org) bool {
	if !c.allowed(o) {
		c.detail(403, msgForbidden)
		return false
	}
	return true
}

// Codes of Sentry's 401s that ask the user to act in the browser
// (src/sentry/api/exceptions.py: SsoRequired, TwoFactorRequired,
// SudoRequired).
const (
	CodeSSORequired  = "sso-required"
	Code2FARequired  = "2fa-required"
	CodeSudoRequired = "sudo-required"
)

// RequireUserAction makes the organization (slug or id) answer every
// request on its endpoints with the 401 of code (CodeSSORequired,
// Code2FARequired or CodeSudoRequired), as Sentry does when the
// organization requires SSO or 2FA the user has not completed; "" lifts
// it. It reports whether the organization exists.
func (s *Server) RequireUserAction(org, code string) bool {
	s.data.mu.Lock()
	defer s.data.mu.Unlock()
	o := s.data.org(org)
	if o == nil {
		return false
	}
	o.UserAction = code
	return true
}

// userActionRequired answers the organization's UserAction 401 and
// reports whether it did. Like OrganizationPermission, it comes after
// authentication and before the scope check on the object. The body is
// SentryAPIException's {"detail": {"code", "message", "extra"}}; such a
// 401 carries no WWW-Authenticate (DRF adds it only to NotAuthenticated
// and AuthenticationFailed).
func (c *call) userActionRequired(o *Org) bool {
	var (
		msg   string
		extra = map[string]any{}
	)
	switch o.UserAction {
	case "":
		return false
	case CodeSSORequired:
		msg = "Must login via SSO"
		extra["loginUrl"] = "/auth/login/" + o.Slug + "/" // reverse("sentry-auth-organization", args=[slug])
	case Code2FARequired:
		msg = "Organization requires two-factor authentication to be enabled"
	case CodeSudoRequired:
		msg = "Account verification required."
		if u := c.selfUser(); u != nil {
			extra["username"] = u["username"]
		}
	default:
		msg = o.UserAction
	}
	c.json(401, map[string]any{"detail": map[string]any{"code": o.UserAction, "message": msg, "extra": extra}})
	return true
}
