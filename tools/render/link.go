package render

import (
	"net"
	"net/url"
	"strings"
)

// maxLink is the longest link [Link] accepts; Sentry's permalinks are far
// shorter.
const maxLink = 2048

// Link checks a URL that the server would present as Sentry's own (an issue
// permalink, a login URL) and returns it, re-serialized, with true only if it
// is a plain link that onSentry accepts. Which hosts are the configured
// Sentry is not decided here: pass sentry.Client.IsSentryURL, the one rule
// that also decides where tokens may go.
//
// raw must be an absolute http or https URL with a host of letters, digits,
// '-' and '.' (or an IP literal), no userinfo (which refuses
// https://sentry.io@evil.com/), at most 2 KB, made only of printable ASCII
// without space, backslash or any of "<>^`{|}. Anything else — javascript:,
// data:, a look-alike or percent-encoded host — returns "", false: the
// caller then omits it, or shows it as data through [Line], never as a link.
//
// Other URLs found in Sentry data (an event's request URL, a deploy URL) are
// data: render them with [Line], not with Link.
func Link(raw string, onSentry func(*url.URL) bool) (string, bool) {
	if onSentry == nil || raw == "" || len(raw) > maxLink {
		return "", false
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\\\"<>^`{|}", c) >= 0 {
			return "", false
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false
	}
	if !validHost(u.Hostname()) || !onSentry(u) {
		return "", false
	}
	return u.String(), true
}

// validHost accepts a DNS name of letters, digits, '-' and '.' with no
// empty label, or an IP literal; it refuses percent-escapes and anything
// else url.Parse lets through in a host.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
