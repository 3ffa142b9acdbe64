// Package redirecturi holds the hosted authorization server's rules for
// OAuth redirect URIs: which ones a client may register (Check), and which
// redirect a registration allows (Matches). It is a leaf package so that its
// fuzzer builds quickly.
package redirecturi

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// Check says what is wrong with a redirect URI ("" = fine):
// https, http on a loopback address (RFC 8252 s7.3), or a private-use
// scheme of a native app (s7.1); never a fragment, credentials or a
// scheme that runs code.
func Check(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || !u.IsAbs() {
		return fmt.Sprintf("redirect URI %q is not an absolute URI", render.Line(raw, 100))
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "a redirect URI must not have a fragment"
	}
	if u.User != nil {
		return "a redirect URI must not carry credentials"
	}
	if strings.ContainsAny(u.Host, "%\\ ") {
		return "a redirect URI's host must be a plain name or address (no zone, escapes or blanks)"
	}
	switch scheme := strings.ToLower(u.Scheme); scheme {
	case "https":
		if u.Host == "" {
			return "an https redirect URI needs a host"
		}
	case "http":
		if !loopbackHost(u.Hostname()) {
			return "an http redirect URI must be on a loopback address (127.0.0.1, [::1] or localhost); use https otherwise"
		}
	case "javascript", "data", "file", "vbscript", "blob", "about", "ws", "wss", "ftp":
		return fmt.Sprintf("the %s scheme is not allowed for a redirect URI", scheme)
	}
	return ""
}

// loopbackHost is localhost or a loopback address.
var loopbackHost = sentry.IsLoopback

// Matches is exact matching of a registered redirect URI, except
// that a loopback http redirect matches on any port (RFC 8252 s7.3).
func Matches(registered []string, got string) bool {
	if slices.Contains(registered, got) {
		return true
	}
	g, err := url.Parse(got)
	if err != nil || g.Scheme != "http" || !loopbackHost(g.Hostname()) {
		return false
	}
	for _, reg := range registered {
		r, err := url.Parse(reg)
		if err != nil || r.Scheme != "http" || !loopbackHost(r.Hostname()) {
			continue
		}
		if strings.EqualFold(r.Hostname(), g.Hostname()) && r.EscapedPath() == g.EscapedPath() && r.RawQuery == g.RawQuery && g.Fragment == "" && g.User == nil {
			return true
		}
	}
	return false
}
