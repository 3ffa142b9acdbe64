package sentrytest

// Sentry's OAuth 2.0 authorization server (BEHAVIOUR.md s8), newest
// behaviour: src/sentry/web/frontend/oauth_authorize.py, oauth_token.py,
// oauth_device_authorization.py, oauth_device.py and the models they use.
//
// The fake's user (Data.User) is always logged in; a request whose
// session cookie (SessionCookie) was returned by AddUser is that user's
// instead. /oauth/authorize/ approves at once (as Sentry does for an already authorised app) unless
// DenyConsent(true) is in effect; device codes wait for ApproveDevice or a
// POST to /oauth/device/.
//
// Simplifications: no org-level applications (no organization picker, no
// organization_id in token bodies), no OpenID id_token, no CIMD (URL
// client_id) clients, no legacy (version 0) prefix matching of redirect
// URIs, no rate limit on the device verification page, and the JWT bearer
// (ID-JAG) grant has no trusted identity providers (every assertion is
// invalid_grant).

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// OAuthApp is a registered OAuth application (ApiApplication).
type OAuthApp struct {
	ClientID, ClientSecret string
	RedirectURIs           []string // registered redirect URIs
	AllowedScopes          []string // nil = any Sentry scope
	Inactive               bool
}

const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	grantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"

	grantLifetime      = 10 * time.Minute // ApiGrant DEFAULT_EXPIRATION
	deviceCodeLifetime = 10 * time.Minute // ApiDeviceCode DEFAULT_EXPIRATION
	defaultTokenLife   = 30 * 24 * time.Hour
	defaultInterval    = 5 * time.Second

	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

	msgAppInactive = "UserApplication inactive or deleted"
)

// codeChallengePattern is oauth_authorize.py CODE_CHALLENGE_REGEX; the
// verifier has the same shape (RFC 7636 s4.1).
var codeChallengePattern = regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)

type deviceStatus int

const (
	devicePending deviceStatus = iota
	deviceApproved
	deviceDenied
)

// oauthState is guarded by Server.mu, together with the token table, so a
// code exchange or a refresh rotation is one atomic step.
type oauthState struct {
	apps        map[string]*OAuthApp
	grants      map[string]*oauthGrant  // code -> grant
	refresh     map[string]string       // refresh token -> access token
	devices     map[string]*deviceGrant // device_code -> device grant
	userCodes   map[string]string       // user_code -> device_code
	lastPoll    map[string]time.Time    // device_code value -> last accepted poll
	deny        bool
	grantCounts map[string]int

	// Fault injection for clients (HoldTokenRequests, EditTokenResponses,
	// EditDeviceResponses).
	hold       chan struct{}
	held       int // token requests waiting on hold
	editToken  func(grantType string, body map[string]any)
	editDevice func(body map[string]any)
}

func (o *oauthState) init() {
	o.apps = map[string]*OAuthApp{}
	o.grants = map[string]*oauthGrant{}
	o.refresh = map[string]string{}
	o.devices = map[string]*deviceGrant{}
	o.userCodes = map[string]string{}
	o.lastPoll = map[string]time.Time{}
	o.grantCounts = map[string]int{}
}

// oauthGrant is an ApiGrant: an authorization code.
type oauthGrant struct {
	app         string
	redirectURI string
	scopes      []string // as requested
	challenge   string
	method      string
	expires     time.Time
	user        string // the signed-in user's id ("" = Data.User)
}

// deviceGrant is an ApiDeviceCode.
type deviceGrant struct {
	code, userCode, app string
	scopes              []string
	expires             time.Time
	status              deviceStatus
}

// AddOAuthApp registers (or replaces, by ClientID) an OAuth application.
// Replacing an app with Inactive set makes its tokens fail on the REST API
// with 401 {"detail": "UserApplication inactive or deleted"}.
func (s *Server) AddOAuthApp(app OAuthApp) {
	app.RedirectURIs = slices.Clone(app.RedirectURIs)
	app.AllowedScopes = slices.Clone(app.AllowedScopes)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.apps[app.ClientID] = &app
}

// DenyConsent makes /oauth/authorize/ answer as if the user clicked deny
// (redirect with error=access_denied) while deny is true.
func (s *Server) DenyConsent(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.deny = deny
}

// ApproveDevice approves or denies a pending device code by its user code
// (any case, dash optional), as the user submitting /oauth/device/ does.
// It fails for unknown, already decided or expired codes (an expired one
// is deleted).
func (s *Server) ApproveDevice(userCode string, approve bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg := s.decideDeviceLocked(userCode, approve); msg != "" {
		return errors.New(msg)
	}
	return nil
}

// FailNextOAuth makes the next n requests under /oauth/ answer status with
// body (Content-Type application/json; an empty body with status 500
// becomes an internal error body), before anything else is checked. They
// are still recorded by Requests. FailNext takes precedence.
func (s *Server) FailNextOAuth(n int, status int, body string) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.oauthFail.n, s.oauthFail.status, s.oauthFail.body = n, status, body
}

// HoldTokenRequests makes every /oauth/token/ request hang (before it is
// looked at) until release is called or the client gives up; requests are
// still recorded by Requests. A held request whose client has gone away
// (its connection closed or its context ended) is dropped unanswered and
// changes nothing, even when release comes first: it models a request
// that never reached Sentry. release is idempotent; call it before Close,
// which waits for outstanding requests.
func (s *Server) HoldTokenRequests() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.oauth.hold = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.oauth.hold == ch {
				s.oauth.hold = nil
			}
			s.mu.Unlock()
			close(ch)
		})
	}
}

// HeldTokenRequests is the number of /oauth/token/ requests waiting on
// HoldTokenRequests' hold right now (a dropped one no longer counts).
func (s *Server) HeldTokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauth.held
}

// EditTokenResponses passes the body of every successful /oauth/token/
// response (access_token, refresh_token, expires_in, expires_at,
// token_type, scope, user) to edit before it is sent, so tests can send
// what Sentry does not: a missing or odd expires_in, a token with blanks,
// other scopes. Deleting a key omits it. The server's own token table is
// not changed. edit runs under the server's lock: it must not call the
// Server. nil stops editing.
func (s *Server) EditTokenResponses(edit func(grantType string, body map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.editToken = edit
}

// EditDeviceResponses is EditTokenResponses for successful
// /oauth/device/code/ responses (device_code, user_code, verification_uri,
// verification_uri_complete, expires_in, interval).
func (s *Server) EditDeviceResponses(edit func(body map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.editDevice = edit
}

// editedJSON writes kv (ordered pairs) through edit, when set.
func editedJSON(w http.ResponseWriter, edit func(map[string]any), kv ...any) {
	if edit == nil {
		orderedJSON(w, 200, kv...)
		return
	}
	m := map[string]any{}
	var keys []string
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		keys = append(keys, k)
		m[k] = kv[i+1]
	}
	edit(m)
	var out []any
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out = append(out, k, v)
			delete(m, k)
		}
	}
	extra := slices.Sorted(maps.Keys(m))
	for _, k := range extra {
		out = append(out, k, m[k])
	}
	orderedJSON(w, 200, out...)
}

// TokenGrants counts the successful /oauth/token/ responses so far by
// grant_type, e.g. {"authorization_code": 1, "refresh_token": 2}.
func (s *Server) TokenGrants() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.oauth.grantCounts)
}

func (s *Server) tokenLifetime() time.Duration {
	if s.opts.TokenLifetime > 0 {
		return s.opts.TokenLifetime
	}
	return defaultTokenLife
}

func (s *Server) deviceInterval() time.Duration {
	if s.opts.DeviceInterval > 0 {
		return s.opts.DeviceInterval
	}
	return defaultInterval
}

// randomHex is generate_token: 32 random bytes as 64 hex characters.
func randomHex() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func randomUserCode() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		// 256 % 20 != 0 leaves a tiny bias; irrelevant for a fake.
		out = append(out, userCodeAlphabet[int(c)%len(userCodeAlphabet)])
	}
	return string(out)
}

// serveOAuth routes /oauth/ requests. They are Django views, not API
// endpoints: no rate-limit headers and no bearer authentication.
func (s *Server) serveOAuth(c *call) {
	switch c.r.URL.Path {
	case "/oauth/authorize/":
		s.oauthAuthorize(c)
	case "/oauth/token/":
		s.oauthToken(c)
	case "/oauth/device/code/":
		s.oauthDeviceAuthorization(c)
	case "/oauth/device/":
		s.oauthDevicePage(c)
	default:
		htmlPage(c.w, 404, "Not Found", "<h1>Not Found</h1><p>The requested resource was not found on this server.</p>")
	}
}

// form is request.POST: the urlencoded (or multipart) body; empty for
// other content types, as in Django.
func (c *call) form() query {
	ct, params, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded":
		return parseQuery(string(c.body))
	case "multipart/form-data":
		r := c.r.Clone(c.r.Context())
		r.Body = io.NopCloser(bytes.NewReader(c.body))
		r.Header.Set("Content-Type", mime.FormatMediaType(ct, params))
		if err := r.ParseMultipartForm(maxBody); err != nil || r.MultipartForm == nil {
			return nil
		}
		var q query
		for k, vs := range r.MultipartForm.Value {
			for _, v := range vs {
				q = append(q, qparam{k, v})
			}
		}
		return q
	}
	return nil
}

func (q query) str(k string) string {
	v, _ := q.get(k)
	return v
}

func htmlPage(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%s</title></head><body>\n%s\n</body></html>\n", html.EscapeString(title), body)
}

// neverCache is Django's never_cache.
func neverCache(w http.ResponseWriter, now time.Time) {
	h := w.Header()
	h.Set("Expires", now.Format(http.TimeFormat))
	h.Set("Cache-Control", "max-age=0, no-cache, no-store, must-revalidate, private")
}

// orderedJSON writes an object keeping the key order of Sentry's dicts.
func orderedJSON(w http.ResponseWriter, status int, kv ...any) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv[i])
		v, err := json.Marshal(kv[i+1])
		if err != nil {
			v = []byte("null")
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// ---------------------------------------------------------------------------
// Redirect URIs (ApiApplication.is_valid_redirect_uri, strict version)

var loopbackHosts = map[string]bool{"127.0.0.1": true, "localhost": true, "::1": true}

// normalizedURI parses a redirect URI and normalises its path: repeated
// slashes collapse, "." and ".." segments resolve, the trailing slash is
// kept and an empty path is "/". Null bytes and backslashes (at any
// percent-encoding depth) make it invalid.
func normalizedURI(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.User != nil {
		return nil, false
	}
	dec := raw
	for range 5 {
		next, err := url.PathUnescape(dec)
		if err != nil || next == dec {
			break
		}
		dec = next
	}
	if strings.ContainsAny(dec, "\x00\\") {
		return nil, false
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	p := u.Path
	trailing := strings.HasSuffix(p, "/")
	var segs []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, seg)
		}
	}
	np := "/" + strings.Join(segs, "/")
	if trailing && np != "/" {
		np += "/"
	}
	u.Path, u.RawPath = np, ""
	return u, true
}

// validRedirectURI reports whether value matches one of the app's URIs:
// exactly after normalisation, or, for a loopback URI registered without
// a port, with any port.
func (app *OAuthApp) validRedirectURI(value string) bool {
	v, ok := normalizedURI(value)
	if !ok {
		return false
	}
	for _, reg := range app.RedirectURIs {
		r, ok := normalizedURI(reg)
		if !ok {
			continue
		}
		if v.String() == r.String() {
			return true
		}
		if (v.Scheme == "http" || v.Scheme == "https") && loopbackHosts[v.Hostname()] &&
			r.Port() == "" && v.Scheme == r.Scheme && v.Hostname() == r.Hostname() &&
			v.Path == r.Path && v.RawQuery == r.RawQuery && v.Fragment == r.Fragment {
			return true
		}
	}
	return false
}

// redirectWith is OAuthAuthorizeView.redirect_response: parameters go in
// the query for response_type=code, in the fragment for token; nil-valued
// (empty) ones are dropped.
func redirectWith(w http.ResponseWriter, responseType, redirectURI string, kv ...string) {
	var params []string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		params = append(params, url.QueryEscape(kv[i])+"="+url.QueryEscape(kv[i+1]))
	}
	var final string
	if responseType == "token" {
		final = redirectURI + "#" + strings.Join(params, "&")
	} else {
		u, err := url.Parse(redirectURI)
		if err != nil {
			u = &url.URL{Path: redirectURI}
		}
		var q []string
		for _, p := range parseQuery(u.RawQuery) {
			if p.v != "" { // parse_qsl drops blank values
				q = append(q, url.QueryEscape(p.k)+"="+url.QueryEscape(p.v))
			}
		}
		u.RawQuery = strings.Join(append(q, params...), "&")
		final = u.String()
	}
	w.Header().Set("Location", final)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusFound)
}

// ---------------------------------------------------------------------------
// /oauth/authorize/

func (s *Server) oauthAuthorize(c *call) {
	if c.method != http.MethodGet && c.method != http.MethodPost && c.method != http.MethodHead {
		c.w.Header().Set("Allow", "GET, POST, HEAD, OPTIONS")
		c.w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	// The session holds no pending authorization: a POST carries the same
	// parameters as the GET (query string and/or form body) plus
	// op=approve|deny. The session cookie only names the user.
	q := parseQuery(c.r.URL.RawQuery)
	if c.method == http.MethodPost {
		q = append(q, c.form()...)
	}
	responseType := q.str("response_type")
	clientID := q.str("client_id")
	redirectURI := q.str("redirect_uri")
	state := q.str("state")

	paramError := func(name string) {
		htmlPage(c.w, 400, "Missing or invalid "+name+" parameter.",
			"<h1>Error</h1><p>Missing or invalid <em>"+html.EscapeString(name)+"</em> parameter.</p>")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.oauth.apps[clientID]
	if clientID == "" || app == nil || app.Inactive {
		paramError("client_id")
		return
	}
	if redirectURI == "" {
		if len(app.RedirectURIs) != 1 {
			paramError("redirect_uri")
			return
		}
		redirectURI = app.RedirectURIs[0]
	} else if !app.validRedirectURI(redirectURI) {
		paramError("redirect_uri")
		return
	}
	if responseType != "code" && responseType != "token" {
		// Sentry answers unsupported_response_type with the client_id page.
		paramError("client_id")
		return
	}
	fail := func(name string) { redirectWith(c.w, responseType, redirectURI, "error", name, "state", state) }

	var scopes []string
	if sc := q.str("scope"); sc != "" {
		scopes = strings.Split(sc, " ")
	}
	for _, sc := range scopes {
		if !slices.Contains(allScopes, sc) || (app.AllowedScopes != nil && !slices.Contains(app.AllowedScopes, sc)) {
			fail("invalid_scope")
			return
		}
	}
	challenge, hasChallenge := q.get("code_challenge")
	method := ""
	if hasChallenge {
		method = q.str("code_challenge_method")
		if !codeChallengePattern.MatchString(challenge) || method != "S256" {
			fail("invalid_request")
			return
		}
	}

	op := q.str("op")
	if op == "" {
		op = q.str("action")
	}
	if op == "deny" || (op != "approve" && s.oauth.deny) {
		fail("access_denied")
		return
	}

	now := s.now()
	user := s.sessionUserLocked(c.r)
	if responseType == "token" {
		access := randomHex()
		t := &apiToken{scopes: ExpandScopes(scopes...), expires: now.Add(s.tokenLifetime()), app: app.ClientID, user: user}
		s.tokens[access] = t
		redirectWith(c.w, responseType, redirectURI,
			"access_token", access,
			"expires_in", fmt.Sprint(int64(t.expires.Sub(now)/time.Second)),
			"expires_at", formatExpiresAt(t.expires),
			"token_type", "Bearer",
			"scope", strings.Join(t.scopes, " "),
			"state", state)
		return
	}
	code := randomHex()
	s.oauth.grants[code] = &oauthGrant{
		app: app.ClientID, redirectURI: redirectURI, scopes: scopes,
		challenge: challenge, method: method, expires: now.Add(grantLifetime), user: user,
	}
	redirectWith(c.w, responseType, redirectURI, "code", code, "state", state)
}

// formatExpiresAt is sentry.utils.json datetime_to_str.
func formatExpiresAt(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// ---------------------------------------------------------------------------
// /oauth/token/

func oauthError(w http.ResponseWriter, name string, status int) {
	if name == "invalid_client" {
		w.Header().Set("WWW-Authenticate", `Basic realm="oauth"`)
	}
	orderedJSON(w, status, "error", name)
}

// clientCredentials is _extract_basic_auth_credentials: Basic header or
// body, never both. It answers and returns ok=false on error.
func clientCredentials(w http.ResponseWriter, r *http.Request, form query) (id, secret string, ok bool) {
	bodyID, bodySecret := form.str("client_id"), form.str("client_secret")
	hasBody := bodyID != "" || bodySecret != ""
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, param, _ := strings.Cut(auth, " ")
		if scheme != "" && strings.EqualFold(scheme, "basic") && param != "" {
			if hasBody {
				oauthError(w, "invalid_request", 400)
				return "", "", false
			}
			b64 := strings.TrimSpace(param)
			if len(b64) > 4096 {
				oauthError(w, "invalid_client", 401)
				return "", "", false
			}
			dec, err := base64.StdEncoding.Strict().DecodeString(b64)
			if err != nil || !strings.Contains(string(dec), ":") {
				oauthError(w, "invalid_client", 401)
				return "", "", false
			}
			id, secret, _ = strings.Cut(string(dec), ":")
			return id, secret, true
		}
	}
	return bodyID, bodySecret, true
}

func secretEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (s *Server) oauthToken(c *call) {
	w := c.w
	neverCache(w, s.now())
	if c.method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	form := c.form()
	grantType := form.str("grant_type")
	if grantType == "" {
		oauthError(w, "invalid_request", 400)
		return
	}
	switch grantType {
	case grantAuthorizationCode, grantRefreshToken, grantDeviceCode, grantJWTBearer:
	default:
		oauthError(w, "unsupported_grant_type", 400)
		return
	}
	s.mu.Lock()
	hold := s.oauth.hold
	if hold != nil {
		s.oauth.held++
	}
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-c.r.Context().Done():
		}
		s.mu.Lock()
		s.oauth.held--
		s.mu.Unlock()
		if c.r.Context().Err() != nil {
			return // the client went away: as if it never reached Sentry
		}
	}
	clientID, clientSecret, ok := clientCredentials(w, c.r, form)
	if !ok {
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.oauth.apps[clientID]
	if grantType == grantDeviceCode {
		// Public clients may send client_id alone; a secret sent is checked.
		if clientID == "" {
			oauthError(w, "invalid_client", 401)
			return
		}
		if app == nil || (clientSecret != "" && !secretEqual(clientSecret, app.ClientSecret)) {
			oauthError(w, "invalid_client", 401)
			return
		}
	} else {
		if clientID == "" || clientSecret == "" {
			oauthError(w, "invalid_client", 401)
			return
		}
		if app == nil || app.ClientSecret == "" || !secretEqual(clientSecret, app.ClientSecret) {
			oauthError(w, "invalid_client", 401)
			return
		}
	}
	if app.Inactive {
		switch grantType {
		case grantAuthorizationCode:
			if g := s.oauth.grants[form.str("code")]; g != nil && g.app == app.ClientID {
				delete(s.oauth.grants, form.str("code"))
			}
		case grantDeviceCode:
			if d := s.oauth.devices[form.str("device_code")]; d != nil && d.app == app.ClientID {
				s.deleteDeviceLocked(d)
			}
		}
		oauthError(w, "invalid_grant", 400)
		return
	}

	now := s.now()
	var access string
	var errName string
	switch grantType {
	case grantAuthorizationCode:
		access, errName = s.exchangeCodeLocked(app, form, now)
	case grantRefreshToken:
		access, errName = s.refreshLocked(app, form, now)
	case grantDeviceCode:
		access, errName = s.pollDeviceLocked(app, form, now)
	case grantJWTBearer:
		errName = "invalid_grant"
		if form.str("assertion") == "" {
			errName = "invalid_request"
		}
	}
	if errName != "" {
		oauthError(w, errName, 400)
		return
	}
	s.oauth.grantCounts[grantType]++
	t := s.tokens[access]
	kv := []any{"access_token", access}
	if !(grantType == grantRefreshToken && s.opts.ReuseRefreshTokens) {
		kv = append(kv, "refresh_token", t.refresh)
	}
	kv = append(kv,
		"expires_in", int64(t.expires.Sub(now)/time.Second),
		"expires_at", formatExpiresAt(t.expires),
		"token_type", "Bearer",
		"scope", strings.Join(t.scopes, " "),
		"user", s.tokenUserLocked(t.user),
	)
	var edit func(map[string]any)
	if e := s.oauth.editToken; e != nil {
		edit = func(m map[string]any) { e(grantType, m) }
	}
	editedJSON(w, edit, kv...)
}

// mintLocked stores a new OAuth token of the user ("" = Data.User) with a
// refresh token.
func (s *Server) mintLocked(app, user string, scopes []string, now time.Time) string {
	access, refresh := randomHex(), randomHex()
	s.tokens[access] = &apiToken{scopes: ExpandScopes(scopes...), expires: now.Add(s.tokenLifetime()), app: app, refresh: refresh, user: user}
	s.oauth.refresh[refresh] = access
	return access
}

// exchangeCodeLocked is get_access_tokens + ApiToken.from_grant: every
// failed check after the lookup deletes the grant, and so does success.
func (s *Server) exchangeCodeLocked(app *OAuthApp, form query, now time.Time) (string, string) {
	code := form.str("code")
	g := s.oauth.grants[code]
	if g == nil || g.app != app.ClientID {
		return "", "invalid_grant"
	}
	delete(s.oauth.grants, code)
	if !now.Before(g.expires) {
		return "", "invalid_grant"
	}
	if form.str("redirect_uri") != g.redirectURI {
		return "", "invalid_grant"
	}
	if g.challenge != "" {
		verifier, ok := form.get("code_verifier")
		if !ok || !codeChallengePattern.MatchString(verifier) || g.method != "S256" {
			return "", "invalid_grant"
		}
		sum := sha256.Sum256([]byte(verifier))
		if !secretEqual(base64.RawURLEncoding.EncodeToString(sum[:]), g.challenge) {
			return "", "invalid_grant"
		}
	}
	return s.mintLocked(app.ClientID, g.user, g.scopes, now), ""
}

// refreshLocked is get_refresh_token + ApiToken.refresh: the token gets a
// new access token, a new refresh token (unless ReuseRefreshTokens) and a
// new expiry; its scopes stay.
func (s *Server) refreshLocked(app *OAuthApp, form query, now time.Time) (string, string) {
	rt := form.str("refresh_token")
	if rt == "" || form.str("scope") != "" {
		return "", "invalid_request"
	}
	old, ok := s.oauth.refresh[rt]
	t := s.tokens[old]
	if !ok || t == nil || t.app != app.ClientID {
		return "", "invalid_grant"
	}
	delete(s.tokens, old)
	access := randomHex()
	if !s.opts.ReuseRefreshTokens {
		delete(s.oauth.refresh, rt)
		t.refresh = randomHex()
	}
	s.oauth.refresh[t.refresh] = access
	t.expires = now.Add(s.tokenLifetime())
	t.expired = false
	s.tokens[access] = t
	return access, ""
}

// pollDeviceLocked is handle_device_code_grant.
func (s *Server) pollDeviceLocked(app *OAuthApp, form query, now time.Time) (string, string) {
	code := form.str("device_code")
	if code == "" {
		return "", "invalid_request"
	}
	// Polling limit per device_code value, checked before the lookup.
	if last, ok := s.oauth.lastPoll[code]; ok && now.Sub(last) < s.deviceInterval() {
		return "", "slow_down"
	}
	s.oauth.lastPoll[code] = now
	d := s.oauth.devices[code]
	if d == nil || d.app != app.ClientID {
		return "", "invalid_grant"
	}
	if !now.Before(d.expires) {
		s.deleteDeviceLocked(d)
		return "", "expired_token"
	}
	switch d.status {
	case devicePending:
		return "", "authorization_pending"
	case deviceDenied:
		s.deleteDeviceLocked(d)
		return "", "access_denied"
	}
	s.deleteDeviceLocked(d)
	return s.mintLocked(app.ClientID, "", d.scopes, now), ""
}

func (s *Server) deleteDeviceLocked(d *deviceGrant) {
	delete(s.oauth.devices, d.code)
	delete(s.oauth.userCodes, d.userCode)
}

// ---------------------------------------------------------------------------
// /oauth/device/code/

func (s *Server) oauthDeviceAuthorization(c *call) {
	w := c.w
	h := w.Header()
	neverCache(w, s.now())
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	anyOrigin := func() {
		if o := c.r.Header.Get("Origin"); o != "" {
			h.Set("Access-Control-Allow-Origin", o)
		} else {
			h.Set("Access-Control-Allow-Origin", "*")
		}
	}
	switch c.method {
	case http.MethodOptions:
		h.Set("Access-Control-Max-Age", "3600")
		anyOrigin()
		w.WriteHeader(200)
		return
	case http.MethodGet, http.MethodHead:
		anyOrigin()
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	case http.MethodPost:
	default:
		anyOrigin()
		h.Set("Allow", "GET, POST, OPTIONS")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	form := c.form()
	clientID := form.str("client_id")
	fail := func(name, desc string, status int) {
		orderedJSON(w, status, "error", name, "error_description", desc)
	}
	if clientID == "" {
		anyOrigin()
		fail("invalid_client", "Missing required parameter: client_id", 401)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.oauth.apps[clientID]
	if app == nil || app.Inactive {
		anyOrigin()
		fail("invalid_client", "Invalid client_id", 401)
		return
	}
	// The app has no allowed origins in the fake, so a POST from a
	// browser gets no Access-Control-Allow-Origin, as in Sentry.
	scopes := strings.Fields(form.str("scope"))
	for _, sc := range scopes {
		if !slices.Contains(allScopes, sc) {
			fail("invalid_scope", "Unknown scope: "+sc, 400)
			return
		}
	}
	if app.AllowedScopes != nil {
		for _, sc := range scopes {
			if !slices.Contains(app.AllowedScopes, sc) {
				fail("invalid_scope", fmt.Sprintf("Scope '%s' exceeds application permissions", sc), 400)
				return
			}
		}
	}
	now := s.now()
	d := &deviceGrant{code: randomHex(), app: app.ClientID, scopes: scopes, expires: now.Add(deviceCodeLifetime)}
	for {
		d.userCode = randomUserCode()
		if _, taken := s.oauth.userCodes[d.userCode]; !taken {
			break
		}
	}
	s.oauth.devices[d.code] = d
	s.oauth.userCodes[d.userCode] = d.code
	verification := c.origin() + "/oauth/device/"
	interval := max(1, int64((s.deviceInterval()+time.Second-1)/time.Second))
	editedJSON(w, s.oauth.editDevice,
		"device_code", d.code,
		"user_code", d.userCode,
		"verification_uri", verification,
		"verification_uri_complete", verification+"?user_code="+d.userCode,
		"expires_in", int64(deviceCodeLifetime/time.Second),
		"interval", interval,
	)
}

// ---------------------------------------------------------------------------
// /oauth/device/ (the verification page)

const (
	errDeviceInvalidCode = "Invalid or expired code. Please check the code and try again."
	errDeviceExpiredCode = "This code has expired. Please request a new code from your device."
	errDeviceInvalidReq  = "Invalid request. Please start over."
	errDeviceInvalidOp   = "Invalid operation."
)

// normalizeUserCode is oauth_device.py _normalize_user_code.
func normalizeUserCode(code string) string {
	n := strings.TrimSpace(strings.ToUpper(strings.ReplaceAll(code, "-", "")))
	if len(n) == 8 {
		return n[:4] + "-" + n[4:]
	}
	return strings.TrimSpace(strings.ToUpper(code))
}

// pendingDeviceLocked finds a pending, unexpired device code by user code
// ("" and an error message otherwise).
func (s *Server) pendingDeviceLocked(userCode string) (*deviceGrant, string) {
	d := s.oauth.devices[s.oauth.userCodes[normalizeUserCode(userCode)]]
	if d == nil || d.status != devicePending {
		return nil, errDeviceInvalidCode
	}
	if !s.now().Before(d.expires) {
		s.deleteDeviceLocked(d)
		return nil, errDeviceExpiredCode
	}
	if app := s.oauth.apps[d.app]; app == nil || app.Inactive {
		s.deleteDeviceLocked(d)
		return nil, errDeviceInvalidCode
	}
	return d, ""
}

func (s *Server) decideDeviceLocked(userCode string, approve bool) string {
	d, msg := s.pendingDeviceLocked(userCode)
	if d == nil {
		return msg
	}
	if approve {
		d.status = deviceApproved
	} else {
		d.status = deviceDenied
	}
	return ""
}

func (s *Server) oauthDevicePage(c *call) {
	if c.method != http.MethodGet && c.method != http.MethodPost && c.method != http.MethodHead {
		c.w.Header().Set("Allow", "GET, POST, HEAD, OPTIONS")
		c.w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	const title = "Authorize Device"
	entryForm := `<form method="post" action="/oauth/device/"><label>Code <input name="user_code" placeholder="XXXX-XXXX"></label> <button type="submit">Continue</button></form>`
	errorPage := func(msg string) {
		htmlPage(c.w, 200, title, `<p class="error">`+html.EscapeString(msg)+"</p>\n"+entryForm)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	approvalForm := func(userCode string) {
		d, msg := s.pendingDeviceLocked(userCode)
		if d == nil {
			errorPage(msg)
			return
		}
		uc := html.EscapeString(d.userCode)
		htmlPage(c.w, 200, title, fmt.Sprintf(
			`<p>Application <code>%s</code> requests access to your account with the scopes: <code>%s</code>.</p>
<form method="post" action="/oauth/device/"><input type="hidden" name="user_code" value="%s"><button name="op" value="approve">Approve</button> <button name="op" value="deny">Deny</button></form>`,
			html.EscapeString(d.app), html.EscapeString(strings.Join(d.scopes, " ")), uc))
	}

	if c.method != http.MethodPost {
		if uc := strings.TrimSpace(parseQuery(c.r.URL.RawQuery).str("user_code")); uc != "" {
			approvalForm(uc)
			return
		}
		htmlPage(c.w, 200, title, entryForm)
		return
	}
	form := c.form()
	op := form.str("op")
	if op == "" {
		op = form.str("action") // accepted as a synonym of Sentry's "op"
	}
	userCode := form.str("user_code")
	switch {
	case op == "approve" || op == "deny":
		if userCode == "" {
			errorPage(errDeviceInvalidReq)
			return
		}
		if msg := s.decideDeviceLocked(userCode, op == "approve"); msg != "" {
			errorPage(msg)
			return
		}
		msg := "Authorization denied. You can close this window."
		if op == "approve" {
			msg = "Authorization approved! Your device should now be connected. You can close this window."
		}
		htmlPage(c.w, 200, title, "<p>"+html.EscapeString(msg)+"</p>")
	case op != "":
		errorPage(errDeviceInvalidOp)
	case userCode != "":
		approvalForm(userCode)
	default:
		errorPage(errDeviceInvalidReq)
	}
}
