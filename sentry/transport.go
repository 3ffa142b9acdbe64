package sentry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// call is one API request before it is sent.
type call struct {
	method string
	base   *url.URL // nil: the organization's region (org set) or the base URL
	org    string   // route the call to this organization's region
	route  string   // path with %s for each of args; also the endpoint's identity
	args   []string // path values, validated and escaped
	tagKey string   // fills the route's {key}: a tag key (ValidTagKey), escaped
	query  url.Values
	body   any

	// version fills the route's {version}: a release version, one
	// percent-encoded path segment (see VersionProblem).
	version string
}

// Response carries what a call learned besides its body.
type Response struct {
	// StatusCode is the HTTP status of the last attempt.
	StatusCode int
	Page       Page
	RateLimit  RateLimit
	// Attempts is how many times the request was sent (retries + 1).
	Attempts int
	// RateLimitWait is how long a 429 was waited out, if at all.
	RateLimitWait time.Duration
}

// do sends a call with the client's policy: the token only to the
// configured Sentry, a deadline per attempt, bounded retries of transient
// failures for idempotent methods, one wait-out of a short 429, per-endpoint
// concurrency limits learned from Sentry, and one token refresh on 401.
func (c *Client) do(ctx context.Context, cl call, out any) (*Response, error) {
	path, err := apiPath(cl.route, cl.args...)
	if err == nil && cl.tagKey != "" {
		path, err = fillTagKey(path, cl.tagKey)
	}
	if err != nil {
		return nil, err // before any request, including the region lookup
	}
	rawPath := path
	if strings.Contains(path, "{version}") {
		if VersionProblem(cl.version) != "" {
			return nil, &InvalidArgumentError{Value: cl.version, What: "release version"}
		}
		path = strings.Replace(path, "{version}", cl.version, 1)
		rawPath = strings.Replace(rawPath, "{version}", escapeComponent(cl.version), 1)
	}
	for _, cur := range cl.query["cursor"] {
		if !ValidCursor(cur) {
			return nil, &InvalidArgumentError{Value: cur, What: "cursor"}
		}
	}
	base := cl.base
	if base == nil {
		base = c.base
		if cl.org != "" {
			base = c.orgBase(ctx, cl.org)
		}
	}
	u := *base
	u.Path = base.Path + path
	u.RawPath = ""
	if rawPath != path {
		u.RawPath = base.EscapedPath() + rawPath
	}
	u.RawQuery = cl.query.Encode()
	if !c.IsSentryURL(&u) { // the token goes to the configured Sentry only
		return nil, fmt.Errorf("sentry: refusing to send a request to %s, which is not the configured Sentry", u.Host)
	}
	var payload []byte
	if cl.body != nil {
		if payload, err = json.Marshal(cl.body); err != nil {
			return nil, err
		}
	}
	ts := c.tokenSource(ctx)
	tok, err := currentToken(ctx, ts)
	if err != nil {
		return nil, err
	}
	lim := c.limiterFor(ctx, cl.method+" "+cl.route)
	var (
		refreshed, waited bool
		totalWait         time.Duration
	)
	for attempt := 1; ; attempt++ {
		r, err := c.attempt(ctx, lim, cl.method, &u, payload, tok, out)
		if r != nil {
			r.Attempts, r.RateLimitWait = attempt, totalWait
			lim.learn(r.RateLimit.ConcurrentLimit)
		}
		if err == nil || ctx.Err() != nil {
			return r, err
		}
		switch status := StatusCode(err); {
		case status == http.StatusUnauthorized && IsUserActionRequired(err):
			// SSO, 2FA or sudo: the token is fine, the user must act in
			// the browser. A refresh would only rotate the tokens.
			return r, err
		case status == http.StatusUnauthorized && !refreshed && tok != "":
			// Sentry rejected the token: a refreshing source gets one
			// chance to replace it, and the call is retried once.
			refreshed = true
			ref, ok := ts.(Refresher)
			if !ok {
				return r, err
			}
			next, rerr := ref.Refresh(ctx, tok)
			if rerr != nil {
				return r, &TokenError{Err: rerr}
			}
			if next == tok {
				return r, err
			}
			tok = next
			continue
		case status == http.StatusTooManyRequests && !waited:
			waited = true
			wait := time.Until(r.RateLimit.Reset) + time.Duration(rand.Int64N(int64(50*time.Millisecond)))
			if r.RateLimit.Reset.IsZero() || wait > c.maxWait {
				return r, err
			}
			c.log.Debug("sentry rate limit: waiting for the window to reset", "path", u.Path, "wait", wait.Round(time.Millisecond))
			if err := sleep(ctx, max(wait, 0)); err != nil {
				return r, err
			}
			totalWait += max(wait, 0)
			continue
		case transient(err) && idempotent(cl.method) && attempt <= c.retries:
			delay := c.backoff << (attempt - 1)
			delay = delay/2 + time.Duration(rand.Int64N(int64(delay))) // jitter: [d/2, 3d/2)
			c.log.Debug("sentry request failed; retrying", "method", cl.method, "path", u.Path, "attempt", attempt, "delay", delay.Round(time.Millisecond), "error", err)
			if err := sleep(ctx, delay); err != nil {
				return r, err
			}
			continue
		}
		return r, err
	}
}

func currentToken(ctx context.Context, ts TokenSource) (string, error) {
	if ts == nil {
		return "", nil
	}
	t, err := ts.Token(ctx)
	if err != nil {
		return "", &TokenError{Err: err}
	}
	return t, nil
}

// idempotent methods may be retried: resolving an issue twice is the same
// as once, so PUT is as safe as GET here.
func idempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodPut
}

// transient reports whether a failure may pass on its own: a dropped or
// refused connection, a response cut short, or a 500/502/503/504. A request
// that timed out is not retried, so the total time stays bounded.
func transient(err error) bool {
	switch StatusCode(err) {
	case 500, 502, 503, 504:
		return true
	}
	var ne *NetworkError
	if !errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errRedirect) {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary && !dns.IsNotFound
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attempt sends the request once, within the per-attempt deadline and the
// endpoint's concurrency limit.
func (c *Client) attempt(ctx context.Context, lim *limiter, method string, u *url.URL, payload []byte, tok string, out any) (*Response, error) {
	release, err := lim.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	start := time.Now()
	r, status, err := c.send(actx, method, u, payload, tok, out)
	if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		err = &NetworkError{Method: method, Host: u.Host, Err: fmt.Errorf("no answer within %s: %w", c.timeout, context.DeadlineExceeded)}
	}
	c.log.Debug("sentry request", "method", method, "path", u.Path, "status", status, "duration", time.Since(start).Round(time.Microsecond), "error", errString(err))
	return r, err
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (c *Client) send(ctx context.Context, method string, u *url.URL, payload []byte, tok string, out any) (*Response, int, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, &NetworkError{Method: method, Host: u.Host, Err: scrubURLError(err)}
	}
	defer resp.Body.Close()
	r := &Response{StatusCode: resp.StatusCode, RateLimit: parseRateLimit(resp.Header)}
	r.Page = parsePage(resp.Header)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Only the detail is wanted: a small prefix is enough, and the
		// rest is not read at all.
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil && len(data) == 0 {
			return r, resp.StatusCode, &NetworkError{Method: method, Host: u.Host, Err: fmt.Errorf("reading the response: %w", err)}
		}
		return r, resp.StatusCode, c.decodeError(resp, data)
	}
	if resp.StatusCode == http.StatusNoContent {
		return r, resp.StatusCode, nil // no body to decode; the caller sees r.StatusCode
	}
	body := newBodyReader(ctx, resp, c.maxBody)
	defer body.release()
	var err2 error
	switch out := out.(type) {
	case nil:
	case *Event, *EventLookup:
		// A small event is decoded at once; a large one streamed and
		// pruned, never held whole.
		var head []byte
		if head, err2 = body.readHeadN(smallEvent); err2 == io.EOF && !bytes.Contains(head, []byte(omittedPrefix)) {
			err2 = decodeLenient(head, out)
		} else if err2 == nil || err2 == io.EOF {
			rest := io.MultiReader(bytes.NewReader(head), body)
			if ev, ok := out.(*Event); ok {
				err2 = decodeEvent(rest, ev)
			} else {
				err2 = decodeEventLookup(rest, out.(*EventLookup))
			}
		}
	default:
		// Ordinary answers are read whole and decoded at once; one that
		// turns out large is decoded streaming, with the generic caps, so
		// neither it nor what it decodes to is held whole.
		var head []byte
		if head, err2 = body.readHead(); err2 == io.EOF {
			err2 = decodeLenient(head, out)
		} else if err2 == nil {
			err2 = decodePruned(io.MultiReader(bytes.NewReader(head), body), out)
		}
	}
	var tl *TooLargeError
	switch {
	case err2 == nil:
		return r, resp.StatusCode, nil
	case errors.As(err2, &tl):
		return r, resp.StatusCode, tl
	case body.err != nil: // the connection failed, not the JSON
		return r, resp.StatusCode, &NetworkError{Method: method, Host: u.Host, Err: fmt.Errorf("reading the response: %w", body.err)}
	case ctx.Err() != nil:
		return r, resp.StatusCode, ctx.Err()
	}
	c.log.Debug("sentry response did not decode", "path", u.Path, "error", err2)
	return r, resp.StatusCode, &DecodeError{Method: method, Path: u.Path, Err: err2}
}

// decodeLenient decodes JSON into out, forgiving fields of an unexpected
// type (self-hosted versions differ): encoding/json skips such a field and
// completes the rest. Only a body that is not JSON, or whose top level is
// the wrong shape (an object where a list belongs), is an error.
func decodeLenient(data []byte, out any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return errors.New("empty response")
	}
	err := json.Unmarshal(data, out)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return nil
	}
	return err
}

// maxConcurrentLimit bounds a learned concurrency limit (Sentry's default
// is 100).
const maxConcurrentLimit = 1000

// limiter bounds in-flight requests to one endpoint once Sentry has said
// how many it allows (X-Sentry-Rate-Limit-ConcurrentLimit). Until then, and
// on self-hosted Sentry that sends no such header, it does nothing.
type limiter struct {
	mu    sync.Mutex
	limit int
	sem   chan struct{}
}

// limiterKey names a limiter: an endpoint, for one principal.
//
// Sentry counts concurrency per caller (user, org or IP) and endpoint, not
// per client (BEHAVIOUR.md section 7). A client that serves many users
// must therefore keep one limiter per user and endpoint: with one shared
// limiter, a user whose requests are slow, or whose limit Sentry set low,
// would hold the slots everyone else waits for.
type limiterKey struct {
	endpoint  string
	principal any // nil: the client's own Config.Token
}

// maxLimiters bounds the limiters kept; beyond it idle ones are dropped
// (they learn their limit again from the next response).
const maxLimiters = 4096

func (c *Client) limiterFor(ctx context.Context, endpoint string) *limiter {
	key := limiterKey{endpoint: endpoint, principal: principalOf(ctx)}
	if l, ok := c.limits.Load(key); ok {
		return l.(*limiter)
	}
	if c.nlimits.Add(1) > maxLimiters {
		c.dropIdleLimiters()
	}
	l, loaded := c.limits.LoadOrStore(key, &limiter{})
	if loaded {
		c.nlimits.Add(-1)
	}
	return l.(*limiter)
}

func (c *Client) dropIdleLimiters() {
	c.limits.Range(func(k, v any) bool {
		l := v.(*limiter)
		l.mu.Lock()
		idle := l.sem == nil || len(l.sem) == 0
		l.mu.Unlock()
		if idle && c.limits.CompareAndDelete(k, v) {
			c.nlimits.Add(-1)
		}
		return true
	})
}

func (l *limiter) acquire(ctx context.Context) (func(), error) {
	l.mu.Lock()
	sem := l.sem
	l.mu.Unlock()
	if sem == nil {
		return func() {}, nil
	}
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *limiter) learn(n int) {
	if n <= 0 {
		return
	}
	n = min(n, maxConcurrentLimit) // a header, not a reason to allocate
	l.mu.Lock()
	defer l.mu.Unlock()
	if n != l.limit {
		l.limit, l.sem = n, make(chan struct{}, n)
	}
}
