package sentrytest

import (
	"net/http"
	"regexp"
	"strings"
)

// The trace endpoints (BEHAVIOUR.md 4.18), org:* scopes:
// GET /api/0/organizations/{org}/trace/{trace_id}/ answers the span tree,
// a JSON list of top-level items with nested children (trace.get.json);
// GET .../trace-meta/{trace_id}/ its counts (trace.meta.json). A trace id
// that is not Sentry's URL pattern does not route (the catch-all's empty
// 404); an unknown one is the standard 404 (the body is not confirmed,
// BEHAVIOUR.md 11). Sentry's query parameters (statsPeriod, limit,
// project...) are accepted and ignored, as Sentry ignores limit and project.
func init() {
	addRoute("OrganizationTraceEndpoint", "organizations/{org}/trace/{trace}", permOrg, map[string]func(*call){http.MethodGet: getTrace}, nil)
	addRoute("OrganizationTraceMetaEndpoint", "organizations/{org}/trace-meta/{trace}", permOrg, map[string]func(*call){http.MethodGet: getTraceMeta}, nil)
}

// Trace is a trace the trace endpoints serve.
type Trace struct {
	ID string // 32 hex digits
	// Spans are the top-level items in the trace.get.json shape, with
	// their children nested under "children".
	Spans []map[string]any
	// Logs is the trace's logsCount.
	Logs int
	// Meta, when set, is served as the trace-meta answer instead of the
	// counts computed from Spans.
	Meta map[string]any
}

// traceIDRoute is the URL pattern of trace ids in Sentry's urls.py.
var traceIDRoute = regexp.MustCompile(`^(?:\d+|[A-Fa-f0-9-]{32,36})$`)

// trace resolves {org} and {trace}; it answers and returns nil on failure.
func (c *call) trace() *Trace {
	id := c.p["trace"]
	if !traceIDRoute.MatchString(id) {
		catchAll(c.w, c.r)
		return nil
	}
	o := c.org()
	if o == nil {
		return nil
	}
	for _, t := range o.Traces {
		if strings.EqualFold(t.ID, id) {
			return t
		}
	}
	c.notFound()
	return nil
}

func getTrace(c *call) {
	t := c.trace()
	if t == nil {
		return
	}
	out := make([]any, len(t.Spans))
	for i, s := range t.Spans {
		out[i] = copyMap(s)
	}
	c.json(200, out)
}

func getTraceMeta(c *call) {
	t := c.trace()
	if t == nil {
		return
	}
	if t.Meta != nil {
		c.json(200, copyMap(t.Meta))
		return
	}
	m := exampleObject("trace.meta.json")
	spans, errs, perf := 0, 0, 0
	byOp := map[string]any{}
	children := []any{}
	var walk func(items []any) int
	walk = func(items []any) int {
		n := 0
		for _, it := range items {
			s, ok := it.(map[string]any)
			if !ok {
				continue
			}
			if s["event_type"] == "error" {
				errs++
				continue
			}
			spans++
			n++
			if op, _ := s["op"].(string); op != "" {
				c, _ := byOp[op].(int)
				byOp[op] = c + 1
			}
			if l, ok := s["errors"].([]any); ok {
				errs += len(l)
			}
			if l, ok := s["occurrences"].([]any); ok {
				perf += len(l)
			}
			kids, _ := s["children"].([]any)
			below := walk(kids)
			n += below
			if s["is_transaction"] == true {
				children = append(children, map[string]any{"transaction.event_id": s["event_id"], "count()": below})
			}
		}
		return n
	}
	top := make([]any, len(t.Spans))
	for i, s := range t.Spans {
		top[i] = s
	}
	walk(top)
	m["errorsCount"], m["performanceIssuesCount"], m["spansCount"], m["logsCount"], m["metricsCount"] = errs, perf, spans, t.Logs, 0
	m["spansCountMap"], m["transactionChildCountMap"] = byOp, children
	c.json(200, m)
}
