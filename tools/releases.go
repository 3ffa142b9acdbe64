package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
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
		var b strings.Builder
		for _, r := range rels {
			rel := schemas.Release{Version: r.Version, Created: r.DateCreated, Released: r.DateReleased, NewIssues: int64(r.NewGroups)}
			for _, p := range r.Projects {
				rel.Projects = append(rel.Projects, p.Slug)
			}
			if r.LastDeploy != nil {
				rel.LastDeploy = r.LastDeploy.Environment
			}
			out.Releases = append(out.Releases, rel)
			fmt.Fprintf(&b, "%s  created %s, %s", rel.Version, shortTime(rel.Created), plural(rel.NewIssues, "new issue", "new issues"))
			if len(rel.Projects) > 0 {
				fmt.Fprintf(&b, ", projects %s", strings.Join(rel.Projects, ", "))
			}
			if rel.LastDeploy != "" {
				fmt.Fprintf(&b, ", last deployed to %s", rel.LastDeploy)
			}
			b.WriteString("\n")
		}
		if len(rels) == 0 {
			b.WriteString("No releases found.\n")
		}
		return out, finishList(&b, out.NextCursor), nil
	})
}
