package ratelimit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestLimiter(perMinute int) (*Limiter, *clock) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	l := New(perMinute)
	l.now = c.now
	return l, c
}

func TestLimiterRegistrationLimit(t *testing.T) {
	l, c := newTestLimiter(20)
	for i := 1; i <= 20; i++ {
		if ok, _ := l.Allow("198.51.100.7"); !ok {
			t.Fatalf("registration %d refused", i)
		}
		c.advance(10 * time.Millisecond) // a flood: 20 within 0.2 s
	}
	ok, wait := l.Allow("198.51.100.7")
	if ok {
		t.Fatal("21st registration within a minute allowed")
	}
	// One token comes back every 3 s; 0.2 s of it has been earned.
	if wait < 2799*time.Millisecond || wait > 2800*time.Millisecond {
		t.Errorf("retryAfter = %s, want 2.8s", wait)
	}
	if ok, _ := l.Allow("203.0.113.9"); !ok {
		t.Error("another address was refused")
	}
	c.advance(wait - time.Millisecond)
	if ok, _ := l.Allow("198.51.100.7"); ok {
		t.Error("allowed before retryAfter elapsed")
	}
	c.advance(time.Millisecond)
	if ok, _ := l.Allow("198.51.100.7"); !ok {
		t.Error("refused after retryAfter elapsed")
	}
	c.advance(time.Minute)
	for i := 1; i <= 20; i++ {
		if ok, _ := l.Allow("198.51.100.7"); !ok {
			t.Fatalf("after a quiet minute, registration %d refused", i)
		}
	}
	if ok, wait := l.Allow("198.51.100.7"); ok || wait < 2999*time.Millisecond || wait > 3*time.Second {
		t.Errorf("21st of a fresh burst: ok=%v wait=%s, want refused, 3s", ok, wait)
	}
}

func TestLimiterRefusalsDoNotConsume(t *testing.T) {
	l, c := newTestLimiter(1)
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("first refused")
	}
	for range 100 {
		if ok, _ := l.Allow("k"); ok {
			t.Fatal("allowed past the limit")
		}
	}
	c.advance(time.Minute)
	if ok, _ := l.Allow("k"); !ok {
		t.Error("refused attempts were counted against the key")
	}
}

func TestLimiterUnlimited(t *testing.T) {
	for _, n := range []int{0, -1} {
		l := New(n)
		for range 1000 {
			if ok, _ := l.Allow("k"); !ok {
				t.Fatalf("New(%d) refused", n)
			}
		}
	}
}

func TestLimiterEviction(t *testing.T) {
	l, c := newTestLimiter(5)
	l.maxKeys = 50
	for i := range 1000 {
		if ok, _ := l.Allow(fmt.Sprint("k", i)); !ok {
			t.Fatalf("new key %d refused", i)
		}
		if n := l.Len(); n > 50 {
			t.Fatalf("%d keys tracked, bound is 50", n)
		}
	}
	// Idle keys go once their bucket has refilled.
	c.advance(time.Minute)
	l.Allow("fresh")
	if n := l.Len(); n != 1 {
		t.Errorf("%d keys after a minute idle, want 1", n)
	}
	// A busy key is kept (and stays limited) while others come and go within the bound.
	l.maxKeys = 100_000
	for range 5 {
		l.Allow("busy")
	}
	for i := range 200 {
		l.Allow(fmt.Sprint("other", i))
		c.advance(time.Millisecond)
	}
	if ok, _ := l.Allow("busy"); ok {
		t.Error("busy key forgot its spent burst")
	}
}

func TestLimiterDefaultBound(t *testing.T) {
	l := New(20)
	if l.maxKeys != 100_000 {
		t.Errorf("maxKeys = %d", l.maxKeys)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		in   string
		want string // fmt of the prefixes, or "error: substring"
	}{
		{"", "[]"},
		{" , ", "[]"},
		{"10.0.0.0/8,192.168.1.5", "[10.0.0.0/8 192.168.1.5/32]"},
		{" 10.1.2.3/8 , ::1 ", "[10.0.0.0/8 ::1/128]"},
		{"fd00::/8", "[fd00::/8]"},
		{"::ffff:10.0.0.1", "[10.0.0.1/32]"},
		{"::ffff:10.0.0.0/104", "[10.0.0.0/8]"},
		{"10.0.0.0/33", "error: \"10.0.0.0/33\" is not an address"},
		{"proxy.internal", "error: \"proxy.internal\" is not an address"},
		{"10.0.0.1:80", "error: is not an address"},
		{"fe80::1%eth0", "error: is not an address"},
		{"::ffff:0:0/90", "error: at least 96 bits"},
	}
	for _, tt := range tests {
		got, err := ParseTrustedProxies(tt.in)
		if e, ok := strings.CutPrefix(tt.want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), e) {
				t.Errorf("%q: got %v, %v; want error with %q", tt.in, got, err, e)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != tt.want && !(tt.want == "[]" && got == nil) {
			t.Errorf("%q: got %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8,192.168.1.5,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		remote  string
		xff     []string // header lines
		trusted []netip.Prefix
		want    string
	}{
		{"no proxy", "198.51.100.7:5555", nil, trusted, "198.51.100.7"},
		{"spoofed XFF from untrusted peer ignored", "198.51.100.7:5555", []string{"1.2.3.4"}, trusted, "198.51.100.7"},
		{"XFF ignored with no trusted proxies", "10.0.0.2:5555", []string{"1.2.3.4"}, nil, "10.0.0.2"},
		{"one trusted proxy", "10.0.0.2:5555", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"client's own XFF prefix not believed", "10.0.0.2:5555", []string{"6.6.6.6, 203.0.113.9"}, trusted, "203.0.113.9"},
		{"chain through trusted proxies", "10.0.0.2:1", []string{"6.6.6.6, 203.0.113.9, 192.168.1.5, 10.9.9.9"}, trusted, "203.0.113.9"},
		{"chain over several header lines", "10.0.0.2:1", []string{"6.6.6.6, 203.0.113.9", "192.168.1.5", "10.9.9.9"}, trusted, "203.0.113.9"},
		{"untrusted hop in the middle", "10.0.0.2:1", []string{"203.0.113.9, 198.51.100.1, 10.9.9.9"}, trusted, "198.51.100.1"},
		{"trusted peer without XFF", "10.0.0.2:1", nil, trusted, "10.0.0.2"},
		{"only trusted entries", "10.0.0.2:1", []string{"192.168.1.5, 10.3.3.3"}, trusted, "192.168.1.5"},
		{"malformed right-most entry", "10.0.0.2:1", []string{"203.0.113.9, garbage"}, trusted, "10.0.0.2"},
		{"malformed entry behind a trusted hop", "10.0.0.2:1", []string{"203.0.113.9, unknown, 10.7.7.7"}, trusted, "10.7.7.7"},
		{"empty entry", "10.0.0.2:1", []string{"203.0.113.9, ,"}, trusted, "10.0.0.2"},
		{"entry with port", "10.0.0.2:1", []string{"203.0.113.9:4711"}, trusted, "203.0.113.9"},
		{"IPv6 peer", "[2001:db8::1]:443", nil, trusted, "2001:db8::1"},
		{"IPv6 trusted proxy and client", "[fd00::5]:443", []string{"2001:db8::7"}, trusted, "2001:db8::7"},
		{"IPv6 bracketed entry with port", "[fd00::5]:443", []string{"[2001:db8::7]:1234"}, trusted, "2001:db8::7"},
		{"IPv6 bracketed entry", "[fd00::5]:443", []string{"[2001:db8::7]"}, trusted, "2001:db8::7"},
		{"IPv6 zone dropped", "[fd00::5]:443", []string{"fe80::1%eth0"}, trusted, "fe80::1"},
		{"IPv4-mapped peer is trusted", "[::ffff:10.0.0.2]:1", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"IPv4-mapped entry unmapped", "10.0.0.2:1", []string{"::ffff:203.0.113.9"}, trusted, "203.0.113.9"},
		{"RemoteAddr without port", "198.51.100.7", nil, trusted, "198.51.100.7"},
		{"malformed RemoteAddr", "@", []string{"203.0.113.9"}, trusted, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/oauth/register", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r, tt.trusted).String(); got != tt.want {
				t.Errorf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"198.51.100.7":         "198.51.100.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"::1":                  "::/64",
	} {
		if got := Key(netip.MustParseAddr(in)); got != want {
			t.Errorf("Key(%s) = %s, want %s", in, got, want)
		}
	}
	if Key(netip.Addr{}) != "unknown" {
		t.Error("Key of the zero Addr")
	}
}

func TestMiddleware(t *testing.T) {
	l, c := newTestLimiter(2)
	trusted, _ := ParseTrustedProxies("10.0.0.1")
	var served int
	h := Middleware(l, trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served++
		w.WriteHeader(http.StatusCreated)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	do := func(remote, xff string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/oauth/register", nil)
		r.RemoteAddr = remote
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := range 2 {
		if w := do("198.51.100.7:1", ""); w.Code != http.StatusCreated {
			t.Fatalf("request %d: %d", i, w.Code)
		}
	}
	w := do("198.51.100.7:2", "1.1.1.1") // spoofed XFF from an untrusted peer: same key
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("third request: %d", w.Code)
	}
	if ra := w.Header().Get("Retry-After"); ra != "30" {
		t.Errorf("Retry-After = %q, want 30", ra)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != "too_many_requests" ||
		!strings.Contains(body["error_description"], "at most 2 a minute") || !strings.Contains(body["error_description"], "30 seconds") {
		t.Errorf("body %s (%v)", w.Body, err)
	}
	if served != 2 {
		t.Errorf("handler ran %d times, want 2", served)
	}
	// Behind the trusted proxy, clients are told apart by X-Forwarded-For.
	if w := do("10.0.0.1:9", "203.0.113.1"); w.Code != http.StatusCreated {
		t.Errorf("other client via proxy: %d", w.Code)
	}
	if w := do("10.0.0.1:9", "198.51.100.7"); w.Code != http.StatusTooManyRequests {
		t.Errorf("limited client via proxy: %d", w.Code)
	}
	// Retry-After rounds up: 0.5 s left is "1".
	c.advance(29*time.Second + 500*time.Millisecond)
	if w := do("198.51.100.7:1", ""); w.Header().Get("Retry-After") != "1" {
		t.Errorf("Retry-After with 0.5 s left = %q, want 1", w.Header().Get("Retry-After"))
	}
	c.advance(500 * time.Millisecond)
	if w := do("198.51.100.7:1", ""); w.Code != http.StatusCreated {
		t.Errorf("after Retry-After: %d", w.Code)
	}

	// Over real HTTP: the third request from the test client is refused.
	l2, _ := newTestLimiter(2)
	srv2 := httptest.NewServer(Middleware(l2, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv2.Close()
	var codes []int
	for range 3 {
		resp, err := http.Post(srv2.URL+"/oauth/register", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if fmt.Sprint(codes) != "[200 200 429]" {
		t.Errorf("status codes %v", codes)
	}

	if Middleware(nil, nil, h) == nil {
		t.Error("nil limiter")
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l, _ := newTestLimiter(20)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				ok, _ := l.Allow("same")
				l.Allow(fmt.Sprint("g", i))
				if ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 20 {
		t.Errorf("%d allowed at a frozen clock, want the burst of 20", allowed)
	}
}
