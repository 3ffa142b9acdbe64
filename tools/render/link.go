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
// points at the configured Sentry, base:
//
//   - the same scheme and host[:port] as base (default ports ignored, host
//     case ignored; base's path is not checked);
//   - when base is https on sentry.io or a *.sentry.io host: any https URL
//     on sentry.io or a subdomain (us.sentry.io, de.sentry.io,
//     <org>.sentry.io) without an explicit port other than 443;
//   - a host[:port] listed in trusted (as sentry.Config.TrustedHosts), over
//     https, or over http when the host is loopback.
//
// raw must be an absolute http or https URL with a host, no userinfo (which
// refuses https://sentry.io@evil.com/), at most 2 KB, made only of printable
// ASCII without space, backslash or any of "<>^`{|}. Anything else — javascript:,
// data:, another host, a look-alike host — returns "", false: the caller
// then omits it, or shows it as data through [Line], never as a link.
//
// Other URLs found in Sentry data (an event's request URL, a deploy URL) are
// data: render them with [Line], not with Link.
func Link(raw string, base *url.URL, trusted ...string) (string, bool) {
	if base == nil || raw == "" || len(raw) > maxLink {
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
	if !validHost(u.Hostname()) {
		return "", false
	}
	host := canonicalHost(u)
	switch {
	case u.Scheme == strings.ToLower(base.Scheme) && host == canonicalHost(base):
	case base.Scheme == "https" && isSentryIO(base.Hostname()) && u.Scheme == "https" && !strings.Contains(host, ":") && isSentryIO(u.Hostname()):
	case isTrusted(u, host, trusted):
	default:
		return "", false
	}
	return u.String(), true
}

func isTrusted(u *url.URL, host string, trusted []string) bool {
	for _, t := range trusted {
		if t != "" && host == strings.ToLower(t) && (u.Scheme == "https" || isLoopback(u.Hostname())) {
			return true
		}
	}
	return false
}

// canonicalHost is u's host[:port], lower-cased, without a default port.
func canonicalHost(u *url.URL) string {
	h := strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
		h = strings.TrimSuffix(h, ":"+p)
	}
	return h
}

// validHost accepts a DNS name of letters, digits, '-' and '.', or an IP
// literal; it refuses percent-escapes and anything else url.Parse lets
// through in a host.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// isSentryIO reports whether host is sentry.io or a subdomain of it, every
// label non-empty.
func isSentryIO(host string) bool {
	host = strings.ToLower(host)
	if host == "sentry.io" {
		return true
	}
	sub, ok := strings.CutSuffix(host, ".sentry.io")
	if !ok || sub == "" {
		return false
	}
	for _, label := range strings.Split(sub, ".") {
		if label == "" || !validHost(label) {
			return false
		}
	}
	return true
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
