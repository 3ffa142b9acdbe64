package sentrytest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Discover's table endpoint, GET /api/0/organizations/{org}/events/
// (BEHAVIOUR.md 4.17): org:* scopes (not event:*), a feature gate that
// answers 404 with an empty body, at most 20 fields, a dataset, grouping
// by every non-function field when a function is selected, meta with field
// types and units, offset pagination and a 30/1 s rate limit with a
// concurrency of 15.
//
// The errors dataset is every stored event of the organization's issues
// (Issue.Events, the event.latest.json shape); the transactions dataset is
// Org.Transactions; discover (Sentry's default) is both. The other
// datasets Sentry knows are accepted and empty. Texts of 400s Sentry
// takes from its query builders (unknown function, bad argument, sort not
// selected) are plausible, not confirmed (BEHAVIOUR.md 11).
//
// Simplifications: the query understands key:value, !key:value, quoted
// values, [a,b] lists, * wildcards, >, <, >=, <= on numbers, durations and
// dates, has:key, free text, OR between terms and aggregate conditions such
// as count():>10; no parentheses, no equations. Percentiles interpolate
// linearly between the two nearest values. Without statsPeriod/start/end
// no date window is applied (epm() then divides by Sentry's 90 days).
func init() {
	addRoute("OrganizationEventsEndpoint", "organizations/{org}/events", permOrg, map[string]func(*call){http.MethodGet: listEvents}, map[string][2]int{"GET": {30, 1}}).concurrent = 15
}

// Transaction is one transaction event of Discover's transactions dataset.
type Transaction struct {
	EventID     string
	Project     string // slug
	Name        string // transaction
	Op          string // transaction.op, e.g. http.server
	DurationMS  float64
	Status      string // transaction.status: ok, internal_error, deadline_exceeded...
	UserID      string
	UserEmail   string
	Environment string
	Release     string
	Timestamp   time.Time
	TraceID     string
}

// discoverFeatures gate the endpoint (organization_events.py has_feature).
var discoverFeatures = []string{"discover-basic", "performance-view", "performance-issues-all-events-tab"}

func hasFeature(o *Org, names ...string) bool {
	for _, n := range names {
		if slices.Contains(o.Features, n) || slices.Contains(o.Features, "organizations:"+n) {
			return true
		}
	}
	return false
}

// datasetOptions are the dataset names get_dataset accepts (DATASET_OPTIONS;
// the key list was not read, BEHAVIOUR.md 11).
var datasetOptions = []string{"discover", "errors", "issuePlatform", "logs", "metrics", "metricsEnhanced", "profile_functions", "spans", "tracemetrics", "transactions", "uptime_results"}

const maxDiscoverFields = 20

var msgTooManyFields = exampleDetail("error.400.events_invalid_field.json")

// notFoundEmpty is a DRF Response(status=404) without data: no body.
func (c *call) notFoundEmpty() {
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(404)
}

func listEvents(c *call) {
	o := c.org()
	if o == nil {
		return
	}
	if !hasFeature(o, discoverFeatures...) {
		c.notFoundEmpty()
		return
	}
	// get_snuba_params: fields, dates, projects, environments.
	fields := c.q.getlist("field")
	if len(fields)+len(c.q.getlist("equation")) > maxDiscoverFields {
		c.detail(400, msgTooManyFields)
		return
	}
	bad := ""
	start, end, ok := c.dateRange(func(msg string) { bad = msg })
	if !ok {
		c.detail(400, bad)
		return
	}
	projectParams := c.q.getlist("project")
	projects, ok := c.projects(o)
	if !ok {
		return
	}
	if len(projects) == 0 {
		c.json(200, map[string]any{"data": []any{}, "meta": map[string]any{"tips": map[string]any{"query": "Need at least one valid project to query."}}})
		return
	}
	if len(projects) > 1 && len(projectParams) > 0 && !slices.Contains(projectParams, "-1") && !hasFeature(o, "global-views") {
		c.detail(400, "You cannot view events from multiple projects.")
		return
	}
	envs, ok := c.environments(o)
	if !ok {
		return
	}
	dataset, has := c.q.get("dataset")
	if !has {
		dataset = "discover"
	}
	if !slices.Contains(datasetOptions, dataset) {
		c.detail(400, "dataset must be one of: "+strings.Join(datasetOptions, ", "))
		return
	}
	maxPerPage := 100
	if dataset == "logs" || dataset == "tracemetrics" {
		maxPerPage = 9999
	}
	perPage := 100
	if raw, has := c.q.get("per_page"); has {
		n, err := pyInt(raw)
		if err != nil {
			c.detail(400, "Invalid per_page parameter.")
			return
		}
		if n < 1 || n > maxPerPage {
			c.detail(400, fmt.Sprintf("Invalid per_page value. Must be between 1 and %d.", maxPerPage))
			return
		}
		perPage = n
	}
	cur, ok := c.cursorParam()
	if !ok {
		return
	}
	if len(fields) == 0 {
		c.detail(400, "No columns selected")
		return
	}
	specs := make([]fieldSpec, len(fields))
	aggregate := false
	for i, f := range fields {
		sp, err := parseField(f, dataset)
		if err != nil {
			c.detail(400, err.Error())
			return
		}
		specs[i] = sp
		aggregate = aggregate || sp.fn != ""
	}
	var sorts []string
	for _, s := range c.q.getlist("sort") {
		if s == "" {
			continue
		}
		if !slices.Contains(fields, strings.TrimPrefix(s, "-")) {
			c.detail(400, "Cannot sort by a field that is not selected.")
			return
		}
		sorts = append(sorts, s)
	}
	raw, _ := c.q.get("query")
	q, err := parseEventQuery(raw, dataset, c.v.now)
	if err != nil {
		c.detail(400, err.Error())
		return
	}
	if len(q.aggs) > 0 && !aggregate {
		c.detail(400, "Aggregate filters can only be used with aggregate fields.")
		return
	}

	window := end.Sub(start)
	if start.IsZero() {
		window = 90 * 24 * time.Hour
	}
	var rows []*discoverRow
	for _, r := range collectRows(o, dataset, projects, envs, start, end) {
		if q.match(r) {
			rows = append(rows, r)
		}
	}
	// Newest first unless sorted otherwise; groups keep the order of
	// their newest row.
	slices.SortStableFunc(rows, func(a, b *discoverRow) int { return b.ts.Compare(a.ts) })
	var out []map[string]any
	if aggregate {
		var keys []string
		groups := map[string][]*discoverRow{}
		for _, r := range rows {
			var parts []string
			for _, sp := range specs {
				if sp.fn == "" {
					b, _ := json.Marshal(sp.cell(r))
					parts = append(parts, string(b))
				}
			}
			k := strings.Join(parts, "\x00")
			if _, seen := groups[k]; !seen {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], r)
		}
	group:
		for _, k := range keys {
			g := groups[k]
			for _, a := range q.aggs {
				if !a.matchValue(a.spec.compute(g, window)) {
					continue group
				}
			}
			row := map[string]any{}
			for _, sp := range specs {
				if sp.fn == "" {
					row[sp.raw] = sp.cell(g[0])
				} else {
					row[sp.raw] = sp.compute(g, window)
				}
			}
			out = append(out, row)
		}
	} else {
		for _, r := range rows {
			row := map[string]any{}
			for _, sp := range specs {
				row[sp.raw] = sp.cell(r)
			}
			out = append(out, row)
		}
	}
	for i := len(sorts) - 1; i >= 0; i-- {
		key, desc := strings.TrimPrefix(sorts[i], "-"), strings.HasPrefix(sorts[i], "-")
		slices.SortStableFunc(out, func(a, b map[string]any) int {
			n := compareCells(a[key], b[key])
			if desc {
				return -n
			}
			return n
		})
	}
	p, err := seqPage(len(out), perPage, cur)
	if err != nil {
		c.detail(400, err.Error())
		return
	}
	data := make([]any, 0, p.end-p.start)
	for _, r := range out[p.start:p.end] {
		data = append(data, r)
	}
	types, units := map[string]any{}, map[string]any{}
	for _, sp := range specs {
		types[sp.raw] = sp.typ
		units[sp.raw] = nil
		if sp.unit != "" {
			units[sp.raw] = sp.unit
		}
	}
	c.w.Header().Set("Link", c.linkHeader(p))
	c.json(200, map[string]any{"data": data, "meta": map[string]any{
		"fields": types, "units": units, "isMetricsData": false, "isMetricsExtractedData": false,
		"tips": map[string]any{}, "datasetReason": "unchanged", "dataset": dataset,
	}})
}

// discoverRow is an error event or a transaction.
type discoverRow struct {
	p    *Project
	is   *Issue
	ev   map[string]any
	tx   *Transaction
	ts   time.Time
	tags map[string]string
}

func collectRows(o *Org, dataset string, projects []*Project, envs []string, start, end time.Time) []*discoverRow {
	inWindow := func(t time.Time) bool { return start.IsZero() || !t.Before(start) && !t.After(end) }
	inEnv := func(e string) bool { return len(envs) == 0 || slices.Contains(envs, e) }
	var out []*discoverRow
	for _, p := range projects {
		if dataset == "errors" || dataset == "discover" {
			for _, is := range o.Issues {
				if is.Project != p.Slug {
					continue
				}
				for _, ev := range is.Events {
					r := &discoverRow{p: p, is: is, ev: ev, tags: map[string]string{}}
					if tags, ok := ev["tags"].([]any); ok {
						for _, t := range tags {
							if m, ok := t.(map[string]any); ok {
								k, _ := m["key"].(string)
								v, _ := m["value"].(string)
								r.tags[k] = v
							}
						}
					}
					s, _ := ev["dateCreated"].(string)
					r.ts, _ = parseISO(s)
					if inWindow(r.ts) && inEnv(r.tags["environment"]) {
						out = append(out, r)
					}
				}
			}
		}
		if dataset == "transactions" || dataset == "discover" {
			for _, tx := range o.Transactions {
				if tx.Project == p.Slug && inWindow(tx.Timestamp) && inEnv(tx.Environment) {
					out = append(out, &discoverRow{p: p, tx: tx, ts: tx.Timestamp, tags: map[string]string{
						"environment": tx.Environment, "release": tx.Release, "transaction": tx.Name,
						"transaction.op": tx.Op, "transaction.status": tx.Status, "user": userTag(tx.UserID, tx.UserEmail),
					}})
				}
			}
		}
	}
	return out
}

func userTag(id, email string) string {
	switch {
	case id != "":
		return "id:" + id
	case email != "":
		return "email:" + email
	}
	return ""
}

// Columns: their types, and which dataset has them ("" = both).
var discoverColumns = map[string]struct{ typ, dataset string }{
	"id": {"string", ""}, "title": {"string", ""}, "timestamp": {"date", ""}, "project": {"string", ""},
	"project.name": {"string", ""}, "project.id": {"integer", ""}, "environment": {"string", ""},
	"release": {"string", ""}, "transaction": {"string", ""}, "user": {"string", ""}, "user.id": {"string", ""},
	"user.email": {"string", ""}, "user.username": {"string", ""}, "user.ip": {"string", ""},
	"user.display": {"string", ""}, "trace": {"string", ""}, "event.type": {"string", ""}, "platform": {"string", ""},
	"message": {"string", "errors"}, "issue": {"string", "errors"}, "issue.id": {"integer", "errors"},
	"level": {"string", "errors"}, "culprit": {"string", "errors"}, "url": {"string", "errors"},
	"location": {"string", "errors"}, "sdk.name": {"string", "errors"},
	"error.type": {"array", "errors"}, "error.value": {"array", "errors"}, "error.handled": {"array", "errors"},
	"error.mechanism":      {"array", "errors"},
	"transaction.duration": {"duration", "transactions"}, "transaction.op": {"string", "transactions"},
	"transaction.status": {"string", "transactions"},
}

var tagKeyRe = regexp.MustCompile(`^[a-zA-Z0-9_.:-]+$`)

// column checks a column name for the dataset; a name that is not a
// column is a tag, as in Sentry.
func column(name, dataset string) (string, error) {
	if inner, ok := strings.CutPrefix(name, "tags["); ok && strings.HasSuffix(inner, "]") && tagKeyRe.MatchString(strings.TrimSuffix(inner, "]")) {
		return "string", nil
	}
	if col, ok := discoverColumns[name]; ok {
		if col.dataset != "" && (dataset == "errors" || dataset == "transactions") && col.dataset != dataset {
			return "", fmt.Errorf("%s is not a valid field for the %s dataset", name, dataset)
		}
		return col.typ, nil
	}
	if !tagKeyRe.MatchString(name) {
		return "", fmt.Errorf("Invalid field: %s", name)
	}
	return "string", nil
}

// value is a row's value of a column: string, float64, time.Time, []any or
// nil.
func (r *discoverRow) value(col string) any {
	if inner, ok := strings.CutPrefix(col, "tags["); ok && strings.HasSuffix(inner, "]") {
		return r.tag(strings.TrimSuffix(inner, "]"))
	}
	switch col {
	case "timestamp":
		return r.ts
	case "project", "project.name":
		return r.p.Slug
	case "project.id":
		n, _ := strconv.ParseFloat(r.p.ID, 64)
		return n
	case "event.type":
		if r.tx != nil {
			return "transaction"
		}
		return "error"
	}
	if tx := r.tx; tx != nil {
		switch col {
		case "id":
			return tx.EventID
		case "title", "transaction":
			return tx.Name
		case "transaction.duration":
			return tx.DurationMS
		case "transaction.op":
			return tx.Op
		case "transaction.status":
			return tx.Status
		case "user.id":
			return tx.UserID
		case "user.email":
			return tx.UserEmail
		case "user.display":
			return cmp.Or(tx.UserEmail, tx.UserID)
		case "trace":
			return tx.TraceID
		case "platform":
			return r.p.Platform
		case "environment", "release", "user":
			return r.tags[col]
		}
		if _, known := discoverColumns[col]; known {
			return nil
		}
		return r.tag(col)
	}
	ev := r.ev
	str := func(v any) string { s, _ := v.(string); return s }
	user, _ := ev["user"].(map[string]any)
	switch col {
	case "id":
		return eventIDOf(ev)
	case "title":
		return str(ev["title"])
	case "message":
		return cmp.Or(str(ev["message"]), str(ev["title"]))
	case "issue":
		return r.is.ShortID
	case "issue.id":
		n, _ := strconv.ParseFloat(r.is.ID, 64)
		return n
	case "level":
		return cmp.Or(r.tags["level"], r.is.Level)
	case "culprit":
		return str(ev["culprit"])
	case "platform":
		return str(ev["platform"])
	case "location":
		return str(ev["location"])
	case "release":
		if rel, ok := ev["release"].(map[string]any); ok {
			return cmp.Or(str(rel["version"]), r.tags["release"])
		}
		return r.tags["release"]
	case "user.id":
		return str(user["id"])
	case "user.email":
		return str(user["email"])
	case "user.username":
		return str(user["username"])
	case "user.ip":
		return str(user["ip_address"])
	case "user.display":
		return cmp.Or(str(user["email"]), str(user["username"]), str(user["id"]), str(user["ip_address"]))
	case "user":
		if t := r.tags["user"]; t != "" {
			return t
		}
		return userTag(str(user["id"]), str(user["email"]))
	case "trace":
		contexts, _ := ev["contexts"].(map[string]any)
		trace, _ := contexts["trace"].(map[string]any)
		return str(trace["trace_id"])
	case "sdk.name":
		sdk, _ := ev["sdk"].(map[string]any)
		return str(sdk["name"])
	case "error.type", "error.value", "error.handled", "error.mechanism":
		return exceptionValues(ev, strings.TrimPrefix(col, "error."))
	}
	if _, known := discoverColumns[col]; known {
		return nil
	}
	return r.tag(col)
}

func (r *discoverRow) tag(k string) any {
	if v, ok := r.tags[k]; ok {
		return v
	}
	return nil
}

// exceptionValues lists one attribute of each exception of an event.
func exceptionValues(ev map[string]any, attr string) []any {
	out := []any{}
	entries, _ := ev["entries"].([]any)
	for _, en := range entries {
		en, _ := en.(map[string]any)
		if en["type"] != "exception" {
			continue
		}
		data, _ := en["data"].(map[string]any)
		values, _ := data["values"].([]any)
		for _, x := range values {
			x, _ := x.(map[string]any)
			mech, _ := x["mechanism"].(map[string]any)
			switch attr {
			case "type", "value":
				out = append(out, x[attr])
			case "handled":
				out = append(out, mech["handled"])
			case "mechanism":
				out = append(out, mech["type"])
			}
		}
	}
	return out
}

// fieldSpec is one requested field: a column, or a function of one.
type fieldSpec struct {
	raw       string
	fn, arg   string
	typ, unit string
}

var functionRe = regexp.MustCompile(`^([a-z_0-9]+)\((.*)\)$`)

// functions are the functions the fake computes: how many arguments, and
// whether they exist on the errors dataset.
var functions = map[string]struct {
	minArgs, maxArgs int
	errors           bool
}{
	"count": {0, 1, true}, "count_unique": {1, 1, true}, "last_seen": {0, 0, true}, "epm": {0, 0, true},
	"failure_rate": {0, 0, false}, "avg": {1, 1, false}, "sum": {1, 1, false}, "min": {1, 1, false}, "max": {1, 1, false},
	"p50": {0, 1, false}, "p75": {0, 1, false}, "p90": {0, 1, false}, "p95": {0, 1, false}, "p99": {0, 1, false},
}

func parseField(raw, dataset string) (fieldSpec, error) {
	sp := fieldSpec{raw: raw}
	m := functionRe.FindStringSubmatch(raw)
	if m == nil {
		typ, err := column(raw, dataset)
		sp.typ = typ
		if typ == "duration" {
			sp.unit = "millisecond"
		}
		return sp, err
	}
	sp.fn = m[1]
	def, ok := functions[sp.fn]
	if !ok || (dataset == "errors" && !def.errors) {
		return sp, fmt.Errorf("%s is not a valid function", sp.fn)
	}
	var args []string
	if strings.TrimSpace(m[2]) != "" {
		for _, a := range strings.Split(m[2], ",") {
			args = append(args, strings.TrimSpace(a))
		}
	}
	if len(args) < def.minArgs || len(args) > def.maxArgs {
		return sp, fmt.Errorf("%s: expected %d argument(s) but got %d argument(s)", sp.fn, def.maxArgs, len(args))
	}
	if len(args) == 1 {
		sp.arg = args[0]
		if _, err := column(sp.arg, dataset); err != nil {
			return sp, err
		}
	}
	switch sp.fn {
	case "count", "count_unique":
		sp.typ = "integer"
	case "last_seen":
		sp.typ = "date"
	case "epm":
		sp.typ, sp.unit = "rate", "1/minute"
	case "failure_rate":
		sp.typ = "percentage"
	default: // numeric functions
		if sp.arg == "" {
			sp.arg = "transaction.duration"
		}
		if t, _ := column(sp.arg, dataset); t != "duration" {
			return sp, fmt.Errorf("%s is not a numeric column", sp.arg)
		}
		sp.typ, sp.unit = "duration", "millisecond"
	}
	return sp, nil
}

// cell is a column's value as the response carries it.
func (sp fieldSpec) cell(r *discoverRow) any {
	v := r.value(sp.raw)
	switch x := v.(type) {
	case time.Time:
		return discoverTime(x)
	case nil:
		if sp.typ == "string" {
			return ""
		}
	}
	return v
}

func discoverTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

// compute is a function's value over a group of rows.
func (sp fieldSpec) compute(rows []*discoverRow, window time.Duration) any {
	switch sp.fn {
	case "count":
		return len(rows)
	case "count_unique":
		seen := map[string]bool{}
		for _, r := range rows {
			if s := cellString(r.value(sp.arg)); s != "" {
				seen[s] = true
			}
		}
		return len(seen)
	case "last_seen":
		var last time.Time
		for _, r := range rows {
			if r.ts.After(last) {
				last = r.ts
			}
		}
		return discoverTime(last)
	case "epm":
		return float64(len(rows)) / window.Minutes()
	case "failure_rate":
		failed := 0
		for _, r := range rows {
			if s, _ := r.value("transaction.status").(string); s != "ok" && s != "cancelled" && s != "unknown" {
				failed++
			}
		}
		return float64(failed) / float64(len(rows))
	}
	var vals []float64
	for _, r := range rows {
		if f, ok := r.value(sp.arg).(float64); ok {
			vals = append(vals, f)
		}
	}
	if len(vals) == 0 {
		return nil
	}
	sort.Float64s(vals)
	switch sp.fn {
	case "min":
		return vals[0]
	case "max":
		return vals[len(vals)-1]
	case "sum", "avg":
		sum := 0.0
		for _, v := range vals {
			sum += v
		}
		if sp.fn == "avg" {
			return round6(sum / float64(len(vals)))
		}
		return sum
	}
	p, _ := strconv.ParseFloat(strings.TrimPrefix(sp.fn, "p"), 64)
	return percentile(vals, p/100)
}

// percentile interpolates linearly between the closest ranks of sorted.
func percentile(sorted []float64, p float64) float64 {
	pos := p * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return round6(sorted[lo] + (pos-float64(lo))*(sorted[lo+1]-sorted[lo]))
}

// round6 drops binary noise (879.9999999999999) from computed values.
func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

func cellString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return discoverTime(x)
	}
	return fmt.Sprint(v)
}

func compareCells(a, b any) int {
	fa, aNum := toFloat(a)
	fb, bNum := toFloat(b)
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	case aNum && bNum:
		return cmpFloat(fa, fb)
	}
	return strings.Compare(cellString(a), cellString(b))
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

// eventQuery is a parsed Discover query: groups of terms joined by OR
// (each group's terms all hold), and aggregate conditions.
type eventQuery struct {
	groups [][]eventTerm
	aggs   []eventTerm
}

type eventTerm struct {
	key    string
	typ    string // the column's type
	op     string // "=", ">", "<", ">=", "<="
	values []string
	negate bool
	has    bool
	text   string // free text (key "")
	num    float64
	when   time.Time
	spec   fieldSpec // aggregate conditions
}

func parseEventQuery(q, dataset string, now time.Time) (eventQuery, error) {
	var out eventQuery
	if strings.Count(q, `"`)%2 != 0 {
		return out, fmt.Errorf("Parse error at '%s' (column %d). This is commonly caused by unmatched parentheses. Enclose any text in double quotes.", q[strings.LastIndex(q, `"`):], strings.LastIndex(q, `"`)+1)
	}
	group := []eventTerm{}
	var text []string
	flush := func() {
		if len(text) > 0 {
			group = append(group, eventTerm{text: strings.ToLower(strings.Join(text, " "))})
			text = nil
		}
		out.groups = append(out.groups, group)
		group = []eventTerm{}
	}
	for _, tok := range splitSearch(q) {
		switch strings.ToUpper(tok) {
		case "AND":
			continue
		case "OR":
			flush()
			continue
		}
		t := eventTerm{op: "="}
		body := tok
		if strings.HasPrefix(body, "!") {
			t.negate, body = true, body[1:]
		}
		key, val, found := strings.Cut(body, ":")
		if !found || key == "" || strings.HasPrefix(tok, `"`) {
			text = append(text, unquote(tok))
			continue
		}
		for _, op := range []string{">=", "<=", ">", "<"} {
			if rest, ok := strings.CutPrefix(val, op); ok {
				t.op, val = op, rest
				break
			}
		}
		switch {
		case strings.HasPrefix(val, "[") && strings.HasSuffix(val, "]"):
			for _, v := range strings.Split(val[1:len(val)-1], ",") {
				t.values = append(t.values, unquote(strings.TrimSpace(v)))
			}
		default:
			t.values = []string{unquote(val)}
		}
		if key == "has" {
			t.has, t.key = true, t.values[0]
			if _, err := column(t.key, dataset); err != nil {
				return out, err
			}
			group = append(group, t)
			continue
		}
		t.key = key
		if functionRe.MatchString(key) {
			sp, err := parseField(key, dataset)
			if err != nil {
				return out, err
			}
			t.spec, t.typ = sp, sp.typ
			if err := t.parseOperand(now); err != nil {
				return out, err
			}
			out.aggs = append(out.aggs, t)
			continue
		}
		typ, err := column(key, dataset)
		if err != nil {
			return out, err
		}
		t.typ = typ
		if err := t.parseOperand(now); err != nil {
			return out, err
		}
		group = append(group, t)
	}
	flush()
	return out, nil
}

var durationRe = regexp.MustCompile(`^(-?[0-9.]+)(ms|s|m|h|d)?$`)

// parseOperand reads a comparison's number, duration or date.
func (t *eventTerm) parseOperand(now time.Time) error {
	v := t.values[0]
	switch t.typ {
	case "duration":
		m := durationRe.FindStringSubmatch(v)
		if m == nil {
			return fmt.Errorf("Invalid duration value %s for %s", v, t.key)
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		t.num = n * map[string]float64{"": 1, "ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}[m[2]]
	case "integer", "number", "percentage", "rate":
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("Invalid number %s for %s", v, t.key)
		}
		t.num = n
	case "date":
		if d, ok := parseRelative(v); ok && strings.HasPrefix(v, "-") {
			t.when = now.Add(-d)
			if t.op == "=" {
				t.op = ">="
			}
			return nil
		}
		w, err := parseISO(v)
		if err != nil {
			return fmt.Errorf("%s is not a valid ISO8601 date query", v)
		}
		t.when = w
	}
	return nil
}

func (q eventQuery) match(r *discoverRow) bool {
	for _, g := range q.groups {
		all := true
		for _, t := range g {
			if !t.matchRow(r) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return len(q.groups) == 0
}

func (t eventTerm) matchRow(r *discoverRow) bool {
	if t.key == "" {
		hay := strings.ToLower(cellString(r.value("title")) + "\n" + cellString(r.value("message")))
		return strings.Contains(hay, t.text) != t.negate
	}
	v := r.value(t.key)
	if t.has {
		return (cellString(v) != "" && !isEmptyList(v)) != t.negate
	}
	if t.key == "event.type" {
		return slices.Contains(t.values, cellString(v)) != t.negate
	}
	return t.matchValue(v) != t.negate
}

func isEmptyList(v any) bool {
	l, ok := v.([]any)
	return ok && len(l) == 0
}

// matchValue is the term's condition on one value (negation not applied
// for rows, applied for aggregates).
func (t eventTerm) matchValue(v any) bool {
	ok := t.test(v)
	if t.spec.fn != "" && t.negate {
		return !ok
	}
	return ok
}

func (t eventTerm) test(v any) bool {
	if l, isList := v.([]any); isList {
		for _, e := range l {
			if t.test(e) {
				return true
			}
		}
		return false
	}
	if t.op != "=" || t.typ == "duration" || t.typ == "integer" || t.typ == "number" {
		var n int
		switch x := v.(type) {
		case time.Time:
			n = x.Compare(t.when)
		case string:
			if w, err := parseISO(x); err == nil && t.typ == "date" {
				n = w.Compare(t.when)
			} else {
				n = strings.Compare(x, t.values[0])
			}
		default:
			f, isNum := toFloat(v)
			if !isNum {
				return false
			}
			n = cmpFloat(f, t.num)
		}
		switch t.op {
		case ">":
			return n > 0
		case "<":
			return n < 0
		case ">=":
			return n >= 0
		case "<=":
			return n <= 0
		}
		return n == 0
	}
	s := cellString(v)
	if b, isBool := v.(bool); isBool {
		s = strconv.FormatBool(b)
	}
	for _, want := range t.values {
		if wildMatch(want, s) {
			return true
		}
	}
	return false
}
