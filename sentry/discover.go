package sentry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// EventsQuery is a Discover table query (GET
// /api/0/organizations/{org}/events/, BEHAVIOUR.md 4.17). Field names are
// Sentry's own: columns (title, user.email, a tag) and functions
// (count(), p95(transaction.duration)).
type EventsQuery struct {
	Fields  []string
	Dataset string // always sent: Sentry's default mixes datasets
	Query   string
	// Sort is one selected field, "-" in front for descending.
	Sort        string
	StatsPeriod string
	Start, End  string // ISO 8601, both or neither; not with StatsPeriod
	Environment string
	Projects    []string // numeric project ids
	PerPage     int
	Cursor      string
}

func (q EventsQuery) values() url.Values {
	v := url.Values{"field": q.Fields, "dataset": {q.Dataset}}
	setNonEmpty(v, "query", q.Query)
	setNonEmpty(v, "sort", q.Sort)
	setNonEmpty(v, "statsPeriod", q.StatsPeriod)
	setNonEmpty(v, "start", q.Start)
	setNonEmpty(v, "end", q.End)
	setNonEmpty(v, "environment", q.Environment)
	setNonEmpty(v, "cursor", q.Cursor)
	for _, id := range q.Projects {
		v.Add("project", id)
	}
	if q.PerPage > 0 {
		v.Set("per_page", strconv.Itoa(q.PerPage))
	}
	return v
}

// EventsTable is the answer of the Discover table endpoint: rows keyed by
// the field strings exactly as requested, and what Sentry says about the
// fields. Cells are kept raw (a string, a number as Sentry wrote it, a
// list), since their type depends on the field.
type EventsTable struct {
	Data []map[string]json.RawMessage `json:"data"`
	Meta EventsMeta                   `json:"meta"`
}

// EventsMeta is the table's meta: each field's type (integer, number,
// string, date, duration, percentage, rate, ...) and unit (millisecond,
// byte, ...; "" for none), and Sentry's tips.
type EventsMeta struct {
	Fields  map[string]FlexString `json:"fields"`
	Units   map[string]FlexString `json:"units"`
	Dataset FlexString            `json:"dataset"`
	Tips    struct {
		Query   FlexString `json:"query"`
		Columns FlexString `json:"columns"`
	} `json:"tips"`
}

// SearchEvents runs a Discover table query.
func (c *Client) SearchEvents(ctx context.Context, org string, q EventsQuery) (*EventsTable, *Response, error) {
	var v EventsTable
	r, err := c.do(ctx, call{method: http.MethodGet, org: org, route: "/api/0/organizations/%s/events/", args: []string{org}, query: q.values()}, &v)
	if err != nil {
		return nil, r, err
	}
	return &v, r, nil
}

// traceIDRE is a trace id: 32 hex digits.
var traceIDRE = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

// ValidTraceID reports whether s is a trace id (32 hex digits).
func ValidTraceID(s string) bool { return traceIDRE.MatchString(s) }

// TraceMeta is GET .../trace-meta/{trace_id}/: counts over the trace.
type TraceMeta struct {
	Errors            FlexInt            `json:"errorsCount"`
	PerformanceIssues FlexInt            `json:"performanceIssuesCount"`
	Spans             FlexInt            `json:"spansCount"`
	Logs              FlexInt            `json:"logsCount"`
	SpansByOp         map[string]FlexInt `json:"spansCountMap"`
}

// GetTraceMeta returns a trace's counts.
func (c *Client) GetTraceMeta(ctx context.Context, org, traceID string) (*TraceMeta, *Response, error) {
	if !ValidTraceID(traceID) {
		return nil, nil, &InvalidArgumentError{Value: traceID, What: "trace id"}
	}
	var v TraceMeta
	r, err := c.do(ctx, call{method: http.MethodGet, org: org, route: "/api/0/organizations/%s/trace-meta/%s/", args: []string{org, strings.ToLower(traceID)}}, &v)
	if err != nil {
		return nil, r, err
	}
	return &v, r, nil
}

// Trace is GET .../trace/{trace_id}/, whose shape Sentry calls unstable
// (BEHAVIOUR.md 4.18): a list of top-level spans (and errors, uptime
// checks) with nested children in current versions; an object with
// "transactions" and "orphan_errors" in older ones. Both decode here;
// unknown fields are ignored and missing ones stay zero.
type Trace struct {
	Items []TraceItem
	// OrphanErrors are errors attached to no span (older versions).
	OrphanErrors []TraceIssue
}

// UnmarshalJSON accepts the list and the object shapes.
func (t *Trace) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '[':
		return json.Unmarshal(b, &t.Items)
	case b[0] == '{':
		var v struct {
			Transactions []TraceItem  `json:"transactions"`
			Spans        []TraceItem  `json:"spans"`
			Data         []TraceItem  `json:"data"`
			Orphans      []TraceIssue `json:"orphan_errors"`
		}
		err := json.Unmarshal(b, &v)
		t.Items = append(append(append(t.Items, v.Transactions...), v.Spans...), v.Data...)
		t.OrphanErrors = v.Orphans
		return err
	}
	return errors.New("a trace is a JSON list or object")
}

// TraceItem is a span (or transaction, error, uptime check) of a trace,
// with its children. Both current names (op, duration) and older ones
// (transaction.op, transaction.duration) are read.
type TraceItem struct {
	EventID       FlexString   `json:"event_id"`
	EventType     string       `json:"event_type"`
	ProjectSlug   string       `json:"project_slug"`
	Transaction   string       `json:"transaction"`
	Description   string       `json:"description"`
	Op            string       `json:"op"`
	Name          string       `json:"name"`
	Title         string       `json:"title"` // error items
	IsTransaction bool         `json:"is_transaction"`
	Duration      FlexFloat    `json:"duration"`
	Start         FlexFloat    `json:"start_timestamp"`
	End           FlexFloat    `json:"end_timestamp"`
	Children      []TraceItem  `json:"children"`
	Errors        []TraceIssue `json:"errors"`
	Occurrences   []TraceIssue `json:"occurrences"`

	LegacyOp          string       `json:"transaction.op"`
	LegacyDuration    FlexFloat    `json:"transaction.duration"`
	PerformanceIssues []TraceIssue `json:"performance_issues"`
}

// TraceIssue is an error or a performance issue attached to a span.
type TraceIssue struct {
	EventID     FlexString `json:"event_id"`
	IssueID     FlexString `json:"issue_id"`
	Issue       FlexString `json:"issue"` // short id, where sent
	Title       string     `json:"title"`
	Level       string     `json:"level"`
	ProjectSlug string     `json:"project_slug"`
}

// GetTrace returns a trace's span tree.
func (c *Client) GetTrace(ctx context.Context, org, traceID string) (*Trace, *Response, error) {
	if !ValidTraceID(traceID) {
		return nil, nil, &InvalidArgumentError{Value: traceID, What: "trace id"}
	}
	var v Trace
	r, err := c.do(ctx, call{method: http.MethodGet, org: org, route: "/api/0/organizations/%s/trace/%s/", args: []string{org, strings.ToLower(traceID)}}, &v)
	if err != nil {
		return nil, r, err
	}
	return &v, r, nil
}

// FlexFloat accepts a JSON number, a numeric string or null.
type FlexFloat float64

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexFloat) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		v = 0 // null, not a number: lenient, not fatal
	}
	*f = FlexFloat(v)
	return nil
}
