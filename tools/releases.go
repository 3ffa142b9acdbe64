package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

func listReleasesTool() Tool {
	return define(Tool{
		Name:        "list_releases",
		Title:       "List releases",
		Description: "List an organization's releases, newest first.",
		Toolset:     ToolsetReleases,
		Scopes:      []string{"project:read", "project:releases", "org:ci"},
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.ListReleasesInput) (*schemas.ReleasesOutput, string, error) {
		org, err := p.organization(in.Organization)
		if err != nil {
			return nil, "", err
		}
		opt := sentry.ReleaseListOptions{ListOptions: sentry.ListOptions{Query: in.Query, Cursor: in.Cursor}}
		if in.Project != "" {
			id, err := d.projectID(ctx, p, org, in.Project)
			if err != nil {
				return nil, "", err
			}
			opt.Projects = []string{id}
		}
		rels, resp, err := d.Client.ListReleases(ctx, org, opt)
		if err != nil {
			return nil, "", subject(err, "list_organizations", "organization %q", org)
		}
		out := &schemas.ReleasesOutput{Releases: make([]schemas.Release, 0, len(rels)), Page: page(resp)}
		b := listBuilder()
		for _, r := range rels {
			rel := schemas.Release{Version: r.Version, Created: r.DateCreated, Released: r.DateReleased, NewIssues: int64(r.NewGroups)}
			projects, more := render.Cap(r.Projects, maxProjects)
			for _, p := range projects {
				rel.Projects = append(rel.Projects, p.Slug)
			}
			if r.LastDeploy != nil {
				rel.LastDeploy = r.LastDeploy.Environment
			}
			out.Releases = append(out.Releases, rel)
			fmt.Fprintf(b, "%s  created %s, %s", line(rel.Version, capName), line(shortTime(rel.Created), capSlug), plural(rel.NewIssues, "new issue", "new issues"))
			if len(rel.Projects) > 0 {
				names := make([]string, len(rel.Projects))
				for i, p := range rel.Projects {
					names[i] = line(p, capSlug)
				}
				fmt.Fprintf(b, ", projects %s", strings.Join(names, ", "))
				if more > 0 {
					fmt.Fprintf(b, " %s", render.More(more, "project", "projects"))
					out.Truncated = true
				}
			}
			if rel.LastDeploy != "" {
				fmt.Fprintf(b, ", last deployed to %s", line(rel.LastDeploy, capSlug))
			}
			b.WriteString("\n")
		}
		if len(rels) == 0 {
			b.WriteString("No releases found.\n")
		}
		text := finishList(b, &out.Page)
		var cut bool
		out.Releases, cut = fitList(out.Releases, capName, func(r schemas.Release, max int, cut *bool) schemas.Release {
			r.Version = clip(r.Version, min(max, capName), cut)
			r.Created = clip(r.Created, capSlug, cut)
			r.Released = clip(r.Released, capSlug, cut)
			r.LastDeploy = clip(r.LastDeploy, min(max, capSlug), cut)
			if r.Projects != nil {
				projects := make([]string, len(r.Projects))
				for i, p := range r.Projects {
					projects[i] = clip(p, min(max, capSlug), cut)
				}
				r.Projects = projects
			}
			return r
		}, func(items []schemas.Release) int { c := *out; c.Releases = items; return jsonSize(&c) })
		out.Truncated = out.Truncated || cut
		return out, text, nil
	})
}
