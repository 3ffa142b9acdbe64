package sentrytest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The events of an issue (BEHAVIOUR.md 4.11), one event of a project and
// the organization's event-id lookup (4.12). One event of an issue,
// GroupEventDetailsEndpoint, is in routes.go and handlers.go.

// permProjectEvents is ProjectPermission (ProjectEventDetailsEndpoint).
var permProjectEvents = map[string][]string{
	"GET":    {"project:read", "project:write", "project:admin"},
	"POST":   {"project:write", "project:admin"},
	"PUT":    {"project:write", "project:admin"},
	"DELETE": {"project:admin"},
}

var msgEventNotFound = exampleDetail("error.404.event_not_found.json")

var msgEventIDInvalid = exampleDetail("error.400.eventid_invalid.json")

func init() {
	add := func(name, pattern string, perm map[string][]string, get func(*call), limits map[string][2]int) {
		addRoute(name, pattern, perm, map[string]func(*call){http.MethodGet: get}, limits)
	}
	for _, prefix := range []string{"organizations/{org}/issues", "issues", "groups"} {
		add("GroupEventsEndpoint", prefix+"/{issue}/events", permEvent, listIssueEvents, nil)
	}
	// {eventid} routes any segment: the endpoint itself answers 400 for
	// an id that is not one.
	add("EventIdLookupEndpoint", "organizations/{org}/eventids/{eventid}", permOrg, lookupEventID, map[string][2]int{"GET": {1, 1}})
	add("ProjectEventDetailsEndpoint", "projects/{org}/{project}/events/{eventid}", permProjectEvents, getProjectEvent, nil)
}

// eventEnvironment is the event's environment tag.
func eventEnvironment(ev map[string]any) string {
	return eventTag(ev, "environment")
}

func eventTime(ev map[string]any) time.Time {
	s, _ := ev["dateCreated"].(string)
	t, _ := parseISO(s)
	return t
}

// simpleEvent is SimpleEventSerializer's row (issue.events.list.json).
func simpleEvent(ev map[string]any) map[string]any {
	m := exampleObject("issue.events.list.json")
	for _, k := range []string{"eventID", "dateCreated", "user", "message", "title", "platform", "groupID", "crashFile", "location", "culprit", "projectID", "metadata", "tags"} {
		m[k] = deepCopy(ev[k])
	}
	m["id"] = ev["eventID"]
	m["event.type"] = ev["type"]
	return m
}

// GET .../issues/{id}/events/ (group_events.py): newest first, environment
// and date filters (last 90 days by default), event search in query, a
// query that is an event id of the issue as a direct hit, full= for whole
// events, sample= for a deterministic shuffle, GenericOffsetPaginator.
func listIssueEvents(c *call) {
	o, is := c.issueFromPath()
	if is == nil {
		return
	}
	perPage, ok := c.perPage()
	if !ok {
		return
	}
	cur, ok := c.cursorParam()
	if !ok {
		return
	}
	start, end, ok := c.dateRange(func(msg string) { c.detail(400, msg) })
	if !ok {
		return
	}
	if start.IsZero() {
		start, end = c.v.now.Add(-90*24*time.Hour), c.v.now
	}
	render := simpleEvent
	if full, _ := c.q.get("full"); isTrue(full) {
		render = func(ev map[string]any) map[string]any { return copyMap(ev) }
	}
	// get_environments raises for an unknown name; the endpoint catches
	// it and answers [].
	envs := c.q.getlist("environment")
	known := o.environments()
	for _, e := range envs {
		if !slices.Contains(known, e) {
			c.json(200, []any{})
			return
		}
	}
	raw, _ := c.q.get("query")
	q := strings.TrimSpace(raw)
	search, err := parseEventSearch(q)
	if err != nil {
		c.detail(400, err.Error())
		return
	}
	if eid := normalizeEventID(q); eid != "" { // get_direct_hit_response
		for _, ev := range is.Events {
			if eventIDOf(ev) == eid {
				c.json(200, []any{render(ev)})
				return
			}
		}
	}
	var list []map[string]any
	for _, ev := range is.Events {
		if len(envs) > 0 && !slices.Contains(envs, eventEnvironment(ev)) {
			continue
		}
		if t := eventTime(ev); t.Before(start) || t.After(end) {
			continue
		}
		if !search.matches(ev) {
			continue
		}
		list = append(list, ev)
	}
	if sample, _ := c.q.get("sample"); isTrue(sample) {
		slices.SortStableFunc(list, func(a, b map[string]any) int {
			return strings.Compare(hexID("sample", eventIDOf(a)), hexID("sample", eventIDOf(b)))
		})
	} else {
		slices.SortStableFunc(list, func(a, b map[string]any) int { return eventTime(b).Compare(eventTime(a)) })
	}
	writePage(c, list, seqPage, perPage, cur, func(ev map[string]any) any { return render(ev) })
}

func isTrue(s string) bool { s = strings.ToLower(s); return s == "1" || s == "true" }

// eventSearch is the subset of Sentry's event search the fake understands:
// key:value terms (negated with !, wildcards with *, has:key), free text
// matched against title and message, and OR between groups of terms.
type eventSearch struct {
	groups [][]searchFilter // OR of ANDs
	texts  []string         // free text per group
}

// Sentry's event search parse error (sentry/api/event_search.py).
const msgEventSearchParse = "Parse error at '%s' (column %d). This is commonly caused by unmatched parentheses. Enclose any text in double quotes."

var eventKeyRe = regexp.MustCompile(`^!?[a-zA-Z0-9_.\-\[\]@]+$`)

func parseEventSearch(q string) (eventSearch, error) {
	var s eventSearch
	depth, inQuote := 0, false
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == '(' && !inQuote:
			depth++
		case c == ')' && !inQuote:
			depth--
			if depth < 0 {
				return s, fmt.Errorf(msgEventSearchParse, q[i:], i+1)
			}
		}
	}
	if depth != 0 || inQuote {
		i := strings.LastIndexAny(q, `("`)
		return s, fmt.Errorf(msgEventSearchParse, q[i:], i+1)
	}
	var filters []searchFilter
	var words []string
	flush := func() {
		s.groups = append(s.groups, filters)
		s.texts = append(s.texts, strings.Join(words, " "))
		filters, words = nil, nil
	}
	for _, tok := range splitSearch(q) {
		tok = strings.Trim(tok, "()")
		switch tok {
		case "", "AND":
			continue
		case "OR":
			flush()
			continue
		}
		i := strings.IndexByte(tok, ':')
		if i <= 0 || tok[0] == '"' || !eventKeyRe.MatchString(tok[:i]) {
			words = append(words, unquote(tok))
			continue
		}
		f := searchFilter{key: tok[:i], op: "="}
		if strings.HasPrefix(f.key, "!") {
			f.negate, f.key = true, f.key[1:]
		}
		if strings.HasPrefix(f.key, "tags[") && strings.HasSuffix(f.key, "]") {
			f.key = f.key[5 : len(f.key)-1]
		}
		val := unquote(tok[i+1:])
		if val == "" {
			return s, fmt.Errorf("Empty string after '%s:'", tok[:i])
		}
		f.values = []string{val}
		filters = append(filters, f)
	}
	flush()
	return s, nil
}

// matches reports whether the event satisfies the search.
func (s *eventSearch) matches(ev map[string]any) bool {
	for g, filters := range s.groups {
		ok := true
		for _, f := range filters {
			if matchEventFilter(ev, f) == f.negate {
				ok = false
				break
			}
		}
		if t := strings.ToLower(s.texts[g]); ok && t != "" {
			title, _ := ev["title"].(string)
			msg, _ := ev["message"].(string)
			ok = strings.Contains(strings.ToLower(title), t) || strings.Contains(strings.ToLower(msg), t)
		}
		if ok {
			return true
		}
	}
	return false
}

func matchEventFilter(ev map[string]any, f searchFilter) bool {
	val := f.values[0]
	user, _ := ev["user"].(map[string]any)
	str := func(v any) string { s, _ := v.(string); return s }
	switch f.key {
	case "id", "event.id", "event_id":
		return normalizeEventID(val) == eventIDOf(ev)
	case "message":
		return wildMatch(val, str(ev["message"])) || wildMatch(val, str(ev["title"])) ||
			!strings.Contains(val, "*") && strings.Contains(strings.ToLower(str(ev["title"])+" "+str(ev["message"])), strings.ToLower(val))
	case "title":
		return wildMatch(val, str(ev["title"]))
	case "event.type":
		return val == str(ev["type"])
	case "platform":
		return val == str(ev["platform"])
	case "user.id", "user.email", "user.username", "user.ip":
		field := map[string]string{"user.email": "email", "user.id": "id", "user.username": "username", "user.ip": "ip_address"}[f.key]
		return user != nil && wildMatch(val, fmt.Sprint(user[field]))
	case "has":
		return eventTag(ev, val) != ""
	}
	t := eventTag(ev, f.key)
	return t != "" && wildMatch(val, t)
}

// recommendedEvent is the "recommended" event among candidates (newest
// first): Sentry prefers the one with the most context; here, the most
// entries (exception, breadcrumbs, request), then a user, then the newest.
func recommendedEvent(candidates []map[string]any) map[string]any {
	var best map[string]any
	bestScore := -1
	for _, ev := range candidates {
		entries, _ := ev["entries"].([]any)
		score := 2 * len(entries)
		if u, _ := ev["user"].(map[string]any); u != nil {
			score++
		}
		if score > bestScore {
			best, bestScore = ev, score
		}
	}
	return best
}

// GET /api/0/organizations/{org}/eventids/{event_id}/ (organization_eventid.py).
func lookupEventID(c *call) {
	o := c.org()
	if o == nil {
		return
	}
	eid := normalizeEventID(c.p["eventid"])
	if eid == "" {
		c.detail(400, msgEventIDInvalid)
		return
	}
	// Only the projects the caller can access; the fake's membership is
	// open, so that is every project of the organization.
	for _, is := range o.Issues {
		for _, ev := range is.Events {
			if eventIDOf(ev) != eid {
				continue
			}
			m := exampleObject("eventids.get.json")
			m["organizationSlug"] = o.Slug
			m["projectSlug"] = is.Project
			m["groupId"] = is.ID
			m["eventId"] = eid
			m["event"] = copyMap(ev)
			c.json(200, m)
			return
		}
	}
	c.notFound()
}

var projectEventIDRe = regexp.MustCompile(`^(?:\d+|[A-Fa-f0-9-]{32,36})$`)

// GET /api/0/projects/{org}/{project}/events/{event_id}/
// (project_event_details.py): optional group_id; 404 "Event not found".
func getProjectEvent(c *call) {
	if !projectEventIDRe.MatchString(c.p["eventid"]) {
		catchAll(c.w, c.r) // the URL pattern does not match
		return
	}
	o, p := c.projectFromPath()
	if p == nil {
		return
	}
	eid := normalizeEventID(c.p["eventid"])
	group, hasGroup := c.q.get("group_id")
	for _, is := range o.Issues {
		if is.Project != p.Slug || hasGroup && group != is.ID {
			continue
		}
		for _, ev := range is.Events {
			if eid != "" && eventIDOf(ev) == eid {
				c.json(200, copyMap(ev))
				return
			}
		}
	}
	c.detail(404, msgEventNotFound)
}
