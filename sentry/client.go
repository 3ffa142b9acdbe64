// Package sentry is a typed client for the parts of the Sentry web API that
// sentry-mcp uses. It knows nothing of MCP.
package sentry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// errRedirect marks a redirect away from the configured Sentry.
var errRedirect = errors.New("refusing a redirect")

// DefaultBaseURL is sentry.io.
const DefaultBaseURL = "https://sentry.io"

// TokenSource supplies the bearer token for each request.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a TokenSource that always returns the same token.
type StaticToken string

// Token implements TokenSource.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// Config configures a Client.
type Config struct {
	// BaseURL of the Sentry instance, e.g. https://sentry.io. Plain http is
	// accepted only for loopback hosts.
	BaseURL string
	// Token supplies the bearer token; nil sends no Authorization header.
	Token TokenSource
	// UserAgent is sent with every request.
	UserAgent string
	// HTTPClient is used for all requests; nil means a client with
	// keep-alive and sane timeouts.
	HTTPClient *http.Client
	// TrustedHosts are extra host[:port]s (besides the base URL's host and,
	// for sentry.io, its region hosts) that an organization's regionUrl may
	// point at. Turning it on also turns on region routing.
	TrustedHosts []string
	// Timeout bounds each request attempt; 0 = 30 s.
	Timeout time.Duration
	// Retries is how often a transient failure (network error, 500, 502,
	// 503, 504) of an idempotent request is retried; 0 = 2, negative = none.
	Retries int
	// RetryBackoff is the first retry's delay, doubled each time, with
	// jitter; 0 = 250 ms.
	RetryBackoff time.Duration
	// MaxRateLimitWait is the longest a 429 is waited out (until
	// X-Sentry-Rate-Limit-Reset) before the call is retried once; longer
	// waits become an error saying when to try again. 0 = 10 s.
	MaxRateLimitWait time.Duration
	// MaxResponseBytes caps a response body, after decompression; a larger
	// one is a *TooLargeError. 0 = DefaultMaxResponseBytes (32 MiB).
	MaxResponseBytes int64
	// Logger receives one debug line per request (method, path, status,
	// duration; never headers or bodies). nil = discard.
	Logger *slog.Logger
}

// Client talks to one Sentry instance. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     TokenSource
	userAgent string
	http      *http.Client
	trusted   []string
	regional  bool
	timeout   time.Duration
	retries   int
	backoff   time.Duration
	maxWait   time.Duration
	log       *slog.Logger
	maxBody   int64
	limits    sync.Map // limiterKey -> *limiter
	nlimits   atomic.Int64

	mu          sync.Mutex
	regions     map[string]*url.URL // org slug or id -> API base
	regionHosts map[string]bool     // hosts of the regionUrls seen
}

// NewClient validates cfg and returns a client.
func NewClient(cfg Config) (*Client, error) {
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := ParseBaseURL(raw)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: defaultTransport()} // each attempt has its own deadline
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "sentry-mcp"
	}
	c := &Client{base: base, token: cfg.Token, userAgent: ua, http: hc, regions: map[string]*url.URL{},
		timeout: cfg.Timeout, retries: cfg.Retries, backoff: cfg.RetryBackoff, maxWait: cfg.MaxRateLimitWait, log: cfg.Logger}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	switch {
	case c.retries == 0:
		c.retries = 2
	case c.retries < 0:
		c.retries = 0
	}
	if c.backoff <= 0 {
		c.backoff = 250 * time.Millisecond
	}
	if c.maxWait <= 0 {
		c.maxWait = 10 * time.Second
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.maxBody = cfg.MaxResponseBytes
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	// Follow redirects only within the configured Sentry: the bearer token
	// must never be sent, nor a request be made, anywhere else.
	own := *hc
	own.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return fmt.Errorf("%w: too many", errRedirect)
		}
		if !c.IsSentryURL(req.URL) {
			return fmt.Errorf("%w to %s, which is not the configured Sentry", errRedirect, req.URL.Host)
		}
		return nil
	}
	c.http = &own
	for _, h := range cfg.TrustedHosts {
		c.trusted = append(c.trusted, strings.ToLower(h))
	}
	c.regional = isSentryIO(base.Hostname()) || len(c.trusted) > 0
	return c, nil
}

// defaultTransport keeps http.DefaultTransport's Proxy
// (ProxyFromEnvironment: HTTPS_PROXY, NO_PROXY), which corporate networks
// need; TestProxyFromEnvironment guards it.
func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	return t
}

// ParseBaseURL checks a Sentry base URL: https, or http only on a loopback
// host; no userinfo, query (not even a bare "?"), fragment, dot segments
// ("..", also percent-encoded) or encoded slashes in the path. The path is
// dropped of a trailing slash. Errors never repeat userinfo.
func ParseBaseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	shown := clip(RedactUserinfo(raw))
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Opaque != "" {
		return nil, fmt.Errorf("invalid Sentry URL %q: want something like https://sentry.io or https://sentry.example.com", shown)
	}
	if u.User != nil {
		return nil, fmt.Errorf("invalid Sentry URL %q: it must not contain credentials (user:password@); give the token with `sentry-mcp auth login` or SENTRY_ACCESS_TOKEN", shown)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#") {
		return nil, fmt.Errorf("invalid Sentry URL %q: it must not contain a query or a fragment", shown)
	}
	if bad := badBasePath(u); bad != "" {
		return nil, fmt.Errorf("invalid Sentry URL %q: its path must not contain %s", shown, bad)
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("refusing plain http for %s: use https (plain http is allowed only for 127.0.0.1, ::1 and localhost)", u.Host)
	}
	u.Host = canonicalHost(u)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// badBasePath names what makes a base URL's path unusable as a prefix of
// API and OAuth paths, or "".
func badBasePath(u *url.URL) string {
	esc := strings.ToLower(u.EscapedPath())
	switch {
	case strings.Contains(esc, "%2f") || strings.Contains(esc, "%5c") || strings.Contains(u.Path, "\\"):
		return "encoded slashes or backslashes"
	case strings.ContainsFunc(u.Path, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "control characters"
	case strings.Contains(strings.TrimRight(u.Path, "/"), "//"):
		return "empty segments"
	}
	for _, seg := range strings.Split(u.Path, "/") { // u.Path is decoded: %2e%2e is ".."
		if seg == "." || seg == ".." {
			return "dot segments (. or ..)"
		}
	}
	return ""
}

// RedactUserinfo removes the userinfo (user:password@) of a URL-like
// string, for messages: everything after the scheme up to the last "@"
// becomes "***@". It works on strings url.Parse rejects too.
func RedactUserinfo(s string) string {
	rest, scheme := s, ""
	if i := strings.Index(s, "://"); i >= 0 {
		scheme, rest = s[:i+3], s[i+3:]
	}
	// Up to the last "@" anywhere: a password may hold "/", "?" or "#",
	// and hiding too much of a message is better than showing a secret.
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = "***@" + rest[at+1:]
	}
	return scheme + rest
}

// canonicalHost is u's host in lower case without the scheme's default
// port, so https://sentry.example.com:443 and https://sentry.example.com
// are the same Sentry.
func canonicalHost(u *url.URL) string {
	h := strings.ToLower(u.Host)
	if (u.Scheme == "https" && u.Port() == "443") || (u.Scheme == "http" && u.Port() == "80") {
		h = strings.TrimSuffix(h, ":"+u.Port())
	}
	return h
}

// IsLoopback reports whether host is localhost or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isSentryIO(host string) bool {
	host = strings.ToLower(host)
	return host == "sentry.io" || strings.HasSuffix(host, ".sentry.io")
}

// BaseURL returns the configured base URL.
func (c *Client) BaseURL() *url.URL { u := *c.base; return &u }

// IsSentryURL reports whether u points at the configured Sentry: its host,
// or for sentry.io any *.sentry.io host over https, or a trusted host.
func (c *Client) IsSentryURL(u *url.URL) bool {
	if u == nil || u.User != nil || u.Host == "" {
		return false
	}
	host := canonicalHost(u)
	if u.Scheme == c.base.Scheme && host == c.base.Host {
		return true
	}
	if isSentryIO(c.base.Hostname()) && u.Scheme == "https" && !strings.Contains(canonicalHost(u), ":") && isSentryIO(u.Hostname()) {
		return true
	}
	for _, t := range c.trusted {
		if host == t && (u.Scheme == "https" || IsLoopback(u.Hostname())) {
			return true
		}
	}
	return false
}

var segmentRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// ValidSlug reports whether s can stand as one path segment: an
// organization or project slug or id, an issue id or short id.
func ValidSlug(s string) bool { return segmentRE.MatchString(s) }

// apiPath fills each %s of format with a validated, escaped path segment.
func apiPath(format string, vals ...string) (string, error) {
	args := make([]any, len(vals))
	for i, v := range vals {
		if !ValidSlug(v) {
			return "", &InvalidArgumentError{Value: v}
		}
		args[i] = url.PathEscape(v)
	}
	return fmt.Sprintf(format, args...), nil
}

// InvalidArgumentError is returned, before any request, for a value that
// cannot be part of a Sentry API request.
type InvalidArgumentError struct {
	Value string
	// What the value was meant to be: "" is a slug or id (a path
	// segment), "cursor" a pagination cursor, "tag key" a tag key,
	// "release version" a release version.
	What string
}

func (e *InvalidArgumentError) Error() string {
	v := e.Value
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	switch e.What {
	case "cursor":
		return fmt.Sprintf("%q is not a valid Sentry cursor (use the cursor of a previous result as given)", v)
	case "tag key":
		return fmt.Sprintf("%q is not a valid Sentry tag key (letters, digits, '_', '.', ':' and '-', at most %d)", v, MaxTagKeyLen)
	case "release version":
		return fmt.Sprintf("%q is not a possible Sentry release version (%s)", v, VersionProblem(e.Value))
	}
	if e.What != "" {
		return fmt.Sprintf("%q is not a valid %s", v, e.What)
	}
	return fmt.Sprintf("%q is not a valid Sentry slug or id (letters, digits, '-' and '_' only)", v)
}

// RateLimit is what Sentry's X-Sentry-Rate-Limit-* headers said. Zero values
// mean the header was absent (self-hosted sends none).
type RateLimit struct {
	Limit, Remaining                     int
	Reset                                time.Time
	ConcurrentLimit, ConcurrentRemaining int
	Present                              bool
}

func parseRateLimit(h http.Header) RateLimit {
	var rl RateLimit
	num := func(name string) int {
		v := h.Get(name)
		if v == "" {
			return 0
		}
		rl.Present = true
		n, _ := strconv.Atoi(strings.TrimSpace(v))
		return n
	}
	rl.Limit = num("X-Sentry-Rate-Limit-Limit")
	rl.Remaining = num("X-Sentry-Rate-Limit-Remaining")
	if r := num("X-Sentry-Rate-Limit-Reset"); r > 0 {
		rl.Reset = time.Unix(int64(r), 0)
	}
	rl.ConcurrentLimit = num("X-Sentry-Rate-Limit-ConcurrentLimit")
	rl.ConcurrentRemaining = num("X-Sentry-Rate-Limit-ConcurrentRemaining")
	return rl
}

// Error is a non-2xx answer from Sentry.
type Error struct {
	StatusCode int
	Method     string
	Path       string // request path, without query
	Detail     string // Sentry's "detail" (or the body's first line), at most MaxDetailLen bytes
	Code       string // for structured details like {"code": "sso-required"}
	// LoginURL is where the user completes SSO (code sso-required): the
	// detail's extra.loginUrl as an absolute URL on the configured Sentry.
	// It is empty when Sentry sent none, or one that points elsewhere
	// (another host, another scheme): such a link is never passed on.
	LoginURL  string
	RateLimit RateLimit
}

// Codes of Sentry's structured 401 details (BEHAVIOUR.md section 6). They
// ask the user to act in a browser; a new token would not help.
const (
	CodeSSORequired  = "sso-required"
	Code2FARequired  = "2fa-required"
	CodeSudoRequired = "sudo-required"
)

func (e *Error) Error() string {
	d := e.Detail
	if d == "" {
		d = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("sentry: %s %s: %d %s", e.Method, e.Path, e.StatusCode, d)
}

// StatusCode returns the HTTP status of a Sentry error, or 0.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsUserActionRequired reports whether Sentry refused the call until the
// user completes SSO, enables two-factor authentication or re-confirms
// their identity (sudo) in the browser. Refreshing the token cannot help,
// so the client does not.
func IsUserActionRequired(err error) bool {
	switch errorCode(err) {
	case CodeSSORequired, Code2FARequired, CodeSudoRequired:
		return true
	}
	return false
}

func errorCode(err error) string {
	var e *Error
	if errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized {
		return e.Code
	}
	return ""
}

func (c *Client) decodeError(resp *http.Response, body []byte) *Error {
	e := &Error{StatusCode: resp.StatusCode, Method: resp.Request.Method, Path: resp.Request.URL.Path, RateLimit: parseRateLimit(resp.Header)}
	var v struct {
		Detail json.RawMessage `json:"detail"`
		Info   string          `json:"info"`
		Error  json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil {
		var s string
		var obj struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Extra   struct {
				LoginURL string `json:"loginUrl"`
			} `json:"extra"`
		}
		switch {
		case json.Unmarshal(v.Detail, &s) == nil && s != "":
			e.Detail = s
		case json.Unmarshal(v.Detail, &obj) == nil && (obj.Message != "" || obj.Code != ""):
			e.Detail, e.Code = obj.Message, clipCode(obj.Code)
			if obj.Extra.LoginURL != "" {
				e.LoginURL = c.loginURL(obj.Extra.LoginURL)
			}
		case v.Info != "":
			e.Detail = v.Info
		case len(v.Error) > 0:
			e.Detail = compactJSON(v.Error)
		}
	}
	if e.Detail == "" && len(body) >= maxErrorBody {
		e.Detail = truncatedDetail(body)
	}
	if e.Detail == "" {
		e.Detail = fieldErrors(body)
	}
	if e.Detail == "" {
		e.Detail = firstLine(body)
	}
	e.Detail = clipDetail(e.Detail)
	return e
}

var detailPrefixRE = regexp.MustCompile(`^\s*\{\s*"detail"\s*:\s*"`)

// truncatedDetail recovers the start of {"detail": "..."} from a body cut
// at maxErrorBody, so that a huge detail still reads as a (clipped) detail.
func truncatedDetail(body []byte) string {
	m := detailPrefixRE.FindIndex(body)
	if m == nil {
		return ""
	}
	rest := body[m[1]:]
	rest = rest[:min(len(rest), 2*MaxDetailLen)]
	for drop := 0; drop <= 6 && drop < len(rest); drop++ { // back off a cut escape (\u00e9)
		var s string
		if json.Unmarshal(append(append([]byte{'"'}, rest[:len(rest)-drop]...), '"'), &s) == nil {
			return s + detailClipped
		}
	}
	return ""
}

// clipCode keeps a code only if it looks like one (sso-required).
func clipCode(s string) string {
	if len(s) > 64 || !ValidSlug(s) {
		return ""
	}
	return s
}

// loginURL resolves an SSO login URL from Sentry: a path becomes a URL on
// the configured Sentry's host; an absolute URL must already point at the
// configured Sentry (IsSentryURL). Anything else is dropped ("").
func (c *Client) loginURL(raw string) string {
	if len(raw) > 2048 || strings.ContainsAny(raw, "\x00\r\n\t\\") {
		return ""
	}
	ref, err := url.Parse(raw)
	if err != nil || ref.Opaque != "" || ref.User != nil {
		return ""
	}
	root := &url.URL{Scheme: c.base.Scheme, Host: c.base.Host, Path: "/"}
	if ref.Scheme == "" && ref.Host == "" && !strings.HasPrefix(ref.Path, "/") {
		return "" // Sentry sends host-relative paths; a relative one is not Sentry's
	}
	abs := root.ResolveReference(ref)
	if (abs.Scheme != "https" && abs.Scheme != "http") || !c.IsSentryURL(abs) {
		return ""
	}
	abs.Fragment, abs.RawFragment = "", ""
	return abs.String()
}

// fieldErrors flattens Django REST framework validation errors such as
// {"statusDetails": {"inRelease": ["Unable to find a release..."]}} into
// "statusDetails.inRelease: Unable to find a release...".
func fieldErrors(body []byte) string {
	var v map[string]any
	if json.Unmarshal(body, &v) != nil || len(v) == 0 {
		return ""
	}
	var parts []string
	var walk func(prefix string, x any)
	walk = func(prefix string, x any) {
		switch x := x.(type) {
		case string:
			parts = append(parts, strings.TrimPrefix(prefix+": ", ": ")+x)
		case []any:
			for _, y := range x {
				walk(prefix, y)
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, x[k])
			}
		}
	}
	walk("", v)
	s := strings.Join(parts, "; ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, "<") { // an HTML page says nothing useful
		return ""
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// Refresher is a TokenSource that can replace a token Sentry rejected.
type Refresher interface {
	Refresh(ctx context.Context, rejected string) (string, error)
}

// TokenError is a failure to obtain a token (not signed in, sign-in expired).
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

// NetworkError is a failure to reach Sentry or read its answer.
type NetworkError struct {
	Method, Host string
	Err          error
}

func (e *NetworkError) Error() string {
	return fmt.Sprintf("sentry: %s to %s failed: %v", e.Method, e.Host, e.Err)
}
func (e *NetworkError) Unwrap() error { return e.Err }

// scrubURLError drops the URL (which may carry query values) from a
// *url.Error, keeping the cause.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// DecodeError is a 2xx answer whose body was not the JSON expected.
type DecodeError struct {
	Method, Path string
	Err          error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("sentry: %s %s: unexpected response: %v", e.Method, e.Path, e.Err)
}
func (e *DecodeError) Unwrap() error { return e.Err }

// maxRegions bounds the region cache. The cache holds only public routing
// facts (which region serves an organization), the same for every user,
// so a client serving many principals may share it.
const maxRegions = 10000

// orgBase returns the API base for an organization: its region on
// multi-region Sentry, else the configured base. Lookups are cached; a
// failed lookup falls back to the base URL, which serves every region.
func (c *Client) orgBase(ctx context.Context, org string) *url.URL {
	if !c.regional {
		return c.base
	}
	c.mu.Lock()
	b, ok := c.regions[org]
	c.mu.Unlock()
	if ok {
		return b
	}
	q := url.Values{"query": {"slug:" + org}}
	if _, err := strconv.ParseUint(org, 10, 64); err == nil {
		q.Set("query", "id:"+org)
	}
	var orgs []Organization
	if _, err := c.do(ctx, call{method: http.MethodGet, base: c.base, route: "/api/0/organizations/", query: q}, &orgs); err != nil {
		return c.base // not cached: a later call may learn it
	}
	c.rememberRegions(orgs)
	c.mu.Lock()
	b, ok = c.regions[org]
	if !ok {
		// Not visible to this caller: the base URL serves every region.
		// Remembered (bounded) so that a mistyped slug costs one lookup.
		b = c.base
		if len(c.regions) < maxRegions {
			c.regions[org] = c.base
		}
	}
	c.mu.Unlock()
	return b
}

func (c *Client) rememberRegions(orgs []Organization) {
	if !c.regional {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range orgs {
		b := c.base
		if o.Links.RegionURL != "" {
			if u, err := url.Parse(strings.TrimRight(o.Links.RegionURL, "/")); err == nil && u.RawQuery == "" && u.Fragment == "" && c.IsSentryURL(u) {
				b = u
				if h := strings.ToLower(u.Hostname()); h != o.Slug+".sentry.io" {
					if c.regionHosts == nil {
						c.regionHosts = map[string]bool{}
					}
					c.regionHosts[h] = true
				}
			}
		}
		if len(c.regions) >= maxRegions {
			clear(c.regions)
		}
		if o.Slug != "" {
			c.regions[o.Slug] = b
		}
		if id := string(o.ID); id != "" {
			c.regions[id] = b
		}
	}
}
