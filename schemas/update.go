package schemas

// UpdateIssueInput is update_issue's input.
type UpdateIssueInput struct {
	Issue             string   `json:"issue,omitempty" jsonschema:"minLength=1,maxLength=2048" jsonschema_description:"Id, short id or URL."`
	Issues            []string `json:"issues,omitempty" jsonschema:"minItems=1,maxItems=25" jsonschema_description:"Instead of issue; one org."`
	Organization      string   `json:"organization,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128" jsonschema_description:"Needed for short ids."`
	Status            string   `json:"status,omitempty" jsonschema:"enum=unresolved,enum=archived" jsonschema_description:"archived alone: until escalating."`
	ArchiveFor        string   `json:"archive_for,omitempty" jsonschema:"maxLength=8" jsonschema_description:"e.g. 30m, 24h, 7d."`
	ArchiveUntilCount int      `json:"archive_until_count,omitempty" jsonschema:"minimum=1" jsonschema_description:"Until this many more events."`
	ArchiveUntilUsers int      `json:"archive_until_users,omitempty" jsonschema:"minimum=1" jsonschema_description:"Until this many more users."`
	ArchiveWindow     string   `json:"archive_window,omitempty" jsonschema:"maxLength=8" jsonschema_description:"For the count or users, up to 7d."`
	ArchiveForever    bool     `json:"archive_forever,omitempty"`
	Assignee          string   `json:"assignee,omitempty" jsonschema:"maxLength=254" jsonschema_description:"me, an email, user:ID (list_members), team:SLUG or none."`
	Priority          string   `json:"priority,omitempty" jsonschema:"enum=high,enum=medium,enum=low"`
}

// UpdatedIssue is an issue after a change, as update_issue and a bulk
// resolve_issue show it.
type UpdatedIssue struct {
	ID        string `json:"id"`
	ShortID   string `json:"short_id"`
	Title     string `json:"title"`
	Status    string `json:"status"`
	Substatus string `json:"substatus,omitempty"`
	// Archived says until when an archived issue stays archived.
	Archived      string `json:"archived,omitempty"`
	InNextRelease bool   `json:"in_next_release,omitempty"`
	InRelease     string `json:"in_release,omitempty"`
	Assignee      string `json:"assignee,omitempty"`
	Priority      string `json:"priority,omitempty"`
}

// UpdateOutput is update_issue's output.
type UpdateOutput struct {
	Issues    []UpdatedIssue `json:"issues"`
	Truncated bool           `json:"truncated,omitempty"`
}

// MarkTruncated sets Truncated.
func (o *UpdateOutput) MarkTruncated() { o.Truncated = true }
