package sentry

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Decoding is lenient: unknown fields are ignored, missing ones stay zero,
// and fields that Sentry versions send either as numbers or as strings
// accept both.

// FlexString accepts a JSON string, number or null.
type FlexString string

// UnmarshalJSON implements json.Unmarshaler.
func (s *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*s = ""
		return nil
	}
	if b[0] == '"' {
		// Most strings need no unescaping: taken as they are, without a
		// second pass of encoding/json (the decoder validated them).
		if len(b) >= 2 && b[len(b)-1] == '"' {
			if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
				*s = FlexString(inner)
				return nil
			}
		}
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = FlexString(v)
		return nil
	}
	*s = FlexString(b) // a number, kept as written
	if b[0] == '{' || b[0] == '[' {
		*s = ""
	}
	return nil
}

// FlexInt accepts a JSON number, a numeric string or null.
type FlexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *FlexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = FlexInt(v)
		return nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		*n = FlexInt(f)
		return nil
	}
	*n = 0 // not a number: lenient, not fatal
	return nil
}

// User is a Sentry user.
type User struct {
	ID       FlexString `json:"id"`
	Name     string     `json:"name"`
	Username string     `json:"username"`
	Email    string     `json:"email"`
}

// Index is GET /api/0/: who the token belongs to and its scopes.
type Index struct {
	Version string `json:"version"`
	Auth    *struct {
		Scopes []string `json:"scopes"`
	} `json:"auth"`
	User *User `json:"user"`
}

// Organization is an entry of GET /api/0/organizations/.
type Organization struct {
	ID          FlexString `json:"id"`
	Slug        string     `json:"slug"`
	Name        string     `json:"name"`
	DateCreated string     `json:"dateCreated"`
	Status      struct {
		ID string `json:"id"`
	} `json:"status"`
	Links struct {
		OrganizationURL string `json:"organizationUrl"`
		RegionURL       string `json:"regionUrl"`
	} `json:"links"`
	Features []string `json:"features"`
}

// Team is a project's team.
type Team struct {
	ID   FlexString `json:"id"`
	Slug string     `json:"slug"`
	Name string     `json:"name"`
}

// TeamRow is an entry of GET /api/0/organizations/{org}/teams/.
type TeamRow struct {
	Team
	MemberCount FlexInt `json:"memberCount"`
	IsMember    bool    `json:"isMember"`
}

// Project is an entry of GET /api/0/organizations/{org}/projects/.
type Project struct {
	ID           FlexString `json:"id"`
	Slug         string     `json:"slug"`
	Name         string     `json:"name"`
	Platform     string     `json:"platform"`
	DateCreated  string     `json:"dateCreated"`
	IsMember     bool       `json:"isMember"`
	IsBookmarked bool       `json:"isBookmarked"`
	Teams        []Team     `json:"teams"`
	Environments []string   `json:"environments"`
}

// ProjectRef is the short project object embedded in issues.
type ProjectRef struct {
	ID       FlexString `json:"id"`
	Slug     string     `json:"slug"`
	Name     string     `json:"name"`
	Platform string     `json:"platform"`
}

// Assignee is an issue's assignee (a user or a team).
type Assignee struct {
	Type  string     `json:"type"`
	ID    FlexString `json:"id"`
	Name  string     `json:"name"`
	Email string     `json:"email"`
}

// ReleaseRef is the short release object embedded in issue details.
type ReleaseRef struct {
	Version      string `json:"version"`
	ShortVersion string `json:"shortVersion"`
	DateCreated  string `json:"dateCreated"`
	DateReleased string `json:"dateReleased"`
}

// TagValue is one of a tag's values (topValues of a tag, or a row of
// GET .../tags/{key}/values/).
type TagValue struct {
	Value     string  `json:"value"`
	Name      string  `json:"name"`
	Count     FlexInt `json:"count"`
	FirstSeen string  `json:"firstSeen"`
	LastSeen  string  `json:"lastSeen"`
}

// TagSummary is a tag in issue details, an entry of GET
// .../issues/{id}/tags/, or GET .../tags/{key}/.
type TagSummary struct {
	Key          string     `json:"key"`
	Name         string     `json:"name"`
	UniqueValues FlexInt    `json:"uniqueValues"`
	TotalValues  FlexInt    `json:"totalValues"`
	TopValues    []TagValue `json:"topValues"`
}

// Issue is a Sentry issue (a "group"), as lists and details return it.
type Issue struct {
	ID            FlexString     `json:"id"`
	ShortID       string         `json:"shortId"`
	Title         string         `json:"title"`
	Culprit       string         `json:"culprit"`
	Permalink     string         `json:"permalink"`
	Level         string         `json:"level"`
	Status        string         `json:"status"`
	Substatus     string         `json:"substatus"`
	StatusDetails map[string]any `json:"statusDetails"`
	Priority      string         `json:"priority"`
	Platform      string         `json:"platform"`
	Type          string         `json:"type"`
	IssueCategory string         `json:"issueCategory"`
	IssueType     string         `json:"issueType"`
	IsUnhandled   bool           `json:"isUnhandled"`
	Count         FlexInt        `json:"count"`
	UserCount     FlexInt        `json:"userCount"`
	FirstSeen     string         `json:"firstSeen"`
	LastSeen      string         `json:"lastSeen"`
	Project       ProjectRef     `json:"project"`
	AssignedTo    *Assignee      `json:"assignedTo"`
	Metadata      struct {
		Type     string `json:"type"`
		Value    string `json:"value"`
		Title    string `json:"title"`
		Filename string `json:"filename"`
		Function string `json:"function"`
	} `json:"metadata"`
	// Details only.
	FirstRelease *ReleaseRef  `json:"firstRelease"`
	LastRelease  *ReleaseRef  `json:"lastRelease"`
	Tags         []TagSummary `json:"tags"`
}

// EventTag is a key/value tag of an event.
type EventTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Event is an event as GET .../events/latest/ returns it.
type Event struct {
	ID          string     `json:"id"`
	EventID     string     `json:"eventID"`
	GroupID     FlexString `json:"groupID"`
	Title       string     `json:"title"`
	Message     string     `json:"message"`
	Platform    string     `json:"platform"`
	DateCreated string     `json:"dateCreated"`
	Culprit     string     `json:"culprit"`
	Tags        []EventTag `json:"tags"`
	Entries     []Entry    `json:"entries"`
	Release     *struct {
		Version string `json:"version"`
	} `json:"release"`
	ProjectID FlexString `json:"projectID"`
	User      *EventUser `json:"user"`
	SDK       *struct {
		Name    FlexString `json:"name"`
		Version FlexString `json:"version"`
	} `json:"sdk"`
	// Contexts are keyed by name (browser, os, runtime, device, trace,
	// and anything an SDK sends); Context decodes one.
	Contexts map[string]json.RawMessage `json:"contexts"`

	exceptions     []Exception // decoded by Exceptions, once
	exceptionsDone bool
}

// Entry is one part of an event; Data is decoded by type on demand.
type Entry struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// Exceptions decodes the event's exception entry, if any (once: later
// calls return the same values). A malformed entry yields nothing rather
// than an error.
func (e *Event) Exceptions() []Exception {
	if !e.exceptionsDone {
		e.exceptions, e.exceptionsDone = e.decodeExceptions(), true
	}
	return e.exceptions
}

func (e *Event) decodeExceptions() []Exception {
	for _, en := range e.Entries {
		if en.Type != "exception" {
			continue
		}
		var d struct {
			Values []Exception `json:"values"`
		}
		if json.Unmarshal(en.Data, &d) == nil {
			return d.Values
		}
	}
	return nil
}

// ValuesOmitted counts the values (breadcrumbs, exceptions, threads)
// dropped while decoding the event's entry of type typ: only the last
// MaxValues are kept.
func (e *Event) ValuesOmitted(typ string) int {
	for _, en := range e.Entries {
		if en.Type != typ {
			continue
		}
		var d struct {
			N int `json:"sentry-mcp:valuesOmitted"`
		}
		if json.Unmarshal(en.Data, &d) == nil {
			return d.N
		}
	}
	return 0
}

// MessageText returns the event's message entry's formatted text, if any.
func (e *Event) MessageText() string {
	for _, en := range e.Entries {
		if en.Type != "message" {
			continue
		}
		var d struct {
			Formatted string `json:"formatted"`
			Message   string `json:"message"`
		}
		if json.Unmarshal(en.Data, &d) == nil {
			if d.Formatted != "" {
				return d.Formatted
			}
			return d.Message
		}
	}
	return e.Message
}

// Exception is one exception of an event's chain.
type Exception struct {
	Type      string `json:"type"`
	Value     string `json:"value"`
	Module    string `json:"module"`
	Mechanism *struct {
		Type    string `json:"type"`
		Handled *bool  `json:"handled"`
	} `json:"mechanism"`
	Stacktrace *struct {
		Frames []Frame `json:"frames"`
		// FramesOmitted counts the frames dropped while decoding: only
		// the last MaxFrames, nearest the crash, are kept.
		FramesOmitted int `json:"sentry-mcp:framesOmitted"`
	} `json:"stacktrace"`
}

// Frame is a stack frame, oldest call first as Sentry sends them.
type Frame struct {
	Filename string        `json:"filename"`
	AbsPath  string        `json:"absPath"`
	Function string        `json:"function"`
	Module   string        `json:"module"`
	Package  string        `json:"package"`
	LineNo   FlexInt       `json:"lineNo"`
	ColNo    FlexInt       `json:"colNo"`
	InApp    bool          `json:"inApp"`
	Context  []ContextLine `json:"context"`
	// Vars are the frame's local variables (an object), when the SDK
	// sent them; decoded only for the frame shown.
	Vars json.RawMessage `json:"vars"`
}

// ContextLine is a [lineNo, "source"] pair of a frame's context.
type ContextLine struct {
	Line int64
	Code string
}

// UnmarshalJSON implements json.Unmarshaler; odd shapes decode to zero.
func (c *ContextLine) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if json.Unmarshal(b, &pair) != nil || len(pair) != 2 {
		return nil
	}
	var n FlexInt
	_ = n.UnmarshalJSON(pair[0])
	c.Line = int64(n)
	_ = json.Unmarshal(pair[1], &c.Code)
	return nil
}

// Release is an entry of GET /api/0/organizations/{org}/releases/.
type Release struct {
	Version      string  `json:"version"`
	ShortVersion string  `json:"shortVersion"`
	Status       string  `json:"status"`
	DateCreated  string  `json:"dateCreated"`
	DateReleased string  `json:"dateReleased"`
	NewGroups    FlexInt `json:"newGroups"`
	CommitCount  FlexInt `json:"commitCount"`
	DeployCount  FlexInt `json:"deployCount"`
	Projects     []struct {
		ID   FlexString `json:"id"`
		Slug string     `json:"slug"`
		Name string     `json:"name"`
	} `json:"projects"`
	LastDeploy *struct {
		Environment  string `json:"environment"`
		DateFinished string `json:"dateFinished"`
	} `json:"lastDeploy"`
}

// Environment is an entry of GET /api/0/organizations/{org}/environments/.
type Environment struct {
	ID   FlexString `json:"id"`
	Name string     `json:"name"`
}
