package schemas

// GetEventInput is get_event's input.
type GetEventInput struct {
	Issue        string `json:"issue,omitempty" jsonschema:"maxLength=2048" jsonschema_description:"Id, short id or URL."`
	Event        string `json:"event,omitempty" jsonschema:"maxLength=36" jsonschema_description:"Event id, or latest (default), oldest, recommended."`
	Organization string `json:"organization,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128" jsonschema_description:"Needed for short ids."`
}

// ListIssueEventsInput is list_issue_events' input.
type ListIssueEventsInput struct {
	Issue        string `json:"issue" jsonschema:"maxLength=2048" jsonschema_description:"Id, short id or URL."`
	Organization string `json:"organization,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128" jsonschema_description:"Needed for short ids."`
	Query        string `json:"query,omitempty" jsonschema:"maxLength=1000" jsonschema_description:"Event search, e.g. user.email:a@b.c"`
	Environment  string `json:"environment,omitempty" jsonschema:"maxLength=64"`
	// Period is checked by the tool (periodRE), which says what is wrong.
	Period string `json:"period,omitempty" jsonschema:"maxLength=8" jsonschema_description:"e.g. 24h; default 90d."`
	Limit  int    `json:"limit,omitempty" jsonschema:"minimum=1,maximum=100,default=25"`
	Cursor string `json:"cursor,omitempty" jsonschema:"maxLength=200"`
}

// EventDetail is get_event's output.
type EventDetail struct {
	EventBrief
	Issue       string            `json:"issue,omitempty"`
	Project     string            `json:"project,omitempty"`
	Title       string            `json:"title,omitempty"`
	Environment string            `json:"environment,omitempty"`
	SDK         string            `json:"sdk,omitempty"`
	Vars        map[string]string `json:"vars,omitempty"`
	Breadcrumbs []Breadcrumb      `json:"breadcrumbs,omitempty"`
	Request     *EventRequest     `json:"request,omitempty"`
	User        *EventUser        `json:"user,omitempty"`
	Contexts    map[string]string `json:"contexts,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Truncated is set when values, lists or the text were cut.
	Truncated bool `json:"truncated,omitempty"`
}

// Breadcrumb is one breadcrumb of an event.
type Breadcrumb struct {
	Time     string `json:"time,omitempty"`
	Category string `json:"category,omitempty"`
	Level    string `json:"level,omitempty"`
	Message  string `json:"message,omitempty"`
}

// EventRequest is an event's HTTP request, without cookies, environment or
// credential headers.
type EventRequest struct {
	Method  string            `json:"method,omitempty"`
	URL     string            `json:"url,omitempty"`
	Query   string            `json:"query,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// EventUser is the user an event was reported for.
type EventUser struct {
	ID       string `json:"id,omitempty"`
	Email    string `json:"email,omitempty"`
	Username string `json:"username,omitempty"`
	IP       string `json:"ip,omitempty"`
}

// IssueEventsOutput is list_issue_events' output.
type IssueEventsOutput struct {
	Events []EventRow `json:"events"`
	Page
}

// EventRow is an event in a list.
type EventRow struct {
	ID          string `json:"id"`
	Date        string `json:"date,omitempty"`
	Title       string `json:"title,omitempty"`
	User        string `json:"user,omitempty"`
	Environment string `json:"environment,omitempty"`
	Release     string `json:"release,omitempty"`
}

// MarkTruncated sets Truncated.
func (o *EventDetail) MarkTruncated() { o.Truncated = true }
