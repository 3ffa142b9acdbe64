// Package clientmeta fetches and validates OAuth Client ID Metadata Documents
// (draft-ietf-oauth-client-id-metadata-document; MCP authorization 2025-11-25): a client
// whose client_id is an https URL publishes its metadata at that URL.
//
// Fetching is guarded against server-side request forgery: connections go only to public
// unicast addresses (checked after name resolution, on the address actually dialed), no
// proxy, no redirects, bounded size and time.
package clientmeta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"

	"github.com/sentry-mcp/sentry-mcp/hosted/redirecturi"
)

// Errors returned by Fetch wrap one of these (test with errors.Is).
var (
	// ErrInvalidClientID: the client_id is not an acceptable metadata document URL.
	ErrInvalidClientID = errors.New("invalid client_id URL")
	// ErrFetch: the document could not be retrieved (network, status, redirect, size,
	// or a blocked address, which also matches ErrBlockedAddress).
	ErrFetch = errors.New("cannot fetch client metadata document")
	// ErrInvalidDocument: the document was retrieved but breaks the rules.
	ErrInvalidDocument = errors.New("invalid client metadata document")
)

// Defaults for the zero Fetcher fields.
const (
	DefaultMaxBytes = 5 << 10
	DefaultTimeout  = 5 * time.Second
	DefaultCacheTTL = 5 * time.Minute
	maxCacheEntries = 1000
	maxClientIDLen  = 2048
	maxNameLen      = 200
)

// Document is a validated client metadata document.
type Document struct {
	ClientID, ClientName, ClientURI, LogoURI string
	RedirectURIs                             []string
	TokenEndpointAuthMethod                  string // always "none": only public clients are accepted
	GrantTypes, ResponseTypes                []string
}

func (d *Document) clone() *Document {
	c := *d
	c.RedirectURIs = slices.Clone(d.RedirectURIs)
	c.GrantTypes = slices.Clone(d.GrantTypes)
	c.ResponseTypes = slices.Clone(d.ResponseTypes)
	return &c
}

// Fetcher fetches client metadata documents, caching them. The zero value is ready to use;
// set the fields before the first Fetch and do not change them (or copy the Fetcher) afterwards.
type Fetcher struct {
	// HTTPClient makes the requests. nil: a client whose dialer refuses non-public
	// addresses, with no proxy. Whatever the client, redirects are never followed.
	HTTPClient *http.Client
	// AllowLoopbackHTTP (TEST ONLY) accepts http:// client ids and lets the default
	// client connect to loopback addresses. Other non-public addresses stay refused.
	AllowLoopbackHTTP bool
	MaxBytes          int64         // largest accepted document; 0: 5 KiB
	Timeout           time.Duration // per fetch; 0: 5 s
	// CacheTTL is how long a document is reused; 0: 5 min. A smaller Cache-Control
	// max-age wins; no-store and no-cache disable caching. At most 1000 documents are kept.
	CacheTTL time.Duration

	once   sync.Once
	client *http.Client
	group  singleflight.Group
	mu     sync.Mutex
	cache  map[string]cacheEntry
	now    func() time.Time // tests
}

type cacheEntry struct {
	doc     *Document
	expires time.Time
}

var errRedirect = errors.New("redirects are not followed")

func (f *Fetcher) init() {
	f.once.Do(func() {
		timeout := cmpOr(f.Timeout, DefaultTimeout)
		var c http.Client
		if f.HTTPClient != nil {
			c = *f.HTTPClient
		} else {
			d := newDialer(timeout, f.AllowLoopbackHTTP)
			c = http.Client{
				Timeout: timeout,
				Transport: &http.Transport{
					Proxy:                  nil, // the checked address must be the one connected
					DialContext:            d.DialContext,
					TLSHandshakeTimeout:    timeout,
					ResponseHeaderTimeout:  timeout,
					MaxResponseHeaderBytes: 16 << 10,
					MaxIdleConns:           10,
					IdleConnTimeout:        30 * time.Second,
					ForceAttemptHTTP2:      true,
				},
			}
		}
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return errRedirect }
		f.client = &c
		f.cache = make(map[string]cacheEntry)
		if f.now == nil {
			f.now = time.Now
		}
	})
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// IsURLClientID reports whether client_id is a URL (https scheme) and thus a metadata
// document id. It does not validate the URL further: Fetch does.
func IsURLClientID(id string) bool {
	u, err := url.Parse(id)
	return err == nil && u.Scheme == "https"
}

// IsClientID is IsURLClientID, and also true for http URLs when AllowLoopbackHTTP is set.
func (f *Fetcher) IsClientID(id string) bool {
	if IsURLClientID(id) {
		return true
	}
	u, err := url.Parse(id)
	return f.AllowLoopbackHTTP && err == nil && u.Scheme == "http"
}

// ValidateClientID checks that clientID is an acceptable metadata document URL: https,
// a host, a path, no userinfo, no fragment, no query, no dot segments.
func (f *Fetcher) ValidateClientID(clientID string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %s: %s", ErrInvalidClientID, excerpt(clientID, 200), why)
	}
	if len(clientID) > maxClientIDLen {
		return bad(fmt.Sprintf("longer than %d bytes", maxClientIDLen))
	}
	for _, r := range clientID {
		if r <= ' ' || r == 0x7f || r == '\\' || r > 0x7e {
			return bad("contains a space, backslash, control or non-ASCII character")
		}
	}
	u, err := url.Parse(clientID)
	if err != nil {
		return bad("not a URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && f.AllowLoopbackHTTP:
	default:
		return bad("the scheme must be https")
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return bad("no host")
	}
	if u.User != nil {
		return bad("must not contain a user name or password")
	}
	if strings.Contains(clientID, "#") {
		return bad("must not contain a fragment")
	}
	if strings.Contains(clientID, "?") {
		return bad("must not contain a query")
	}
	p := u.EscapedPath()
	if p == "" {
		return bad("must contain a path")
	}
	for _, seg := range strings.Split(p, "/") {
		s, err := url.PathUnescape(seg)
		if err != nil {
			return bad("invalid percent-encoding in the path")
		}
		if s == "." || s == ".." {
			return bad("must not contain dot segments (. or ..) in its path")
		}
	}
	return nil
}

// Fetch returns the validated document whose URL is clientID, from the cache when fresh.
// Concurrent fetches of the same id share one request. Errors wrap ErrInvalidClientID,
// ErrFetch or ErrInvalidDocument and never contain more of the response than a short,
// sanitized excerpt.
func (f *Fetcher) Fetch(ctx context.Context, clientID string) (*Document, error) {
	f.init()
	if err := f.ValidateClientID(clientID); err != nil {
		return nil, err
	}
	if d := f.cached(clientID); d != nil {
		return d, nil
	}
	ch := f.group.DoChan(clientID, func() (any, error) {
		if d := f.cached(clientID); d != nil {
			return d, nil
		}
		// Detached from the first caller's cancellation: others may share the result.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmpOr(f.Timeout, DefaultTimeout))
		defer cancel()
		d, ttl, err := f.fetch(fctx, clientID)
		if err != nil {
			return nil, err
		}
		f.store(clientID, d, ttl)
		return d, nil
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("%w %s: %w", ErrFetch, excerpt(clientID, 200), context.Cause(ctx))
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Document).clone(), nil
	}
}

func (f *Fetcher) cached(id string) *Document {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.cache[id]
	if !ok {
		return nil
	}
	if !f.now().Before(e.expires) {
		delete(f.cache, id)
		return nil
	}
	return e.doc.clone()
}

func (f *Fetcher) store(id string, d *Document, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if _, ok := f.cache[id]; !ok && len(f.cache) >= maxCacheEntries {
		for k, e := range f.cache {
			if !now.Before(e.expires) {
				delete(f.cache, k)
			}
		}
		for len(f.cache) >= maxCacheEntries {
			// Evict the entry that expires first.
			var oldest string
			var at time.Time
			for k, e := range f.cache {
				if oldest == "" || e.expires.Before(at) {
					oldest, at = k, e.expires
				}
			}
			delete(f.cache, oldest)
		}
	}
	f.cache[id] = cacheEntry{doc: d, expires: now.Add(ttl)}
}

// fetch retrieves and validates the document; it returns how long it may be cached.
func (f *Fetcher) fetch(ctx context.Context, id string) (*Document, time.Duration, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w %s: %s", ErrFetch, excerpt(id, 200), fmt.Sprintf(format, args...))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, id, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%w %s: %v", ErrInvalidClientID, excerpt(id, 200), err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		var blocked *BlockedAddressError
		switch {
		case errors.As(err, &blocked):
			return nil, 0, fmt.Errorf("%w %s: %w", ErrFetch, excerpt(id, 200), blocked)
		case errors.Is(err, errRedirect):
			where := ""
			if resp != nil {
				where = " to " + excerpt(resp.Header.Get("Location"), 200)
			}
			return nil, 0, fail("the server answered with a redirect%s; redirects are not followed", where)
		case isTimeout(err):
			return nil, 0, fail("no answer within %s", cmpOr(f.Timeout, DefaultTimeout))
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // drop the repeated method and URL
		}
		return nil, 0, fail("%v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fail("HTTP status %d (want 200)", resp.StatusCode)
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, 0, fmt.Errorf("%w %s: content type %q, want application/json",
			ErrInvalidDocument, excerpt(id, 200), excerpt(ct, 80))
	}
	max := cmpOr(f.MaxBytes, DefaultMaxBytes)
	if resp.ContentLength > max {
		return nil, 0, fail("document is %d bytes, more than the %d bytes allowed", resp.ContentLength, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		if isTimeout(err) {
			return nil, 0, fail("body not received within %s", cmpOr(f.Timeout, DefaultTimeout))
		}
		return nil, 0, fail("reading the body: %v", err)
	}
	if int64(len(body)) > max {
		return nil, 0, fail("document is larger than the %d bytes allowed", max)
	}
	d, err := parse(body, id)
	if err != nil {
		return nil, 0, fmt.Errorf("%w %s: %w", ErrInvalidDocument, excerpt(id, 200), err)
	}
	return d, cacheTTL(resp.Header, cmpOr(f.CacheTTL, DefaultCacheTTL)), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// cacheTTL is def, or less when Cache-Control says so.
func cacheTTL(h http.Header, def time.Duration) time.Duration {
	ttl := def
	for _, v := range h.Values("Cache-Control") {
		for _, dir := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
				if err != nil || n < 0 {
					return 0
				}
				if n < int64(ttl/time.Second) {
					ttl = time.Duration(n) * time.Second
				}
			}
		}
	}
	return ttl
}

// wire is the document as JSON; pointers tell absent from empty.
type wire struct {
	ClientID                *string  `json:"client_id"`
	ClientName              *string  `json:"client_name"`
	ClientURI               *string  `json:"client_uri"`
	LogoURI                 *string  `json:"logo_uri"`
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod *string  `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
}

func parse(body []byte, id string) (*Document, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("not UTF-8")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, fmt.Errorf("not a JSON object: %s", jsonErr(err))
	}
	for _, k := range []string{"client_secret", "client_secret_expires_at"} {
		if _, ok := fields[k]; ok {
			return nil, fmt.Errorf("%s must not appear in a client metadata document", k)
		}
	}
	var w wire
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("malformed: %s", jsonErr(err))
	}
	if w.ClientID == nil {
		return nil, errors.New("client_id is missing")
	}
	if *w.ClientID != id {
		return nil, fmt.Errorf("its client_id %q is not the URL it was fetched from", excerpt(*w.ClientID, 200))
	}
	d := &Document{ClientID: id, TokenEndpointAuthMethod: "none",
		GrantTypes: w.GrantTypes, ResponseTypes: w.ResponseTypes}
	if m := w.TokenEndpointAuthMethod; m != nil && *m != "none" {
		return nil, fmt.Errorf("token_endpoint_auth_method %q is not supported: only \"none\" (public clients)", excerpt(*m, 60))
	}
	if len(w.RedirectURIs) == 0 {
		return nil, errors.New("redirect_uris is missing or empty")
	}
	for _, r := range w.RedirectURIs {
		if err := checkRedirectURI(r); err != nil {
			return nil, fmt.Errorf("redirect_uris: %q: %w", excerpt(r, 200), err)
		}
	}
	d.RedirectURIs = w.RedirectURIs
	if w.ClientName != nil {
		n := strings.TrimSpace(*w.ClientName)
		if utf8.RuneCountInString(n) > maxNameLen {
			return nil, fmt.Errorf("client_name is longer than %d characters", maxNameLen)
		}
		if strings.IndexFunc(n, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0 {
			return nil, errors.New("client_name contains control or formatting characters")
		}
		d.ClientName = n
	}
	for _, p := range []struct {
		name string
		v    *string
		dst  *string
	}{{"client_uri", w.ClientURI, &d.ClientURI}, {"logo_uri", w.LogoURI, &d.LogoURI}} {
		if p.v == nil || *p.v == "" {
			continue
		}
		u, err := url.Parse(*p.v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(*p.v) > maxClientIDLen {
			return nil, fmt.Errorf("%s %q is not an absolute http(s) URL", p.name, excerpt(*p.v, 200))
		}
		*p.dst = *p.v
	}
	for _, s := range append(slices.Clone(d.GrantTypes), d.ResponseTypes...) {
		if s == "" || len(s) > 200 {
			return nil, errors.New("grant_types and response_types must hold non-empty short strings")
		}
	}
	return d, nil
}

// checkRedirectURI: the document's own limits, then the authorization
// server's rules for redirect URIs (hosted/redirecturi), the same for a
// metadata document as for a registration.
func checkRedirectURI(r string) error {
	if r == "" || len(r) > maxClientIDLen {
		return errors.New("is empty or too long")
	}
	if strings.IndexFunc(r, func(c rune) bool { return c <= ' ' || c == 0x7f }) >= 0 {
		return errors.New("contains a space or control character")
	}
	if msg := redirecturi.Check(r); msg != "" {
		return errors.New(msg)
	}
	return nil
}

// jsonErr describes a decoding error without quoting the document.
func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("JSON syntax error at byte %d", se.Offset)
	case errors.As(err, &te) && te.Field == "":
		return "the document must be a JSON object"
	case errors.As(err, &te):
		return fmt.Sprintf("field %s must be %s, not a JSON %s", te.Field, jsonKind(te.Type.String()), te.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return "invalid JSON"
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array of strings"
	case strings.Contains(goType, "string"):
		return "a string"
	case strings.HasPrefix(goType, "map"):
		return "an object"
	}
	return goType
}

// excerpt makes s safe to show: printable ASCII only (others become '?'), at most n bytes.
func excerpt(s string, n int) string {
	var b strings.Builder
	for i, r := range s {
		if i >= n {
			b.WriteString("...")
			break
		}
		if r < ' ' || r > '~' {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
