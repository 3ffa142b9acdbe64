package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
)

// organization returns the organization to use: the argument, checked
// against the pin, or the pin when the argument is empty.
func (env *Env) organization(arg string) (string, error) {
	switch {
	case env.Org == "" && arg == "":
		return "", userErrorf("organization is required; list_organizations shows the slugs you can use")
	case env.Org == "":
		return arg, nil
	case arg == "" || strings.EqualFold(arg, env.Org):
		return env.Org, nil
	default:
		return "", userErrorf("this server is pinned to organization %q (--organization / SENTRY_ORG); %q is not available here", env.Org, arg)
	}
}

func whoamiTool() Tool {
	return define(Tool{
		Name:        "whoami",
		Title:       "Who am I",
		Description: "Show the signed-in Sentry user, the granted scopes and which tools they enable.",
		ReadOnly:    true,
	}, func(ctx context.Context, env *Env, _ *schemas.NoInput) (*schemas.WhoamiOutput, string, error) {
		idx, _, err := env.Client.Whoami(ctx)
		if err != nil {
			return nil, "", err
		}
		out := &schemas.WhoamiOutput{Host: env.Client.BaseURL().String(), ReadOnly: env.Grant.ReadOnly(), Organization: env.Org}
		if idx.User != nil {
			out.User = &schemas.Person{ID: string(idx.User.ID), Name: idx.User.Name, Email: idx.User.Email}
		}
		if idx.Auth != nil {
			out.TokenScopes = idx.Auth.Scopes
		}
		out.Granted = env.Grant.Scopes()
		out.EnabledTools, out.DisabledTools = env.inventory.Enabled()
		if out.EnabledTools == nil {
			out.EnabledTools = []string{}
		}
		var b strings.Builder
		if out.User != nil {
			fmt.Fprintf(&b, "Signed in to %s as %s", out.Host, out.User.Name)
			if out.User.Email != "" {
				fmt.Fprintf(&b, " <%s>", out.User.Email)
			}
			b.WriteString(".\n")
		} else {
			fmt.Fprintf(&b, "Not signed in to %s (no user for this token).\n", out.Host)
		}
		fmt.Fprintf(&b, "Token scopes: %s\n", orNone(out.TokenScopes))
		if env.Grant.Known() {
			fmt.Fprintf(&b, "Granted to this server: %s\n", orNone(out.Granted))
		}
		if out.ReadOnly {
			b.WriteString("Read-only: writes are disabled.\n")
		}
		if env.Org != "" {
			fmt.Fprintf(&b, "Pinned to organization: %s\n", env.Org)
		}
		fmt.Fprintf(&b, "Enabled tools: %s", strings.Join(out.EnabledTools, ", "))
		if len(out.DisabledTools) > 0 {
			fmt.Fprintf(&b, "\nDisabled tools: %s", strings.Join(out.DisabledTools, ", "))
		}
		return out, b.String(), nil
	})
}

func listOrganizationsTool() Tool {
	return define(Tool{
		Name:        "list_organizations",
		Title:       "List organizations",
		Description: "List the Sentry organizations you belong to (slugs are used by other tools).",
		Scopes:      []string{"org:read", "org:write", "org:admin"},
		ReadOnly:    true,
	}, func(ctx context.Context, env *Env, in *schemas.ListOrganizationsInput) (*schemas.OrganizationsOutput, string, error) {
		opt := sentry.ListOptions{Query: in.Query, Cursor: in.Cursor}
		if env.Org != "" && in.Query == "" && in.Cursor == "" {
			opt.Query = "slug:" + env.Org
		}
		orgs, resp, err := env.Client.ListOrganizations(ctx, opt)
		if err != nil {
			return nil, "", err
		}
		out := &schemas.OrganizationsOutput{Organizations: []schemas.Organization{}, Page: page(resp)}
		var b strings.Builder
		for _, o := range orgs {
			if env.Org != "" && !strings.EqualFold(o.Slug, env.Org) {
				continue // the pin hides other organizations
			}
			out.Organizations = append(out.Organizations, schemas.Organization{Slug: o.Slug, Name: o.Name, ID: string(o.ID)})
			fmt.Fprintf(&b, "%s  %s (id %s)\n", o.Slug, o.Name, o.ID)
		}
		if len(out.Organizations) == 0 {
			b.WriteString("No organizations found.\n")
		}
		return out, finishList(&b, out.NextCursor), nil
	})
}

func listProjectsTool() Tool {
	return define(Tool{
		Name:        "list_projects",
		Title:       "List projects",
		Description: "List an organization's projects.",
		Scopes:      []string{"org:read", "org:write", "org:admin"},
		ReadOnly:    true,
	}, func(ctx context.Context, env *Env, in *schemas.ListProjectsInput) (*schemas.ProjectsOutput, string, error) {
		org, err := env.organization(in.Organization)
		if err != nil {
			return nil, "", err
		}
		projects, resp, err := env.Client.ListProjects(ctx, org, sentry.ListOptions{Query: in.Query, Cursor: in.Cursor})
		if err != nil {
			return nil, "", err
		}
		out := &schemas.ProjectsOutput{Projects: make([]schemas.Project, 0, len(projects)), Page: page(resp)}
		var b strings.Builder
		for _, p := range projects {
			out.Projects = append(out.Projects, schemas.Project{Slug: p.Slug, Name: p.Name, ID: string(p.ID), Platform: p.Platform})
			env.projects.Store(org+"/"+p.Slug, string(p.ID))
			fmt.Fprintf(&b, "%s  %s (id %s", p.Slug, p.Name, p.ID)
			if p.Platform != "" {
				fmt.Fprintf(&b, ", %s", p.Platform)
			}
			b.WriteString(")\n")
		}
		if len(projects) == 0 {
			b.WriteString("No projects found.\n")
		}
		return out, finishList(&b, out.NextCursor), nil
	})
}

func page(r *sentry.Response) schemas.Page {
	if r == nil {
		return schemas.Page{}
	}
	return schemas.Page{NextCursor: r.Page.NextCursor}
}

// finishList ends a list's text with how to get more, when there is more.
func finishList(b *strings.Builder, next string) string {
	if next != "" {
		fmt.Fprintf(b, "More results: call again with cursor=%q.", next)
	}
	return strings.TrimRight(b.String(), "\n")
}

// projectID resolves a project slug (or id) to its numeric id.
func (env *Env) projectID(ctx context.Context, org, project string) (string, error) {
	if project == "" {
		return "", nil
	}
	if isDigits(project) {
		return project, nil
	}
	key := org + "/" + project
	if id, ok := env.projects.Load(key); ok {
		return id.(string), nil
	}
	if !sentry.ValidSlug(project) {
		return "", &sentry.InvalidArgumentError{Value: project}
	}
	projects, _, err := env.Client.ListProjects(ctx, org, sentry.ListOptions{Query: "slug:" + project})
	if sentry.StatusCode(err) == 403 {
		return "", userErrorf("looking up project %q needs the org:read scope; pass the numeric project id instead", project)
	}
	if err != nil {
		return "", err
	}
	for _, p := range projects {
		if strings.EqualFold(p.Slug, project) {
			env.projects.Store(key, string(p.ID))
			return string(p.ID), nil
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
