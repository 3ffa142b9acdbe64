package tools

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// Discover's table and traces need an org:* scope: Sentry's
// OrganizationPermission, not event:read (BEHAVIOUR.md 4.17, 4.18).
var eventsScopes = []string{"org:read"}

const (
	capCell      = 200 // a table cell in text (runes)
	maxCellItems = 10  // elements of a list cell shown
)

func searchEventsTool() Tool {
	return define(Tool{
		Name:        "search_events",
		Title:       "Search events",
		Description: "Query events as a table (Discover); a function like count() groups by the other fields.",
		Toolset:     ToolsetEvents,
		Scopes:      eventsScopes,
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.SearchEventsInput) (*schemas.EventsOutput, string, error) {
		org, err := p.organization(in.Organization)
		if err != nil {
			return nil, "", err
		}
		q, err := eventsQuery(in)
		if err != nil {
			return nil, "", err
		}
		if in.Project != "" {
			id, err := d.projectID(ctx, p, org, in.Project)
			if err != nil {
				return nil, "", err
			}
			q.Projects = []string{id}
		}
		table, resp, err := d.Client.SearchEvents(ctx, org, q)
		var se *sentry.Error
		switch {
		case err == nil:
		case errors.As(err, &se) && se.StatusCode == 404 && se.Detail == "":
			// The feature gate answers an empty 404 (BEHAVIOUR.md 4.17).
			return nil, "", userErrorf("Discover is not available for organization %q: Sentry answered 404 without a body, which means Discover is off for it (its plan or settings lack discover-basic / performance-view) or this Sentry has no Discover. list_issues and get_issue still work.", org)
		case errors.As(err, &se) && se.StatusCode == 400:
			return nil, "", userErrorf("Sentry rejected the query: %s. Check fields, functions, sort and the query syntax.", line(strings.TrimSuffix(se.Detail, "."), capDetail))
		case in.Environment != "" && sentry.StatusCode(err) == 404:
			if envErr := d.unknownEnvironment(ctx, p, org, in.Environment); envErr != nil {
				return nil, "", envErr
			}
			return nil, "", subject(err, "list_organizations", "organization %q or environment %q", org, in.Environment)
		default:
			return nil, "", subject(err, "list_organizations", "organization %q", org)
		}
		if len(table.Data) == 0 && in.Environment != "" {
			if envErr := d.unknownEnvironment(ctx, p, org, in.Environment); envErr != nil {
				return nil, "", envErr
			}
		}
		out, text := renderTable(in.Fields, table, resp)
		return out, text, nil
	})
}

// eventsQuery checks search_events' arguments and maps them to Sentry's
// parameters.
func eventsQuery(in *schemas.SearchEventsInput) (sentry.EventsQuery, error) {
	q := sentry.EventsQuery{Fields: in.Fields, Dataset: in.Dataset, Query: in.Query, Sort: in.Sort,
		StatsPeriod: in.Period, Environment: in.Environment, PerPage: in.Limit, Cursor: in.Cursor}
	if q.Dataset == "" {
		q.Dataset = "errors" // always sent: Sentry's own default mixes datasets
	}
	if q.PerPage == 0 {
		q.PerPage = 25
	}
	for i, f := range in.Fields {
		if strings.TrimSpace(f) == "" || len(f) > 200 {
			return q, userErrorf("fields[%d] must be a column (title, user.email) or a function (count()) of at most 200 characters", i)
		}
	}
	if in.Sort != "" && !slices.Contains(in.Fields, strings.TrimPrefix(in.Sort, "-")) {
		return q, userErrorf("sort %q is not one of fields; Sentry sorts only by a selected field: add it to fields, or sort by one of %s (with - in front for descending)", line(in.Sort, capName), line(strings.Join(in.Fields, ", "), capText))
	}
	switch {
	case in.Period != "" && (in.Start != "" || in.End != ""):
		return q, userErrorf("give either period or start and end, not both")
	case (in.Start == "") != (in.End == ""):
		return q, userErrorf("start and end go together; give both (ISO 8601, e.g. 2026-05-01T00:00:00Z) or use period")
	case in.Start != "":
		start, err1 := parseTime(in.Start)
		end, err2 := parseTime(in.End)
		if err1 != nil || err2 != nil {
			return q, userErrorf("start and end must be ISO 8601 times, e.g. 2026-05-01T00:00:00Z or 2026-05-01")
		}
		if !start.Before(end) {
			return q, userErrorf("start must be before end")
		}
		q.Start, q.End = start.UTC().Format("2006-01-02T15:04:05"), end.UTC().Format("2006-01-02T15:04:05")
	}
	return q, nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO 8601 time: %q", s)
}

// renderTable is search_events' result: the columns as requested, a
// header row then one line per row, each cell rendered as data.
func renderTable(fields []string, table *sentry.EventsTable, resp *sentry.Response) (*schemas.EventsOutput, string) {
	out := &schemas.EventsOutput{Fields: fields, Rows: make([]map[string]any, 0, len(table.Data)), Page: page(resp)}
	types := map[string]string{}
	for _, f := range fields {
		if t := string(table.Meta.Fields[f]); t != "" {
			types[f] = clip(t, capSlug, &out.Truncated)
		}
		if u := string(table.Meta.Units[f]); u != "" {
			if out.Meta.Units == nil {
				out.Meta.Units = map[string]string{}
			}
			out.Meta.Units[f] = clip(u, capSlug, &out.Truncated)
		}
	}
	if len(types) > 0 {
		out.Meta.Fields = types
	}
	b := listBuilder()
	header := make([]string, len(fields))
	for i, f := range fields {
		header[i] = cellText(f)
		if u := out.Meta.Units[f]; u != "" {
			header[i] += " (" + line(unitAbbrev(u), capSlug) + ")"
		}
	}
	if len(table.Data) > 0 {
		b.WriteString(strings.Join(header, " | ") + "\n")
	}
	for _, row := range table.Data {
		cells := make([]string, len(fields))
		srow := make(map[string]any, len(fields))
		for i, f := range fields {
			raw := row[f]
			cells[i] = renderCell(raw, types[f])
			srow[f] = structuredCell(raw)
		}
		b.WriteString(strings.Join(cells, " | ") + "\n")
		out.Rows = append(out.Rows, srow)
	}
	out.Tip = strings.TrimSpace(string(table.Meta.Tips.Query) + " " + string(table.Meta.Tips.Columns))
	switch {
	case len(table.Data) == 0 && out.Tip != "":
		fmt.Fprintf(b, "No rows. Sentry says: %s\n", line(out.Tip, capText))
	case len(table.Data) == 0:
		b.WriteString("No events match.\n")
	case out.Tip != "":
		fmt.Fprintf(b, "Sentry says: %s\n", line(out.Tip, capText))
	}
	out.Tip = clip(out.Tip, capText, &out.Truncated)
	text := finishList(b, &out.Page)
	var cut bool
	out.Rows, cut = fitList(out.Rows, capText, func(r map[string]any, max int, cut *bool) map[string]any {
		c := make(map[string]any, len(r))
		for k, v := range r {
			c[k] = clipCell(v, max, cut)
		}
		return c
	}, func(items []map[string]any) int { c := *out; c.Rows = items; return jsonSize(&c) })
	for i, f := range out.Fields {
		out.Fields[i] = clip(f, capName, &cut)
	}
	out.Truncated = out.Truncated || cut
	return out, text
}

func unitAbbrev(u string) string {
	switch u {
	case "millisecond":
		return "ms"
	case "second":
		return "s"
	case "byte":
		return "B"
	}
	return u
}

// cellText renders one untrusted string for a table cell: one line, and a
// "|" escaped so no value can fake a column.
func cellText(s string) string {
	return strings.ReplaceAll(line(s, capCell), "|", `\|`)
}

// renderCell renders a raw JSON cell for the text table.
func renderCell(raw json.RawMessage, typ string) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		json.Unmarshal(raw, &s)
		return cellText(s)
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return ""
		}
		shown, more := render.Cap(items, maxCellItems)
		parts := make([]string, len(shown))
		for i, it := range shown {
			parts[i] = renderCell(it, "")
		}
		s := "[" + strings.Join(parts, ", ")
		if more > 0 {
			s += ", " + render.More(more, "more", "more")
		}
		return s + "]"
	case '{':
		var buf bytes.Buffer
		json.Compact(&buf, raw)
		return cellText(buf.String())
	case 't', 'f':
		return string(raw)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return cellText(string(raw))
	}
	if typ == "percentage" {
		return strconv.FormatFloat(math.Round(f*1000)/10, 'f', -1, 64) + "%"
	}
	if bytes.ContainsAny(raw, ".eE") {
		return formatNumber(f)
	}
	return string(raw) // an integer as Sentry wrote it
}

// formatNumber shows a float compactly: at most 6 significant digits, no
// exponent below a million.
func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return strconv.FormatFloat(f, 'g', -1, 64)
	case math.Abs(f) >= 1e6:
		return strconv.FormatFloat(math.Round(f), 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}

// structuredCell is a raw cell for the structured output: strings,
// numbers as Sentry wrote them, booleans, null, lists of those; an object
// becomes its compact JSON text.
func structuredCell(raw json.RawMessage) any {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '"':
		var s string
		json.Unmarshal(raw, &s)
		return s
	case '[':
		var items []json.RawMessage
		json.Unmarshal(raw, &items)
		shown, _ := render.Cap(items, 2*maxCellItems)
		out := make([]any, len(shown))
		for i, it := range shown {
			out[i] = structuredCell(it)
			if _, nested := out[i].([]any); nested {
				out[i] = string(it)
			}
		}
		return out
	case '{':
		var buf bytes.Buffer
		json.Compact(&buf, raw)
		return buf.String()
	case 't':
		return true
	case 'f':
		return false
	case 'n':
		return nil
	}
	return json.Number(raw)
}

func clipCell(v any, max int, cut *bool) any {
	switch x := v.(type) {
	case string:
		return clip(x, max, cut)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = clipCell(e, max, cut)
		}
		return out
	}
	return v
}

// Trace rendering caps.
const (
	maxTraceSpans    = 50 // spans shown
	maxTraceDepth    = 12 // deepest level shown (0 = a root)
	maxTraceProblems = 10 // errors listed outside the tree
	maxSpanProblems  = 3  // errors or performance issues shown per span
)

func getTraceTool() Tool {
	return define(Tool{
		Name:        "get_trace",
		Title:       "Get trace",
		Description: "A trace's span tree with durations and errors.",
		Toolset:     ToolsetEvents,
		Scopes:      eventsScopes,
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.GetTraceInput) (*schemas.TraceOutput, string, error) {
		org, err := p.organization(in.Organization)
		if err != nil {
			return nil, "", err
		}
		if !sentry.ValidTraceID(in.TraceID) {
			return nil, "", userErrorf("trace_id must be 32 hex digits (an event's contexts.trace.trace_id)")
		}
		id := strings.ToLower(in.TraceID)
		ctxMeta, cancel := context.WithCancel(ctx)
		defer cancel()
		type metaResult struct {
			m   *sentry.TraceMeta
			err error
		}
		metaCh := make(chan metaResult, 1)
		go func() {
			m, _, err := d.Client.GetTraceMeta(ctxMeta, org, id)
			metaCh <- metaResult{m, err}
		}()
		tr, _, err := d.Client.GetTrace(ctx, org, id)
		if err != nil {
			cancel()
			<-metaCh
			var se *sentry.Error
			if errors.As(err, &se) && se.StatusCode == 404 && se.Detail == "" {
				return nil, "", userErrorf("Traces are not available for organization %q: Sentry answered 404 without a body (its plan or version has no trace view).", org)
			}
			return nil, "", subject(err, "search_events (field trace)", "trace %s in organization %q", id, org)
		}
		mr := <-metaCh
		if mr.err != nil && ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		out, text := renderTrace(id, tr, mr.m)
		return out, text, nil
	})
}

// traceNode is a span of the flattened tree.
type traceNode struct {
	item   *sentry.TraceItem
	depth  int
	parent int
	marked bool // it or a span below it has an error or a performance issue
}

// flattenTrace lists the tree depth first.
func flattenTrace(items []sentry.TraceItem) []traceNode {
	var nodes []traceNode
	var walk func(items []sentry.TraceItem, depth, parent int)
	walk = func(items []sentry.TraceItem, depth, parent int) {
		for i := range items {
			it := &items[i]
			nodes = append(nodes, traceNode{item: it, depth: depth, parent: parent})
			n := len(nodes) - 1
			if len(it.Errors)+len(it.Occurrences)+len(it.PerformanceIssues) > 0 || it.EventType == "error" {
				for j := n; j >= 0 && !nodes[j].marked; j = nodes[j].parent {
					nodes[j].marked = true
				}
			}
			walk(it.Children, depth+1, n)
		}
	}
	walk(items, 0, -1)
	return nodes
}

// spanName is a transaction's name or a span's description.
func spanName(it *sentry.TraceItem) string {
	if it.IsTransaction || it.LegacyOp != "" {
		return cmp.Or(it.Transaction, it.Description, it.Name)
	}
	return cmp.Or(it.Description, it.Name, it.Transaction, it.Title)
}

func spanDuration(it *sentry.TraceItem) float64 {
	switch {
	case it.Duration > 0:
		return float64(it.Duration)
	case it.LegacyDuration > 0:
		return float64(it.LegacyDuration)
	case it.End > it.Start && it.Start > 0:
		return math.Round((float64(it.End)-float64(it.Start))*1e6) / 1e3
	}
	return 0
}

func problems(kind string, in []sentry.TraceIssue) []schemas.TraceProblem {
	var out []schemas.TraceProblem
	for _, e := range in {
		issue := string(e.Issue)
		if issue == "" {
			issue = string(e.IssueID)
		}
		out = append(out, schemas.TraceProblem{Kind: kind, Title: e.Title, EventID: string(e.EventID), IssueID: issue})
	}
	return out
}

// renderTrace is get_trace's result: the counts (from trace-meta, or
// counted from the tree when that failed), then the span tree indented by
// depth, at most maxTraceSpans spans and maxTraceDepth levels; spans on
// the way to an error are kept first.
func renderTrace(id string, tr *sentry.Trace, meta *sentry.TraceMeta) (*schemas.TraceOutput, string) {
	nodes := flattenTrace(tr.Items)
	out := &schemas.TraceOutput{TraceID: id, Tree: []schemas.TraceSpan{}}
	counted := meta == nil
	if meta != nil {
		out.Errors, out.Spans, out.PerformanceIssues, out.Logs = int64(meta.Errors), int64(meta.Spans), int64(meta.PerformanceIssues), int64(meta.Logs)
	} else {
		for _, n := range nodes {
			if n.item.EventType == "error" {
				out.Errors++
				continue
			}
			out.Spans++
			out.Errors += int64(len(n.item.Errors))
			out.PerformanceIssues += int64(len(n.item.Occurrences) + len(n.item.PerformanceIssues))
		}
		out.Errors += int64(len(tr.OrphanErrors))
	}
	// Spans on the way to an error come first, then the others in tree
	// order, within the caps.
	show := make([]bool, len(nodes))
	budget := maxTraceSpans
	for pass := 0; pass < 2; pass++ {
		for i, n := range nodes {
			if budget == 0 {
				break
			}
			if !show[i] && n.depth <= maxTraceDepth && (pass == 1 || n.marked) && (n.parent < 0 || show[n.parent]) {
				show[i] = true
				budget--
			}
		}
	}
	var b render.Builder
	var cut bool
	fmt.Fprintf(&b, "Trace %s: %s, %s, %s, %s", id, plural(out.Errors, "error", "errors"), plural(out.Spans, "span", "spans"),
		plural(out.PerformanceIssues, "performance issue", "performance issues"), plural(out.Logs, "log", "logs"))
	if counted {
		b.WriteString(" (counted from the spans: the trace's counts were not available)")
	}
	b.WriteString(".\n")
	if len(nodes) == 0 {
		b.WriteString("Sentry returned no spans for this trace.\n")
	}
	var others []schemas.TraceProblem
	for i, n := range nodes {
		it := n.item
		errs, issues := problems("error", it.Errors), problems("performance issue", append(append([]sentry.TraceIssue{}, it.Occurrences...), it.PerformanceIssues...))
		if it.EventType == "error" {
			errs = append([]schemas.TraceProblem{{Kind: "error", Title: cmp.Or(it.Title, it.Description, it.Name, "error"), EventID: string(it.EventID)}}, errs...)
		}
		if !show[i] {
			out.Omitted++
			others = append(others, errs...)
			continue
		}
		indent := strings.Repeat("  ", n.depth)
		sp := schemas.TraceSpan{Depth: n.depth, Op: cmp.Or(it.Op, it.LegacyOp), Name: spanName(it), Project: it.ProjectSlug, DurationMS: spanDuration(it), EventID: string(it.EventID)}
		if it.EventType == "error" {
			sp.Op = "error"
		}
		if it.EventType != "error" {
			fmt.Fprintf(&b, "%s%s %s", indent, line(orDash(sp.Op), capSlug), line(sp.Name, capText))
			if sp.Project != "" {
				fmt.Fprintf(&b, " (%s)", line(sp.Project, capSlug))
			}
			fmt.Fprintf(&b, " %s ms\n", formatNumber(sp.DurationMS))
		}
		writeProblems(&b, indent, "error", errs)
		writeProblems(&b, indent, "performance issue", issues)
		errs, _ = render.Cap(errs, maxSpanProblems)
		issues, _ = render.Cap(issues, maxSpanProblems)
		sp.Op, sp.Name, sp.Project, sp.EventID = clip(sp.Op, capSlug, &cut), clip(sp.Name, capText, &cut), clip(sp.Project, capSlug, &cut), clip(sp.EventID, capSlug, &cut)
		sp.Problems = clipProblems(append(errs, issues...), &cut)
		out.Tree = append(out.Tree, sp)
	}
	if out.Omitted > 0 {
		fmt.Fprintf(&b, "%s not shown (at most %d spans and %d levels are shown)\n", render.More(out.Omitted, "span", "spans"), maxTraceSpans, maxTraceDepth+1)
	}
	others = append(others, problems("error", tr.OrphanErrors)...)
	if len(others) > 0 {
		b.WriteString("Errors outside the spans shown:\n")
		writeProblems(&b, "", "error", others)
		others, _ = render.Cap(others, maxTraceProblems)
		out.Problems = clipProblems(others, &cut)
	}
	for jsonSize(out) > structuredMax && len(out.Tree) > 1 {
		out.Tree, cut = out.Tree[:len(out.Tree)*3/4], true
	}
	out.Truncated = cut || b.Truncated()
	return out, strings.TrimRight(b.String(), "\n")
}

// writeProblems writes up to maxSpanProblems (maxTraceProblems without an
// indent) errors or performance issues, one per line.
func writeProblems(b *render.Builder, indent, kind string, ps []schemas.TraceProblem) {
	limit := maxSpanProblems
	if indent == "" {
		limit = maxTraceProblems
	}
	shown, more := render.Cap(ps, limit)
	for _, e := range shown {
		fmt.Fprintf(b, "%s  ! %s: %s", indent, kind, line(cmp.Or(e.Title, "(no title)"), capText))
		var ids []string
		if e.EventID != "" {
			ids = append(ids, "event "+line(e.EventID, capSlug))
		}
		if e.IssueID != "" {
			ids = append(ids, "issue "+line(e.IssueID, capSlug))
		}
		if len(ids) > 0 {
			fmt.Fprintf(b, " (%s)", strings.Join(ids, ", "))
		}
		b.WriteString("\n")
	}
	if more > 0 {
		fmt.Fprintf(b, "%s  %s\n", indent, render.More(more, kind, kind+"s"))
	}
}

func clipProblems(ps []schemas.TraceProblem, cut *bool) []schemas.TraceProblem {
	if len(ps) == 0 {
		return nil
	}
	out := make([]schemas.TraceProblem, len(ps))
	for i, e := range ps {
		out[i] = schemas.TraceProblem{Kind: e.Kind, Title: clip(e.Title, capText, cut), EventID: clip(e.EventID, capSlug, cut), IssueID: clip(e.IssueID, capSlug, cut)}
	}
	return out
}
