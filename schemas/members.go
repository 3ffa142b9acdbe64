package schemas

// ListMembersInput is list_members' input.
type ListMembersInput struct {
	Organization string `json:"organization" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=128"`
	Query        string `json:"query,omitempty" jsonschema:"maxLength=200" jsonschema_description:"Filter by name or email."`
	Cursor       string `json:"cursor,omitempty" jsonschema:"maxLength=200"`
}

// Member is a member of an organization, or a pending invite (no user id).
type Member struct {
	UserID  string `json:"user_id,omitempty"` // what assignment takes: user:ID
	Name    string `json:"name,omitempty"`
	Email   string `json:"email,omitempty"`
	Role    string `json:"role,omitempty"`
	Pending bool   `json:"pending,omitempty"`
}

// MembersOutput is list_members' output.
type MembersOutput struct {
	Members []Member `json:"members"`
	Page
}
