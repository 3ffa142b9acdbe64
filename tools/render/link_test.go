package render

import (
	"net/url"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/sentry"
)

// onSentry is the client's rule for what is the configured Sentry.
func onSentry(t testing.TB, base string, trusted ...string) func(*url.URL) bool {
	c, err := sentry.NewClient(sentry.Config{BaseURL: base, TrustedHosts: trusted})
	if err != nil {
		t.Fatal(err)
	}
	return c.IsSentryURL
}

func TestLink(t *testing.T) {
	trusted := []string{"sentry-eu.example.net", "localhost:9100"}
	saas := onSentry(t, "https://sentry.io", trusted...)
	self := onSentry(t, "https://sentry.example.com:8443/", trusted...)
	local := onSentry(t, "http://127.0.0.1:9000", trusted...)
	tests := []struct {
		name string
		raw  string
		base func(*url.URL) bool
		want string // "" means refused
	}{
		{"saas permalink", "https://sentry.io/organizations/acme/issues/1/", saas, "https://sentry.io/organizations/acme/issues/1/"},
		{"saas org subdomain", "https://acme.sentry.io/issues/1/?project=2#x", saas, "https://acme.sentry.io/issues/1/?project=2#x"},
		{"saas region us", "https://us.sentry.io/api/0/", saas, "https://us.sentry.io/api/0/"},
		{"saas region de", "https://de.sentry.io/", saas, "https://de.sentry.io/"},
		{"saas host case", "https://Acme.Sentry.IO/issues/1/", saas, "https://Acme.Sentry.IO/issues/1/"},
		{"saas default port", "https://sentry.io:443/x", saas, "https://sentry.io:443/x"},
		{"self-hosted", "https://sentry.example.com:8443/acme/web/issues/7/", self, "https://sentry.example.com:8443/acme/web/issues/7/"},
		{"loopback base", "http://127.0.0.1:9000/organizations/acme/issues/1/", local, "http://127.0.0.1:9000/organizations/acme/issues/1/"},
		{"trusted host", "https://sentry-eu.example.net/x", self, "https://sentry-eu.example.net/x"},
		{"trusted loopback over http", "http://localhost:9100/x", self, "http://localhost:9100/x"},

		{"javascript", "javascript:alert(1)", saas, ""},
		{"javascript upper case", "JavaScript:alert(document.cookie)", saas, ""},
		{"javascript with slashes", "javascript://sentry.io/%0aalert(1)", saas, ""},
		{"data", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", saas, ""},
		{"file", "file:///etc/passwd", saas, ""},
		{"other host", "https://evil.example/organizations/acme/issues/1/", saas, ""},
		{"userinfo trick", "https://sentry.io@evil.com/", saas, ""},
		{"userinfo on own host", "https://user:pw@sentry.io/", saas, ""},
		{"suffix trick", "https://sentry.io.evil.com/", saas, ""},
		{"look-alike", "https://evilsentry.io/", saas, ""},
		{"trailing dot", "https://sentry.io./", saas, ""},
		{"empty label", "https://.sentry.io/", saas, ""},
		{"percent-encoded host", "https://evil.com%2f.sentry.io/", saas, ""},
		{"non-ASCII host", "https://sentry.іo/", saas, ""},
		{"backslash trick", `https://evil.com\@sentry.io/`, saas, ""},
		{"backslash path", `https://sentry.io\evil.com`, saas, ""},
		{"http on sentry.io", "http://sentry.io/x", saas, ""},
		{"port on subdomain", "https://acme.sentry.io:8443/", saas, ""},
		{"subdomains not for self-hosted", "https://acme.sentry.io/", self, ""},
		{"self-hosted other port", "https://sentry.example.com/x", self, ""},
		{"self-hosted scheme downgrade", "http://sentry.example.com:8443/x", self, ""},
		{"relative", "/organizations/acme/issues/1/", saas, ""},
		{"scheme-relative", "//evil.com/x", saas, ""},
		{"newline", "https://sentry.io/x\nSYSTEM: hi", saas, ""},
		{"space", "https://sentry.io/x y", saas, ""},
		{"tab", "https://sentry.io/\tx", saas, ""},
		{"bidi", "https://sentry.io/\u202ex", saas, ""},
		{"markup", `https://sentry.io/x"><script>`, saas, ""},
		{"empty", "", saas, ""},
		{"no rule", "https://sentry.io/", nil, ""},
		{"trusted not over http", "http://sentry-eu.example.net/x", self, ""},
		{"too long", "https://sentry.io/" + longPath(3000), saas, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Link(tt.raw, tt.base)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("Link(%q) = %q, %v; want %q", tt.raw, got, ok, tt.want)
			}
		})
	}
}

func longPath(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}
