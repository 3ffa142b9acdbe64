package tools

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// maxBulk is the most issues one update_issue or resolve_issue call takes.
const maxBulk = 25

// lookupConcurrency bounds the lookups of a bulk call in flight. Sentry
// allows 5 issue-details requests per second per user (BEHAVIOUR.md 7):
// with fewer than 5 in flight, the lookups that hit the limit wait for
// the next window together (the client waits a short 429 out once) and,
// as the pacer holds the others back, all fit in it.
const lookupConcurrency = 4

var durationRE = regexp.MustCompile(`^([0-9]{1,6})([mhdw])$`)

// minutes parses a duration like 30m, 24h, 7d, 2w.
func minutes(arg, s string) (int, error) {
	m := durationRE.FindStringSubmatch(s)
	if m == nil {
		return 0, userErrorf("%s must be a duration like 30m, 24h or 7d", arg)
	}
	n, _ := strconv.Atoi(m[1])
	n *= map[string]int{"m": 1, "h": 60, "d": 24 * 60, "w": 7 * 24 * 60}[m[2]]
	if n < 1 {
		return 0, userErrorf("%s must be at least 1m", arg)
	}
	return n, nil
}

// statusUpdate turns status and the archive options into Sentry's fields;
// every conflict is an error before any request. Archiving maps to
// status "ignored" with an archived_* substatus: ignoreUntilEscalating is
// not a request field (BEHAVIOUR.md 4.10), so "until escalating" is the
// substatus alone.
func statusUpdate(in *schemas.UpdateIssueInput, u *sentry.IssueUpdate) error {
	var given []string
	for _, o := range []struct {
		name string
		set  bool
	}{
		{"archive_for", in.ArchiveFor != ""},
		{"archive_until_count", in.ArchiveUntilCount != 0},
		{"archive_until_users", in.ArchiveUntilUsers != 0},
		{"archive_forever", in.ArchiveForever},
	} {
		if o.set {
			given = append(given, o.name)
		}
	}
	switch {
	case len(given) > 1:
		return userErrorf("give at most one of archive_for, archive_until_count, archive_until_users and archive_forever (got %s)", strings.Join(given, ", "))
	case (len(given) > 0 || in.ArchiveWindow != "") && in.Status != "archived":
		return userErrorf("the archive options need status \"archived\"")
	case in.ArchiveWindow != "" && in.ArchiveUntilCount == 0 && in.ArchiveUntilUsers == 0:
		return userErrorf("archive_window goes with archive_until_count or archive_until_users")
	}
	window := 0
	if in.ArchiveWindow != "" {
		var err error
		if window, err = minutes("archive_window", in.ArchiveWindow); err != nil {
			return err
		}
		if window > 7*24*60 {
			return userErrorf("archive_window is at most 7d")
		}
	}
	switch in.Status {
	case "":
		return nil
	case "unresolved":
		u.Status = "unresolved"
		return nil
	case "archived":
	default:
		return userErrorf("status must be unresolved or archived")
	}
	u.Status, u.Substatus = "ignored", "archived_until_condition_met"
	switch {
	case in.ArchiveFor != "":
		n, err := minutes("archive_for", in.ArchiveFor)
		if err != nil {
			return err
		}
		u.StatusDetails = map[string]any{"ignoreDuration": n}
	case in.ArchiveUntilCount != 0:
		u.StatusDetails = map[string]any{"ignoreCount": in.ArchiveUntilCount}
		if window > 0 {
			u.StatusDetails["ignoreWindow"] = window
		}
	case in.ArchiveUntilUsers != 0:
		u.StatusDetails = map[string]any{"ignoreUserCount": in.ArchiveUntilUsers}
		if window > 0 {
			u.StatusDetails["ignoreUserWindow"] = window
		}
	case in.ArchiveForever:
		u.Substatus = "archived_forever"
	default:
		u.Substatus = "archived_until_escalating"
	}
	return nil
}

var emailRE = regexp.MustCompile(`^[^\s@]+@[^\s@]+$`)

// assignee turns the assignee argument into Sentry's assignedTo: nil for
// none given, "" to unassign. org may be "" (a numeric issue id alone);
// team:SLUG then cannot be looked up.
func (d *Deps) assignee(ctx context.Context, p *Principal, org, arg string) (*string, error) {
	if arg == "" {
		return nil, nil
	}
	val := func(s string) (*string, error) { return &s, nil }
	switch kind, rest, _ := strings.Cut(arg, ":"); {
	case strings.EqualFold(arg, "none"):
		return val("")
	case strings.EqualFold(arg, "me"):
		idx, _, err := d.Client.Whoami(ctx)
		if err != nil {
			return nil, err
		}
		if idx.User == nil || !isDigits(string(idx.User.ID)) {
			return nil, userErrorf("assignee \"me\" needs a signed-in user, and this token has none; pass user:ID (list_members shows user ids)")
		}
		return val("user:" + string(idx.User.ID))
	case strings.EqualFold(kind, "user"):
		if !isDigits(rest) || len(rest) > 20 {
			return nil, userErrorf("assignee user:ID takes a numeric Sentry user id (list_members shows each member's user id, which is not the member id)")
		}
		return val("user:" + rest)
	case strings.EqualFold(kind, "team"):
		if isDigits(rest) && len(rest) <= 20 {
			return val("team:" + rest)
		}
		if !sentry.ValidSlug(rest) {
			return nil, userErrorf("assignee team:SLUG takes a team slug or id (list_teams shows them)")
		}
		if org == "" {
			return nil, userErrorf("assignee team:%s needs organization to find the team; or pass team:ID", rest)
		}
		id, err := d.teamID(ctx, p, org, rest)
		if err != nil {
			return nil, err
		}
		return val("team:" + id)
	case emailRE.MatchString(arg):
		// Sentry resolves usernames and emails itself (BEHAVIOUR.md 4.10).
		return val(arg)
	}
	return nil, userErrorf("assignee must be me, an email, user:ID, team:SLUG or none")
}

// teamID resolves a team slug through the organization's teams list,
// which needs org:read.
func (d *Deps) teamID(ctx context.Context, p *Principal, org, slug string) (string, error) {
	noScope := userErrorf("finding team %q needs the org:read scope; pass team:ID instead", slug)
	if !p.Grant.Allows([]string{"org:read"}) {
		return "", noScope
	}
	teams, _, err := d.Client.ListTeams(ctx, org, sentry.ListOptions{Query: "slug:" + slug})
	if sentry.StatusCode(err) == 403 {
		return "", noScope
	}
	if err != nil {
		return "", subject(err, "list_organizations", "organization %q", org)
	}
	for _, t := range teams {
		if strings.EqualFold(t.Slug, slug) && isDigits(string(t.ID)) {
			return string(t.ID), nil
		}
	}
	return "", userErrorf("team %q was not found in organization %q; list_teams shows its teams", slug, org)
}

// refused words Sentry's refusal of a change (a 400 with DRF field errors
// such as {"assignedTo": ["Cannot assign to non-team member"]}) for the
// agent; other errors pass through.
func refused(err error) error {
	var se *sentry.Error
	if !errors.As(err, &se) || se.StatusCode != 400 {
		return err
	}
	msg := fmt.Sprintf("Sentry refused the change: %s.", line(strings.TrimSuffix(se.Detail, "."), capDetail))
	switch {
	case strings.Contains(se.Detail, "assignedTo"):
		msg += " The assignee must be a member of the organization (list_members shows user ids) on a team of the issue's project, or a team with access to it (list_teams)."
	case strings.Contains(se.Detail, "No release data"):
		msg += " Sentry knows no release of this project yet; resolve it now instead, or after the first release."
	case strings.Contains(se.Detail, "inRelease"):
		msg += " list_releases shows the project's releases."
	}
	return userErrorf("%s", msg)
}

// bulkIssues resolves the issues of a bulk call to one organization.
func (d *Deps) bulkIssues(p *Principal, items []string, orgArg string) (string, []sentry.IssueRef, error) {
	if len(items) > maxBulk {
		return "", nil, userErrorf("issues takes at most %d issues; split the change", maxBulk)
	}
	org := ""
	refs := make([]sentry.IssueRef, 0, len(items))
	for _, it := range items {
		if len(it) > 2048 {
			return "", nil, userErrorf("issue %q is too long", it[:64]+"…")
		}
		ref, err := d.issueRef(p, it, orgArg)
		if err != nil {
			return "", nil, userErrorf("issue %q: %s", line(it, capSlug), describe("", nil, err))
		}
		if ref.Org != "" {
			if org != "" && !strings.EqualFold(org, ref.Org) {
				return "", nil, userErrorf("issues must all be in one organization; %q and %q differ", org, ref.Org)
			}
			org = ref.Org
		}
		if !slices.ContainsFunc(refs, func(r sentry.IssueRef) bool { return r.ID == ref.ID }) {
			refs = append(refs, ref) // the same id twice is one lookup
		}
	}
	if org == "" {
		return "", nil, userErrorf("issues needs organization; list_organizations shows the slugs")
	}
	return org, refs, nil
}

// lookupAll looks every issue up before anything changes, a few at a time:
// Sentry's bulk PUT drops unknown ids silently (and with none left it
// changes the issues of its default search), so an unknown issue makes
// the whole call an error. Duplicates are dropped.
func (d *Deps) lookupAll(ctx context.Context, tool string, org string, refs []sentry.IssueRef) ([]*sentry.Issue, error) {
	found := make([]*sentry.Issue, len(refs))
	errs := make([]error, len(refs))
	sem := make(chan struct{}, lookupConcurrency)
	var pace pacer
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			if errs[i] = pace.wait(ctx); errs[i] != nil {
				return
			}
			var r *sentry.Response
			found[i], r, errs[i] = d.Client.LookupIssue(ctx, org, ref.ID)
			pace.learn(r)
			if errs[i] != nil && sentry.StatusCode(errs[i]) != 404 {
				cancel() // one failure fails the call; the rest need not be asked
			}
		}()
	}
	wg.Wait()
	var missing []string
	for i, err := range errs {
		if sentry.StatusCode(err) == 404 {
			missing = append(missing, strconv.Quote(refs[i].ID))
		}
	}
	if len(missing) > 0 {
		return nil, userErrorf("Nothing was changed: issue %s not found in organization %q; list_issues shows its issues.", strings.Join(missing, ", "), org)
	}
	for i, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			// A lookup is a read: a 403 here is about event:read or
			// access to the issue's project, not the write's scope.
			return nil, userErrorf("Nothing was changed: looking up issue %q failed. %s", refs[i].ID, describe(tool, []string{"event:read"}, err))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*sentry.Issue
	seen := map[string]bool{}
	for _, is := range found {
		id := string(is.ID)
		if !isDigits(id) || !isDigits(string(is.Project.ID)) {
			return nil, fmt.Errorf("issue %q came back without a numeric id or project id", line(is.ShortID, capSlug))
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, is)
		}
	}
	return out, nil
}

// pacer holds new lookups back once Sentry said the rate-limit window is
// used up (X-Sentry-Rate-Limit-Remaining 0), until a little after it
// resets: the lookups that met a 429 and wait it out in the client
// (until the reset, plus up to 50 ms) go first, and as fewer of them are
// in flight than the window allows, they all pass. Without the headers
// (self-hosted) it never waits.
type pacer struct {
	mu    sync.Mutex
	until time.Time
}

// paceMargin is how long after a window's reset held-back lookups start.
const paceMargin = 150 * time.Millisecond

func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	d := time.Until(p.until)
	p.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(min(d, 10*time.Second))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pacer) learn(r *sentry.Response) {
	if r == nil || !r.RateLimit.Present || r.RateLimit.Remaining > 0 || r.RateLimit.Reset.IsZero() {
		return
	}
	until := r.RateLimit.Reset.Add(paceMargin)
	p.mu.Lock()
	if until.After(p.until) {
		p.until = until
	}
	p.mu.Unlock()
}

// bulkResult is what one bulk PUT did to its project's issues.
type bulkResult struct {
	issues []*sentry.Issue
	res    *sentry.BulkUpdate
	err    error
}

// bulkApply sends one bulk PUT per project, with the project's issue ids
// and its id (so Sentry's project scope keeps them; release resolutions
// are per project in Sentry anyway), in the order the projects first
// appear.
func (d *Deps) bulkApply(ctx context.Context, org string, issues []*sentry.Issue, u sentry.IssueUpdate) []bulkResult {
	var order []string
	groups := map[string][]*sentry.Issue{}
	for _, is := range issues {
		pid := string(is.Project.ID)
		if groups[pid] == nil {
			order = append(order, pid)
		}
		groups[pid] = append(groups[pid], is)
	}
	out := make([]bulkResult, 0, len(order))
	for _, pid := range order {
		g := groups[pid]
		ids := make([]string, len(g))
		for i, is := range g {
			ids[i] = string(is.ID)
		}
		res, _, err := d.Client.BulkUpdateIssues(ctx, org, pid, ids, u)
		out = append(out, bulkResult{issues: g, res: res, err: err})
	}
	return out
}

// bulkFailure words the projects whose PUT failed, and what did change,
// as one tool error; "" when every PUT succeeded.
func bulkFailure(tool string, scopes []string, results []bulkResult) string {
	var done, failed []string
	var why []string
	for _, r := range results {
		var names []string
		for _, is := range r.issues {
			names = append(names, line(is.ShortID, capSlug))
		}
		if r.err == nil {
			done = append(done, names...)
			continue
		}
		failed = append(failed, names...)
		msg := describe(tool, scopes, refused(r.err))
		if errors.Is(r.err, sentry.ErrNoIssuesMatched) {
			msg = "Sentry found none of them (deleted or merged meanwhile?); nothing was changed there."
		}
		why = append(why, fmt.Sprintf("%s: %s", strings.Join(names, ", "), msg))
	}
	if len(failed) == 0 {
		return ""
	}
	changed := "Nothing was changed."
	if len(done) > 0 {
		changed = "Changed: " + strings.Join(done, ", ") + "."
	}
	return fmt.Sprintf("Not changed: %s. %s\n%s", strings.Join(failed, ", "), changed, strings.Join(why, "\n"))
}

// updated is an issue's state for the result: the issue as Sentry sent it
// (looked up, or re-read after a single PUT), overridden by what a bulk
// PUT said it changed.
func updated(is *sentry.Issue, res *sentry.BulkUpdate, u sentry.IssueUpdate) schemas.UpdatedIssue {
	s := summary(*is)
	out := schemas.UpdatedIssue{ID: s.ID, ShortID: s.ShortID, Title: s.Title, Status: s.Status, Substatus: is.Substatus, Assignee: s.Assignee, Priority: is.Priority}
	details := is.StatusDetails
	if res != nil {
		if res.Status != "" && res.Status != out.Status {
			out.Status, out.Substatus, details = res.Status, "", nil
		}
		if res.Substatus != "" {
			out.Substatus = res.Substatus
		}
		if res.StatusDetails != nil {
			details = res.StatusDetails
		}
		if u.AssignedTo != nil {
			out.Assignee = ""
			if a := res.AssignedTo; a != nil {
				out.Assignee = summary(sentry.Issue{AssignedTo: a}).Assignee
			}
		}
		if res.Priority != "" {
			out.Priority = res.Priority
		}
	}
	if out.Status == "ignored" {
		out.Archived = archived(out.Substatus, details)
	}
	out.InNextRelease, _ = details["inNextRelease"].(bool)
	out.InRelease, _ = details["inRelease"].(string)
	return out
}

// archived says until when an archived issue stays archived.
func archived(substatus string, d map[string]any) string {
	num := func(k string) int64 {
		switch v := d[k].(type) {
		case float64:
			return int64(v)
		case string:
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
		return 0
	}
	if substatus == "archived_forever" {
		return "forever"
	}
	if c := ignoreCondition(num, substatus == "archived_until_escalating" || d["ignoreUntilEscalating"] == true); c != "" {
		return c
	}
	if until, ok := d["ignoreUntil"].(string); ok && until != "" {
		return "until " + shortTime(until)
	}
	return ""
}

// clipUpdated cuts an updated issue's strings for structured output.
func clipUpdated(s schemas.UpdatedIssue, max int, cut *bool) schemas.UpdatedIssue {
	s.ID = clip(s.ID, capSlug, cut)
	s.ShortID = clip(s.ShortID, capSlug, cut)
	s.Title = clip(s.Title, min(max, capText), cut)
	s.Status = clip(s.Status, capSlug, cut)
	s.Substatus = clip(s.Substatus, capSlug, cut)
	s.Archived = clip(s.Archived, capSlug, cut)
	s.InRelease = clip(s.InRelease, min(max, capName), cut)
	s.Assignee = clip(s.Assignee, min(max, capName), cut)
	s.Priority = clip(s.Priority, capSlug, cut)
	return s
}

// writeUpdated writes one issue's line: short id, title and its state.
func writeUpdated(b *render.Builder, s schemas.UpdatedIssue) {
	state := line(s.Status, capSlug)
	switch {
	case s.Status == "ignored":
		state = "archived"
		if s.Archived != "" {
			state += " " + line(s.Archived, capSlug)
		}
	case s.Status == "resolved" && s.InNextRelease:
		state += " in the next release"
	case s.Status == "resolved" && s.InRelease != "":
		state += " in release " + line(s.InRelease, capName)
	case s.Substatus != "":
		state += " (" + line(s.Substatus, capSlug) + ")"
	}
	who := "unassigned"
	if s.Assignee != "" {
		who = "assigned to " + line(s.Assignee, capName)
	}
	fmt.Fprintf(b, "%s %s - %s, %s", line(s.ShortID, capSlug), line(s.Title, capText), state, who)
	if s.Priority != "" {
		fmt.Fprintf(b, ", priority %s", line(s.Priority, capSlug))
	}
	fmt.Fprintf(b, ", id %s\n", line(s.ID, capSlug))
}

// updatedList renders and fits the updated issues.
func updatedList(head string, items []schemas.UpdatedIssue) ([]schemas.UpdatedIssue, string, bool) {
	b := &render.Builder{}
	b.WriteString(head)
	for _, s := range items {
		writeUpdated(b, s)
	}
	fitted, cut := fitList(items, capText, clipUpdated, func(l []schemas.UpdatedIssue) int { return jsonSize(l) })
	return fitted, strings.TrimRight(b.String(), "\n"), cut || b.Truncated()
}

// oneIssue checks issue and issues: both or neither is an error; a list
// of one is that issue.
func oneIssue(issue string, issues []string) (string, []string, error) {
	switch {
	case issue != "" && len(issues) > 0:
		return "", nil, userErrorf("give issue or issues, not both")
	case issue == "" && len(issues) == 0:
		return "", nil, userErrorf("issue (or issues, for several) is required")
	case len(issues) == 1:
		return issues[0], nil, nil
	}
	return issue, issues, nil
}

func updateIssueTool() Tool {
	const name = "update_issue"
	scopes := []string{"event:write"}
	return define(Tool{
		Name:        name,
		Title:       "Update issue",
		Description: "Reopen or archive issues, assign or unassign them, set their priority.",
		Toolset:     ToolsetIssues,
		Scopes:      scopes,
		Idempotent:  true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.UpdateIssueInput) (*schemas.UpdateOutput, string, error) {
		issue, items, err := oneIssue(in.Issue, in.Issues)
		if err != nil {
			return nil, "", err
		}
		var u sentry.IssueUpdate
		if err := statusUpdate(in, &u); err != nil {
			return nil, "", err
		}
		if in.Priority != "" {
			switch in.Priority {
			case "high", "medium", "low":
				u.Priority = in.Priority
			default:
				return nil, "", userErrorf("priority must be high, medium or low")
			}
		}
		if u.Status == "" && in.Assignee == "" && u.Priority == "" {
			return nil, "", userErrorf("update_issue needs a change: status, assignee or priority")
		}
		out := &schemas.UpdateOutput{}
		var text string
		if items == nil {
			ref, err := d.issueRef(p, issue, in.Organization)
			if err != nil {
				return nil, "", err
			}
			if u.AssignedTo, err = d.assignee(ctx, p, ref.Org, in.Assignee); err != nil {
				return nil, "", err
			}
			is, _, err := d.Client.UpdateIssue(ctx, ref.Org, ref.ID, u)
			if err != nil {
				return nil, "", refused(issueNotFound(err, ref))
			}
			out.Issues, text, out.Truncated = updatedList("", []schemas.UpdatedIssue{updated(is, nil, u)})
			return out, text, nil
		}
		org, refs, err := d.bulkIssues(p, items, in.Organization)
		if err != nil {
			return nil, "", err
		}
		if u.AssignedTo, err = d.assignee(ctx, p, org, in.Assignee); err != nil {
			return nil, "", err
		}
		list, err := d.bulkChange(ctx, name, scopes, org, refs, u)
		if err != nil {
			return nil, "", err
		}
		out.Issues, text, out.Truncated = updatedList(fmt.Sprintf("Updated %s in organization %s:\n", plural(int64(len(list)), "issue", "issues"), line(org, capSlug)), list)
		return out, text, nil
	})
}

// bulkChange applies u to the issues refs of org, safely (see lookupAll
// and bulkApply): every issue looked up first, then one PUT per project.
// It returns each issue as changed, or an error saying what was and was
// not changed.
func (d *Deps) bulkChange(ctx context.Context, tool string, scopes []string, org string, refs []sentry.IssueRef, u sentry.IssueUpdate) ([]schemas.UpdatedIssue, error) {
	issues, err := d.lookupAll(ctx, tool, org, refs)
	if err != nil {
		return nil, err
	}
	results := d.bulkApply(ctx, org, issues, u)
	if msg := bulkFailure(tool, scopes, results); msg != "" {
		return nil, userErrorf("%s", msg)
	}
	var list []schemas.UpdatedIssue
	for _, r := range results {
		for _, is := range r.issues {
			list = append(list, updated(is, r.res, u))
		}
	}
	return list, nil
}

// resolveBulk is resolve_issue with issues: lookups, then one PUT per
// project.
func resolveBulk(ctx context.Context, d *Deps, p *Principal, items []string, orgArg string, u sentry.IssueUpdate, how string) (*schemas.ResolveOutput, string, error) {
	const name = "resolve_issue"
	scopes := []string{"event:write"}
	org, refs, err := d.bulkIssues(p, items, orgArg)
	if err != nil {
		return nil, "", err
	}
	list, err := d.bulkChange(ctx, name, scopes, org, refs, u)
	if err != nil {
		return nil, "", err
	}
	out := &schemas.ResolveOutput{Status: "resolved"}
	for _, s := range list {
		out.InNextRelease = out.InNextRelease || s.InNextRelease
		if s.InRelease != "" {
			out.InRelease = clip(s.InRelease, capName, &out.Truncated)
		}
	}
	var text string
	var cut bool
	out.Issues, text, cut = updatedList(fmt.Sprintf("Resolved %s%s:\n", plural(int64(len(list)), "issue", "issues"), how), list)
	out.Truncated = out.Truncated || cut
	return out, text, nil
}
