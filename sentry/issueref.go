package sentry

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// IssueRef names an issue: a numeric id or a short id (BACKEND-1A), and the
// organization when the reference carried one.
type IssueRef struct {
	Org string
	ID  string
}

var (
	numericRE = regexp.MustCompile(`^[0-9]{1,20}$`)
	shortIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,99}-[A-Za-z0-9]{1,20}$`)
)

// IsShortID reports whether s looks like a short id (PROJECT-1A).
func IsShortID(s string) bool { return shortIDRE.MatchString(s) && !numericRE.MatchString(s) }

// ParseIssueRef accepts a numeric id, a short id, or an issue URL of the
// configured Sentry in the forms Sentry shows:
//
//	https://sentry.io/organizations/acme/issues/123/
//	https://acme.sentry.io/issues/123/
//	https://sentry.example.com/organizations/acme/issues/123/
//	https://sentry.io/acme/backend/issues/123/ (permalink)
//
// URLs on any other host are refused; nothing is requested.
func (c *Client) ParseIssueRef(s string) (IssueRef, error) {
	s = strings.TrimSpace(s)
	switch {
	case numericRE.MatchString(s):
		return IssueRef{ID: s}, nil
	case IsShortID(s):
		return IssueRef{ID: strings.ToUpper(s)}, nil
	case !strings.Contains(s, "://"):
		return IssueRef{}, fmt.Errorf("%q is not an issue id, short id (like BACKEND-1A) or issue URL", clip(s))
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return IssueRef{}, fmt.Errorf("%q is not a valid issue URL", clip(s))
	}
	if !c.IsSentryURL(u) {
		return IssueRef{}, fmt.Errorf("refusing issue URL on host %q: this server only talks to %s", clip(u.Host), c.base.Host)
	}
	p := u.EscapedPath()
	if bp := c.base.Path; bp != "" && canonicalHost(u) == c.base.Host {
		if !strings.HasPrefix(p, bp+"/") {
			return IssueRef{}, fmt.Errorf("issue URL %q is outside %s", clip(s), c.base.String())
		}
		p = strings.TrimPrefix(p, bp)
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	var ref IssueRef
	switch {
	case len(parts) >= 4 && parts[0] == "organizations" && parts[2] == "issues":
		ref = IssueRef{Org: parts[1], ID: parts[3]}
	case len(parts) >= 2 && parts[0] == "issues":
		sub := strings.ToLower(u.Hostname())
		if !isSentryIO(sub) || sub == "sentry.io" || c.isRegionHost(sub) {
			// us.sentry.io/issues/1/ is a region, not an organization.
			return IssueRef{}, fmt.Errorf("issue URL %q names no organization (use .../organizations/ORG/issues/ID/)", clip(s))
		}
		ref = IssueRef{Org: strings.TrimSuffix(sub, ".sentry.io"), ID: parts[1]}
	case len(parts) >= 4 && parts[2] == "issues" && parts[0] != "api":
		ref = IssueRef{Org: parts[0], ID: parts[3]}
	default:
		return IssueRef{}, fmt.Errorf("%q is not an issue URL (expected .../organizations/ORG/issues/ID/)", clip(s))
	}
	if !ValidSlug(ref.Org) || !(numericRE.MatchString(ref.ID) || IsShortID(ref.ID)) {
		return IssueRef{}, fmt.Errorf("issue URL %q has an invalid organization or issue id", clip(s))
	}
	return ref, nil
}

// regionHosts are sentry.io's region hosts (links.regionUrl of
// organizations, BEHAVIOUR.md section 1). Hosts of regionUrls the client
// has seen count as well.
var regionHosts = map[string]bool{"us.sentry.io": true, "de.sentry.io": true}

// isRegionHost reports whether host (lower case) is a region's API host
// rather than an organization's subdomain.
func (c *Client) isRegionHost(host string) bool {
	if regionHosts[host] {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regionHosts[host]
}

// clip shortens s for an error message (which quotes it, so that control
// and invalid bytes show escaped), without any userinfo.
func clip(s string) string {
	s = RedactUserinfo(s)
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
