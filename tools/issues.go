package tools

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
)

func listIssuesTool() Tool {
	return define(Tool{
		Name:        "list_issues",
		Title:       "List issues",
		Description: "Search an organization's issues (Sentry search syntax), newest activity first by default.",
		Toolset:     ToolsetIssues,
		Scopes:      []string{"event:read"},
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.ListIssuesInput) (*schemas.IssuesOutput, string, error) {
		org, err := p.organization(in.Organization)
		if err != nil {
			return nil, "", err
		}
		opt := sentry.IssueListOptions{Sort: in.Sort, StatsPeriod: in.Period, Environment: in.Environment, Limit: in.Limit, Cursor: in.Cursor}
		if opt.Limit == 0 {
			opt.Limit = 25
		}
		switch {
		case in.Query == nil:
			opt.Query = "is:unresolved"
		case *in.Query == "":
			opt.AllStatuses = true
		default:
			opt.Query = *in.Query
		}
		if in.Project != "" {
			id, err := d.projectID(ctx, p, org, in.Project)
			if err != nil {
				return nil, "", err
			}
			opt.Projects = []string{id}
		}
		issues, resp, err := d.Client.ListIssues(ctx, org, opt)
		if err != nil {
			if in.Environment != "" {
				return nil, "", subject(err, "list_organizations", "organization %q or environment %q", org, in.Environment)
			}
			return nil, "", subject(err, "list_organizations", "organization %q", org)
		}
		out := &schemas.IssuesOutput{Issues: make([]schemas.IssueSummary, 0, len(issues)), Page: page(resp)}
		if resp.Page.Hits >= 0 {
			out.Hits = resp.Page.Hits
		}
		var b strings.Builder
		for _, is := range issues {
			s := summary(is)
			out.Issues = append(out.Issues, s)
			writeSummaryLine(&b, s)
		}
		switch {
		case len(issues) == 0:
			fmt.Fprintf(&b, "No issues match %q.\n", opt.Query)
		case out.Hits > 0:
			fmt.Fprintf(&b, "%d of %d matching issues.\n", len(issues), out.Hits)
		}
		return out, finishList(&b, out.NextCursor), nil
	})
}

func summary(is sentry.Issue) schemas.IssueSummary {
	s := schemas.IssueSummary{
		ID: string(is.ID), ShortID: is.ShortID, Title: is.Title, Culprit: is.Culprit,
		Status: is.Status, Level: is.Level, Count: int64(is.Count), UserCount: int64(is.UserCount),
		FirstSeen: is.FirstSeen, LastSeen: is.LastSeen, Project: is.Project.Slug,
	}
	if a := is.AssignedTo; a != nil {
		s.Assignee = a.Name
		if a.Type == "team" {
			s.Assignee = "team:" + a.Name
		}
	}
	return s
}

func writeSummaryLine(b *strings.Builder, s schemas.IssueSummary) {
	fmt.Fprintf(b, "%s [%s, %s] %s", s.ShortID, s.Status, s.Level, s.Title)
	if s.Culprit != "" {
		fmt.Fprintf(b, " (%s)", s.Culprit)
	}
	fmt.Fprintf(b, " - %s, %s, last seen %s", plural(s.Count, "event", "events"), plural(s.UserCount, "user", "users"), shortTime(s.LastSeen))
	if s.Assignee != "" {
		fmt.Fprintf(b, ", assigned to %s", s.Assignee)
	}
	fmt.Fprintf(b, ", id %s\n", s.ID)
}

// shortTime trims Sentry timestamps to the minute: 2026-11-28T10:15Z.
func shortTime(t string) string {
	if len(t) >= 16 && t[10] == 'T' {
		return t[:16] + "Z"
	}
	return t
}

// issueRef resolves the issue argument and the organization to use.
func (d *Deps) issueRef(p *Principal, issue, orgArg string) (sentry.IssueRef, error) {
	ref, err := d.Client.ParseIssueRef(issue)
	if err != nil {
		return ref, userErrorf("%s", err.Error())
	}
	switch {
	case ref.Org != "" && orgArg != "" && !strings.EqualFold(ref.Org, orgArg):
		return ref, userErrorf("the issue URL is in organization %q but organization is %q", ref.Org, orgArg)
	case ref.Org == "":
		ref.Org = orgArg
	}
	if ref.Org != "" || p.Org != "" {
		if ref.Org, err = p.organization(ref.Org); err != nil {
			return ref, err
		}
	}
	if ref.Org == "" && !isDigits(ref.ID) {
		return ref, userErrorf("short id %s needs organization (list_organizations shows the slugs)", ref.ID)
	}
	return ref, nil
}

// issueNotFound names the issue a 404 was about.
func issueNotFound(err error, ref sentry.IssueRef) error {
	if ref.Org != "" {
		return subject(err, "list_issues", "issue %q in organization %q", ref.ID, ref.Org)
	}
	return subject(err, "list_issues", "issue %q", ref.ID)
}

func getIssueTool() Tool {
	return define(Tool{
		Name:        "get_issue",
		Title:       "Get issue",
		Description: "Get an issue with its latest event: exception, in-app stack frames with code, tags, releases.",
		Toolset:     ToolsetIssues,
		Scopes:      []string{"event:read"},
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.GetIssueInput) (*schemas.IssueDetail, string, error) {
		ref, err := d.issueRef(p, in.Issue, in.Organization)
		if err != nil {
			return nil, "", err
		}
		var (
			wg     sync.WaitGroup
			ev     *sentry.Event
			evErr  error
			ctxEv  context.Context
			cancel context.CancelFunc
		)
		ctxEv, cancel = context.WithCancel(ctx)
		defer cancel()
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev, _, evErr = d.Client.LatestEvent(ctxEv, ref.Org, ref.ID)
		}()
		is, _, err := d.Client.GetIssue(ctx, ref.Org, ref.ID)
		if err != nil {
			cancel()
			wg.Wait()
			return nil, "", issueNotFound(err, ref)
		}
		wg.Wait()
		if evErr != nil && sentry.StatusCode(evErr) != 404 {
			return nil, "", evErr
		}
		det := detail(is, ev)
		return det, renderDetail(det), nil
	})
}

// maxTags and maxTopValues bound the tag summary.
const (
	maxTags      = 10
	maxTopValues = 3
	maxCodeLen   = 160
)

func detail(is *sentry.Issue, ev *sentry.Event) *schemas.IssueDetail {
	d := &schemas.IssueDetail{IssueSummary: summary(*is), Substatus: is.Substatus, Permalink: is.Permalink}
	if is.FirstRelease != nil {
		d.FirstRelease = is.FirstRelease.Version
	}
	if is.LastRelease != nil {
		d.LastRelease = is.LastRelease.Version
	}
	d.Tags = issueTags(is.Tags)
	if d.Tags == nil && ev != nil {
		d.Tags = eventTags(ev.Tags)
	}
	if ev != nil {
		d.Event = eventBrief(ev)
	}
	return d
}

// issueTags summarises the issue's tags by their most frequent values, when
// Sentry sent them (topValues); nil otherwise.
func issueTags(in []sentry.TagSummary) []schemas.Tag {
	tags := append([]sentry.TagSummary(nil), in...)
	sort.SliceStable(tags, func(i, j int) bool { return tags[i].TotalValues > tags[j].TotalValues })
	var out []schemas.Tag
	for _, t := range tags {
		if len(out) == maxTags || t.Key == "" || skipTag[t.Key] || len(t.TopValues) == 0 {
			continue
		}
		tag := schemas.Tag{Key: t.Key, Top: []string{}}
		for i, v := range t.TopValues {
			if i == maxTopValues {
				break
			}
			val := v.Value
			if val == "" {
				val = v.Name
			}
			if t.TotalValues > 0 {
				val += " (" + strconv.FormatInt(int64(v.Count)*100/int64(t.TotalValues), 10) + "%)"
			}
			tag.Top = append(tag.Top, val)
		}
		out = append(out, tag)
	}
	return out
}

// eventTags are the latest event's own tag values.
func eventTags(in []sentry.EventTag) []schemas.Tag {
	var out []schemas.Tag
	for _, t := range in {
		if len(out) == maxTags || t.Key == "" || skipTag[t.Key] {
			continue
		}
		out = append(out, schemas.Tag{Key: t.Key, Top: []string{clipText(t.Value, 100)}})
	}
	return out
}

// skipTag are tags shown elsewhere in the result.
var skipTag = map[string]bool{"level": true, "release": true}

func eventBrief(ev *sentry.Event) *schemas.EventBrief {
	e := &schemas.EventBrief{ID: ev.EventID, Date: ev.DateCreated}
	if e.ID == "" {
		e.ID = ev.ID
	}
	if ev.Release != nil {
		e.Release = ev.Release.Version
	}
	excs := ev.Exceptions()
	if len(excs) == 0 {
		e.Message = clipText(ev.MessageText(), 500)
	}
	for _, x := range excs {
		xb := schemas.ExceptionBrief{Type: x.Type, Value: clipText(x.Value, 500)}
		if x.Mechanism != nil {
			xb.Handled = x.Mechanism.Handled
		}
		if x.Stacktrace != nil {
			xb.Frames = collapseFrames(x.Stacktrace.Frames)
		}
		e.Exceptions = append(e.Exceptions, xb)
	}
	return e
}

// collapseFrames keeps in-app frames and folds each run of library frames
// into one entry that counts them. Without any in-app frame, the last five
// frames (nearest the crash) are kept.
func collapseFrames(frames []sentry.Frame) []schemas.Frame {
	anyInApp := false
	for _, f := range frames {
		anyInApp = anyInApp || f.InApp
	}
	keep := func(i int) bool {
		if anyInApp {
			return frames[i].InApp
		}
		return i >= len(frames)-5
	}
	var out []schemas.Frame
	for i, f := range frames {
		if !keep(i) {
			if n := len(out); n > 0 && out[n-1].Omitted > 0 {
				out[n-1].Omitted++
			} else {
				out = append(out, schemas.Frame{Omitted: 1})
			}
			continue
		}
		fr := schemas.Frame{File: f.Filename, Function: f.Function, Line: int64(f.LineNo), InApp: f.InApp}
		if fr.File == "" {
			fr.File = f.AbsPath
		}
		if fr.File == "" {
			fr.File = f.Module
		}
		for _, c := range f.Context {
			if c.Line == int64(f.LineNo) {
				fr.Code = clipText(strings.TrimSpace(c.Code), maxCodeLen)
			}
		}
		out = append(out, fr)
	}
	return out
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func renderDetail(d *schemas.IssueDetail) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", d.ShortID, d.Title)
	if d.Culprit != "" {
		fmt.Fprintf(&b, "Culprit: %s\n", d.Culprit)
	}
	status := d.Status
	if d.Substatus != "" {
		status += " (" + d.Substatus + ")"
	}
	fmt.Fprintf(&b, "Status: %s, level %s, project %s, id %s\n", status, d.Level, d.Project, d.ID)
	fmt.Fprintf(&b, "Events: %d, users: %d, first seen %s, last seen %s\n", d.Count, d.UserCount, shortTime(d.FirstSeen), shortTime(d.LastSeen))
	if d.FirstRelease != "" || d.LastRelease != "" {
		fmt.Fprintf(&b, "Releases: first %s, last %s\n", orDash(d.FirstRelease), orDash(d.LastRelease))
	}
	if d.Assignee != "" {
		fmt.Fprintf(&b, "Assigned to: %s\n", d.Assignee)
	}
	if d.Permalink != "" {
		fmt.Fprintf(&b, "URL: %s\n", d.Permalink)
	}
	if len(d.Tags) > 0 {
		b.WriteString("Tags:")
		for i, t := range d.Tags {
			if i > 0 {
				b.WriteString(";")
			}
			fmt.Fprintf(&b, " %s=%s", t.Key, strings.Join(t.Top, ", "))
		}
		b.WriteString("\n")
	}
	e := d.Event
	if e == nil {
		b.WriteString("No event is stored for this issue.")
		return b.String()
	}
	fmt.Fprintf(&b, "Latest event %s at %s", e.ID, shortTime(e.Date))
	if e.Release != "" {
		fmt.Fprintf(&b, " in release %s", e.Release)
	}
	b.WriteString("\n")
	if e.Message != "" {
		fmt.Fprintf(&b, "Message: %s\n", e.Message)
	}
	for _, x := range e.Exceptions {
		fmt.Fprintf(&b, "%s: %s", x.Type, x.Value)
		if x.Handled != nil && !*x.Handled {
			b.WriteString(" (unhandled)")
		}
		b.WriteString("\nStack (most recent call last):\n")
		for _, f := range x.Frames {
			if f.Omitted > 0 {
				fmt.Fprintf(&b, "  … %d library frame(s)\n", f.Omitted)
				continue
			}
			fmt.Fprintf(&b, "  %s:%d in %s\n", f.File, f.Line, f.Function)
			if f.Code != "" {
				fmt.Fprintf(&b, "    > %s\n", f.Code)
			}
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func resolveIssueTool() Tool {
	return define(Tool{
		Name:        "resolve_issue",
		Title:       "Resolve issue",
		Description: "Mark an issue resolved: now, in the next release, or in a given release.",
		Toolset:     ToolsetIssues,
		Scopes:      []string{"event:write"},
		Idempotent:  true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.ResolveIssueInput) (*schemas.ResolveOutput, string, error) {
		upd := sentry.IssueUpdate{Status: "resolved"}
		how := ""
		switch in.Resolution {
		case "", "resolved":
		case "next_release":
			upd.StatusDetails = map[string]any{"inNextRelease": true}
			how = " in the next release"
		case "in_release":
			if in.Release == "" {
				return nil, "", userErrorf("resolution in_release needs release (a version; list_releases shows them)")
			}
			upd.StatusDetails = map[string]any{"inRelease": in.Release}
			how = " in release " + in.Release
		}
		if in.Release != "" && in.Resolution != "in_release" {
			return nil, "", userErrorf("release is only used with resolution \"in_release\"")
		}
		ref, err := d.issueRef(p, in.Issue, in.Organization)
		if err != nil {
			return nil, "", err
		}
		is, resp, err := d.Client.UpdateIssue(ctx, ref.Org, ref.ID, upd)
		if err != nil {
			return nil, "", issueNotFound(err, ref)
		}
		out := &schemas.ResolveOutput{ID: string(is.ID), ShortID: is.ShortID, Status: is.Status, Permalink: is.Permalink}
		out.InNextRelease, _ = is.StatusDetails["inNextRelease"].(bool)
		out.InRelease, _ = is.StatusDetails["inRelease"].(string)
		if resp.Attempts > 1 {
			out.Attempts = resp.Attempts
		}
		text := fmt.Sprintf("%s is now %s%s.", is.ShortID, is.Status, how)
		if resp.Attempts > 1 {
			// Safe because resolving is idempotent; said so the agent knows.
			text += fmt.Sprintf(" (Sent %d times after transient errors; resolving twice is harmless.)", resp.Attempts)
		}
		if is.Permalink != "" {
			text += " " + is.Permalink
		}
		return out, text, nil
	})
}
