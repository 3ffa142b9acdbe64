package schemas

// GetReleaseInput is get_release's input.
type GetReleaseInput struct {
	Organization string `json:"organization" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128"`
	Version      string `json:"version" jsonschema:"maxLength=250" jsonschema_description:"Release version."`
	Project      string `json:"project,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128" jsonschema_description:"Project slug or id."`
}

// ReleaseDetail is get_release's output.
type ReleaseDetail struct {
	Version     string   `json:"version"`
	Created     string   `json:"created,omitempty"`
	Released    string   `json:"released,omitempty"`
	NewIssues   int64    `json:"new_issues"`
	Projects    []string `json:"projects,omitempty"`
	Authors     []string `json:"authors,omitempty"`
	CommitCount int64    `json:"commit_count"`
	Commits     []Commit `json:"commits,omitempty"`
	DeployCount int64    `json:"deploy_count"`
	Deploys     []Deploy `json:"deploys,omitempty"`
	// Unavailable names what could not be read (commits, deploys) and why.
	Unavailable []string `json:"unavailable,omitempty"`
	Truncated   bool     `json:"truncated,omitempty"`
}

// Commit is a commit of a release: short id, first line, author.
type Commit struct {
	ID      string `json:"id"`
	Message string `json:"message,omitempty"`
	Author  string `json:"author,omitempty"`
}

// Deploy is a deploy of a release.
type Deploy struct {
	Environment string `json:"environment"`
	Date        string `json:"date,omitempty"`
}

// MarkTruncated sets Truncated.
func (o *ReleaseDetail) MarkTruncated() { o.Truncated = true }
