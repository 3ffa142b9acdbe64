package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// maxActivity is how many entries Sentry's activity endpoint returns at
// most (it does not paginate).
const maxActivity = 100

// Caps of a comment's text in list_issue_activity.
const (
	commentText  = 2 << 10
	commentLines = 20
)

func listIssueActivityTool() Tool {
	return define(Tool{
		Name:        "list_issue_activity",
		Title:       "List issue activity",
		Description: "An issue's history, newest first: comments, status changes, assignments.",
		Toolset:     ToolsetIssues,
		Scopes:      []string{"event:read"},
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.IssueActivityInput) (*schemas.ActivityOutput, string, error) {
		ref, err := d.issueRef(p, in.Issue, in.Organization)
		if err != nil {
			return nil, "", err
		}
		acts, _, err := d.Client.IssueActivity(ctx, ref.Org, ref.ID)
		if err != nil {
			return nil, "", issueNotFound(err, ref)
		}
		out := &schemas.ActivityOutput{Activity: []schemas.ActivityEntry{}}
		shown, more := render.Cap(acts, maxActivity)
		b := listBuilder()
		if len(shown) == 0 {
			fmt.Fprintf(b, "No activity on issue %s.", line(ref.ID, capSlug))
		}
		for _, a := range shown {
			e := activityEntry(a)
			out.Activity = append(out.Activity, e)
			who := "Sentry"
			if e.User != "" {
				who = line(e.User, capName)
			}
			fmt.Fprintf(b, "%s %s: %s", line(shortTime(e.Date), capSlug), who, e.What) // What is rendered already
			if e.Text != "" {
				b.WriteString(":\n" + render.Block(e.Text, "    ", commentText, commentLines))
			}
			b.WriteString("\n")
		}
		text := strings.TrimRight(b.String(), "\n")
		out.Truncated = b.Truncated()
		if more > 0 || len(acts) == maxActivity {
			// After the builder, like finishList's line, so it is never cut.
			text += fmt.Sprintf("\nSentry returns the newest %d entries; older ones are not shown.", maxActivity)
		}
		var cut bool
		out.Activity, cut = fitList(out.Activity, capBlock, func(e schemas.ActivityEntry, max int, cut *bool) schemas.ActivityEntry {
			e.ID = clip(e.ID, capSlug, cut)
			e.Type = clip(e.Type, capSlug, cut)
			e.Date = clip(e.Date, capSlug, cut)
			e.User = clip(e.User, min(max, capName), cut)
			e.What = clip(e.What, min(max, capText), cut)
			e.Text = clipBytes(e.Text, max, cut)
			return e
		}, func(items []schemas.ActivityEntry) int { c := *out; c.Activity = items; return jsonSize(&c) })
		out.Truncated = out.Truncated || cut
		return out, text, nil
	})
}

// activityEntry is one activity with its phrase. What is rendered for
// text already (every value from Sentry through line); Text is a note's
// raw text.
func activityEntry(a sentry.Activity) schemas.ActivityEntry {
	e := schemas.ActivityEntry{ID: string(a.ID), Type: a.Type, Date: a.DateCreated, What: activityPhrase(a)}
	if u := a.User; u != nil {
		for _, s := range []string{u.Name, u.Email, u.Username} {
			if s != "" {
				e.User = s
				break
			}
		}
		if e.User == "" && u.ID != "" {
			e.User = "user:" + string(u.ID)
		}
	}
	if a.Type == "note" {
		e.Text = dataString(a.Data, "text")
	}
	return e
}

// dataString is a string (or number) of an activity's data, "" when
// absent or of another type. Only a note's data is documented, so every
// other key is read defensively.
func dataString(data map[string]json.RawMessage, key string) string {
	raw, ok := data[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		for _, k := range []string{"name", "title", "key", "id"} {
			if s := dataString(obj, k); s != "" {
				return s
			}
		}
	}
	return ""
}

func dataBool(data map[string]json.RawMessage, key string) bool {
	var v bool
	return json.Unmarshal(data[key], &v) == nil && v
}

// activityPhrase says what an activity did, from its type (BEHAVIOUR.md
// 4.14) and the data keys Sentry is known to send; an unknown type reads
// as itself.
func activityPhrase(a sentry.Activity) string {
	q := func(key string) string { return line(dataString(a.Data, key), capName) }
	with := func(phrase, key, format string) string {
		if v := q(key); v != "" {
			return phrase + fmt.Sprintf(format, v)
		}
		return phrase
	}
	switch a.Type {
	case "note":
		return "commented"
	case "set_resolved":
		return "resolved the issue"
	case "set_resolved_by_age":
		return "resolved the issue after a period without events"
	case "set_resolved_in_release":
		if v := q("version"); v != "" {
			return "resolved the issue in release " + v
		}
		return "resolved the issue in the next release"
	case "set_resolved_in_commit":
		return with("resolved the issue in a commit", "commit", " (%s)")
	case "set_resolved_in_pull_request":
		return with("resolved the issue in a pull request", "pullRequest", " (%s)")
	case "set_unresolved":
		return "marked the issue unresolved"
	case "set_ignored":
		return "archived the issue" + archiveCondition(a.Data)
	case "set_public":
		return "made the issue public"
	case "set_private":
		return "made the issue private"
	case "set_regression":
		return with("the issue regressed", "version", " in release %s")
	case "create_issue":
		s := with("created a linked issue", "provider", " in %s")
		return with(s, "title", ": %s")
	case "first_seen":
		return with("first seen", "priority", " (priority %s)")
	case "release":
		return with("seen in a new release", "version", ": %s")
	case "assigned":
		target := q("assigneeEmail")
		if target == "" {
			if id := q("assignee"); id != "" {
				typ := q("assigneeType")
				if typ == "" {
					typ = "user"
				}
				target = typ + ":" + id
			}
		}
		if target == "" {
			return "assigned the issue"
		}
		return "assigned the issue to " + target
	case "unassigned":
		return "unassigned the issue"
	case "merge":
		var ids []json.RawMessage
		if json.Unmarshal(a.Data["issues"], &ids) == nil && len(ids) > 0 {
			return fmt.Sprintf("merged %s into this one", plural(int64(len(ids)), "issue", "issues"))
		}
		return "merged issues into this one"
	case "deploy":
		s := with("deployed", "version", " release %s")
		return with(s, "environment", " to %s")
	case "new_processing_issues":
		return "found new processing issues"
	case "unmerge_source":
		return "unmerged events into another issue"
	case "unmerge_destination":
		return "received events unmerged from another issue"
	case "reprocess":
		return "reprocessed the issue's events"
	case "mark_reviewed":
		return "marked the issue reviewed"
	case "auto_set_ongoing":
		return "marked the issue ongoing"
	case "set_escalating":
		return "the issue started escalating"
	case "set_priority":
		return with("set the priority", "priority", " to %s")
	case "deleted_attachment":
		return "deleted an attachment"
	case "referenced_in_commit":
		return with("referenced the issue in a commit", "commit", " (%s)")
	}
	if rest, ok := strings.CutPrefix(a.Type, "seer_"); ok && rest != "" {
		return "Seer: " + line(strings.ReplaceAll(rest, "_", " "), capSlug)
	}
	if a.Type == "" {
		return "(activity without a type)"
	}
	return line(a.Type, capSlug)
}

// archiveCondition words the ignore options Sentry records with
// set_ignored, with a leading space ("" for none).
func archiveCondition(data map[string]json.RawMessage) string {
	c := ignoreCondition(func(key string) int64 {
		n, _ := strconv.ParseInt(dataString(data, key), 10, 64)
		return n
	}, dataBool(data, "ignoreUntilEscalating"))
	if c == "" {
		return ""
	}
	return " " + c
}

// ignoreCondition words Sentry's ignore options, from an issue's
// statusDetails or a set_ignored activity's data (durations and windows
// in minutes): "until it occurs 3 more times within 1 hour"; "" for none.
func ignoreCondition(num func(key string) int64, escalating bool) string {
	within := func(key string) string {
		if w := num(key); w > 0 {
			return " within " + spanOfMinutes(w)
		}
		return ""
	}
	switch {
	case escalating:
		return "until it escalates"
	case num("ignoreDuration") > 0:
		return "for " + spanOfMinutes(num("ignoreDuration"))
	case num("ignoreCount") > 0:
		return "until it occurs " + plural(num("ignoreCount"), "more time", "more times") + within("ignoreWindow")
	case num("ignoreUserCount") > 0:
		return "until it affects " + plural(num("ignoreUserCount"), "more user", "more users") + within("ignoreUserWindow")
	}
	return ""
}

// spanOfMinutes words n minutes: "1 hour", "7 days", "90 minutes".
func spanOfMinutes(n int64) string {
	switch {
	case n%(24*60) == 0:
		return plural(n/(24*60), "day", "days")
	case n%60 == 0:
		return plural(n/60, "hour", "hours")
	}
	return plural(n, "minute", "minutes")
}

// maxCommentRunes is the longest comment add_issue_comment sends (its
// schema's maxLength).
const maxCommentRunes = 5000

func addIssueCommentTool() Tool {
	return define(Tool{
		Name:        "add_issue_comment",
		Title:       "Add issue comment",
		Description: "Post a comment on an issue, as the signed-in user.",
		Toolset:     ToolsetIssues,
		Scopes:      []string{"event:write"},
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.AddIssueCommentInput) (*schemas.CommentOutput, string, error) {
		if strings.TrimSpace(in.Text) == "" {
			return nil, "", userErrorf("text is blank; give the comment to post")
		}
		if n := len([]rune(in.Text)); n > maxCommentRunes {
			return nil, "", userErrorf("text is %d characters; a comment may have at most %d", n, maxCommentRunes)
		}
		ref, err := d.issueRef(p, in.Issue, in.Organization)
		if err != nil {
			return nil, "", err
		}
		note, _, err := d.Client.AddIssueComment(ctx, ref.Org, ref.ID, in.Text)
		if err != nil {
			return nil, "", commentError(err, ref)
		}
		out := &schemas.CommentOutput{}
		out.ID = clip(string(note.ID), capSlug, &out.Truncated)
		out.Date = clip(note.DateCreated, capSlug, &out.Truncated)
		text := fmt.Sprintf("Added comment %s to issue %s", line(out.ID, capSlug), line(ref.ID, capSlug))
		if out.Date != "" {
			text += " at " + line(shortTime(out.Date), capSlug)
		}
		return out, text + ".", nil
	})
}

// commentError words Sentry's refusals of a comment (BEHAVIOUR.md 4.14)
// and a comment whose fate is unknown.
func commentError(err error, ref sentry.IssueRef) error {
	var se *sentry.Error
	var ne *sentry.NetworkError
	switch {
	case errors.As(err, &se) && se.StatusCode == 400:
		detail := line(strings.TrimSuffix(se.Detail, "."), capDetail)
		if strings.Contains(se.Detail, "already posted") {
			return userErrorf("Sentry refused the comment: %s. It refuses the same text from the same user within an hour; list_issue_activity shows the comment already posted.", detail)
		}
		return userErrorf("Sentry refused the comment: %s.", detail)
	case errors.As(err, &se) && se.StatusCode == 403 && strings.Contains(se.Detail, "create Note"):
		return userErrorf("Sentry refused the comment (%s): comments need a token of a user, and this one has none (an organization or integration token). Sign in with `sentry-mcp auth login` or use a personal token.", line(se.Detail, capDetail))
	case errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded):
		return userErrorf("%s The comment may or may not have been added: list_issue_activity shows it. Posting it again is safe, since Sentry refuses a repeat within an hour.", describe("add_issue_comment", nil, err))
	}
	return issueNotFound(err, ref)
}
