package redirecturi

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRedirectURI: what registration accepts as a redirect URI is an
// absolute URI without fragment, credentials or a scheme that runs code,
// and it matches itself; a URI that differs in anything but a loopback
// port never matches it.
func FuzzRedirectURI(f *testing.F) {
	for _, s := range []string{"https://client.example/cb", "http://127.0.0.1:1234/cb?x=1", "cursor://anysphere/oauth", "javascript:alert(1)",
		"https://a@b/cb", "http://evil.example/cb", "https://[fe80::1%25eth0]/cb", "HTTP://LOCALHOST/cb#f", "com.example.app:/cb"} {
		f.Add(s, "http://127.0.0.1:9/cb")
	}
	f.Fuzz(func(t *testing.T, reg, other string) {
		if Check(reg) != "" {
			return
		}
		u, err := url.Parse(reg)
		if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(reg, "#") || u.User != nil || strings.ContainsAny(u.Host, "% ") {
			t.Fatalf("accepted %q", reg)
		}
		switch strings.ToLower(u.Scheme) {
		case "javascript", "data", "file", "vbscript", "blob", "about":
			t.Fatalf("accepted %q", reg)
		case "http":
			if !loopbackHost(u.Hostname()) {
				t.Fatalf("accepted plain http off loopback: %q", reg)
			}
		}
		if !Matches([]string{reg}, reg) {
			t.Fatalf("%q does not match itself", reg)
		}
		if other == reg || !Matches([]string{reg}, other) {
			return
		}
		o, err := url.Parse(other)
		if err != nil || o.Scheme != "http" || !loopbackHost(o.Hostname()) || !strings.EqualFold(o.Hostname(), u.Hostname()) || o.EscapedPath() != u.EscapedPath() || o.RawQuery != u.RawQuery || o.Fragment != "" || o.User != nil {
			t.Fatalf("%q matches the registered %q", other, reg)
		}
	})
}
