package sentrytest

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// view serializes data for one response.
type view struct {
	s   *Server
	d   *Data
	now time.Time
}

func (v *view) baseURL() string { return v.s.URL }

func (v *view) regionURL() string {
	if v.s.opts.RegionURL != "" {
		return strings.TrimSuffix(v.s.opts.RegionURL, "/")
	}
	return v.s.URL
}

func (v *view) organization(o *Org) map[string]any {
	m := copyMap(o.Fields)
	if m == nil {
		m = exampleObject("organizations.list.json")
	}
	m["id"], m["slug"], m["name"] = o.ID, o.Slug, o.Name
	m["dateCreated"] = isoTime(o.DateCreated)
	m["features"] = deepCopy(o.Features)
	if o.Features == nil {
		m["features"] = []any{}
	}
	orgURL := o.OrganizationURL
	if orgURL == "" {
		orgURL = v.baseURL()
	}
	m["links"] = map[string]any{"organizationUrl": orgURL, "regionUrl": v.regionURL()}
	return m
}

func (v *view) teamObj(t *Team) map[string]any {
	return map[string]any{"id": t.ID, "name": t.Name, "slug": t.Slug}
}

// team is a row of the organization's teams list (teams.list.json);
// detailed adds the team's projects.
func (v *view) team(o *Org, t *Team, detailed bool) map[string]any {
	m := exampleObject("teams.list.json")
	m["id"], m["slug"], m["name"] = t.ID, t.Slug, t.Name
	m["isMember"], m["memberCount"] = !t.NotMember, t.MemberCount
	delete(m, "projects")
	delete(m, "externalTeams")
	if detailed {
		projects := []any{}
		for _, p := range o.Projects {
			if p.Team == t.Slug {
				projects = append(projects, v.project(o, p))
			}
		}
		m["projects"], m["externalTeams"] = projects, []any{}
	}
	return m
}

func (v *view) project(o *Org, p *Project) map[string]any {
	m := copyMap(p.Fields)
	if m == nil {
		m = exampleObject("projects.list.json")
	}
	m["id"], m["slug"], m["name"] = p.ID, p.Slug, p.Name
	m["dateCreated"] = isoTime(p.DateCreated)
	m["isBookmarked"] = p.IsBookmarked
	m["isMember"] = !p.NotMember
	m["hasAccess"] = true
	m["platform"] = p.Platform
	m["platforms"] = []any{}
	if p.Platform != "" {
		m["platforms"] = []any{p.Platform}
	}
	m["team"], m["teams"] = nil, []any{}
	if t := o.team(p.Team); t != nil {
		m["team"], m["teams"] = v.teamObj(t), []any{v.teamObj(t)}
	}
	m["environments"] = deepCopy(p.Environments)
	if p.Environments == nil {
		m["environments"] = []any{}
	}
	var first time.Time
	for _, is := range o.Issues {
		if is.Project == p.Slug && (first.IsZero() || is.FirstSeen.Before(first)) {
			first = is.FirstSeen
		}
	}
	m["firstEvent"] = nullableTime(first)
	m["latestRelease"] = nil
	if rels := o.projectReleases(p.Slug); len(rels) > 0 {
		m["latestRelease"] = map[string]any{"version": rels[0].Version}
	}
	return m
}

var semverRe = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$`)
var shaRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

func shortVersion(v string) string {
	if shaRe.MatchString(v) {
		return v[:7]
	}
	return v
}

// versionInfo is the release serializer's parse of "package@version".
func versionInfo(version string) map[string]any {
	pkg, raw, ok := strings.Cut(version, "@")
	if !ok {
		pkg, raw = "", version
	}
	info := map[string]any{"package": nil, "description": raw, "buildHash": nil}
	if pkg != "" {
		info["package"] = pkg
	}
	if m := semverRe.FindStringSubmatch(raw); m != nil {
		maj, _ := strconv.Atoi(m[1])
		mnr, _ := strconv.Atoi(m[2])
		pat, _ := strconv.Atoi(m[3])
		var pre, build any
		if m[4] != "" {
			pre = m[4]
		}
		if m[5] != "" {
			build = m[5]
		}
		info["version"] = map[string]any{"raw": raw, "major": maj, "minor": mnr, "patch": pat, "pre": pre, "buildCode": build, "components": 3}
	} else {
		info["version"] = map[string]any{"raw": raw}
		if shaRe.MatchString(raw) {
			info["buildHash"] = raw
			info["description"] = raw[:12]
		}
	}
	return info
}

func (v *view) release(o *Org, r *Release) map[string]any {
	m := copyMap(r.Fields)
	if m == nil {
		m = exampleObject("releases.list.json")
	}
	status := r.Status
	if status == "" {
		status = "open"
	}
	m["id"], m["version"], m["shortVersion"], m["status"] = r.ID, r.Version, shortVersion(r.Version), status
	m["versionInfo"] = versionInfo(r.Version)
	m["dateCreated"] = isoTime(r.DateCreated)
	m["dateReleased"] = nullableTime(r.DateReleased)
	var first, last time.Time
	newGroups := map[string]int{}
	for _, is := range o.Issues {
		if !slices.Contains(r.Projects, is.Project) {
			continue
		}
		if is.FirstRelease == r.Version {
			newGroups[is.Project]++
			if first.IsZero() || is.FirstSeen.Before(first) {
				first = is.FirstSeen
			}
		}
		if is.LastRelease == r.Version && is.LastSeen.After(last) {
			last = is.LastSeen
		}
	}
	m["firstEvent"], m["lastEvent"] = nullableTime(first), nullableTime(last)
	total := 0
	var projects []any
	for _, slug := range r.Projects {
		p := o.project(slug)
		if p == nil {
			continue
		}
		id, _ := strconv.Atoi(p.ID)
		platforms := []any{}
		if p.Platform != "" {
			platforms = []any{p.Platform}
		}
		projects = append(projects, map[string]any{"id": id, "slug": p.Slug, "name": p.Name, "newGroups": newGroups[slug], "platform": p.Platform, "platforms": platforms, "hasHealthData": false})
		total += newGroups[slug]
	}
	if projects == nil {
		projects = []any{}
	}
	m["projects"] = projects
	m["newGroups"] = total
	v.releaseCommitFields(m, o, r)
	return m
}

// status returns the issue's status as the serializer reports it: an
// ignore whose snooze ran out reads as unresolved (the substatus stays
// until Sentry's task unignores it).
func (v *view) status(is *Issue) (string, any, map[string]any) {
	status, details := is.Status, copyMap(is.StatusDetails)
	if details == nil {
		details = map[string]any{}
	}
	if status == "ignored" {
		if until, ok := details["ignoreUntil"].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, until); err == nil && !v.now.Before(t) {
				status, details = "unresolved", map[string]any{}
			}
		}
	}
	var sub any
	if is.Substatus != "" {
		sub = is.Substatus
	}
	return status, sub, details
}

func (v *view) permalink(o *Org, is *Issue) string {
	if is.Permalink != "" {
		return is.Permalink
	}
	return v.baseURL() + "/organizations/" + o.Slug + "/issues/" + is.ID + "/"
}

// issueBase is the base GroupSerializer output (issue.update.response.json
// and the "group" of shortid.get.json).
func (v *view) issueBase(o *Org, is *Issue) map[string]any {
	m := exampleObject("issue.update.response.json")
	for k, val := range exampleObject("shortid.get.json")["group"].(map[string]any) {
		m[k] = val
	}
	v.fillBase(m, o, is, nil)
	return m
}

// fillBase writes the issue's base fields into m (a copy of a template).
// envs scales count and userCount to those environments.
func (v *view) fillBase(m map[string]any, o *Org, is *Issue, envs []string) {
	p := o.project(is.Project)
	status, sub, details := v.status(is)
	share := envShare(is, envs)
	m["id"], m["shortId"] = is.ID, is.ShortID
	m["title"], m["culprit"] = is.Title, is.Culprit
	m["permalink"] = v.permalink(o, is)
	m["logger"] = nil
	m["level"] = is.Level
	m["status"], m["substatus"], m["statusDetails"] = status, sub, details
	m["isPublic"] = is.IsPublic
	m["shareId"] = nil
	if is.IsPublic {
		m["shareId"] = hexID("share", is.ID)
	}
	m["platform"] = is.Platform
	m["priority"] = is.Priority
	m["priorityLockedAt"] = nullableTime(is.priorityLockedAt)
	m["seerFixabilityScore"], m["seerAutofixLastTriggered"], m["seerExplorerAutofixLastTriggered"] = nil, nil, nil
	proj := map[string]any{"id": p.ID, "name": p.Name, "slug": p.Slug, "platform": p.Platform}
	m["project"] = proj
	typ := is.Type
	if typ == "" {
		typ = "error"
	}
	m["type"] = typ
	m["issueType"], m["issueCategory"] = "error", "error"
	m["metadata"] = copyMap(is.Metadata)
	if is.Metadata == nil {
		m["metadata"] = map[string]any{"title": is.Title}
	}
	m["numComments"] = numComments(is)
	m["assignedTo"] = nil
	if is.AssignedTo != nil {
		m["assignedTo"] = copyMap(is.AssignedTo)
	}
	m["isBookmarked"], m["isSubscribed"], m["hasSeen"] = is.IsBookmarked, is.IsSubscribed, is.HasSeen
	m["subscriptionDetails"] = nil
	if is.IsSubscribed {
		reason := is.subReason
		if reason == "" && is.AssignedTo != nil && is.AssignedTo["type"] == "user" && is.AssignedTo["id"] == v.d.userID() {
			reason = "assigned"
		}
		if reason != "" {
			m["subscriptionDetails"] = map[string]any{"reason": reason}
		}
	}
	m["annotations"] = []any{}
	m["count"] = strconv.Itoa(scale(is.Count, share))
	m["userCount"] = scale(is.UserCount, share)
	m["firstSeen"], m["lastSeen"] = isoTime(is.FirstSeen), isoTime(is.LastSeen)
	for k, val := range is.Fields {
		m[k] = deepCopy(val)
	}
}

// envShare is the fraction of an issue's events in the given environments.
func envShare(is *Issue, envs []string) float64 {
	if len(envs) == 0 || len(is.Environments) == 0 {
		return 1
	}
	share := 0.0
	for i, e := range is.Environments {
		if !slices.Contains(envs, e) {
			continue
		}
		if len(is.Environments) == 1 {
			share += 1
		} else if i == 0 {
			share += 0.85
		} else {
			share += 0.15 / float64(len(is.Environments)-1)
		}
	}
	return share
}

func scale(n int, share float64) int {
	if share >= 1 {
		return n
	}
	return int(math.Round(float64(n) * share))
}

// stream is an issue list entry: the org list uses
// StreamGroupSerializerSnuba (issues.list.org.json), the project list
// StreamGroupSerializer (issues.list.project.json).
func (v *view) stream(o *Org, is *Issue, orgList bool, statsPeriod string, envs, expand []string) map[string]any {
	tpl := "issues.list.project.json"
	if orgList {
		tpl = "issues.list.org.json"
	}
	m := exampleObject(tpl)
	v.fillBase(m, o, is, envs)
	delete(m, "stats")
	if statsPeriod != "" {
		m["stats"] = map[string]any{statsPeriod: v.series(is, statsPeriod, envs)}
	}
	if !orgList {
		return m
	}
	m["lifetime"] = map[string]any{"count": strconv.Itoa(is.Count), "userCount": is.UserCount, "firstSeen": isoTime(is.FirstSeen), "lastSeen": isoTime(is.LastSeen)}
	m["filtered"] = nil
	m["isUnhandled"] = is.IsUnhandled
	m["matchingEventId"], m["matchingEventEnvironment"] = nil, nil
	// Expand-only fields.
	for _, k := range []string{"inbox", "owners", "integrationIssues", "sentryAppIssues", "latestEventHasAttachments", "sessionCount", "derivedData"} {
		delete(m, k)
	}
	for _, e := range expand {
		switch e {
		case "inbox":
			m["inbox"] = v.inbox(is)
		case "owners":
			m["owners"] = nil
		case "integrationIssues", "sentryAppIssues":
			m[e] = []any{}
		case "latestEventHasAttachments":
			m[e] = false
		case "sessions":
			m["sessionCount"] = 0
		}
	}
	return m
}

// inboxReason is GroupInboxReason for an issue still awaiting review.
func (v *view) inboxReason(is *Issue) (int, bool) {
	status, sub, _ := v.status(is)
	if status != "unresolved" {
		return 0, false
	}
	if is.inboxManual {
		return 3, true
	}
	if is.InboxReviewed {
		return 0, false
	}
	switch sub {
	case "new":
		return 0, true
	case "regressed":
		return 2, true
	case "escalating":
		return 5, true
	}
	return 0, false
}

func (v *view) inbox(is *Issue) any {
	reason, ok := v.inboxReason(is)
	if !ok {
		return nil
	}
	added := is.FirstSeen
	if reason != 0 {
		added = is.LastSeen.Add(-time.Duration(hashInt(120, is.ID, "inbox")) * time.Minute)
		if added.Before(is.FirstSeen) {
			added = is.FirstSeen
		}
	}
	return map[string]any{"reason": reason, "reason_details": nil, "date_added": isoTime(added)}
}

// series is a stats time series: 24h = 24 hourly buckets, 14d/30d daily.
func (v *view) series(is *Issue, period string, envs []string) []any {
	step, n := time.Hour, 24
	switch period {
	case "14d":
		step, n = 24*time.Hour, 14
	case "30d":
		step, n = 24*time.Hour, 30
	}
	end := v.now.Truncate(step)
	active := is.LastSeen.Sub(is.FirstSeen).Seconds()
	if active < 3600 {
		active = 3600
	}
	rate := float64(is.Count) * envShare(is, envs) / active
	out := make([]any, 0, n)
	for i := n - 1; i >= 0; i-- {
		bstart := end.Add(-time.Duration(i) * step)
		bend := bstart.Add(step)
		lo, hi := bstart, bend
		if is.FirstSeen.After(lo) {
			lo = is.FirstSeen
		}
		if is.LastSeen.Add(time.Minute).Before(hi) {
			hi = is.LastSeen.Add(time.Minute)
		}
		val := 0
		if hi.After(lo) {
			w := 0.4 + float64(hashInt(120, is.ID, strconv.FormatInt(bstart.Unix(), 10)))/100
			val = int(math.Round(rate * hi.Sub(lo).Seconds() * w))
			if val == 0 && !is.LastSeen.Before(bstart) && is.LastSeen.Before(bend) {
				val = 1
			}
		}
		out = append(out, []any{bstart.Unix(), val})
	}
	return out
}

// releaseRef serializes an issue's first/last release for issue details.
func (v *view) releaseRef(o *Org, is *Issue, version string) any {
	if version == "" {
		return nil
	}
	if r := o.release(version, is.Project); r != nil {
		return v.release(o, r)
	}
	if t, ok := is.releaseInfo[version]; ok {
		return deepCopy(t)
	}
	return map[string]any{"version": version}
}

var tagLabels = map[string]string{
	"exc_type": "Exception Type", "sentry:user": "User", "sentry:release": "Release",
	"sentry:dist": "Distribution", "os": "OS", "url": "URL", "server_name": "Server",
}

// tagLabel is tagstore's get_tag_key_label: known labels, else Python's
// key.replace("_", " ").title().
func tagLabel(key string) string {
	if l, ok := tagLabels[key]; ok {
		return l
	}
	var b strings.Builder
	prevLetter := false
	for _, r := range strings.ReplaceAll(key, "_", " ") {
		if unicode.IsLetter(r) {
			if prevLetter {
				b.WriteRune(unicode.ToLower(r))
			} else {
				b.WriteRune(unicode.ToUpper(r))
			}
			prevLetter = true
		} else {
			b.WriteRune(r)
			prevLetter = false
		}
	}
	return b.String()
}

// tagValues are the issue's tag values, from its events (the latest
// first) plus level, environment and releases.
func (v *view) tagValues(is *Issue) map[string][]string {
	out := map[string][]string{}
	addv := func(k, val string) {
		if val != "" && !slices.Contains(out[k], val) {
			out[k] = append(out[k], val)
		}
	}
	for _, ev := range is.Events {
		tags, _ := ev["tags"].([]any)
		for _, t := range tags {
			tm, _ := t.(map[string]any)
			k, _ := tm["key"].(string)
			val, _ := tm["value"].(string)
			addv(k, val)
		}
	}
	if len(is.Events) > 0 {
		addv("level", is.Level)
		for _, e := range is.Environments {
			addv("environment", e)
		}
		addv("release", is.LastRelease)
		addv("release", is.FirstRelease)
	}
	return out
}

// issueDetails is GroupDetailsEndpoint.get's output (issue.get.json).
func (v *view) issueDetails(o *Org, is *Issue, envs []string) map[string]any {
	m := exampleObject("issue.get.json")
	v.fillBase(m, o, is, envs)
	m["activity"] = deepCopy(is.Activity)
	if is.Activity == nil {
		m["activity"] = []any{}
	}
	m["seenBy"] = []any{}
	if is.HasSeen {
		u := copyMap(v.d.User)
		u["lastSeen"] = isoTime(v.now)
		m["seenBy"] = []any{u}
	}
	m["participants"] = []any{}
	if a := is.AssignedTo; a != nil && a["type"] == "user" {
		for _, u := range v.d.members(o) {
			if u["id"] == a["id"] {
				pu := copyMap(u)
				pu["type"] = "user"
				m["participants"] = []any{pu}
			}
		}
	}
	m["userReportCount"] = 0
	m["firstRelease"] = v.releaseRef(o, is, is.FirstRelease)
	m["lastRelease"] = nil
	if is.FirstRelease != "" {
		m["lastRelease"] = v.releaseRef(o, is, is.LastRelease)
	}
	count := scale(is.Count, envShare(is, envs))
	var tags []map[string]any
	for k := range v.tagValues(is) {
		tags = append(tags, map[string]any{"key": k, "name": tagLabel(k), "totalValues": count})
	}
	slices.SortFunc(tags, func(a, b map[string]any) int { return strings.Compare(a["name"].(string), b["name"].(string)) })
	tagList := []any{}
	for _, t := range tags {
		tagList = append(tagList, t)
	}
	m["tags"] = tagList
	m["stats"] = map[string]any{"24h": v.series(is, "24h", envs), "30d": v.series(is, "30d", envs)}
	return m
}
