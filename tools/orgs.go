package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// organization returns the organization to use: the argument, checked
// against the pin, or the pin when the argument is empty.
func (p *Principal) organization(arg string) (string, error) {
	switch {
	case p.Org == "" && arg == "":
		return "", userErrorf("organization is required; list_organizations shows the slugs you can use")
	case p.Org == "":
		return arg, nil
	case arg == "" || strings.EqualFold(arg, p.Org):
		return p.Org, nil
	default:
		return "", userErrorf("this server is pinned to organization %q (--organization / SENTRY_ORG); %q is not available here", p.Org, arg)
	}
}

func whoamiTool() Tool {
	return define(Tool{
		Name:        "whoami",
		Title:       "Who am I",
		Description: "The signed-in Sentry user, granted scopes and the tools they enable.",
		Toolset:     ToolsetOrgs,
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, _ *schemas.NoInput) (*schemas.WhoamiOutput, string, error) {
		out := &schemas.WhoamiOutput{Host: d.Client.BaseURL().String(), ReadOnly: p.Grant.ReadOnly(), Organization: p.Org}
		var disabled []Disabled
		out.EnabledTools, disabled = d.Policy.Enabled(p)
		if out.EnabledTools == nil {
			out.EnabledTools = []string{}
		}
		for _, t := range disabled {
			out.DisabledTools = append(out.DisabledTools, t.Name)
		}
		var b render.Builder
		if p.Problem != "" {
			// Nothing to ask Sentry: say what is wrong and how to fix it.
			fmt.Fprintf(&b, "Not signed in to %s: %s\n", out.Host, line(p.Problem, capText)) // may quote Sentry
		} else {
			idx, _, err := d.Client.Whoami(ctx)
			if err != nil {
				return nil, "", err
			}
			var user *schemas.Person
			if idx.User != nil {
				user = &schemas.Person{ID: string(idx.User.ID), Name: idx.User.Name, Email: idx.User.Email}
				out.User = &schemas.Person{ID: clip(user.ID, capSlug, &out.Truncated), Name: clip(user.Name, capName, &out.Truncated), Email: clip(user.Email, capName, &out.Truncated)}
			}
			if idx.Auth != nil {
				scopes, more := render.Cap(idx.Auth.Scopes, 64)
				for _, sc := range scopes {
					out.TokenScopes = append(out.TokenScopes, clip(sc, capSlug, &out.Truncated))
				}
				out.Truncated = out.Truncated || more > 0
			}
			out.Granted = p.Grant.Scopes()
			if user != nil {
				fmt.Fprintf(&b, "Signed in to %s as %s", out.Host, line(user.Name, capName))
				if user.Email != "" {
					fmt.Fprintf(&b, " <%s>", line(user.Email, capName))
				}
				b.WriteString(".\n")
			} else {
				fmt.Fprintf(&b, "Not signed in to %s (no user for this token).\n", out.Host)
			}
			fmt.Fprintf(&b, "Token scopes: %s\n", line(orNone(out.TokenScopes), capBlock))
			if p.Grant.Known() {
				fmt.Fprintf(&b, "Granted to this server: %s\n", orNone(out.Granted))
			}
		}
		if p.Warning != "" {
			fmt.Fprintf(&b, "Warning: %s\n", line(p.Warning, capDetail)) // may quote the token endpoint
		}
		if out.ReadOnly {
			b.WriteString("Read-only: writes are disabled.\n")
		}
		if p.Org != "" {
			fmt.Fprintf(&b, "Pinned to organization: %s\n", p.Org)
		}
		fmt.Fprintf(&b, "Enabled tools: %s", strings.Join(out.EnabledTools, ", "))
		if len(disabled) > 0 {
			b.WriteString("\nDisabled tools:")
			for i, t := range disabled {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, " %s (%s)", t.Name, t.Reason)
			}
			if hint := d.Policy.SignInHint(p); hint != "" {
				b.WriteString("\n" + hint)
			}
		}
		out.Truncated = out.Truncated || b.Truncated()
		return out, b.String(), nil
	})
}

func listOrganizationsTool() Tool {
	return define(Tool{
		Name:        "list_organizations",
		Title:       "List organizations",
		Description: "List your Sentry organizations (their slugs go to other tools).",
		Toolset:     ToolsetOrgs,
		Scopes:      []string{"org:read"},
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.ListOrganizationsInput) (*schemas.OrganizationsOutput, string, error) {
		opt := sentry.ListOptions{Query: in.Query, Cursor: in.Cursor}
		if p.Org != "" && in.Query == "" && in.Cursor == "" {
			opt.Query = "slug:" + p.Org
		}
		orgs, resp, err := d.Client.ListOrganizations(ctx, opt)
		if err != nil {
			return nil, "", err
		}
		out := &schemas.OrganizationsOutput{Organizations: []schemas.Organization{}, Page: page(resp)}
		b := listBuilder()
		for _, o := range orgs {
			if p.Org != "" && !strings.EqualFold(o.Slug, p.Org) {
				continue // the pin hides other organizations
			}
			out.Organizations = append(out.Organizations, schemas.Organization{Slug: o.Slug, Name: o.Name, ID: string(o.ID)})
			fmt.Fprintf(b, "%s  %s (id %s)\n", line(o.Slug, capSlug), line(o.Name, capName), line(string(o.ID), capSlug))
		}
		if len(out.Organizations) == 0 {
			b.WriteString("No organizations found.\n")
		}
		text := finishList(b, &out.Page)
		var cut bool
		out.Organizations, cut = fitList(out.Organizations, capName, func(o schemas.Organization, max int, cut *bool) schemas.Organization {
			return schemas.Organization{Slug: clip(o.Slug, min(max, capSlug), cut), Name: clip(o.Name, min(max, capName), cut), ID: clip(o.ID, capSlug, cut)}
		}, func(items []schemas.Organization) int { c := *out; c.Organizations = items; return jsonSize(&c) })
		out.Truncated = out.Truncated || cut
		return out, text, nil
	})
}

func listProjectsTool() Tool {
	return define(Tool{
		Name:        "list_projects",
		Title:       "List projects",
		Description: "List an organization's projects.",
		Toolset:     ToolsetOrgs,
		Scopes:      []string{"org:read"},
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.ListProjectsInput) (*schemas.ProjectsOutput, string, error) {
		org, err := p.organization(in.Organization)
		if err != nil {
			return nil, "", err
		}
		projects, resp, err := d.Client.ListProjects(ctx, org, sentry.ListOptions{Query: in.Query, Cursor: in.Cursor})
		if err != nil {
			return nil, "", subject(err, "list_organizations", "organization %q", org)
		}
		out := &schemas.ProjectsOutput{Projects: make([]schemas.Project, 0, len(projects)), Page: page(resp)}
		b := listBuilder()
		for _, pj := range projects {
			out.Projects = append(out.Projects, schemas.Project{Slug: pj.Slug, Name: pj.Name, ID: string(pj.ID), Platform: pj.Platform})
			d.projects.Store(p.Key+"\x00"+org+"/"+pj.Slug, string(pj.ID))
			fmt.Fprintf(b, "%s  %s (id %s", line(pj.Slug, capSlug), line(pj.Name, capName), line(string(pj.ID), capSlug))
			if pj.Platform != "" {
				fmt.Fprintf(b, ", %s", line(pj.Platform, capSlug))
			}
			b.WriteString(")\n")
		}
		if len(projects) == 0 {
			b.WriteString("No projects found.\n")
		}
		text := finishList(b, &out.Page)
		var cut bool
		out.Projects, cut = fitList(out.Projects, capName, func(pj schemas.Project, max int, cut *bool) schemas.Project {
			return schemas.Project{Slug: clip(pj.Slug, min(max, capSlug), cut), Name: clip(pj.Name, min(max, capName), cut), ID: clip(pj.ID, capSlug, cut), Platform: clip(pj.Platform, min(max, capSlug), cut)}
		}, func(items []schemas.Project) int { c := *out; c.Projects = items; return jsonSize(&c) })
		out.Truncated = out.Truncated || cut
		return out, text, nil
	})
}

func listTeamsTool() Tool {
	return define(Tool{
		Name:        "list_teams",
		Title:       "List teams",
		Description: "List an organization's teams (team:SLUG assigns to one).",
		Toolset:     ToolsetOrgs,
		Scopes:      []string{"org:read"},
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.ListTeamsInput) (*schemas.TeamsOutput, string, error) {
		org, err := p.organization(in.Organization)
		if err != nil {
			return nil, "", err
		}
		teams, resp, err := d.Client.ListTeams(ctx, org, sentry.ListOptions{Query: in.Query, Cursor: in.Cursor})
		if err != nil {
			return nil, "", subject(err, "list_organizations", "organization %q", org)
		}
		out := &schemas.TeamsOutput{Teams: make([]schemas.Team, 0, len(teams)), Page: page(resp)}
		b := listBuilder()
		for _, t := range teams {
			out.Teams = append(out.Teams, schemas.Team{Slug: t.Slug, Name: t.Name, ID: string(t.ID), Members: int64(t.MemberCount), IsMember: t.IsMember})
			fmt.Fprintf(b, "%s  %s (id %s, %s", line(t.Slug, capSlug), line(t.Name, capName), line(string(t.ID), capSlug), plural(int64(t.MemberCount), "member", "members"))
			if t.IsMember {
				b.WriteString(", you are a member")
			}
			b.WriteString(")\n")
		}
		if len(teams) == 0 {
			b.WriteString("No teams found.\n")
		}
		text := finishList(b, &out.Page)
		var cut bool
		out.Teams, cut = fitList(out.Teams, capName, func(t schemas.Team, max int, cut *bool) schemas.Team {
			return schemas.Team{Slug: clip(t.Slug, min(max, capSlug), cut), Name: clip(t.Name, min(max, capName), cut), ID: clip(t.ID, capSlug, cut), Members: t.Members, IsMember: t.IsMember}
		}, func(items []schemas.Team) int { c := *out; c.Teams = items; return jsonSize(&c) })
		out.Truncated = out.Truncated || cut
		return out, text, nil
	})
}

func page(r *sentry.Response) schemas.Page {
	if r == nil {
		return schemas.Page{}
	}
	return schemas.Page{NextCursor: r.Page.NextCursor}
}

// listBuilder is a list's text builder; it leaves 1 KB of
// render.DefaultMax for the line finishList adds, so that line is never cut.
func listBuilder() *render.Builder {
	return &render.Builder{Max: render.DefaultMax - 1<<10}
}

// finishList ends a list's text with how to get more, when there is more,
// and records in pg whether the text was cut.
func finishList(b *render.Builder, pg *schemas.Page) string {
	text := strings.TrimRight(b.String(), "\n")
	pg.Truncated = pg.Truncated || b.Truncated()
	if pg.NextCursor != "" {
		text += fmt.Sprintf("\n%s%q.", moreResults, line(pg.NextCursor, capCursor))
	}
	return text
}

// projectID resolves a project slug (or id) to its numeric id.
func (d *Deps) projectID(ctx context.Context, p *Principal, org, project string) (string, error) {
	if project == "" {
		return "", nil
	}
	if isDigits(project) {
		return project, nil
	}
	key := p.Key + "\x00" + org + "/" + project
	if id, ok := d.projects.Load(key); ok {
		return id.(string), nil
	}
	if !sentry.ValidSlug(project) {
		return "", &sentry.InvalidArgumentError{Value: project}
	}
	projects, _, err := d.Client.ListProjects(ctx, org, sentry.ListOptions{Query: "slug:" + project})
	if sentry.StatusCode(err) == 403 {
		return "", userErrorf("looking up project %q needs the org:read scope; pass the numeric project id instead", project)
	}
	if err != nil {
		return "", err
	}
	for _, pj := range projects {
		if strings.EqualFold(pj.Slug, project) {
			d.projects.Store(key, string(pj.ID))
			return string(pj.ID), nil
		}
	}
	return "", userErrorf("project %q was not found in organization %q; list_projects shows its projects", project, org)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
