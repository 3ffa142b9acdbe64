package sentrytest

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// route is one endpoint.
type route struct {
	name     string
	pattern  []string            // segments after /api/0/; "{x}" captures
	perm     map[string][]string // scope map; nil = no permission class
	handlers map[string]func(*call)
	limits   map[string][2]int // method -> limit, window (s); default 470/1
	// concurrent is the concurrency limit; 0 = concurrentLimit.
	concurrent int
}

func (rt *route) concurrency() int {
	if rt == nil || rt.concurrent == 0 {
		return concurrentLimit
	}
	return rt.concurrent
}

func (rt *route) rateLimit(method string) (string, int, int) {
	if l, ok := rt.limits[method]; ok {
		return rt.name, l[0], l[1]
	}
	return rt.name, 470, 1
}

const concurrentLimit = 100

var eventIDPattern = regexp.MustCompile(`^(?:latest|oldest|recommended|\d+|[A-Fa-f0-9-]{32,36})$`)

var routes []*route

func init() {
	groupDetails := map[string]func(*call){http.MethodGet: getIssue, http.MethodPut: putIssue}
	groupEvent := map[string]func(*call){http.MethodGet: getIssueEvent}
	issueLimits := map[string][2]int{"GET": {5, 1}, "PUT": {5, 1}, "DELETE": {5, 5}}
	eventLimits := map[string][2]int{"GET": {15, 1}}
	add := addRoute
	add("IndexEndpoint", "", nil, map[string]func(*call){http.MethodGet: getIndex}, nil)
	add("OrganizationIndexEndpoint", "organizations", permOrg, map[string]func(*call){http.MethodGet: listOrganizations}, nil)
	add("OrganizationProjectsEndpoint", "organizations/{org}/projects", permOrg, map[string]func(*call){http.MethodGet: listProjects}, nil)
	add("OrganizationEnvironmentsEndpoint", "organizations/{org}/environments", permOrg, map[string]func(*call){http.MethodGet: listEnvironments}, nil)
	add("OrganizationTeamsEndpoint", "organizations/{org}/teams", permTeams, map[string]func(*call){http.MethodGet: listTeams}, nil)
	add("OrganizationGroupIndexEndpoint", "organizations/{org}/issues", permEvent, map[string]func(*call){http.MethodGet: listOrgIssues, http.MethodPut: bulkPutOrgIssues}, nil)
	add("GroupDetailsEndpoint", "organizations/{org}/issues/{issue}", permEvent, groupDetails, issueLimits)
	add("GroupEventDetailsEndpoint", "organizations/{org}/issues/{issue}/events/{event}", permEvent, groupEvent, eventLimits)
	add("ShortIdLookupEndpoint", "organizations/{org}/shortids/{issue}", permEvent, map[string]func(*call){http.MethodGet: lookupShortID}, nil)
	add("OrganizationReleasesEndpoint", "organizations/{org}/releases", permRelease, map[string]func(*call){http.MethodGet: listReleases}, map[string][2]int{"GET": {40, 1}, "POST": {40, 1}})
	add("ProjectGroupIndexEndpoint", "projects/{org}/{project}/issues", permEvent, map[string]func(*call){http.MethodGet: listProjectIssues, http.MethodPut: bulkPutProjectIssues}, map[string][2]int{"GET": {5, 1}})
	for _, prefix := range []string{"issues", "groups"} {
		add("GroupDetailsEndpoint", prefix+"/{issue}", permEvent, groupDetails, issueLimits)
		add("GroupEventDetailsEndpoint", prefix+"/{issue}/events/{event}", permEvent, groupEvent, eventLimits)
	}
}

// addRoute registers an endpoint (pattern: segments after /api/0/, "{x}"
// captures one). Files with endpoints of their own call it from their init.
func addRoute(name, pattern string, perm map[string][]string, h map[string]func(*call), limits map[string][2]int) *route {
	var segs []string
	if pattern != "" {
		segs = strings.Split(pattern, "/")
	}
	rt := &route{name: name, pattern: segs, perm: perm, handlers: h, limits: limits}
	routes = append(routes, rt)
	return rt
}

// match finds the route of a (decoded) request path. Like Django's URL
// patterns every route needs the trailing slash and a capture matches one
// non-empty segment.
func match(path string) (*route, map[string]string) {
	rest, ok := strings.CutPrefix(path, "/api/0/")
	if !ok || (rest != "" && !strings.HasSuffix(rest, "/")) {
		return nil, nil
	}
	var segs []string
	if rest != "" {
		segs = strings.Split(strings.TrimSuffix(rest, "/"), "/")
	}
	for _, rt := range routes {
		if len(rt.pattern) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, p := range rt.pattern {
			s := segs[i]
			if strings.HasPrefix(p, "{") {
				if s == "" || (p == "{event}" && !eventIDPattern.MatchString(s)) {
					ok = false
					break
				}
				params[strings.Trim(p, "{}")] = s
			} else if p != s {
				ok = false
				break
			}
		}
		if ok {
			return rt, params
		}
	}
	return nil, nil
}

// rateLimiter keeps fixed windows and in-flight counts per caller+endpoint.
type rateLimiter struct {
	mu       sync.Mutex
	windows  map[string]*rlWindow
	inflight map[string]int
}

type rlWindow struct {
	start int64
	count int
}

type rlState struct {
	count      int   // requests in the current window, this one included
	reset      int64 // epoch seconds when the window ends
	concurrent int   // requests in flight, this one included
}

func (l *rateLimiter) hit(key string, limit, window int, now time.Time) rlState {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.windows == nil {
		l.windows = map[string]*rlWindow{}
		l.inflight = map[string]int{}
	}
	w := int64(max(window, 1))
	start := now.Unix() / w * w
	win := l.windows[key]
	if win == nil || win.start != start {
		win = &rlWindow{start: start}
		l.windows[key] = win
	}
	win.count++
	l.inflight[key]++
	return rlState{count: win.count, reset: start + w, concurrent: l.inflight[key]}
}

func (l *rateLimiter) done(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight[key]--
	if l.inflight[key] <= 0 {
		delete(l.inflight, key)
	}
}
