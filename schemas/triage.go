package schemas

// GetIssueTagsInput is get_issue_tags' input.
type GetIssueTagsInput struct {
	Issue        string `json:"issue" jsonschema:"minLength=1,maxLength=2048" jsonschema_description:"Id, short id or URL."`
	Organization string `json:"organization,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128" jsonschema_description:"Needed for short ids."`
	Key          string `json:"key,omitempty" jsonschema:"pattern=^[A-Za-z0-9_.:-]+$,maxLength=200" jsonschema_description:"List every value of this tag."`
	Environment  string `json:"environment,omitempty" jsonschema:"maxLength=64"`
	Cursor       string `json:"cursor,omitempty" jsonschema:"maxLength=200"`
}

// IssueTagsOutput is get_issue_tags' output: every key with its top
// values, or one key with a page of its values.
type IssueTagsOutput struct {
	Tags []TagDistribution `json:"tags"`
	Page
}

// TagDistribution is a tag key of an issue: how many events carry it, how
// many distinct values it has, and values with their counts.
type TagDistribution struct {
	Key    string          `json:"key"`
	Total  int64           `json:"total"`
	Unique int64           `json:"unique,omitempty"`
	Values []TagValueCount `json:"values"`
}

// TagValueCount is one value of a tag key.
type TagValueCount struct {
	Value     string  `json:"value"`
	Count     int64   `json:"count"`
	Percent   float64 `json:"percent,omitempty"`
	FirstSeen string  `json:"first_seen,omitempty"`
	LastSeen  string  `json:"last_seen,omitempty"`
}

// IssueActivityInput is list_issue_activity's input.
type IssueActivityInput struct {
	Issue        string `json:"issue" jsonschema:"minLength=1,maxLength=2048" jsonschema_description:"Id, short id or URL."`
	Organization string `json:"organization,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128" jsonschema_description:"Needed for short ids."`
}

// ActivityOutput is list_issue_activity's output, newest first.
type ActivityOutput struct {
	Activity  []ActivityEntry `json:"activity"`
	Truncated bool            `json:"truncated,omitempty"`
}

// ActivityEntry is one thing that happened to an issue.
type ActivityEntry struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Date string `json:"date"`
	User string `json:"user,omitempty"`
	What string `json:"what"`
	Text string `json:"text,omitempty"`
}

// AddIssueCommentInput is add_issue_comment's input.
type AddIssueCommentInput struct {
	Issue        string `json:"issue" jsonschema:"minLength=1,maxLength=2048" jsonschema_description:"Id, short id or URL."`
	Organization string `json:"organization,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128" jsonschema_description:"Needed for short ids."`
	Text         string `json:"text" jsonschema:"minLength=1,maxLength=5000" jsonschema_description:"The comment (Markdown)."`
}

// CommentOutput is add_issue_comment's output.
type CommentOutput struct {
	ID        string `json:"id"`
	Date      string `json:"date,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
}

// MarkTruncated sets Truncated.
func (o *ActivityOutput) MarkTruncated() { o.Truncated = true }

// MarkTruncated sets Truncated.
func (o *CommentOutput) MarkTruncated() { o.Truncated = true }
