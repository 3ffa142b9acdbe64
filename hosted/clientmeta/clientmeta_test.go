package clientmeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestIsURLClientID(t *testing.T) {
	for id, want := range map[string]bool{
		"https://app.example/client.json": true,
		"https://app.example":             true, // a URL; Fetch rejects it
		"http://app.example/client.json":  false,
		"c_0123456789abcdef":              false,
		"":                                false,
		"urn:ietf:x":                      false,
	} {
		if got := IsURLClientID(id); got != want {
			t.Errorf("IsURLClientID(%q) = %v, want %v", id, got, want)
		}
	}
	f := &Fetcher{AllowLoopbackHTTP: true}
	if !f.IsClientID("http://127.0.0.1:8080/c.json") || !f.IsClientID("https://a.example/c") || f.IsClientID("abc") {
		t.Error("IsClientID with AllowLoopbackHTTP")
	}
	if (&Fetcher{}).IsClientID("http://127.0.0.1:8080/c.json") {
		t.Error("IsClientID accepted http without AllowLoopbackHTTP")
	}
}

func TestValidateClientID(t *testing.T) {
	tests := []struct {
		id, why string // why "": valid
	}{
		{"https://app.example/oauth/client.json", ""},
		{"https://app.example:8443/c", ""},
		{"https://app.example/", ""},
		{"https://app.example/a%20b/c", ""},
		{"https://app.example", "must contain a path"},
		{"http://app.example/c", "scheme must be https"},
		{"ftp://app.example/c", "scheme must be https"},
		{"https:///c", "no host"},
		{"https://user:pw@app.example/c", "user name or password"},
		{"https://user@app.example/c", "user name or password"},
		{"https://app.example/c#frag", "fragment"},
		{"https://app.example/c#", "fragment"},
		{"https://app.example/c?x=1", "query"},
		{"https://app.example/c?", "query"},
		{"https://app.example/a/../c", "dot"},
		{"https://app.example/a/./c", "dot"},
		{"https://app.example/a/%2e%2E/c", "dot"},
		{"https://app.example/..", "dot"},
		{"https://app.example/a b", "space"},
		{"https://app.example\\@evil/c", "backslash"},
		{"https://app.example/\u00e9", "non-ASCII"},
		{"https://app.example/" + strings.Repeat("a", 3000), "longer than"},
		{"https://app.example/%zz", "not a URL"},
	}
	f := &Fetcher{}
	for _, tt := range tests {
		err := f.ValidateClientID(tt.id)
		if tt.why == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.id, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInvalidClientID) || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("%q: got %v, want ErrInvalidClientID with %q", tt.id, err, tt.why)
		}
	}
	if err := (&Fetcher{AllowLoopbackHTTP: true}).ValidateClientID("http://127.0.0.1:1/c"); err != nil {
		t.Errorf("AllowLoopbackHTTP http: %v", err)
	}
}

func TestBlockReason(t *testing.T) {
	tests := []struct {
		addr    string
		blocked string // substring of the reason; "" = allowed
	}{
		{"93.184.215.14", ""},
		{"8.8.8.8", ""},
		{"2606:4700:4700::1111", ""},
		{"::ffff:93.184.215.14", ""},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
		{"127.0.0.1", "loopback"},
		{"127.9.9.9", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"::ffff:10.1.2.3", "private"},
		{"::ffff:192.168.0.1", "private"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"169.254.169.254", "link-local"},
		{"::ffff:169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"100.64.0.1", "CGNAT"},
		{"100.127.255.254", "CGNAT"},
		{"224.0.0.1", "link-local"},
		{"224.0.1.1", "multicast"},
		{"239.1.2.3", "multicast"},
		{"ff02::1", "link-local"},
		{"ff0e::1", "multicast"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "this network"},
		{"::", "unspecified"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"192.0.0.8", "IETF"},
		{"64:ff9b::7f00:1", "loopback"},      // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", "link-local"}, // NAT64 of 169.254.169.254
		{"::a00:1", "private"},               // IPv4-compatible 10.0.0.1
		{"fec0::1", "site-local"},
	}
	for _, tt := range tests {
		got := blockReason(netip.MustParseAddr(tt.addr), false)
		if tt.blocked == "" && got != "" || tt.blocked != "" && !strings.Contains(got, tt.blocked) {
			t.Errorf("blockReason(%s) = %q, want %q", tt.addr, got, tt.blocked)
		}
	}
	if r := blockReason(netip.MustParseAddr("127.0.0.1"), true); r != "" {
		t.Errorf("allowLoopback: %q", r)
	}
	if r := blockReason(netip.MustParseAddr("10.0.0.1"), true); r == "" {
		t.Error("allowLoopback let a private address through")
	}
}

// docServer serves documents by path; each handler gets the URL the document lives at.
type docServer struct {
	*httptest.Server
	hits sync.Map // path -> *atomic.Int32
}

func newDocServer(t *testing.T, routes map[string]http.HandlerFunc) *docServer {
	ds := &docServer{}
	ds.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := ds.hits.LoadOrStore(r.URL.Path, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		h, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(ds.Close)
	return ds
}

func (ds *docServer) count(path string) int32 {
	n, ok := ds.hits.Load(path)
	if !ok {
		return 0
	}
	return n.(*atomic.Int32).Load()
}

// jsonDoc serves doc with client_id set to the request's own URL (unless doc sets it).
func jsonDoc(doc map[string]any, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d := map[string]any{"client_id": "http://" + r.Host + r.URL.Path}
		for k, v := range doc {
			d[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		_ = json.NewEncoder(w).Encode(d)
	}
}

func raw(status int, ctype, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

var good = map[string]any{
	"client_name":                "Example Agent",
	"client_uri":                 "https://app.example",
	"logo_uri":                   "https://app.example/logo.png",
	"redirect_uris":              []string{"http://127.0.0.1/callback", "cursor://anysphere.cursor-mcp/oauth/callback"},
	"grant_types":                []string{"authorization_code", "refresh_token"},
	"response_types":             []string{"code"},
	"token_endpoint_auth_method": "none",
}

func with(kv ...any) map[string]any {
	d := map[string]any{}
	for k, v := range good {
		d[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(d, kv[i].(string))
		} else {
			d[kv[i].(string)] = kv[i+1]
		}
	}
	return d
}

func TestFetchGood(t *testing.T) {
	ds := newDocServer(t, map[string]http.HandlerFunc{
		"/full.json":    jsonDoc(good),
		"/minimal.json": jsonDoc(map[string]any{"redirect_uris": []string{"https://app.example/cb"}}),
		"/ld.json":      jsonDoc(good, "Content-Type", "application/ld+json; charset=utf-8"),
	})
	f := &Fetcher{AllowLoopbackHTTP: true}
	ctx := context.Background()

	d, err := f.Fetch(ctx, ds.URL+"/full.json")
	if err != nil {
		t.Fatal(err)
	}
	want := Document{ClientID: ds.URL + "/full.json", ClientName: "Example Agent", ClientURI: "https://app.example",
		LogoURI: "https://app.example/logo.png", TokenEndpointAuthMethod: "none"}
	if d.ClientID != want.ClientID || d.ClientName != want.ClientName || d.ClientURI != want.ClientURI ||
		d.LogoURI != want.LogoURI || d.TokenEndpointAuthMethod != "none" ||
		fmt.Sprint(d.RedirectURIs) != "[http://127.0.0.1/callback cursor://anysphere.cursor-mcp/oauth/callback]" ||
		fmt.Sprint(d.GrantTypes) != "[authorization_code refresh_token]" || fmt.Sprint(d.ResponseTypes) != "[code]" {
		t.Errorf("got %+v", d)
	}

	d, err = f.Fetch(ctx, ds.URL+"/minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	if d.TokenEndpointAuthMethod != "none" || d.ClientName != "" || len(d.RedirectURIs) != 1 {
		t.Errorf("minimal: %+v", d)
	}
	if _, err := f.Fetch(ctx, ds.URL+"/ld.json"); err != nil {
		t.Errorf("+json content type: %v", err)
	}
	small := &Fetcher{AllowLoopbackHTTP: true, MaxBytes: 100}
	if _, err := small.Fetch(ctx, ds.URL+"/full.json"); !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "the 100 bytes allowed") {
		t.Errorf("MaxBytes 100: %v", err)
	}
}

func TestFetchBad(t *testing.T) {
	const marker = "SECRETMARKER-in-body"
	big := strings.Repeat("x", DefaultMaxBytes)
	routes := map[string]http.HandlerFunc{
		"/oversize": raw(200, "application/json", `{"x":"`+big+`"}`, "Content-Length", fmt.Sprint(len(big)+8)),
		"/oversize-chunked": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte(`{"x":"` + big + `"}`))
		},
		"/mismatch": jsonDoc(with("client_id", "https://other.example/c.json")),
		"/mismatch-slash": func(w http.ResponseWriter, r *http.Request) {
			jsonDoc(with("client_id", "http://"+r.Host+r.URL.Path+"/"))(w, r)
		},
		"/no-client-id":      raw(200, "application/json", `{"redirect_uris":["https://a.example/cb"]}`),
		"/secret":            jsonDoc(with("client_secret", marker)),
		"/secret-expires":    jsonDoc(with("client_secret_expires_at", 0)),
		"/auth-basic":        jsonDoc(with("token_endpoint_auth_method", "client_secret_basic")),
		"/auth-jwt":          jsonDoc(with("token_endpoint_auth_method", "private_key_jwt")),
		"/no-redirects":      jsonDoc(with("redirect_uris", nil)),
		"/empty-redirects":   jsonDoc(with("redirect_uris", []string{})),
		"/redirect-frag":     jsonDoc(with("redirect_uris", []string{"https://a.example/cb#x"})),
		"/redirect-relative": jsonDoc(with("redirect_uris", []string{"/cb"})),
		"/redirect-js":       jsonDoc(with("redirect_uris", []string{"javascript:alert(1)"})),
		"/redirect-nohost":   jsonDoc(with("redirect_uris", []string{"https:///cb"})),
		"/redirect-http":     jsonDoc(with("redirect_uris", []string{"http://evil.example/cb"})),
		"/redirect-type":     jsonDoc(with("redirect_uris", "https://a.example/cb")),
		"/name-type":         jsonDoc(with("client_name", 5)),
		"/name-control":      jsonDoc(with("client_name", "Good\u202eApp")),
		"/logo-js":           jsonDoc(with("logo_uri", "javascript:alert(1)")),
		"/html":              raw(200, "text/html", "<html>"+marker+"</html>"),
		"/no-ctype":          raw(200, "", `{}`),
		"/not-json":          raw(200, "application/json", "<html>"+marker+"</html>"),
		"/array":             raw(200, "application/json", `["`+marker+`"]`),
		"/trailing":          raw(200, "application/json", `{} {}`),
		"/not-utf8":          raw(200, "application/json", "{\"client_name\":\"\xff\"}"),
		"/404":               raw(404, "text/plain", marker),
		"/500":               raw(500, "application/json", `{"error":"`+marker+`"}`),
		"/redirect":          raw(302, "", "", "Location", "http://169.254.169.254/latest/meta-data/"),
		"/slow":              func(w http.ResponseWriter, r *http.Request) { time.Sleep(700 * time.Millisecond); jsonDoc(good)(w, r) },
	}
	ds := newDocServer(t, routes)
	f := &Fetcher{AllowLoopbackHTTP: true, Timeout: 300 * time.Millisecond}
	tests := []struct {
		path string
		kind error
		text string
	}{
		{"/oversize", ErrFetch, "more than the 5120 bytes"},
		{"/oversize-chunked", ErrFetch, "larger than the 5120 bytes"},
		{"/mismatch", ErrInvalidDocument, `client_id "https://other.example/c.json" is not the URL`},
		{"/mismatch-slash", ErrInvalidDocument, "is not the URL it was fetched from"},
		{"/no-client-id", ErrInvalidDocument, "client_id is missing"},
		{"/secret", ErrInvalidDocument, "client_secret must not appear"},
		{"/secret-expires", ErrInvalidDocument, "client_secret_expires_at must not appear"},
		{"/auth-basic", ErrInvalidDocument, `"client_secret_basic" is not supported`},
		{"/auth-jwt", ErrInvalidDocument, `"private_key_jwt" is not supported`},
		{"/no-redirects", ErrInvalidDocument, "redirect_uris is missing"},
		{"/empty-redirects", ErrInvalidDocument, "redirect_uris is missing or empty"},
		{"/redirect-frag", ErrInvalidDocument, "must not have a fragment"},
		{"/redirect-relative", ErrInvalidDocument, "not an absolute URI"},
		{"/redirect-js", ErrInvalidDocument, "the javascript scheme is not allowed"},
		{"/redirect-nohost", ErrInvalidDocument, "an https redirect URI needs a host"},
		{"/redirect-http", ErrInvalidDocument, "must be on a loopback address"},
		{"/redirect-type", ErrInvalidDocument, "field redirect_uris must be an array of strings, not a JSON string"},
		{"/name-type", ErrInvalidDocument, "field client_name must be a string, not a JSON number"},
		{"/name-control", ErrInvalidDocument, "client_name contains control"},
		{"/logo-js", ErrInvalidDocument, "logo_uri"},
		{"/html", ErrInvalidDocument, `content type "text/html", want application/json`},
		{"/no-ctype", ErrInvalidDocument, "want application/json"},
		{"/not-json", ErrInvalidDocument, "JSON syntax error at byte 1"},
		{"/array", ErrInvalidDocument, "must be a JSON object"},
		{"/trailing", ErrInvalidDocument, "not a JSON object"},
		{"/not-utf8", ErrInvalidDocument, "not UTF-8"},
		{"/404", ErrFetch, "HTTP status 404 (want 200)"},
		{"/500", ErrFetch, "HTTP status 500"},
		{"/redirect", ErrFetch, "redirect to http://169.254.169.254/latest/meta-data/; redirects are not followed"},
		{"/slow", ErrFetch, "no answer within 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			id := ds.URL + tt.path
			d, err := f.Fetch(context.Background(), id)
			if err == nil {
				t.Fatalf("accepted: %+v", d)
			}
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("got %q, want %v containing %q", err, tt.kind, tt.text)
			}
			if !strings.Contains(err.Error(), id) {
				t.Errorf("error does not name the client_id: %q", err)
			}
			if strings.Contains(err.Error(), marker) || strings.Contains(err.Error(), big[:200]) {
				t.Errorf("error echoes the response body: %q", err)
			}
		})
	}
	if n := ds.count("/redirect"); n != 1 {
		t.Errorf("redirect: %d requests", n)
	}
	// Failures are not cached: a second attempt asks again.
	_, _ = f.Fetch(context.Background(), ds.URL+"/404")
	if n := ds.count("/404"); n != 2 {
		t.Errorf("404 fetched %d times, want 2", n)
	}
}

func TestFetchRedirectRefusedWithCustomClient(t *testing.T) {
	ds := newDocServer(t, map[string]http.HandlerFunc{
		"/moved": raw(301, "", "", "Location", "/doc"),
		"/doc":   jsonDoc(good),
	})
	follows := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	f := &Fetcher{HTTPClient: follows, AllowLoopbackHTTP: true}
	_, err := f.Fetch(context.Background(), ds.URL+"/moved")
	if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "redirects are not followed") {
		t.Fatalf("got %v", err)
	}
	if ds.count("/doc") != 0 {
		t.Error("the redirect was followed")
	}
}

func TestFetchSSRF(t *testing.T) {
	// A TLS server on loopback: were the dialer to let the connection through, the
	// failure would be a certificate error, not a refusal.
	srv := httptest.NewUnstartedServer(jsonDoc(good))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the control case's handshake failure
	srv.StartTLS()
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	ids := []string{
		srv.URL + "/client.json", // https://127.0.0.1:PORT
		fmt.Sprintf("https://localhost:%d/client.json", port),
		"https://10.0.0.1/client.json",
		"https://169.254.169.254/",
		"https://100.64.1.1/c",
		"https://0.0.0.0/c",
		"https://[fd00::1]/c",
		"https://[::ffff:127.0.0.1]:" + fmt.Sprint(port) + "/c",
	}
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		srv6 := httptest.NewUnstartedServer(jsonDoc(good))
		srv6.Listener = ln
		srv6.StartTLS()
		defer srv6.Close()
		ids = append(ids, srv6.URL+"/client.json") // https://[::1]:PORT
	} else {
		t.Logf("no IPv6 loopback: %v", err)
		ids = append(ids, "https://[::1]/client.json")
	}
	f := &Fetcher{Timeout: 2 * time.Second}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			start := time.Now()
			_, err := f.Fetch(context.Background(), id)
			var blocked *BlockedAddressError
			if !errors.As(err, &blocked) || !errors.Is(err, ErrBlockedAddress) || !errors.Is(err, ErrFetch) {
				t.Fatalf("got %v (%T), want a BlockedAddressError", err, err)
			}
			if msg := err.Error(); !strings.Contains(msg, "refusing to connect to") ||
				strings.Contains(msg, "certificate") || strings.Contains(msg, "tls") {
				t.Errorf("error text %q", msg)
			}
			t.Log(err)
			if time.Since(start) > time.Second {
				t.Errorf("refusal took %s: the connection was attempted", time.Since(start))
			}
		})
	}
	// Control: with loopback allowed, the same request reaches the TLS server and fails
	// on its self-signed certificate; so the refusal above came from the dialer.
	f2 := &Fetcher{AllowLoopbackHTTP: true, Timeout: 2 * time.Second}
	_, err := f2.Fetch(context.Background(), srv.URL+"/client.json")
	var blocked *BlockedAddressError
	if err == nil || errors.As(err, &blocked) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("loopback allowed: got %v, want a certificate error", err)
	}
	// ... and private addresses stay refused even then.
	_, err = f2.Fetch(context.Background(), "http://10.0.0.1/client.json")
	if !errors.As(err, &blocked) || blocked.Reason != "private (RFC 1918)" {
		t.Errorf("private with AllowLoopbackHTTP: %v", err)
	}
}

func TestFetchNoProxy(t *testing.T) {
	// A proxy from the environment would receive the request (and resolve the name itself);
	// the default client must ignore it and connect directly.
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { proxied.Add(1) }))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")
	ds := newDocServer(t, map[string]http.HandlerFunc{"/c": jsonDoc(good)})
	f := &Fetcher{AllowLoopbackHTTP: true}
	if _, err := f.Fetch(context.Background(), ds.URL+"/c"); err != nil {
		t.Fatal(err)
	}
	if proxied.Load() != 0 || ds.count("/c") != 1 {
		t.Errorf("proxy saw %d requests, server %d", proxied.Load(), ds.count("/c"))
	}
}

func TestFetchCache(t *testing.T) {
	ds := newDocServer(t, map[string]http.HandlerFunc{
		"/plain":     jsonDoc(good),
		"/maxage":    jsonDoc(good, "Cache-Control", "public, max-age=10"),
		"/longer":    jsonDoc(good, "Cache-Control", "max-age=86400"),
		"/nostore":   jsonDoc(good, "Cache-Control", "no-store"),
		"/nocache":   jsonDoc(good, "Cache-Control", "no-cache"),
		"/maxage0":   jsonDoc(good, "Cache-Control", "max-age=0"),
		"/maxagebad": jsonDoc(good, "Cache-Control", "max-age=soon"),
	})
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	f := &Fetcher{AllowLoopbackHTTP: true, now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	fetch := func(p string) {
		t.Helper()
		if _, err := f.Fetch(context.Background(), ds.URL+p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"/plain", "/maxage", "/longer", "/nostore", "/nocache", "/maxage0", "/maxagebad"} {
		fetch(p)
		fetch(p)
	}
	for p, want := range map[string]int32{"/plain": 1, "/maxage": 1, "/longer": 1, "/nostore": 2, "/nocache": 2, "/maxage0": 2, "/maxagebad": 2} {
		if n := ds.count(p); n != want {
			t.Errorf("%s: %d requests for two fetches, want %d", p, n, want)
		}
	}
	advance(11 * time.Second) // past max-age=10, within 5 min
	fetch("/maxage")
	fetch("/plain")
	fetch("/longer")
	if ds.count("/maxage") != 2 || ds.count("/plain") != 1 || ds.count("/longer") != 1 {
		t.Errorf("after 11s: maxage %d plain %d longer %d", ds.count("/maxage"), ds.count("/plain"), ds.count("/longer"))
	}
	advance(5 * time.Minute) // past CacheTTL; max-age=86400 does not extend it
	fetch("/plain")
	fetch("/longer")
	if ds.count("/plain") != 2 || ds.count("/longer") != 2 {
		t.Errorf("after 5 min: plain %d longer %d", ds.count("/plain"), ds.count("/longer"))
	}

	// Callers cannot change the cached document.
	d, _ := f.Fetch(context.Background(), ds.URL+"/plain")
	d.RedirectURIs[0] = "https://evil.example/cb"
	d.ClientName = "Evil"
	d2, _ := f.Fetch(context.Background(), ds.URL+"/plain")
	if d2.RedirectURIs[0] != "http://127.0.0.1/callback" || d2.ClientName != "Example Agent" {
		t.Errorf("cache was modified through a returned document: %+v", d2)
	}
}

func TestCacheBound(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	f := &Fetcher{now: func() time.Time { return now }}
	f.init()
	d := &Document{ClientID: "x"}
	f.store("first", d, time.Second) // expires first
	for i := range maxCacheEntries + 500 {
		f.store(fmt.Sprintf("https://c%d.example/c", i), d, time.Minute+time.Duration(i)*time.Millisecond)
		if len(f.cache) > maxCacheEntries {
			t.Fatalf("cache holds %d entries", len(f.cache))
		}
	}
	if f.cached("first") != nil || f.cached("https://c0.example/c") != nil {
		t.Error("the entries expiring first were not evicted")
	}
	if f.cached(fmt.Sprintf("https://c%d.example/c", maxCacheEntries+499)) == nil {
		t.Error("the newest entry is missing")
	}
}

func TestFetchSharesOneRequest(t *testing.T) {
	arrived := make(chan struct{}, 100)
	release := make(chan struct{})
	ds := newDocServer(t, map[string]http.HandlerFunc{"/c": func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		jsonDoc(good)(w, r)
	}})
	f := &Fetcher{AllowLoopbackHTTP: true}
	id := ds.URL + "/c"
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	// One caller gives up early; its cancellation must not fail the others.
	cctx, cancel := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := f.Fetch(cctx, id); !errors.Is(err, context.Canceled) {
			errs <- fmt.Errorf("cancelled caller: %v", err)
		}
	}()
	<-arrived
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.Fetch(context.Background(), id); err != nil {
				errs <- err
			}
		}()
	}
	time.Sleep(100 * time.Millisecond) // let them join the in-flight request
	cancel()
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c := ds.count("/c"); c != 1 {
		t.Errorf("%d requests for %d concurrent fetches, want 1", c, n+1)
	}
}

func TestExcerpt(t *testing.T) {
	if got := excerpt("a\x1b[31mb\u202ec", 100); got != "a?[31mb?c" {
		t.Errorf("excerpt = %q", got)
	}
	if got := excerpt(strings.Repeat("a", 50), 10); got != "aaaaaaaaaa..." {
		t.Errorf("excerpt = %q", got)
	}
}
