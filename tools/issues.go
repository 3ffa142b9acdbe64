package tools

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

func listIssuesTool() Tool {
	return define(Tool{
		Name:        "list_issues",
		Title:       "List issues",
		Description: "Search an organization's issues with Sentry search syntax.",
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
		if in.Environment != "" && (sentry.StatusCode(err) == 404 || err == nil && len(issues) == 0) {
			if envErr := d.unknownEnvironment(ctx, p, org, in.Environment); envErr != nil {
				return nil, "", envErr
			}
		}
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
		b := listBuilder()
		for _, is := range issues {
			s := summary(is)
			out.Issues = append(out.Issues, s)
			writeSummaryLine(b, s)
		}
		switch {
		case len(issues) == 0:
			fmt.Fprintf(b, "No issues match %q.\n", line(opt.Query, capText))
		case out.Hits > 0:
			fmt.Fprintf(b, "%d of %d matching issues.\n", len(issues), out.Hits)
		}
		text := finishList(b, &out.Page)
		var cut bool
		out.Issues, cut = fitList(out.Issues, capText, clipSummary, func(items []schemas.IssueSummary) int {
			c := *out
			c.Issues = items
			return jsonSize(&c)
		})
		out.Truncated = out.Truncated || cut
		return out, text, nil
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

// clipSummary cuts an issue summary's strings for structured output; max
// lowers the caps of the free-text fields (title, culprit, assignee).
func clipSummary(s schemas.IssueSummary, max int, cut *bool) schemas.IssueSummary {
	s.ID = clip(s.ID, capSlug, cut)
	s.ShortID = clip(s.ShortID, capSlug, cut)
	s.Title = clip(s.Title, min(max, capText), cut)
	s.Culprit = clip(s.Culprit, min(max, capText), cut)
	s.Status = clip(s.Status, capSlug, cut)
	s.Level = clip(s.Level, capSlug, cut)
	s.FirstSeen = clip(s.FirstSeen, capSlug, cut)
	s.LastSeen = clip(s.LastSeen, capSlug, cut)
	s.Project = clip(s.Project, capSlug, cut)
	s.Assignee = clip(s.Assignee, min(max, capName), cut)
	return s
}

func writeSummaryLine(b io.Writer, s schemas.IssueSummary) {
	fmt.Fprintf(b, "%s [%s, %s] %s", line(s.ShortID, capSlug), line(s.Status, capSlug), line(s.Level, capSlug), line(s.Title, capText))
	if s.Culprit != "" {
		fmt.Fprintf(b, " (%s)", line(s.Culprit, capName))
	}
	fmt.Fprintf(b, " - %s, %s, last seen %s", plural(s.Count, "event", "events"), plural(s.UserCount, "user", "users"), line(shortTime(s.LastSeen), capSlug))
	if s.Assignee != "" {
		fmt.Fprintf(b, ", assigned to %s", line(s.Assignee, capName))
	}
	fmt.Fprintf(b, ", id %s\n", line(s.ID, capSlug))
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
		Description: "An issue: state, counts, top tags, latest exception with in-app frames.",
		Toolset:     ToolsetIssues,
		Scopes:      []string{"event:read"},
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.GetIssueInput) (*schemas.IssueDetail, string, error) {
		ref, err := d.issueRef(p, in.Issue, in.Organization)
		if err != nil {
			return nil, "", err
		}
		var (
			wg      sync.WaitGroup
			ev      *sentry.Event
			evErr   error
			tags    []sentry.TagSummary
			tagsErr error
			ctxEv   context.Context
			cancel  context.CancelFunc
		)
		ctxEv, cancel = context.WithCancel(ctx)
		defer cancel()
		wg.Add(2)
		go func() {
			defer wg.Done()
			ev, _, evErr = d.Client.LatestEvent(ctxEv, ref.Org, ref.ID)
		}()
		go func() { // the issue's tag distribution; without it, the event's tags
			defer wg.Done()
			tags, _, tagsErr = d.Client.IssueTags(ctxEv, ref.Org, ref.ID, sentry.IssueTagsOptions{Limit: maxTopValues})
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
		det, cuts := detail(is, ev, tags, tagsErr)
		det.Permalink = d.sentryLink(det.Permalink) // only a link into this Sentry is shown
		text, textCut := renderDetail(det, cuts)
		fitDetail(det)
		det.Truncated = det.Truncated || textCut || cuts.any()
		return det, text, nil
	})
}

// maxTags and maxTopValues bound the tag summary.
const (
	maxTags      = 10
	maxTopValues = 3
)

// detailCuts records what detail left out, for the text's notes.
type detailCuts struct {
	exceptions int   // earliest chained exceptions not kept
	frames     []int // per kept exception, the oldest frames not kept
}

func (c detailCuts) any() bool {
	if c.exceptions > 0 {
		return true
	}
	for _, n := range c.frames {
		if n > 0 {
			return true
		}
	}
	return false
}

// detail builds get_issue's output with its lists bounded (tags, chained
// exceptions, frames) but its strings whole: the text renders them with
// their caps, then fitDetail cuts them for the structured result. The tags
// are the issue's top values (tags, from the tags endpoint); when that
// request failed (tagsErr), those of the issue details if Sentry sent
// topValues there, else the latest event's own, marked as such.
func detail(is *sentry.Issue, ev *sentry.Event, tags []sentry.TagSummary, tagsErr error) (*schemas.IssueDetail, detailCuts) {
	d := &schemas.IssueDetail{IssueSummary: summary(*is), Substatus: is.Substatus, Permalink: is.Permalink}
	if is.FirstRelease != nil {
		d.FirstRelease = is.FirstRelease.Version
	}
	if is.LastRelease != nil {
		d.LastRelease = is.LastRelease.Version
	}
	if tagsErr == nil {
		d.Tags = issueTags(tags)
	} else if d.Tags = issueTags(is.Tags); d.Tags == nil && ev != nil {
		d.Tags, d.TagsFromEvent = eventTags(ev.Tags), true
	}
	var cuts detailCuts
	if ev != nil {
		d.Event, cuts = eventBrief(ev, 0)
	}
	return d, cuts
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
			var cut bool
			val = clip(val, capName, &cut)
			if t.TotalValues > 0 {
				val += " (" + strings.TrimSpace(percentText(int64(v.Count), int64(t.TotalValues))) + ")"
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
		var cut bool
		out = append(out, schemas.Tag{Key: t.Key, Top: []string{clip(t.Value, capName, &cut)}})
	}
	return out
}

// skipTag are tags shown elsewhere in the result.
var skipTag = map[string]bool{"level": true, "release": true}

// eventBrief is what get_issue and get_event show of an event's
// exceptions: the chain (its end when long), each with its frames,
// library frames collapsed; the ctxFrames in-app frames of the raised
// exception nearest the crash also get their context lines.
func eventBrief(ev *sentry.Event, ctxFrames int) (*schemas.EventBrief, detailCuts) {
	e := &schemas.EventBrief{ID: ev.EventID, Date: ev.DateCreated}
	if e.ID == "" {
		e.ID = ev.ID
	}
	if ev.Release != nil {
		e.Release = ev.Release.Version
	}
	var cuts detailCuts
	excs := ev.Exceptions()
	if len(excs) == 0 {
		e.Message = ev.MessageText()
	}
	cuts.exceptions = ev.ValuesOmitted("exception") // dropped while decoding (sentry.MaxValues)
	if n := len(excs) - maxExceptions; n > 0 {
		// The last exception is the one raised; keep the end of the chain.
		cuts.exceptions, excs = cuts.exceptions+n, excs[n:]
	}
	for i, x := range excs {
		xb := schemas.ExceptionBrief{Type: x.Type, Value: x.Value}
		if x.Mechanism != nil {
			xb.Handled, xb.Mechanism = x.Mechanism.Handled, x.Mechanism.Type
		}
		hidden := 0
		if x.Stacktrace != nil {
			n := 0
			if i == len(excs)-1 {
				n = ctxFrames
			}
			xb.Frames, hidden = collapseFrames(x.Stacktrace.Frames, n)
			hidden += x.Stacktrace.FramesOmitted // dropped while decoding (sentry.MaxFrames)
		}
		cuts.frames = append(cuts.frames, hidden)
		e.Exceptions = append(e.Exceptions, xb)
	}
	return e, cuts
}

// collapseFrames keeps in-app frames and folds each run of library frames
// into one entry that counts them. Without any in-app frame, the last five
// frames (nearest the crash) are kept. Of the entries, the maxFrames nearest
// the crash are returned, with how many frames the others held. The
// ctxFrames kept frames nearest the crash get the context lines Sentry
// sent (at most maxContextLines before and after).
func collapseFrames(frames []sentry.Frame, ctxFrames int) ([]schemas.Frame, int) {
	anyInApp := false
	for _, f := range frames {
		anyInApp = anyInApp || f.InApp
	}
	withContext := map[int]bool{}
	for i := len(frames) - 1; i >= 0 && len(withContext) < ctxFrames; i-- {
		if frames[i].InApp || !anyInApp && i >= len(frames)-5 {
			withContext[i] = true
		}
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
		// Context lines by their own numbers: only the unbroken run around
		// the frame's line is kept, so the numbers shown are the file's
		// whatever order, gaps or repeats the event's context has.
		byLine := map[int64]string{}
		for _, c := range f.Context {
			byLine[c.Line] = c.Code
		}
		ln := int64(f.LineNo)
		if code, ok := byLine[ln]; ok {
			if withContext[i] {
				fr.Code = strings.TrimRight(code, " \t\r") // indented like its context
			} else {
				fr.Code = strings.TrimSpace(code)
			}
		}
		if withContext[i] {
			for n := ln - 1; n >= ln-maxContextLines; n-- {
				code, ok := byLine[n]
				if !ok {
					break
				}
				fr.Pre = append([]string{strings.TrimRight(code, " \t\r")}, fr.Pre...)
			}
			for n := ln + 1; n <= ln+maxContextLines; n++ {
				code, ok := byLine[n]
				if !ok {
					break
				}
				fr.Post = append(fr.Post, strings.TrimRight(code, " \t\r"))
			}
		}
		out = append(out, fr)
	}
	hidden := 0
	if n := len(out) - maxFrames; n > 0 {
		for _, f := range out[:n] {
			hidden += max(f.Omitted, 1)
		}
		out = out[n:]
	}
	return out, hidden
}

// fitDetail cuts get_issue's structured output to the field caps, then, if
// it is still over structuredMax as JSON, keeps fewer frames, shorter
// values and fewer exceptions until it fits.
func fitDetail(d *schemas.IssueDetail) {
	cut := &d.Truncated
	d.IssueSummary = clipSummary(d.IssueSummary, capText, cut)
	d.Substatus = clip(d.Substatus, capSlug, cut)
	d.FirstRelease = clip(d.FirstRelease, capName, cut)
	d.LastRelease = clip(d.LastRelease, capName, cut)
	for i, t := range d.Tags {
		top := make([]string, len(t.Top))
		for j, v := range t.Top {
			top[j] = clip(v, capName+8, cut)
		}
		d.Tags[i] = schemas.Tag{Key: clip(t.Key, capSlug, cut), Top: top}
	}
	if d.Event == nil {
		return
	}
	fitEventBrief(d.Event, cut, func() bool { return jsonSize(d) <= structuredMax })
	if jsonSize(d) > structuredMax {
		d.Tags, *cut = nil, true
	}
}

// fitEventBrief cuts an event's part of a structured result to the field
// caps, then, while fits says the whole is too large, keeps fewer frames
// (first without their context lines), shorter values and fewer
// exceptions.
func fitEventBrief(e *schemas.EventBrief, cut *bool, fits func() bool) {
	e.ID = clip(e.ID, capSlug, cut)
	e.Date = clip(e.Date, capSlug, cut)
	e.Release = clip(e.Release, capName, cut)
	clipLines := func(lines []string, keep bool) []string {
		if !keep {
			*cut = *cut || len(lines) > 0
			return nil
		}
		out := make([]string, len(lines))
		for i, l := range lines {
			out[i] = clip(l, capCode, cut)
		}
		return out
	}
	clipEvent := func(valueMax, frameMax int, context bool) {
		e.Message = clipBytes(e.Message, valueMax, cut)
		for i := range e.Exceptions {
			x := &e.Exceptions[i]
			x.Type = clip(x.Type, capText, cut)
			x.Value = clipBytes(x.Value, valueMax, cut)
			x.Mechanism = clip(x.Mechanism, capSlug, cut)
			if n := len(x.Frames) - frameMax; n > 0 {
				x.Frames, *cut = x.Frames[n:], true
			}
			frames := make([]schemas.Frame, len(x.Frames))
			for j, f := range x.Frames {
				f.File = clip(f.File, capName, cut)
				f.Function = clip(f.Function, capName, cut)
				f.Code = clip(f.Code, capCode, cut)
				f.Pre, f.Post = clipLines(f.Pre, context), clipLines(f.Post, context)
				frames[j] = f
			}
			x.Frames = frames
		}
	}
	clipEvent(capBlock, maxFrames, true)
	for _, step := range []struct {
		value, frames int
		context       bool
	}{{capBlock, 25, true}, {capBlock, 25, false}, {1024, 12, false}, {1024, 6, false}, {256, 3, false}} {
		if fits() {
			return
		}
		clipEvent(step.value, step.frames, step.context)
	}
	for !fits() && len(e.Exceptions) > 1 {
		e.Exceptions, *cut = e.Exceptions[1:], true
	}
}

// renderDetail is get_issue's text: every value from Sentry rendered as
// data, the whole under render.DefaultMax. It reports whether the text was
// cut.
func renderDetail(d *schemas.IssueDetail, cuts detailCuts) (string, bool) {
	var b render.Builder
	fmt.Fprintf(&b, "%s: %s\n", line(d.ShortID, capSlug), line(d.Title, capText))
	if d.Culprit != "" {
		fmt.Fprintf(&b, "Culprit: %s\n", line(d.Culprit, capText))
	}
	status := line(d.Status, capSlug)
	if d.Substatus != "" {
		status += " (" + line(d.Substatus, capSlug) + ")"
	}
	fmt.Fprintf(&b, "Status: %s, level %s, project %s, id %s\n", status, line(d.Level, capSlug), line(d.Project, capSlug), line(d.ID, capSlug))
	fmt.Fprintf(&b, "Events: %d, users: %d, first seen %s, last seen %s\n", d.Count, d.UserCount, line(shortTime(d.FirstSeen), capSlug), line(shortTime(d.LastSeen), capSlug))
	if d.FirstRelease != "" || d.LastRelease != "" {
		fmt.Fprintf(&b, "Releases: first %s, last %s\n", line(orDash(d.FirstRelease), capName), line(orDash(d.LastRelease), capName))
	}
	if d.Assignee != "" {
		fmt.Fprintf(&b, "Assigned to: %s\n", line(d.Assignee, capName))
	}
	if d.Permalink != "" {
		fmt.Fprintf(&b, "URL: %s\n", d.Permalink) // checked by render.Link
	}
	if len(d.Tags) > 0 {
		var tags strings.Builder
		tags.WriteString("Tags (share of events):")
		if d.TagsFromEvent {
			tags.Reset()
			tags.WriteString("Latest event's tags:")
		}
		for i, t := range d.Tags {
			if i > 0 {
				tags.WriteString(";")
			}
			vals := make([]string, len(t.Top))
			for j, v := range t.Top {
				vals[j] = line(v, capName+8)
			}
			fmt.Fprintf(&tags, " %s=%s", line(t.Key, capSlug), strings.Join(vals, ", "))
		}
		// Escaped already; Line only caps the whole line.
		b.WriteString(line(tags.String(), capTags) + "\n")
	}
	b.WriteString("More: get_issue_tags (all tag values), list_issue_activity (comments, history).\n")
	e := d.Event
	if e == nil {
		b.WriteString("No event is stored for this issue.")
		return b.String(), b.Truncated()
	}
	fmt.Fprintf(&b, "Latest event %s at %s", line(e.ID, capSlug), line(shortTime(e.Date), capSlug))
	if e.Release != "" {
		fmt.Fprintf(&b, " in release %s", line(e.Release, capName))
	}
	b.WriteString("\n")
	writeEventBody(&b, e, cuts)
	b.WriteString("More: get_event (breadcrumbs, request, user, contexts); list_issue_events (other events).\n")
	return strings.TrimRight(b.String(), "\n"), b.Truncated()
}

// writeEventBody writes an event's message and exception chain, each
// exception with its stack: get_issue's and get_event's rendering.
func writeEventBody(b io.Writer, e *schemas.EventBrief, cuts detailCuts) {
	if e.Message != "" {
		writeValue(b, "Message", e.Message, "", capBlock)
	}
	if cuts.exceptions > 0 {
		fmt.Fprintf(b, "%s (earlier in the chain, not shown)\n", render.More(cuts.exceptions, "exception", "exceptions"))
	}
	for i, x := range e.Exceptions {
		var notes []string
		if x.Handled != nil && !*x.Handled {
			notes = append(notes, "unhandled")
		}
		if x.Mechanism != "" {
			notes = append(notes, "mechanism "+line(x.Mechanism, capSlug))
		}
		suffix := ""
		if len(notes) > 0 {
			suffix = " (" + strings.Join(notes, ", ") + ")"
		}
		// The last exception is the one raised: it gets the larger share,
		// so the frames nearest the crash fit in the text whatever the
		// earlier ones hold.
		valueMax, stackMax := capBlock, lastStackText
		if i < len(e.Exceptions)-1 {
			valueMax, stackMax = chainedValueText, chainedStackText
		}
		writeValue(b, line(x.Type, capText), x.Value, suffix, valueMax)
		io.WriteString(b, "Stack (most recent call last):\n")
		hidden := 0
		if i < len(cuts.frames) {
			hidden = cuts.frames[i]
		}
		writeStack(b, x.Frames, hidden, stackMax)
	}
}

// writeStack writes frames, oldest first, keeping those nearest the crash
// that fit in max bytes; a note counts the older frames not shown (hidden
// of them were left out before).
func writeStack(w io.Writer, frames []schemas.Frame, hidden, budget int) {
	text := make([]string, len(frames))
	start, used := len(frames), 0
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		if f.Omitted > 0 {
			text[i] = fmt.Sprintf("  … %d library frame(s)\n", f.Omitted)
		} else {
			text[i] = fmt.Sprintf("  %s:%d in %s\n", line(f.File, capFrame), f.Line, line(f.Function, capFrame))
			switch {
			case len(f.Pre) > 0 || len(f.Post) > 0:
				text[i] += contextText(f)
			case f.Code != "":
				text[i] += fmt.Sprintf("    > %s\n", line(f.Code, capFrame))
			}
		}
		if used+len(text[i]) > budget && start < len(frames) {
			break
		}
		used += len(text[i])
		start = i
	}
	for _, f := range frames[:start] {
		hidden += max(f.Omitted, 1)
	}
	if hidden > 0 {
		fmt.Fprintf(w, "  %s (older calls, not shown)\n", render.More(hidden, "frame", "frames"))
	}
	for _, t := range text[start:] {
		io.WriteString(w, t)
	}
}

// contextText is a frame's context lines, numbered, the frame's line
// marked: "    > 88 | return a / b".
func contextText(f schemas.Frame) string {
	var b strings.Builder
	code := func(s string) string { return line(strings.ReplaceAll(s, "\t", "    "), capFrame) }
	for i, l := range f.Pre {
		fmt.Fprintf(&b, "      %d | %s\n", f.Line-int64(len(f.Pre)-i), code(l))
	}
	fmt.Fprintf(&b, "    > %d | %s\n", f.Line, code(f.Code))
	for i, l := range f.Post {
		fmt.Fprintf(&b, "      %d | %s\n", f.Line+int64(i+1), code(l))
	}
	return b.String()
}

// writeValue writes an untrusted value after its label: on the same line
// when it is one line, else as a block indented under the label, so no
// line of it stands on its own.
func writeValue(w io.Writer, label, value, suffix string, max int) {
	if !strings.Contains(value, "\n") {
		fmt.Fprintf(w, "%s: %s%s\n", label, line(value, max), suffix)
		return
	}
	fmt.Fprintf(w, "%s%s:\n%s\n", label, suffix, render.Block(value, "    ", max, blockLines))
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
		Description: "Mark issues resolved: now, in the next release, or in a given release.",
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
			how = " in release " + line(in.Release, capName)
		}
		if in.Release != "" && in.Resolution != "in_release" {
			return nil, "", userErrorf("release is only used with resolution \"in_release\"")
		}
		issue, items, err := oneIssue(in.Issue, in.Issues)
		if err != nil {
			return nil, "", err
		}
		if items != nil {
			return resolveBulk(ctx, d, p, items, in.Organization, upd, how)
		}
		ref, err := d.issueRef(p, issue, in.Organization)
		if err != nil {
			return nil, "", err
		}
		is, resp, err := d.Client.UpdateIssue(ctx, ref.Org, ref.ID, upd)
		if err != nil {
			return nil, "", refused(issueNotFound(err, ref))
		}
		link := d.sentryLink(is.Permalink) // only a link into this Sentry is shown
		out := &schemas.ResolveOutput{Permalink: link}
		out.ID = clip(string(is.ID), capSlug, &out.Truncated)
		out.ShortID = clip(is.ShortID, capSlug, &out.Truncated)
		out.Status = clip(is.Status, capSlug, &out.Truncated)
		out.InNextRelease, _ = is.StatusDetails["inNextRelease"].(bool)
		inRelease, _ := is.StatusDetails["inRelease"].(string)
		out.InRelease = clip(inRelease, capName, &out.Truncated)
		if resp.Attempts > 1 {
			out.Attempts = resp.Attempts
		}
		text := fmt.Sprintf("%s is now %s%s.", line(is.ShortID, capSlug), line(is.Status, capSlug), how)
		if resp.Attempts > 1 {
			// Safe because resolving is idempotent; said so the agent knows.
			text += fmt.Sprintf(" (Sent %d times after transient errors; resolving twice is harmless.)", resp.Attempts)
		}
		if link != "" {
			text += " " + link
		}
		return out, text, nil
	})
}
