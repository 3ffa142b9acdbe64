// Package ratelimit limits requests per client address for the OAuth endpoints, in memory
// (per replica), and finds the client address behind trusted reverse proxies.
package ratelimit

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	defaultMaxKeys = 100_000
	// fullSweepEvery bounds how often a full table is scanned for idle keys.
	fullSweepEvery = time.Second
)

// Limiter allows n events per minute per key (token bucket with burst n), in memory, bounded
// (idle keys evicted; at most 100k keys). It is safe for concurrent use.
type Limiter struct {
	perMinute int
	limit     rate.Limit
	idle      time.Duration // a bucket untouched this long is full again: forgetting it changes nothing

	mu        sync.Mutex
	keys      map[string]*bucket
	lastSweep time.Time
	maxKeys   int
	now       func() time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// New returns a Limiter allowing perMinute events per minute per key, in bursts of up to
// perMinute. perMinute <= 0 means no limit: Allow always succeeds.
func New(perMinute int) *Limiter {
	l := &Limiter{
		perMinute: perMinute,
		keys:      make(map[string]*bucket),
		maxKeys:   defaultMaxKeys,
		now:       time.Now,
	}
	if perMinute > 0 {
		l.limit = rate.Limit(float64(perMinute) / 60)
		l.idle = time.Minute // burst perMinute refills in one minute
	}
	return l
}

// Allow reports whether one more event for key is allowed now; if not, retryAfter is how
// long until it would be.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l.perMinute <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) >= l.idle {
		l.sweep(now)
	}
	b, found := l.keys[key]
	if !found {
		if len(l.keys) >= l.maxKeys {
			if now.Sub(l.lastSweep) >= fullSweepEvery {
				l.sweep(now)
			}
			// Every key is active: forget an arbitrary one (map order) to stay bounded.
			for k := range l.keys {
				if len(l.keys) < l.maxKeys {
					break
				}
				delete(l.keys, k)
			}
		}
		b = &bucket{lim: rate.NewLimiter(l.limit, l.perMinute)}
		l.keys[key] = b
	}
	b.last = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops keys idle long enough for their bucket to be full again.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.keys {
		if now.Sub(b.last) >= l.idle {
			delete(l.keys, k)
		}
	}
	l.lastSweep = now
}

// Len is the number of keys currently tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// ParseTrustedProxies parses "10.0.0.0/8,192.168.1.5" (CIDRs or single addresses; "" = none).
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxies: %q is not an address or CIDR prefix (like 10.0.0.0/8 or fd00::/8)", f)
			}
			if p.Addr().Is4In6() {
				if p.Bits() < 96 {
					return nil, fmt.Errorf("trusted proxies: %q: an IPv4-mapped prefix needs at least 96 bits", f)
				}
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("trusted proxies: %q is not an address or CIDR prefix (like 10.0.0.0/8 or fd00::/8)", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func trustedAddr(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHost parses "1.2.3.4", "1.2.3.4:5", "::1", "[::1]:5" or "[::1]", without zone,
// IPv4-mapped addresses unmapped. The zero Addr means malformed.
func parseHost(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone("").Unmap()
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap()
	}
	return netip.Addr{}
}

// ClientIP is the client's address: RemoteAddr, unless RemoteAddr is a trusted proxy, then the
// right-most X-Forwarded-For entry that is not a trusted proxy (X-Forwarded-For is ignored otherwise).
// When the chain holds only trusted proxies, or an entry is malformed, the result is the
// left-most trusted proxy reached: nothing further left can be believed. A malformed
// RemoteAddr gives the zero Addr.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseHost(r.RemoteAddr)
	if !peer.IsValid() || !trustedAddr(peer, trusted) {
		return peer
	}
	var entries []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		entries = append(entries, strings.Split(h, ",")...)
	}
	for i := len(entries) - 1; i >= 0; i-- {
		a := parseHost(entries[i])
		if !a.IsValid() {
			return peer
		}
		if !trustedAddr(a, trusted) {
			return a
		}
		peer = a
	}
	return peer
}

// Key is the rate-limiting key for a client address: the address itself for IPv4, its /64
// for IPv6 (one host usually holds a whole /64), "unknown" for the zero Addr.
func Key(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is4():
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// Middleware answers 429 with Retry-After (seconds, rounded up) and a JSON body
// {"error":"too_many_requests","error_description":"..."} when key's limiter refuses.
// The key is Key(ClientIP(r, trusted)). A nil l limits nothing.
func Middleware(l *Limiter, trusted []netip.Prefix, next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := l.Allow(Key(ClientIP(r, trusted)))
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		secs := max(1, int64(math.Ceil(wait.Seconds())))
		h := w.Header()
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusTooManyRequests)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"error":             "too_many_requests",
			"error_description": fmt.Sprintf("too many requests from this address (at most %d a minute); retry in %d seconds", l.perMinute, secs),
		})
	})
}
