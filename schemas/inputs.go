package schemas

// NoInput is the input of tools without arguments.
type NoInput struct{}

// ListOrganizationsInput is list_organizations' input.
type ListOrganizationsInput struct {
	Query  string `json:"query,omitempty" jsonschema:"maxLength=200" jsonschema_description:"Filter by name or slug."`
	Cursor string `json:"cursor,omitempty" jsonschema:"maxLength=200"`
}

// ListProjectsInput is list_projects' input.
type ListProjectsInput struct {
	Organization string `json:"organization" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128"`
	Query        string `json:"query,omitempty" jsonschema:"maxLength=200" jsonschema_description:"Filter by name or slug."`
	Cursor       string `json:"cursor,omitempty" jsonschema:"maxLength=200"`
}

// ListTeamsInput is list_teams' input.
type ListTeamsInput struct {
	Organization string `json:"organization" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128"`
	Query        string `json:"query,omitempty" jsonschema:"maxLength=200" jsonschema_description:"Filter by name or slug."`
	Cursor       string `json:"cursor,omitempty" jsonschema:"maxLength=200"`
}

// ListIssuesInput is list_issues' input.
type ListIssuesInput struct {
	Organization string  `json:"organization" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128"`
	Project      string  `json:"project,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128" jsonschema_description:"Slug or id; default all."`
	Query        *string `json:"query,omitempty" jsonschema:"maxLength=1000" jsonschema_description:"Sentry search; default is:unresolved, \"\" for all."`
	Sort         string  `json:"sort,omitempty" jsonschema:"enum=date,enum=new,enum=freq,enum=user,enum=trends" jsonschema_description:"date=last seen (default), new=first seen, freq=events, user=users affected."`
	Period       string  `json:"period,omitempty" jsonschema:"pattern=^[0-9]{1\\,4}[mhdw]$" jsonschema_description:"Seen within, e.g. 24h."`
	Environment  string  `json:"environment,omitempty" jsonschema:"maxLength=64"`
	Limit        int     `json:"limit,omitempty" jsonschema:"minimum=1,maximum=100,default=25"`
	Cursor       string  `json:"cursor,omitempty" jsonschema:"maxLength=200"`
}

// GetIssueInput is get_issue's input.
type GetIssueInput struct {
	Issue        string `json:"issue" jsonschema:"minLength=1,maxLength=2048" jsonschema_description:"Id, short id or URL."`
	Organization string `json:"organization,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128" jsonschema_description:"Needed for short ids."`
}

// ResolveIssueInput is resolve_issue's input.
type ResolveIssueInput struct {
	Issue        string   `json:"issue,omitempty" jsonschema:"minLength=1,maxLength=2048" jsonschema_description:"Id, short id or URL."`
	Issues       []string `json:"issues,omitempty" jsonschema:"minItems=1,maxItems=25" jsonschema_description:"Instead of issue; one org."`
	Organization string   `json:"organization,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128" jsonschema_description:"Needed for short ids."`
	Resolution   string   `json:"resolution,omitempty" jsonschema:"enum=resolved,enum=next_release,enum=in_release,default=resolved" jsonschema_description:"in_release needs release."`
	Release      string   `json:"release,omitempty" jsonschema:"maxLength=250" jsonschema_description:"Release version, for in_release."`
}

// ListReleasesInput is list_releases' input.
type ListReleasesInput struct {
	Organization string `json:"organization" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128"`
	Project      string `json:"project,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128" jsonschema_description:"Project slug or id."`
	Query        string `json:"query,omitempty" jsonschema:"maxLength=200" jsonschema_description:"Filter by version."`
	Cursor       string `json:"cursor,omitempty" jsonschema:"maxLength=200"`
}
