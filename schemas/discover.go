package schemas

// SearchEventsInput is search_events' input.
type SearchEventsInput struct {
	Organization string   `json:"organization" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128"`
	Fields       []string `json:"fields" jsonschema:"minItems=1,maxItems=20" jsonschema_description:"e.g. title, user.email, count(), p95(transaction.duration)."`
	Dataset      string   `json:"dataset,omitempty" jsonschema:"enum=errors,enum=transactions,default=errors"`
	Query        string   `json:"query,omitempty" jsonschema:"maxLength=1000" jsonschema_description:"Sentry search, e.g. level:error."`
	Sort         string   `json:"sort,omitempty" jsonschema_description:"A field; -field descends."`
	Period       string   `json:"period,omitempty" jsonschema:"pattern=^[0-9]{1\\,4}[mhdw]$" jsonschema_description:"e.g. 24h; or start+end."`
	Start        string   `json:"start,omitempty"`
	End          string   `json:"end,omitempty"`
	Environment  string   `json:"environment,omitempty" jsonschema:"maxLength=64"`
	Project      string   `json:"project,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128" jsonschema_description:"Slug or id; default all."`
	Limit        int      `json:"limit,omitempty" jsonschema:"minimum=1,maximum=100,default=25"`
	Cursor       string   `json:"cursor,omitempty" jsonschema:"maxLength=200"`
}

// EventsOutput is search_events' output: one row per event, or per group
// when a function is selected.
type EventsOutput struct {
	Fields []string `json:"fields"`
	// Rows are keyed by the field strings; numbers stay numbers.
	Rows []map[string]any `json:"rows"`
	Meta EventsMeta       `json:"meta"`
	Tip  string           `json:"tip,omitempty"`
	Page
}

// EventsMeta is what Sentry says about the fields.
type EventsMeta struct {
	// Fields are each field's type: string, integer, date, duration...
	Fields map[string]string `json:"fields,omitempty"`
	// Units are each field's unit (millisecond...), where it has one.
	Units map[string]string `json:"units,omitempty"`
}

// GetTraceInput is get_trace's input.
type GetTraceInput struct {
	Organization string `json:"organization" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128"`
	TraceID      string `json:"trace_id" jsonschema:"pattern=^[0-9a-fA-F]{32}$"`
}

// TraceOutput is get_trace's output.
type TraceOutput struct {
	TraceID           string `json:"trace_id"`
	Errors            int64  `json:"errors"`
	Spans             int64  `json:"spans"`
	PerformanceIssues int64  `json:"performance_issues"`
	Logs              int64  `json:"logs"`
	// Tree is the span tree depth first, each span with its depth.
	Tree []TraceSpan `json:"tree"`
	// Omitted counts the spans not in Tree (past the caps).
	Omitted int `json:"omitted,omitempty"`
	// Problems lists errors of spans not in Tree and errors of no span.
	Problems  []TraceProblem `json:"other_errors,omitempty"`
	Truncated bool           `json:"truncated,omitempty"`
}

// TraceSpan is one span (or transaction, or error) of a trace.
type TraceSpan struct {
	Depth      int     `json:"depth"`
	Op         string  `json:"op,omitempty"`
	Name       string  `json:"name,omitempty"`
	Project    string  `json:"project,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	EventID    string  `json:"event_id,omitempty"`
	// Problems are the span's errors and performance issues.
	Problems []TraceProblem `json:"problems,omitempty"`
}

// TraceProblem is an error or a performance issue found in a trace.
type TraceProblem struct {
	Kind    string `json:"kind"` // error or performance issue
	Title   string `json:"title"`
	EventID string `json:"event_id,omitempty"`
	IssueID string `json:"issue_id,omitempty"`
}

// MarkTruncated sets Truncated.
func (o *TraceOutput) MarkTruncated() { o.Truncated = true }
