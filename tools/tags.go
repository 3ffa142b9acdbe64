package tools

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// Bounds of get_issue_tags.
const (
	tagTopValues = 5  // top values per key without key (Sentry's limit=)
	tagPageSize  = 50 // values per page with key (per_page)
	maxTagKeys   = 50 // keys shown
	maxKeysNamed = 30 // keys an unknown-key error names
)

func getIssueTagsTool() Tool {
	return define(Tool{
		Name:        "get_issue_tags",
		Title:       "Get issue tags",
		Description: "An issue's top values per tag (who, what, where), or every value of one tag.",
		Toolset:     ToolsetIssues,
		Scopes:      []string{"event:read"},
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.GetIssueTagsInput) (*schemas.IssueTagsOutput, string, error) {
		if in.Cursor != "" && in.Key == "" {
			return nil, "", userErrorf("cursor pages the values of one tag: give key too (the list of tags is not paginated)")
		}
		if in.Key != "" && !sentry.ValidTagKey(in.Key) {
			return nil, "", userErrorf("%q is not a tag key (letters, digits, '_', '.', ':' and '-'); get_issue_tags without key lists the issue's keys", line(in.Key, capSlug))
		}
		ref, err := d.issueRef(p, in.Issue, in.Organization)
		if err != nil {
			return nil, "", err
		}
		if in.Key == "" {
			return d.issueTagList(ctx, p, ref, in.Environment)
		}
		return d.issueTagValues(ctx, p, ref, in.Key, in.Environment, in.Cursor)
	})
}

// tagsNotFound explains a 404 of the tags endpoints: an unknown
// environment (named with the organization's), else an unknown issue.
func (d *Deps) tagsNotFound(ctx context.Context, p *Principal, err error, ref sentry.IssueRef, env string) error {
	if sentry.StatusCode(err) == 404 && env != "" && ref.Org != "" {
		if envErr := d.unknownEnvironment(ctx, p, ref.Org, env); envErr != nil {
			return envErr
		}
	}
	if env != "" {
		if ref.Org != "" {
			return subject(err, "list_issues", "issue %q in organization %q, or environment %q", ref.ID, ref.Org, env)
		}
		return subject(err, "list_issues", "issue %q or environment %q", ref.ID, env)
	}
	return issueNotFound(err, ref)
}

func (d *Deps) issueTagList(ctx context.Context, p *Principal, ref sentry.IssueRef, env string) (*schemas.IssueTagsOutput, string, error) {
	tags, _, err := d.Client.IssueTags(ctx, ref.Org, ref.ID, sentry.IssueTagsOptions{Limit: tagTopValues, Environment: env})
	if err != nil {
		return nil, "", d.tagsNotFound(ctx, p, err, ref, env)
	}
	out := &schemas.IssueTagsOutput{Tags: []schemas.TagDistribution{}}
	shown, more := render.Cap(tags, maxTagKeys)
	b := listBuilder()
	if len(tags) == 0 {
		fmt.Fprintf(b, "Issue %s has no tags", line(ref.ID, capSlug))
		if env != "" {
			fmt.Fprintf(b, " in environment %s", line(env, capSlug))
		}
		b.WriteString(" (no events).\n")
	} else {
		fmt.Fprintf(b, "Tags of issue %s, each with its top values (share, events, value):\n", line(ref.ID, capSlug))
	}
	for _, t := range shown {
		td := tagDistribution(t, tagTopValues)
		out.Tags = append(out.Tags, td)
		writeTagHeader(b, td)
		w := countWidth(td.Values)
		for _, v := range td.Values {
			fmt.Fprintf(b, "  %s  %*s  %s\n", percentText(v.Count, td.Total), w, render.Count(int(v.Count)), line(v.Value, capName))
		}
		if n := td.Unique - int64(len(td.Values)); n > 0 {
			fmt.Fprintf(b, "  %s\n", render.More(int(n), "value", "values"))
		}
	}
	if more > 0 {
		fmt.Fprintf(b, "%s\n", render.More(more, "key", "keys"))
	}
	if len(tags) > 0 {
		b.WriteString("get_issue_tags with key lists every value of one tag.\n")
	}
	text := finishList(b, &out.Page)
	return fitTags(out), text, nil
}

func (d *Deps) issueTagValues(ctx context.Context, p *Principal, ref sentry.IssueRef, key, env, cursor string) (*schemas.IssueTagsOutput, string, error) {
	var (
		wg     sync.WaitGroup
		tag    *sentry.TagSummary
		tagErr error
	)
	wg.Add(1)
	go func() { // the key's total and distinct values, for the shares
		defer wg.Done()
		tag, _, tagErr = d.Client.IssueTag(ctx, ref.Org, ref.ID, key, env)
	}()
	vals, resp, err := d.Client.IssueTagValues(ctx, ref.Org, ref.ID, key, sentry.TagValuesOptions{Sort: "count", Environment: env, Cursor: cursor, PerPage: tagPageSize})
	wg.Wait()
	if err != nil {
		if sentry.StatusCode(err) != 404 {
			return nil, "", err
		}
		return nil, "", d.unknownTagKey(ctx, p, err, ref, key, env)
	}
	td := schemas.TagDistribution{Key: key, Values: []schemas.TagValueCount{}}
	if tagErr == nil {
		td.Total, td.Unique = int64(tag.TotalValues), int64(tag.UniqueValues)
	}
	shown, _ := render.Cap(vals, tagPageSize)
	for _, v := range shown {
		td.Values = append(td.Values, valueCount(v, td.Total))
	}
	out := &schemas.IssueTagsOutput{Tags: []schemas.TagDistribution{td}, Page: page(resp)}
	b := listBuilder()
	fmt.Fprintf(b, "Tag %s of issue %s", line(key, capSlug), line(ref.ID, capSlug))
	if env != "" {
		fmt.Fprintf(b, " in environment %s", line(env, capSlug))
	}
	if td.Total > 0 {
		fmt.Fprintf(b, ": %s, %s", counted(td.Total, "event", "events"), counted(td.Unique, "distinct value", "distinct values"))
	}
	b.WriteString(". Most frequent first (share, events, first seen, last seen, value):\n")
	if len(shown) == 0 {
		b.WriteString("  no values\n")
	}
	w := countWidth(td.Values)
	for i, v := range td.Values {
		fmt.Fprintf(b, "  %s  %*s  %s  %s  %s", percentText(v.Count, td.Total), w, render.Count(int(v.Count)), line(shortTime(v.FirstSeen), capSlug), line(shortTime(v.LastSeen), capSlug), line(v.Value, capName))
		if name := shown[i].Name; name != "" && name != v.Value {
			fmt.Fprintf(b, " (%s)", line(name, capName))
		}
		b.WriteString("\n")
	}
	text := finishList(b, &out.Page)
	return fitTags(out), text, nil
}

// unknownTagKey explains a 404 of a key's values: an unknown environment,
// an unknown issue, or a key the issue does not have (named with the keys
// it has, from the tags list).
func (d *Deps) unknownTagKey(ctx context.Context, p *Principal, err error, ref sentry.IssueRef, key, env string) error {
	if env != "" && ref.Org != "" {
		if envErr := d.unknownEnvironment(ctx, p, ref.Org, env); envErr != nil {
			return envErr
		}
	}
	tags, _, lerr := d.Client.IssueTags(ctx, ref.Org, ref.ID, sentry.IssueTagsOptions{Limit: 1, Environment: env})
	if lerr != nil {
		return d.tagsNotFound(ctx, p, lerr, ref, env)
	}
	names := make([]string, 0, len(tags))
	for _, t := range tags {
		names = append(names, line(t.Key, capSlug))
	}
	where := ""
	if env != "" {
		where = " in environment " + line(env, capSlug)
	}
	if len(names) == 0 {
		return userErrorf("Issue %s has no tag %q%s: it has no tags there (no events).", line(ref.ID, capSlug), line(key, capSlug), where)
	}
	shown, more := render.Cap(names, maxKeysNamed)
	list := strings.Join(shown, ", ")
	if more > 0 {
		list += " " + render.More(more, "key", "keys")
	}
	return userErrorf("Issue %s has no tag %q%s; its keys: %s. get_issue_tags without key lists them with their values.", line(ref.ID, capSlug), line(key, capSlug), where, list)
}

// tagDistribution is one key of the tags list with at most top values.
func tagDistribution(t sentry.TagSummary, top int) schemas.TagDistribution {
	td := schemas.TagDistribution{Key: t.Key, Total: int64(t.TotalValues), Unique: int64(t.UniqueValues), Values: []schemas.TagValueCount{}}
	vals, _ := render.Cap(t.TopValues, top)
	for _, v := range vals {
		vc := valueCount(v, td.Total)
		vc.FirstSeen, vc.LastSeen = "", "" // shown with key only
		td.Values = append(td.Values, vc)
	}
	if td.Unique < int64(len(td.Values)) {
		td.Unique = 0 // unknown or wrong: not claimed
	}
	return td
}

func valueCount(v sentry.TagValue, total int64) schemas.TagValueCount {
	val := v.Value
	if val == "" {
		val = v.Name
	}
	vc := schemas.TagValueCount{Value: val, Count: int64(v.Count), FirstSeen: v.FirstSeen, LastSeen: v.LastSeen}
	if total > 0 && vc.Count >= 0 {
		vc.Percent = math.Round(float64(vc.Count)*1000/float64(total)) / 10
	}
	return vc
}

func writeTagHeader(b *render.Builder, td schemas.TagDistribution) {
	fmt.Fprintf(b, "%s: %s", line(td.Key, capSlug), counted(td.Total, "event", "events"))
	if td.Unique > 0 {
		fmt.Fprintf(b, ", %s", counted(td.Unique, "value", "values"))
	}
	b.WriteString("\n")
}

// counted is plural with thousands separators: "2,871 events".
func counted(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return render.Count(int(n)) + " " + many
}

// countWidth is the width of the widest count, to align a key's values.
func countWidth(vals []schemas.TagValueCount) int {
	w := 1
	for _, v := range vals {
		w = max(w, len(render.Count(int(v.Count))))
	}
	return w
}

// percentText is count's share of total for text: " 85%", " <1%", or
// "  -" when the total is not known.
func percentText(count, total int64) string {
	switch {
	case total <= 0:
		return "  -"
	case count > 0 && float64(count)*100 < float64(total):
		return " <1%"
	}
	return fmt.Sprintf("%3d%%", int64(math.Round(float64(count)*100/float64(total))))
}

// fitTags cuts get_issue_tags' structured output to the field caps and
// structuredMax.
func fitTags(out *schemas.IssueTagsOutput) *schemas.IssueTagsOutput {
	clipValue := func(v schemas.TagValueCount, max int, cut *bool) schemas.TagValueCount {
		v.Value = clip(v.Value, min(max, capName), cut)
		v.FirstSeen = clip(v.FirstSeen, capSlug, cut)
		v.LastSeen = clip(v.LastSeen, capSlug, cut)
		return v
	}
	var cut bool
	out.Tags, cut = fitList(out.Tags, capName, func(t schemas.TagDistribution, max int, cut *bool) schemas.TagDistribution {
		t.Key = clip(t.Key, min(max, capSlug), cut)
		vals := make([]schemas.TagValueCount, len(t.Values))
		for i, v := range t.Values {
			vals[i] = clipValue(v, max, cut)
		}
		t.Values = vals
		return t
	}, func(items []schemas.TagDistribution) int { c := *out; c.Tags = items; return jsonSize(&c) })
	out.Truncated = out.Truncated || cut
	return out
}
