package sentrytest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Data is everything the fake serves: one authenticated user and the
// organizations that user belongs to (Server.AddUser adds further users). Exported fields may be edited freely
// before the Data is handed to NewServer; afterwards the server owns it
// (several servers may share one Data: it carries its own lock) and tests
// change it only through the API or read it back with Server.Issue.
type Data struct {
	// User is the token owner's serialization, in the shape of the "user"
	// object of GET /api/0/ (examples/api.index.json).
	User map[string]any
	// Orgs lists the organizations the user is a member of.
	Orgs []*Org
	// BaseTime is the instant the sample was built around: DemoData's
	// timestamps are relative to it, AddIssues dates its issues just
	// before it. Zero means time.Now() at the time of use.
	BaseTime time.Time

	mu sync.Mutex
}

// Org is an organization.
type Org struct {
	ID, Slug, Name string
	DateCreated    time.Time
	// Features are the organization's feature flags; "global-views" allows
	// issue searches across more than one project.
	Features []string
	// Role is the user's org role: member, admin, manager or owner (""
	// means owner). Token scopes are intersected with the role's scopes
	// for object permission checks, as Sentry does.
	Role string
	// UserAction makes every request on the organization's endpoints fail
	// with Sentry's 401 for an organization that requires the user to act
	// in the browser: CodeSSORequired, Code2FARequired or CodeSudoRequired
	// (see Server.RequireUserAction). "" = none.
	UserAction string
	// OrganizationURL is links.organizationUrl; "" means the server's URL.
	// links.regionUrl always comes from Options.RegionURL.
	OrganizationURL string
	// ClosedMembership turns Open Membership (allow_joinleave) off: an
	// issue may then be assigned only to users on one of its project's
	// teams and to teams with access to the project (validate_assignedTo).
	ClosedMembership bool
	// HiddenEnvironments exist (issues can be filtered by them) but are
	// hidden: the environments list shows them only with visibility=hidden
	// or all.
	HiddenEnvironments []string
	Teams              []*Team
	// Members are further users issues can be assigned to, in the user
	// serialization shape (id, name, username, email...). Data.User is
	// always a member.
	Members  []map[string]any
	Projects []*Project
	Releases []*Release
	Issues   []*Issue

	// Memberships give members their member id (not the user id), role
	// and flags, and add pending invites (see Membership).
	Memberships []*Membership

	// Transactions are the rows of Discover's transactions dataset
	// (discover.go); the errors dataset reads Issues' events.
	Transactions []*Transaction
	// Traces are what the trace endpoints serve (trace.go).
	Traces []*Trace
	// Fields is the serialization template (an entry of
	// examples/organizations.list.json); the typed fields above win.
	Fields map[string]any
}

// Team is a team of an organization.
type Team struct {
	ID, Slug, Name string
	MemberCount    int
	NotMember      bool // the token's user is not on the team
	// Members are the ids of the Org.Members users on the team (the
	// token's user: see NotMember).
	Members []string
}

// Project is a project of an organization.
type Project struct {
	ID, Slug, Name string
	Platform       string
	DateCreated    time.Time
	Team           string // owning team's slug, "" for none
	NotMember      bool   // the user is not a member (isMember false)
	IsBookmarked   bool
	Environments   []string
	// Fields is the serialization template (an entry of
	// examples/projects.list.json).
	Fields map[string]any
}

// Release is a release of an organization, attached to projects.
type Release struct {
	ID           int
	Version      string
	Projects     []string // project slugs
	DateCreated  time.Time
	DateReleased time.Time // zero = null
	Status       string    // "open" (default when empty) or "archived"
	Commits      []*Commit // newest first (ReleaseCommit.order)
	Deploys      []*Deploy
	// Fields is the serialization template (an entry of
	// examples/releases.list.json).
	Fields map[string]any
}

// Issue is an issue (a Sentry "group").
type Issue struct {
	ID      string // numeric, unique across all orgs
	ShortID string // e.g. BACKEND-1A
	Project string // project slug

	Title, Culprit string
	Level          string // fatal, error, warning, info, debug
	Type           string // "error" or "default"
	Platform       string
	Metadata       map[string]any
	Status         string         // unresolved, resolved, ignored
	Substatus      string         // "" = null
	StatusDetails  map[string]any // as serialized; nil = {}
	Priority       string         // low, medium, high
	Count          int
	UserCount      int
	FirstSeen      time.Time
	LastSeen       time.Time
	Environments   []string
	FirstRelease   string // version, "" = none
	LastRelease    string
	AssignedTo     map[string]any // serialized actor or nil
	HasSeen        bool
	IsBookmarked   bool
	IsSubscribed   bool
	IsPublic       bool
	IsUnhandled    bool
	InboxReviewed  bool
	// Permalink overrides the computed {server URL}/organizations/{org}/issues/{id}/.
	Permalink string
	// Events are full event objects (examples/event.latest.json shape),
	// newest first. Empty means the latest-event endpoint answers 404.
	Events []map[string]any
	// Activity is the issue's activity log, newest first.
	Activity []map[string]any
	// Fields are extra or overriding fields for every issue serialization.
	Fields map[string]any

	priorityLockedAt time.Time
	resolvedAt       time.Time
	subReason        string // why the user is subscribed (subscriptionDetails.reason)
	inboxManual      bool   // put back into the inbox by hand
	// releaseInfo serializes versions that are not releases of the org
	// (ExampleData's firstRelease).
	releaseInfo map[string]any
}

func (d *Data) base() time.Time {
	if !d.BaseTime.IsZero() {
		return d.BaseTime
	}
	return time.Now().UTC().Truncate(time.Minute)
}

// org finds an organization by slug or numeric id (Sentry looks numeric
// values up as ids).
func (d *Data) org(idOrSlug string) *Org {
	for _, o := range d.Orgs {
		if isDecimal(idOrSlug) {
			if o.ID == idOrSlug {
				return o
			}
		} else if o.Slug == idOrSlug {
			return o
		}
	}
	return nil
}

func (d *Data) issueByID(id string) (*Org, *Issue) {
	for _, o := range d.Orgs {
		for _, is := range o.Issues {
			if is.ID == id {
				return o, is
			}
		}
	}
	return nil, nil
}

func (o *Org) project(idOrSlug string) *Project {
	for _, p := range o.Projects {
		if isDecimal(idOrSlug) {
			if p.ID == idOrSlug {
				return p
			}
		} else if p.Slug == idOrSlug {
			return p
		}
	}
	return nil
}

func (o *Org) issue(id string) *Issue {
	for _, is := range o.Issues {
		if is.ID == id {
			return is
		}
	}
	return nil
}

// issueByShortID resolves a qualified short id like "PUMP-STATION-1",
// case-insensitively, the way Group.objects.by_qualified_short_id does.
func (o *Org) issueByShortID(q string) *Issue {
	slug, num, ok := parseShortID(q)
	if !ok {
		return nil
	}
	for _, is := range o.Issues {
		if is.Project != slug {
			continue
		}
		_, n, ok := parseShortID(is.ShortID)
		if ok && n == num {
			return is
		}
	}
	return nil
}

func (o *Org) team(idOrSlug string) *Team {
	for _, t := range o.Teams {
		if t.ID == idOrSlug || t.Slug == idOrSlug {
			return t
		}
	}
	return nil
}

// projectReleases returns the releases of a project, newest first by
// COALESCE(date_released, date_added).
func (o *Org) projectReleases(slug string) []*Release {
	var out []*Release
	for _, r := range o.Releases {
		if slices.Contains(r.Projects, slug) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b *Release) int { return releaseSortTime(b).Compare(releaseSortTime(a)) })
	return out
}

func releaseSortTime(r *Release) time.Time {
	if !r.DateReleased.IsZero() {
		return r.DateReleased
	}
	return r.DateCreated
}

func (o *Org) release(version, projectSlug string) *Release {
	for _, r := range o.Releases {
		if r.Version == version && (projectSlug == "" || slices.Contains(r.Projects, projectSlug)) {
			return r
		}
	}
	return nil
}

// environments is every environment name known in the organization.
func (o *Org) environments() []string {
	out := slices.Clone(o.HiddenEnvironments)
	for _, p := range o.Projects {
		for _, e := range p.Environments {
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	for _, is := range o.Issues {
		for _, e := range is.Environments {
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	return out
}

// members returns the assignable users: the data's user and Org.Members.
func (d *Data) members(o *Org) []map[string]any {
	out := []map[string]any{d.User}
	return append(out, o.Members...)
}

// nextIssueID is one more than the largest numeric issue id of all orgs.
func (d *Data) nextIssueID() int {
	n := 0
	for _, o := range d.Orgs {
		for _, is := range o.Issues {
			if v, err := strconv.Atoi(is.ID); err == nil && v > n {
				n = v
			}
		}
	}
	return n + 1
}

// nextShortNumber is one more than the largest short id number in a project.
func (o *Org) nextShortNumber(project string) int {
	n := 0
	for _, is := range o.Issues {
		if is.Project != project {
			continue
		}
		if _, v, ok := parseShortID(is.ShortID); ok && v > n {
			n = v
		}
	}
	return n + 1
}

// AddIssues appends n simple unresolved error issues to a project (org and
// project by slug or id), each with one latest event. Their lastSeen
// values are one minute apart, going back from the data's BaseTime, so
// the default sort keeps them in insertion order. It panics if the
// organization or project does not exist.
func (d *Data) AddIssues(org, project string, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.org(org)
	if o == nil {
		panic("sentrytest: AddIssues: no organization " + org)
	}
	p := o.project(project)
	if p == nil {
		panic("sentrytest: AddIssues: no project " + project + " in " + org)
	}
	base := d.base()
	id := d.nextIssueID()
	num := o.nextShortNumber(p.Slug)
	env := "production"
	if len(p.Environments) > 0 {
		env = p.Environments[0]
	}
	rels := o.projectReleases(p.Slug)
	for i := 0; i < n; i++ {
		k := len(o.Issues) + 1
		spec := genericIssues[i%len(genericIssues)]
		is := &Issue{
			ID:           strconv.Itoa(id + i),
			ShortID:      strings.ToUpper(p.Slug) + "-" + base32Encode(num+i),
			Project:      p.Slug,
			Title:        fmt.Sprintf("%s: %s (#%d)", spec.typ, spec.value, k),
			Level:        "error",
			Type:         "error",
			Platform:     p.Platform,
			Status:       "unresolved",
			Substatus:    "ongoing",
			Priority:     "medium",
			Count:        3 + (i*7)%50,
			UserCount:    1 + (i*3)%11,
			FirstSeen:    base.Add(-time.Duration(48*60+i) * time.Minute),
			LastSeen:     base.Add(-time.Duration(i+1) * time.Minute),
			Environments: []string{env},
		}
		if len(rels) > 0 {
			is.FirstRelease, is.LastRelease = rels[0].Version, rels[0].Version
		}
		frames := genericFrames(p.Platform, spec.fn, k)
		is.Culprit = culpritFor(p.Platform, frames)
		is.Metadata = map[string]any{"type": spec.typ, "value": fmt.Sprintf("%s (#%d)", spec.value, k), "filename": frames[len(frames)-1].file, "function": frames[len(frames)-1].fn, "in_app_frame_mix": "mixed"}
		is.Events = []map[string]any{buildEvent(o, p, is, eventSpec{
			excType: spec.typ, excValue: fmt.Sprintf("%s (#%d)", spec.value, k), handled: true, mechanism: "generic",
			frames: frames, env: env, when: is.LastSeen, release: is.LastRelease, seq: 0,
		})}
		is.Activity = []map[string]any{firstSeenActivity(is)}
		o.Issues = append(o.Issues, is)
	}
}

var genericIssues = []struct{ typ, value, fn string }{
	{"RuntimeError", "Something went wrong", "handle"},
	{"ValueError", "unexpected value", "parse"},
	{"KeyError", "missing key", "lookup"},
}

// Crockford's base32, as Sentry's short ids use it (sentry.utils.strings).
const base32Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func base32Encode(n int) string {
	if n <= 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append(b, base32Alphabet[n%32])
		n /= 32
	}
	slices.Reverse(b)
	return string(b)
}

func base32Decode(s string) (int, bool) {
	if s == "" || len(s) > 12 {
		return 0, false
	}
	n := 0
	for _, c := range strings.ToUpper(s) {
		switch c {
		case 'I', 'L':
			c = '1'
		case 'O':
			c = '0'
		}
		i := strings.IndexRune(base32Alphabet, c)
		if i < 0 {
			return 0, false
		}
		n = n*32 + i
	}
	return n, true
}

// parseShortID splits "PUMP-STATION-1A" into the lower-cased project slug
// and the decoded number. Like Sentry's regex it also takes a space or an
// underscore as the separator.
func parseShortID(s string) (slug string, num int, ok bool) {
	s = strings.TrimSpace(s)
	i := strings.LastIndexAny(s, "-_ \t")
	if i <= 0 || i == len(s)-1 {
		return "", 0, false
	}
	for _, c := range s[i+1:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "", 0, false
		}
	}
	num, ok = base32Decode(s[i+1:])
	if !ok {
		return "", 0, false
	}
	return strings.ToLower(s[:i]), num, true
}

// looksLikeShortID mirrors sentry.models.group.looks_like_short_id.
func looksLikeShortID(s string) bool {
	_, _, ok := parseShortID(s)
	return ok
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
