package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// Bounds of get_event's lists.
const (
	maxBreadcrumbs = 30 // the last ones
	maxVars        = 20 // local variables, by name
	maxEventTags   = 50
	capTagsLine    = 1500 // runes of get_event's tags line
)

// lookupScopes allow the event-id lookup (OrganizationPermission GET).
var lookupScopes = []string{"org:read"}

// periodRE is a statsPeriod list_issue_events sends.
var periodRE = regexp.MustCompile(`^[0-9]{1,4}[mhdw]$`)

// namedEvents are the events of an issue Sentry names rather than numbers.
var namedEvents = map[string]bool{"latest": true, "oldest": true, "recommended": true}

func getEventTool() Tool {
	return define(Tool{
		Name:        "get_event",
		Title:       "Get event",
		Description: "An event in full: exceptions, code, breadcrumbs, request, user, contexts, tags.",
		Toolset:     ToolsetIssues,
		Scopes:      []string{"event:read"},
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.GetEventInput) (*schemas.EventDetail, string, error) {
		event := strings.TrimSpace(in.Event)
		if event == "" {
			event = "latest"
		}
		if !sentry.ValidEventRef(event) {
			return nil, "", userErrorf("event %q is not an event id (32 hex characters, or a UUID) nor latest, oldest or recommended", line(event, capSlug))
		}
		var (
			ev             *sentry.Event
			issue, project string
		)
		if strings.TrimSpace(in.Issue) == "" {
			if namedEvents[event] || !sentry.ValidEventID(event) {
				return nil, "", userErrorf("event %q needs issue (an issue id, short id or URL); only an event id (32 hex characters, dashes allowed) is found without it", event)
			}
			org, err := p.organization(in.Organization)
			if err != nil {
				return nil, "", userErrorf("finding event %s without issue needs organization (list_organizations shows the slugs), or pass issue", event)
			}
			if !p.Grant.Allows(lookupScopes) {
				return nil, "", userErrorf("finding event %s without issue needs the org:read scope, which this sign-in lacks; pass issue too (list_issues finds it)", event)
			}
			lk, _, err := d.Client.LookupEventID(ctx, org, event)
			switch {
			case sentry.StatusCode(err) == 403:
				return nil, "", userErrorf("Sentry denied finding event %s by its id alone (%s); that needs the org:read scope: pass issue too (list_issues finds it)", event, line(sentryDetail(err), capDetail))
			case err != nil:
				return nil, "", subject(err, "list_issue_events", "event %q in organization %q", event, org)
			}
			ev, issue, project = &lk.Event, string(lk.GroupID), lk.ProjectSlug
		} else {
			ref, err := d.issueRef(p, in.Issue, in.Organization)
			if err != nil {
				return nil, "", err
			}
			if ev, _, err = d.Client.GetIssueEvent(ctx, ref.Org, ref.ID, event); err != nil {
				return nil, "", eventNotFound(err, ref, event)
			}
			issue = ref.ID
		}
		if g := string(ev.GroupID); g != "" {
			issue = g
		}
		out, cuts := eventDetail(ev)
		out.Issue, out.Project = issue, project
		text, textCut := renderEvent(out, cuts)
		fitEventDetail(out)
		out.Truncated = out.Truncated || textCut || cuts.any()
		return out, text, nil
	})
}

// sentryDetail is the detail of Sentry's error answer, or "".
func sentryDetail(err error) string {
	var se *sentry.Error
	if errors.As(err, &se) {
		return strings.TrimSuffix(se.Detail, ".")
	}
	return ""
}

// eventNotFound says what a 404 for an issue's event was about: no event
// at all, no such event, or no such issue.
func eventNotFound(err error, ref sentry.IssueRef, event string) error {
	if sentry.StatusCode(err) != 404 {
		return err
	}
	detail := sentryDetail(err)
	switch {
	case strings.HasPrefix(detail, "No matching event"):
		return userErrorf("Issue %s has no %s event (Sentry: %s).", line(ref.ID, capSlug), event, line(detail, capDetail))
	case strings.HasPrefix(detail, "Event not found"):
		return subject(err, "list_issue_events", "event %q of issue %q", event, ref.ID)
	}
	return issueNotFound(err, ref)
}

// eventCuts records what get_event left out, for the text's notes.
type eventCuts struct {
	detailCuts
	crumbs    int    // earlier breadcrumbs not kept
	vars      int    // local variables not kept
	tags      int    // tags not kept
	headers   int    // request headers not shown (credentials, cookies, the rest)
	varsFrame string // the function whose variables are shown
}

func (c eventCuts) any() bool { return c.detailCuts.any() || c.crumbs > 0 || c.vars > 0 || c.tags > 0 }

// eventDetail builds get_event's output with its lists bounded and its
// strings whole: the text renders them with their caps, then
// fitEventDetail cuts them for the structured result.
func eventDetail(ev *sentry.Event) (*schemas.EventDetail, eventCuts) {
	brief, dc := eventBrief(ev, contextFrames)
	if m := ev.MessageText(); brief.Message == "" && m != "" && m != ev.Title {
		brief.Message = m
	}
	out := &schemas.EventDetail{EventBrief: *brief, Title: ev.Title}
	cuts := eventCuts{detailCuts: dc}
	for _, t := range ev.Tags {
		if t.Key == "environment" {
			out.Environment = t.Value
		}
	}
	if out.Release == "" {
		for _, t := range ev.Tags {
			if t.Key == "release" {
				out.Release = t.Value
			}
		}
	}
	if s := ev.SDK; s != nil {
		out.SDK = strings.TrimSpace(string(s.Name) + " " + string(s.Version))
	}
	out.Vars, cuts.vars, cuts.varsFrame = frameVars(ev)
	crumbs := ev.Breadcrumbs()
	cuts.crumbs = ev.ValuesOmitted("breadcrumbs")
	if n := len(crumbs) - maxBreadcrumbs; n > 0 {
		crumbs, cuts.crumbs = crumbs[n:], cuts.crumbs+n
	}
	for _, c := range crumbs {
		cat := string(c.Category)
		if cat == "" {
			cat = string(c.Type)
		}
		out.Breadcrumbs = append(out.Breadcrumbs, schemas.Breadcrumb{Time: isoSeconds(string(c.Timestamp)), Category: cat, Level: string(c.Level), Message: crumbMessage(c)})
	}
	if r := ev.Request(); r != nil {
		out.Request, cuts.headers = eventRequest(r)
	}
	if u := ev.User; u != nil {
		eu := schemas.EventUser{ID: string(u.ID), Email: string(u.Email), Username: string(u.Username), IP: string(u.IPAddress)}
		if eu != (schemas.EventUser{}) {
			out.User = &eu
		}
	}
	out.Contexts = eventContexts(ev)
	for _, t := range ev.Tags {
		if t.Key == "" {
			continue
		}
		if len(out.Tags) == maxEventTags {
			cuts.tags++
			continue
		}
		if out.Tags == nil {
			out.Tags = map[string]string{}
		}
		out.Tags[t.Key] = t.Value
	}
	return out, cuts
}

// frameVars are the local variables of the innermost in-app frame of the
// raised exception, by name, each value as text; how many more there were;
// and the frame's function.
func frameVars(ev *sentry.Event) (map[string]string, int, string) {
	excs := ev.Exceptions()
	if len(excs) == 0 || excs[len(excs)-1].Stacktrace == nil {
		return nil, 0, ""
	}
	frames := excs[len(excs)-1].Stacktrace.Frames
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		if !f.InApp {
			continue
		}
		var vars map[string]json.RawMessage
		if json.Unmarshal(f.Vars, &vars) != nil || len(vars) == 0 {
			return nil, 0, ""
		}
		names := make([]string, 0, len(vars))
		for k := range vars {
			names = append(names, k)
		}
		sort.Strings(names)
		shown, more := render.Cap(names, maxVars)
		out := make(map[string]string, len(shown))
		for _, k := range shown {
			out[k] = jsonText(vars[k])
			if sensitiveName(k) {
				out[k] = filtered
			}
		}
		return out, more, f.Function
	}
	return nil, 0, ""
}

// jsonText is a JSON value as text: a string as itself, anything else as
// compact JSON, at most 1 KB of it read.
func jsonText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 1<<10 {
		return string(raw[:1<<10])
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		return b.String()
	}
	return string(raw)
}

// crumbMessage is a breadcrumb's message, or for those without one (HTTP
// requests, navigations) a summary of its data.
func crumbMessage(c sentry.Breadcrumb) string {
	if m := string(c.Message); m != "" {
		return m
	}
	get := func(k string) string {
		if raw, ok := c.Data[k]; ok {
			return jsonText(raw)
		}
		return ""
	}
	switch {
	case get("url") != "":
		s := strings.TrimSpace(get("method") + " " + safeURL(get("url")))
		if st := get("status_code"); st != "" {
			s += " [" + st + "]"
		}
		return s
	case get("to") != "":
		return get("from") + " → " + get("to")
	}
	keys := make([]string, 0, len(c.Data))
	for k := range c.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := get(k)
		if sensitiveName(k) {
			v = filtered
		} else if strings.Contains(v, "://") {
			v = safeURL(v)
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ", ")
}

// filtered stands for a value get_event does not show.
const filtered = "[filtered]"

// splitURL is a URL from an event without its userinfo and fragment, and
// its query parameters.
func splitURL(raw string) (string, []sentry.Pair) {
	raw, _, _ = strings.Cut(sentry.RedactUserinfo(raw), "#")
	base, q, ok := strings.Cut(raw, "?")
	if !ok {
		return raw, nil
	}
	vals, _ := url.ParseQuery(q)
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	var pairs []sentry.Pair
	for _, k := range names {
		for _, v := range vals[k] {
			pairs = append(pairs, sentry.Pair{Name: k, Value: v})
		}
	}
	return base, pairs
}

// queryText is query parameters as k=v&..., the values of sensitive names
// filtered.
func queryText(pairs []sentry.Pair) string {
	parts := make([]string, 0, len(pairs))
	for _, q := range pairs {
		v := q.Value
		if sensitiveName(q.Name) {
			v = filtered
		}
		parts = append(parts, q.Name+"="+v)
	}
	return strings.Join(parts, "&")
}

// safeURL is a URL from an event (a breadcrumb's, a variable's) as
// get_event shows it: no userinfo, no fragment, the query values of
// sensitive names filtered.
func safeURL(raw string) string {
	base, pairs := splitURL(raw)
	if len(pairs) == 0 {
		return base
	}
	return base + "?" + queryText(pairs)
}

// isoSeconds writes a timestamp as 2026-05-01T10:14:57Z: ISO strings lose
// their fraction, epoch seconds (older events) are converted; anything
// else is kept as it is.
func isoSeconds(s string) string {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Format("2006-01-02T15:04:05Z")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1e11 {
		return time.Unix(int64(f), 0).UTC().Format("2006-01-02T15:04:05Z")
	}
	return s
}

// safeHeaders are the request headers get_event shows; every other one
// is left out, whatever it holds.
var safeHeaders = map[string]bool{
	"user-agent": true, "content-type": true, "content-length": true, "accept": true, "accept-language": true,
	"accept-encoding": true, "host": true, "origin": true, "referer": true, "x-request-id": true, "x-forwarded-proto": true,
}

// sensitiveName reports whether a header or query parameter name may
// carry a credential: Authorization, Cookie, Set-Cookie, or anything
// naming a token, secret, key, auth, password, session or CSRF value.
func sensitiveName(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	for _, w := range []string{"token", "secret", "key", "auth", "passw", "session", "csrf", "cookie", "signature"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// eventRequest is the request without cookies, environment, body and any
// header but the safe ones; query values of sensitive names are filtered.
// It also returns how many headers were left out.
func eventRequest(r *sentry.Request) (*schemas.EventRequest, int) {
	out := &schemas.EventRequest{Method: string(r.Method)}
	base, inURL := splitURL(string(r.URL))
	out.URL = base
	out.Query = queryText(append(r.QueryPairs(), inURL...))
	hidden := 0
	for _, h := range r.HeaderPairs() {
		if !safeHeaders[strings.ToLower(strings.TrimSpace(h.Name))] || sensitiveName(h.Name) {
			hidden++
			continue
		}
		v := h.Value
		if strings.EqualFold(h.Name, "referer") { // a URL: its query may hold a token
			v, _ = splitURL(v)
		}
		if out.Headers == nil {
			out.Headers = map[string]string{}
		}
		out.Headers[h.Name] = v
	}
	if out.Method == "" && out.URL == "" && out.Query == "" && out.Headers == nil {
		return nil, hidden
	}
	return out, hidden
}

// eventContexts are the browser, OS, runtime and device (name and
// version, or model) and the trace id.
func eventContexts(ev *sentry.Event) map[string]string {
	out := map[string]string{}
	join := func(parts ...sentry.FlexString) string {
		var s []string
		for _, p := range parts {
			if p != "" {
				s = append(s, string(p))
			}
		}
		return strings.Join(s, " ")
	}
	for _, name := range []string{"browser", "os", "runtime"} {
		if c, ok := ev.Context(name); ok {
			v := join(c.Name, c.Version)
			if v == "" {
				v = string(c.RawDescription)
			}
			if v != "" {
				out[name] = v
			}
		}
	}
	if c, ok := ev.Context("device"); ok {
		if v := join(c.Family, c.Model, c.Arch); v != "" {
			out["device"] = v
		}
	}
	if c, ok := ev.Context("trace"); ok && c.TraceID != "" {
		out["trace_id"] = string(c.TraceID)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// contextOrder is the order contexts are shown in.
var contextOrder = []string{"browser", "os", "runtime", "device", "trace_id"}

// renderEvent is get_event's text: every value from Sentry rendered as
// data, the whole under render.DefaultMax, most useful first. It reports
// whether the text was cut.
func renderEvent(e *schemas.EventDetail, cuts eventCuts) (string, bool) {
	var b render.Builder
	fmt.Fprintf(&b, "Event %s", line(e.ID, capSlug))
	if e.Title != "" {
		fmt.Fprintf(&b, ": %s", line(e.Title, capText))
	}
	b.WriteString("\n")
	var about []string
	if e.Issue != "" {
		about = append(about, "issue "+line(e.Issue, capSlug))
	}
	if e.Project != "" {
		about = append(about, "project "+line(e.Project, capSlug))
	}
	if e.Date != "" {
		about = append(about, "at "+line(isoSeconds(e.Date), capSlug))
	}
	if e.Release != "" {
		about = append(about, "release "+line(e.Release, capName))
	}
	if e.Environment != "" {
		about = append(about, "environment "+line(e.Environment, capSlug))
	}
	if e.SDK != "" {
		about = append(about, "SDK "+line(e.SDK, capName))
	}
	if len(about) > 0 {
		b.WriteString(strings.Join(about, ", ") + "\n")
	}
	writeEventBody(&b, &e.EventBrief, cuts.detailCuts)
	if len(e.Vars) > 0 {
		fmt.Fprintf(&b, "Local variables of %s:\n", line(cuts.varsFrame, capFrame))
		for _, k := range sortedKeys(e.Vars) {
			fmt.Fprintf(&b, "  %s = %s\n", line(k, capSlug), line(e.Vars[k], capName))
		}
		if cuts.vars > 0 {
			fmt.Fprintf(&b, "  %s\n", render.More(cuts.vars, "variable", "variables"))
		}
	}
	if r := e.Request; r != nil {
		b.WriteString("Request:")
		if r.Method != "" {
			b.WriteString(" " + line(r.Method, capSlug))
		}
		if r.URL != "" {
			b.WriteString(" " + line(r.URL, capText))
		}
		b.WriteString("\n")
		if r.Query != "" {
			fmt.Fprintf(&b, "  Query: %s\n", line(r.Query, capText))
		}
		if len(r.Headers) > 0 {
			var hs []string
			for _, k := range sortedKeys(r.Headers) {
				hs = append(hs, line(k, capSlug)+": "+line(r.Headers[k], capName))
			}
			fmt.Fprintf(&b, "  Headers: %s\n", strings.Join(hs, "; "))
		}
	}
	if cuts.headers > 0 {
		fmt.Fprintf(&b, "  Not shown: %s, cookies, environment.\n", plural(int64(cuts.headers), "other header", "other headers"))
	}
	if u := e.User; u != nil {
		var parts []string
		for _, f := range []struct{ k, v string }{{"id", u.ID}, {"email", u.Email}, {"username", u.Username}, {"IP", u.IP}} {
			if f.v != "" {
				parts = append(parts, f.k+" "+line(f.v, capName))
			}
		}
		fmt.Fprintf(&b, "User: %s\n", strings.Join(parts, ", "))
	}
	if len(e.Contexts) > 0 {
		var parts []string
		for _, k := range contextOrder {
			if v, ok := e.Contexts[k]; ok {
				parts = append(parts, strings.TrimSuffix(k, "_id")+" "+line(v, capName))
			}
		}
		fmt.Fprintf(&b, "Contexts: %s\n", strings.Join(parts, "; "))
	}
	if len(e.Tags) > 0 {
		var tags strings.Builder
		tags.WriteString("Tags:")
		for i, k := range sortedKeys(e.Tags) {
			if i > 0 {
				tags.WriteString(",")
			}
			fmt.Fprintf(&tags, " %s=%s", line(k, capSlug), line(e.Tags[k], capName))
		}
		b.WriteString(line(tags.String(), capTagsLine)) // escaped already; Line caps the whole line
		if cuts.tags > 0 {
			b.WriteString(" " + render.More(cuts.tags, "tag", "tags"))
		}
		b.WriteString("\n")
	}
	writeBreadcrumbs(&b, e, cuts.crumbs)
	return strings.TrimRight(b.String(), "\n"), b.Truncated()
}

// writeBreadcrumbs writes the breadcrumbs, oldest first; a time on the
// event's day shows without its date.
func writeBreadcrumbs(w io.Writer, e *schemas.EventDetail, omitted int) {
	if len(e.Breadcrumbs) == 0 {
		return
	}
	head := fmt.Sprintf("Breadcrumbs (last %d, oldest first", len(e.Breadcrumbs))
	if omitted > 0 {
		head += fmt.Sprintf("; %d earlier not shown", omitted)
	}
	fmt.Fprintf(w, "%s):\n", head)
	day := ""
	if len(e.Date) >= 11 && e.Date[10] == 'T' {
		day = e.Date[:11]
	}
	for _, c := range e.Breadcrumbs {
		t := c.Time
		if day != "" && strings.HasPrefix(t, day) {
			t = t[len(day):]
		}
		what := line(c.Category, capSlug)
		if c.Level != "" {
			what += " (" + line(c.Level, capSlug) + ")"
		}
		fmt.Fprintf(w, "  %s %s: %s\n", line(t, capSlug), what, line(c.Message, capDetail))
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fitEventDetail cuts get_event's structured output to the field caps,
// then, while it is over structuredMax as JSON, keeps fewer breadcrumbs
// and the exceptions' steps of fitEventBrief, then drops the lists.
func fitEventDetail(e *schemas.EventDetail) {
	cut := &e.Truncated
	fits := func() bool { return jsonSize(e) <= structuredMax }
	e.Issue = clip(e.Issue, capSlug, cut)
	e.Project = clip(e.Project, capSlug, cut)
	e.Title = clip(e.Title, capText, cut)
	e.Environment = clip(e.Environment, capSlug, cut)
	e.SDK = clip(e.SDK, capName, cut)
	clipMap := func(m map[string]string, keyMax, valueMax int) map[string]string {
		if m == nil {
			return nil
		}
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[clip(k, keyMax, cut)] = clip(v, valueMax, cut)
		}
		return out
	}
	e.Vars = clipMap(e.Vars, capSlug, capName)
	e.Tags = clipMap(e.Tags, capSlug, capName)
	e.Contexts = clipMap(e.Contexts, capSlug, capName)
	for i, c := range e.Breadcrumbs {
		e.Breadcrumbs[i] = schemas.Breadcrumb{Time: clip(c.Time, capSlug, cut), Category: clip(c.Category, capSlug, cut), Level: clip(c.Level, capSlug, cut), Message: clip(c.Message, capText, cut)}
	}
	if r := e.Request; r != nil {
		e.Request = &schemas.EventRequest{Method: clip(r.Method, capSlug, cut), URL: clip(r.URL, capText, cut), Query: clip(r.Query, capText, cut), Headers: clipMap(r.Headers, capSlug, capName)}
	}
	if u := e.User; u != nil {
		e.User = &schemas.EventUser{ID: clip(u.ID, capName, cut), Email: clip(u.Email, capName, cut), Username: clip(u.Username, capName, cut), IP: clip(u.IP, capSlug, cut)}
	}
	if fits() {
		return
	}
	if len(e.Breadcrumbs) > 10 {
		e.Breadcrumbs, *cut = e.Breadcrumbs[len(e.Breadcrumbs)-10:], true
	}
	fitEventBrief(&e.EventBrief, cut, fits)
	for _, drop := range []func(){
		func() { e.Breadcrumbs = nil },
		func() { e.Vars = nil },
		func() { e.Tags = nil },
	} {
		if fits() {
			return
		}
		drop()
		*cut = true
	}
}

func listIssueEventsTool() Tool {
	return define(Tool{
		Name:        "list_issue_events",
		Title:       "List issue events",
		Description: "List an issue's events, newest first.",
		Toolset:     ToolsetIssues,
		Scopes:      []string{"event:read"},
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.ListIssueEventsInput) (*schemas.IssueEventsOutput, string, error) {
		if in.Period != "" && !periodRE.MatchString(in.Period) {
			return nil, "", userErrorf("period %q is not a duration like 24h, 14d or 2w (m, h, d, w)", line(in.Period, capSlug))
		}
		ref, err := d.issueRef(p, in.Issue, in.Organization)
		if err != nil {
			return nil, "", err
		}
		opt := sentry.IssueEventsOptions{Query: in.Query, Environment: in.Environment, StatsPeriod: in.Period, PerPage: in.Limit, Cursor: in.Cursor}
		if opt.PerPage == 0 {
			opt.PerPage = 25
		}
		rows, resp, err := d.Client.ListIssueEvents(ctx, ref.Org, ref.ID, opt)
		if err != nil {
			return nil, "", issueNotFound(err, ref)
		}
		if len(rows) == 0 && in.Environment != "" && ref.Org != "" {
			// Sentry answers an unknown environment with no events.
			if envErr := d.unknownEnvironment(ctx, p, ref.Org, in.Environment); envErr != nil {
				return nil, "", envErr
			}
		}
		out := &schemas.IssueEventsOutput{Events: make([]schemas.EventRow, 0, len(rows)), Page: page(resp)}
		for _, ev := range rows {
			out.Events = append(out.Events, eventRow(ev))
		}
		b := listBuilder()
		same := len(out.Events) > 1
		for _, r := range out.Events {
			same = same && r.Title == out.Events[0].Title
		}
		if same {
			fmt.Fprintf(b, "Every event listed: %s\n", line(out.Events[0].Title, capText))
		}
		for _, r := range out.Events {
			fmt.Fprintf(b, "%s at %s", line(r.ID, capSlug), line(shortTime(r.Date), capSlug))
			for _, v := range []string{r.Environment, r.Release} {
				if v != "" {
					fmt.Fprintf(b, ", %s", line(v, capName))
				}
			}
			if r.User != "" {
				fmt.Fprintf(b, ", user %s", line(r.User, capName))
			}
			if !same && r.Title != "" {
				fmt.Fprintf(b, ": %s", line(r.Title, capText))
			}
			b.WriteString("\n")
		}
		if len(out.Events) == 0 {
			fmt.Fprintf(b, "No events of issue %s match", line(ref.ID, capSlug))
			if in.Period == "" {
				b.WriteString(" in the last 90 days (Sentry's default; period widens it)")
			}
			b.WriteString(".\n")
		}
		text := finishList(b, &out.Page)
		var cut bool
		out.Events, cut = fitList(out.Events, capText, func(r schemas.EventRow, max int, cut *bool) schemas.EventRow {
			return schemas.EventRow{ID: clip(r.ID, capSlug, cut), Date: clip(r.Date, capSlug, cut), Title: clip(r.Title, min(max, capText), cut),
				User: clip(r.User, min(max, capName), cut), Environment: clip(r.Environment, min(max, capSlug), cut), Release: clip(r.Release, min(max, capName), cut)}
		}, func(items []schemas.EventRow) int { c := *out; c.Events = items; return jsonSize(&c) })
		out.Truncated = out.Truncated || cut
		return out, text, nil
	})
}

// eventRow is an event of list_issue_events: its user by email, else
// username, id or IP.
func eventRow(ev sentry.Event) schemas.EventRow {
	r := schemas.EventRow{ID: ev.EventID, Date: ev.DateCreated, Title: ev.Title}
	if r.ID == "" {
		r.ID = ev.ID
	}
	if r.Title == "" {
		r.Title = ev.Message
	}
	for _, t := range ev.Tags {
		switch t.Key {
		case "environment":
			r.Environment = t.Value
		case "release":
			r.Release = t.Value
		}
	}
	if u := ev.User; u != nil {
		for _, v := range []sentry.FlexString{u.Email, u.Username, u.ID, u.IPAddress} {
			if v != "" {
				r.User = string(v)
				break
			}
		}
		if r.User == string(u.ID) && r.User != "" {
			r.User = "id " + r.User
		}
	}
	return r
}
