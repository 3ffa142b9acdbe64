package schemas

// Page is embedded in every list output.
type Page struct {
	NextCursor string `json:"next_cursor,omitempty"`
	// Truncated is set when over-long values, items or the text were cut.
	Truncated bool `json:"truncated,omitempty"`
}

// WhoamiOutput is whoami's output.
type WhoamiOutput struct {
	Host          string   `json:"host"`
	User          *Person  `json:"user,omitempty"`
	TokenScopes   []string `json:"token_scopes,omitempty"`
	Granted       []string `json:"granted_scopes,omitempty"`
	ReadOnly      bool     `json:"read_only,omitempty"`
	Organization  string   `json:"organization,omitempty"`
	EnabledTools  []string `json:"enabled_tools"`
	DisabledTools []string `json:"disabled_tools,omitempty"`
	Truncated     bool     `json:"truncated,omitempty"`
}

// Person is a Sentry user.
type Person struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Organization is one organization.
type Organization struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	ID   string `json:"id"`
}

// OrganizationsOutput is list_organizations' output.
type OrganizationsOutput struct {
	Organizations []Organization `json:"organizations"`
	Page
}

// Project is one project.
type Project struct {
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	ID       string `json:"id"`
	Platform string `json:"platform,omitempty"`
}

// Team is one team.
type Team struct {
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	ID       string `json:"id"`
	Members  int64  `json:"members"`
	IsMember bool   `json:"is_member,omitempty"`
}

// TeamsOutput is list_teams' output.
type TeamsOutput struct {
	Teams []Team `json:"teams"`
	Page
}

// ProjectsOutput is list_projects' output.
type ProjectsOutput struct {
	Projects []Project `json:"projects"`
	Page
}

// IssueSummary is an issue in a list.
type IssueSummary struct {
	ID        string `json:"id"`
	ShortID   string `json:"short_id"`
	Title     string `json:"title"`
	Culprit   string `json:"culprit,omitempty"`
	Status    string `json:"status"`
	Level     string `json:"level,omitempty"`
	Count     int64  `json:"count"`
	UserCount int64  `json:"user_count"`
	FirstSeen string `json:"first_seen,omitempty"`
	LastSeen  string `json:"last_seen,omitempty"`
	Project   string `json:"project,omitempty"`
	Assignee  string `json:"assignee,omitempty"`
}

// IssuesOutput is list_issues' output.
type IssuesOutput struct {
	Issues []IssueSummary `json:"issues"`
	Hits   int            `json:"hits,omitempty"`
	Page
}

// IssueDetail is get_issue's output.
type IssueDetail struct {
	IssueSummary
	Substatus    string `json:"substatus,omitempty"`
	Permalink    string `json:"permalink,omitempty"`
	FirstRelease string `json:"first_release,omitempty"`
	LastRelease  string `json:"last_release,omitempty"`
	Tags         []Tag  `json:"tags,omitempty"`
	// TagsFromEvent says Tags are the latest event's own values: the
	// issue's distribution could not be read.
	TagsFromEvent bool        `json:"tags_from_latest_event,omitempty"`
	Event         *EventBrief `json:"latest_event,omitempty"`
	// Truncated is set when over-long values, frames or the text were cut.
	Truncated bool `json:"truncated,omitempty"`
}

// Tag is a tag with its most frequent values (with their share of the
// issue's events), or the latest event's value (tags_from_latest_event).
type Tag struct {
	Key string   `json:"key"`
	Top []string `json:"top"`
}

// EventBrief is what an agent needs of the latest event to fix the bug.
type EventBrief struct {
	ID         string           `json:"id"`
	Date       string           `json:"date,omitempty"`
	Release    string           `json:"release,omitempty"`
	Message    string           `json:"message,omitempty"`
	Exceptions []ExceptionBrief `json:"exceptions,omitempty"`
}

// ExceptionBrief is one exception with its in-app frames.
type ExceptionBrief struct {
	Type      string  `json:"type"`
	Value     string  `json:"value,omitempty"`
	Handled   *bool   `json:"handled,omitempty"`
	Mechanism string  `json:"mechanism,omitempty"`
	Frames    []Frame `json:"frames,omitempty" jsonschema_description:"Oldest call first; library frames collapsed."`
}

// Frame is a stack frame, or a run of collapsed library frames.
type Frame struct {
	File     string `json:"file,omitempty"`
	Function string `json:"function,omitempty"`
	Line     int64  `json:"line,omitempty"`
	Code     string `json:"code,omitempty"`
	// Pre and Post are the source lines before and after Line (get_event).
	Pre     []string `json:"pre,omitempty"`
	Post    []string `json:"post,omitempty"`
	InApp   bool     `json:"in_app,omitempty"`
	Omitted int      `json:"omitted,omitempty" jsonschema_description:"Number of library frames collapsed here."`
}

// ResolveOutput is resolve_issue's output.
type ResolveOutput struct {
	ID            string `json:"id,omitempty"`
	ShortID       string `json:"short_id,omitempty"`
	Status        string `json:"status"`
	InNextRelease bool   `json:"in_next_release,omitempty"`
	InRelease     string `json:"in_release,omitempty"`
	Permalink     string `json:"permalink,omitempty"`
	Attempts      int    `json:"attempts,omitempty"`
	// Issues lists every issue of a bulk resolve (issues).
	Issues    []UpdatedIssue `json:"issues,omitempty"`
	Truncated bool           `json:"truncated,omitempty"`
}

// Release is one release.
type Release struct {
	Version    string   `json:"version"`
	Created    string   `json:"created,omitempty"`
	Released   string   `json:"released,omitempty"`
	NewIssues  int64    `json:"new_issues"`
	Projects   []string `json:"projects,omitempty"`
	LastDeploy string   `json:"last_deploy,omitempty"`
}

// ReleasesOutput is list_releases' output.
type ReleasesOutput struct {
	Releases []Release `json:"releases"`
	Page
}

// MarkTruncated sets Truncated; the tools call it when the whole text
// result had to be cut.
func (p *Page) MarkTruncated() { p.Truncated = true }

// MarkTruncated sets Truncated.
func (o *WhoamiOutput) MarkTruncated() { o.Truncated = true }

// MarkTruncated sets Truncated.
func (o *IssueDetail) MarkTruncated() { o.Truncated = true }

// MarkTruncated sets Truncated.
func (o *ResolveOutput) MarkTruncated() { o.Truncated = true }
