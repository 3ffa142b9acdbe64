package sentry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// eventRefRE is what Sentry routes as an event of an issue (BEHAVIOUR.md
// 4.8, 4.12): latest, oldest, recommended, a number, or 32-36 hex
// characters and dashes (a dashed UUID).
var eventRefRE = regexp.MustCompile(`^(?:latest|oldest|recommended|[0-9]{1,20}|[A-Fa-f0-9-]{32,36})$`)

// eventIDRE is an event id proper: 32-36 hex characters and dashes.
var eventIDRE = regexp.MustCompile(`^[A-Fa-f0-9-]{32,36}$`)

// ValidEventRef reports whether s can name an event of an issue.
func ValidEventRef(s string) bool { return eventRefRE.MatchString(s) }

// ValidEventID reports whether s looks like an event id (what the event-id
// lookup takes).
func ValidEventID(s string) bool { return eventIDRE.MatchString(s) }

// EventUser is the user an event was reported for, as the SDK sent it.
type EventUser struct {
	ID        FlexString `json:"id"`
	Email     FlexString `json:"email"`
	Username  FlexString `json:"username"`
	IPAddress FlexString `json:"ip_address"`
	Name      FlexString `json:"name"`
}

// EventLookup is GET /api/0/organizations/{org}/eventids/{id}/.
type EventLookup struct {
	OrganizationSlug string     `json:"organizationSlug"`
	ProjectSlug      string     `json:"projectSlug"`
	GroupID          FlexString `json:"groupId"`
	EventID          FlexString `json:"eventId"`
	Event            Event      `json:"event"`
}

// GetIssueEvent returns one event of an issue: event is latest, oldest,
// recommended or an event id.
func (c *Client) GetIssueEvent(ctx context.Context, org, issue, event string) (*Event, *Response, error) {
	if !ValidEventRef(event) {
		return nil, nil, &InvalidArgumentError{Value: event}
	}
	cl := issueCall(http.MethodGet, org, issue, "events/%s/")
	cl.args = append(cl.args, event)
	var v Event
	r, err := c.do(ctx, cl, &v)
	if err != nil {
		return nil, r, err
	}
	return &v, r, nil
}

// LookupEventID finds an event by its id among the organization's
// projects the caller can access (needs an org:* scope).
func (c *Client) LookupEventID(ctx context.Context, org, event string) (*EventLookup, *Response, error) {
	if !ValidEventID(event) {
		return nil, nil, &InvalidArgumentError{Value: event}
	}
	var v EventLookup
	r, err := c.do(ctx, call{method: http.MethodGet, org: org, route: "/api/0/organizations/%s/eventids/%s/", args: []string{org, event}}, &v)
	if err != nil {
		return nil, r, err
	}
	return &v, r, nil
}

// IssueEventsOptions filter an issue's events.
type IssueEventsOptions struct {
	Query       string // event search syntax
	Environment string
	StatsPeriod string // "" = Sentry's default, the last 90 days
	PerPage     int
	Cursor      string
}

// ListIssueEvents lists an issue's events, newest first, in Sentry's simple
// form (no entries).
func (c *Client) ListIssueEvents(ctx context.Context, org, issue string, opt IssueEventsOptions) ([]Event, *Response, error) {
	q := url.Values{}
	setNonEmpty(q, "query", opt.Query)
	setNonEmpty(q, "environment", opt.Environment)
	setNonEmpty(q, "statsPeriod", opt.StatsPeriod)
	setNonEmpty(q, "cursor", opt.Cursor)
	if opt.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(opt.PerPage))
	}
	cl := issueCall(http.MethodGet, org, issue, "events/")
	cl.query = q
	var v []Event
	r, err := c.do(ctx, cl, &v)
	if err != nil {
		return nil, r, err
	}
	return v, r, nil
}

// entryData returns the data of the event's first entry of type typ.
func (e *Event) entryData(typ string) json.RawMessage {
	for _, en := range e.Entries {
		if en.Type == typ {
			return en.Data
		}
	}
	return nil
}

// unmarshalLoose decodes like json.Unmarshal but forgives fields of an
// unexpected type (the rest is still decoded).
func unmarshalLoose(data []byte, v any) bool {
	if len(bytes.TrimSpace(data)) == 0 {
		return false
	}
	err := json.Unmarshal(data, v)
	var te *json.UnmarshalTypeError
	return err == nil || errors.As(err, &te) && te.Field != ""
}

// Breadcrumb is one breadcrumb of an event.
type Breadcrumb struct {
	Timestamp FlexString                 `json:"timestamp"`
	Type      FlexString                 `json:"type"`
	Category  FlexString                 `json:"category"`
	Level     FlexString                 `json:"level"`
	Message   FlexString                 `json:"message"`
	Data      map[string]json.RawMessage `json:"data"`
}

// Breadcrumbs decodes the event's breadcrumbs, oldest first (the last
// MaxValues of them; ValuesOmitted("breadcrumbs") counts the others).
func (e *Event) Breadcrumbs() []Breadcrumb {
	var d struct {
		Values []json.RawMessage `json:"values"`
	}
	if !unmarshalLoose(e.entryData("breadcrumbs"), &d) {
		return nil
	}
	out := make([]Breadcrumb, 0, len(d.Values))
	for _, raw := range d.Values {
		var b Breadcrumb
		if unmarshalLoose(raw, &b) {
			out = append(out, b)
		}
	}
	return out
}

// Request is an event's HTTP request entry.
type Request struct {
	URL      FlexString      `json:"url"`
	Method   FlexString      `json:"method"`
	Fragment FlexString      `json:"fragment"`
	Query    json.RawMessage `json:"query"`   // [[k, v]], or a string, or an object
	Headers  json.RawMessage `json:"headers"` // [[name, value]] or an object
}

// Request decodes the event's request entry, or nil.
func (e *Event) Request() *Request {
	var r Request
	if !unmarshalLoose(e.entryData("request"), &r) {
		return nil
	}
	return &r
}

// Pair is a name and a value, in the order Sentry sent them.
type Pair struct{ Name, Value string }

// HeaderPairs returns the request's headers.
func (r *Request) HeaderPairs() []Pair { return pairs(r.Headers) }

// QueryPairs returns the request's query parameters; a query sent as one
// string is parsed.
func (r *Request) QueryPairs() []Pair {
	var s string
	if json.Unmarshal(r.Query, &s) == nil {
		var out []Pair
		vals, _ := url.ParseQuery(s)
		for k, vs := range vals {
			for _, v := range vs {
				out = append(out, Pair{k, v})
			}
		}
		slices.SortFunc(out, func(a, b Pair) int { return strings.Compare(a.Name, b.Name) })
		return out
	}
	return pairs(r.Query)
}

// pairs decodes [[name, value], ...] or {name: value}, leniently; values
// that are not strings keep their JSON text.
func pairs(raw json.RawMessage) []Pair {
	str := func(m json.RawMessage) string {
		var s string
		if json.Unmarshal(m, &s) == nil {
			return s
		}
		return string(bytes.TrimSpace(m))
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		out := make([]Pair, 0, len(list))
		for _, el := range list {
			var kv []json.RawMessage
			if json.Unmarshal(el, &kv) == nil && len(kv) == 2 {
				out = append(out, Pair{str(kv[0]), str(kv[1])})
			}
		}
		return out
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		out := make([]Pair, 0, len(obj))
		for k, v := range obj {
			out = append(out, Pair{k, str(v)})
		}
		slices.SortFunc(out, func(a, b Pair) int { return strings.Compare(a.Name, b.Name) })
		return out
	}
	return nil
}

// EventContext is one of an event's contexts, the fields sentry-mcp shows.
type EventContext struct {
	Name           FlexString `json:"name"`
	Version        FlexString `json:"version"`
	RawDescription FlexString `json:"raw_description"`
	Family         FlexString `json:"family"`
	Model          FlexString `json:"model"`
	Arch           FlexString `json:"arch"`
	TraceID        FlexString `json:"trace_id"`
	SpanID         FlexString `json:"span_id"`
	Op             FlexString `json:"op"`
}

// Context decodes the event's context of that name; ok is false when
// there is none.
func (e *Event) Context(name string) (EventContext, bool) {
	var c EventContext
	raw, ok := e.Contexts[name]
	if !ok || !unmarshalLoose(raw, &c) {
		return c, false
	}
	return c, true
}
