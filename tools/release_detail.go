package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

const (
	maxCommits = 10 // newest commits shown (and asked for)
	maxDeploys = 10
	maxAuthors = 20
)

func getReleaseTool() Tool {
	return define(Tool{
		Name:        "get_release",
		Title:       "Get release",
		Description: "Get a release with its newest commits and deploys.",
		Toolset:     ToolsetReleases,
		Scopes:      []string{"project:read", "project:releases", "org:ci"},
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.GetReleaseInput) (*schemas.ReleaseDetail, string, error) {
		org, err := p.organization(in.Organization)
		if err != nil {
			return nil, "", err
		}
		if why := sentry.VersionProblem(in.Version); why != "" {
			return nil, "", userErrorf("%q cannot be a release version: %s. list_releases shows the versions.", in.Version, why)
		}
		project, err := d.projectID(ctx, p, org, in.Project)
		if err != nil {
			return nil, "", err
		}
		// Commits and deploys are read alongside the release; a failed
		// release read cancels them.
		sub, cancel := context.WithCancel(ctx)
		defer cancel()
		var (
			wg                   sync.WaitGroup
			commits              []sentry.Commit
			deploys              []sentry.Deploy
			commitResp           *sentry.Response
			commitErr, deployErr error
		)
		wg.Add(2)
		go func() {
			defer wg.Done()
			commits, commitResp, commitErr = d.Client.ListReleaseCommits(sub, org, in.Version, sentry.ListOptions{PerPage: maxCommits})
		}()
		go func() {
			defer wg.Done()
			deploys, _, deployErr = d.Client.ListReleaseDeploys(sub, org, in.Version, sentry.ListOptions{PerPage: maxDeploys})
		}()
		rel, _, err := d.Client.GetRelease(ctx, org, in.Version, project)
		if err != nil {
			cancel()
			wg.Wait()
			if in.Project != "" {
				return nil, "", subject(err, "list_releases", "release %q in project %q of organization %q", in.Version, in.Project, org)
			}
			return nil, "", subject(err, "list_releases", "release %q in organization %q", in.Version, org)
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		out := &schemas.ReleaseDetail{Version: rel.Version, Created: rel.DateCreated, Released: rel.DateReleased, NewIssues: int64(rel.NewGroups),
			CommitCount: int64(rel.CommitCount), DeployCount: int64(rel.DeployCount)}
		if out.Version == "" {
			out.Version = in.Version
		}
		var b render.Builder
		fmt.Fprintf(&b, "Release %s\n", line(out.Version, capName))
		released := "not released"
		if out.Released != "" {
			released = "released " + line(shortTime(out.Released), capSlug)
		}
		fmt.Fprintf(&b, "Created %s, %s; %s", line(shortTime(out.Created), capSlug), released, plural(out.NewIssues, "new issue", "new issues"))
		projects, moreProjects := render.Cap(rel.Projects, maxProjects)
		if len(projects) > 0 {
			names := make([]string, len(projects))
			for i, pj := range projects {
				out.Projects = append(out.Projects, pj.Slug)
				names[i] = line(pj.Slug, capSlug)
			}
			fmt.Fprintf(&b, "; projects %s", strings.Join(names, ", "))
			if moreProjects > 0 {
				fmt.Fprintf(&b, " %s", render.More(moreProjects, "project", "projects"))
			}
		}
		b.WriteString("\n")
		authors, moreAuthors := render.Cap(rel.Authors, maxAuthors)
		if len(authors) > 0 {
			names := make([]string, len(authors))
			for i, a := range authors {
				out.Authors = append(out.Authors, nameEmail(a.Name, a.Email))
				names[i] = nameEmailLine(a.Name, a.Email)
			}
			fmt.Fprintf(&b, "Authors: %s", strings.Join(names, ", "))
			if moreAuthors > 0 {
				fmt.Fprintf(&b, " %s", render.More(moreAuthors, "author", "authors"))
			}
			b.WriteString("\n")
		}
		out.Truncated = moreProjects > 0 || moreAuthors > 0

		if commitErr != nil {
			out.Unavailable = append(out.Unavailable, "commits: "+unreadable(commitErr))
			fmt.Fprintf(&b, "Commits could not be read (%s).\n", line(unreadable(commitErr), capDetail))
		} else {
			commits = commits[:min(len(commits), maxCommits)]
			total := max(out.CommitCount, int64(len(commits)))
			if len(commits) == 0 {
				b.WriteString("No commits.\n")
			} else {
				fmt.Fprintf(&b, "Commits (%d, newest first):\n", total)
			}
			for _, c := range commits {
				cm := schemas.Commit{ID: shortSHA(c.ID), Message: commitSubject(c.Message)}
				if c.Author != nil {
					cm.Author = c.Author.Name
					if cm.Author == "" {
						cm.Author = c.Author.Email
					}
				}
				out.Commits = append(out.Commits, cm)
				fmt.Fprintf(&b, "  %s %s", line(cm.ID, capSlug), line(cm.Message, capText))
				if cm.Author != "" {
					fmt.Fprintf(&b, " - %s", line(cm.Author, capName))
				}
				b.WriteString("\n")
			}
			switch more := total - int64(len(commits)); {
			case more > 0:
				fmt.Fprintf(&b, "  %s\n", render.More(int(more), "commit", "commits"))
			case commitResp != nil && commitResp.Page.NextCursor != "":
				b.WriteString("  … and more commits\n")
			}
		}

		if deployErr != nil {
			out.Unavailable = append(out.Unavailable, "deploys: "+unreadable(deployErr))
			fmt.Fprintf(&b, "Deploys could not be read (%s).\n", line(unreadable(deployErr), capDetail))
		} else {
			deploys = deploys[:min(len(deploys), maxDeploys)]
			if len(deploys) == 0 {
				b.WriteString("Not deployed.\n")
			} else {
				fmt.Fprintf(&b, "Deploys (%d, newest first):\n", max(out.DeployCount, int64(len(deploys))))
			}
			for _, dp := range deploys {
				dd := schemas.Deploy{Environment: dp.Environment, Date: dp.DateFinished}
				if dd.Date == "" {
					dd.Date = dp.DateStarted
				}
				out.Deploys = append(out.Deploys, dd)
				fmt.Fprintf(&b, "  %s  %s\n", line(dd.Environment, capSlug), line(shortTime(dd.Date), capSlug))
			}
			if more := out.DeployCount - int64(len(deploys)); more > 0 {
				fmt.Fprintf(&b, "  %s\n", render.More(int(more), "deploy", "deploys"))
			}
		}
		clipRelease(out)
		out.Truncated = out.Truncated || b.Truncated()
		return out, strings.TrimRight(b.String(), "\n"), nil
	})
}

// clipRelease cuts get_release's structured strings to the caps.
func clipRelease(o *schemas.ReleaseDetail) {
	cut := &o.Truncated
	o.Version = clip(o.Version, capName, cut)
	o.Created, o.Released = clip(o.Created, capSlug, cut), clip(o.Released, capSlug, cut)
	for i := range o.Projects {
		o.Projects[i] = clip(o.Projects[i], capSlug, cut)
	}
	for i := range o.Authors {
		o.Authors[i] = clip(o.Authors[i], capName, cut)
	}
	for i := range o.Commits {
		c := &o.Commits[i]
		c.ID, c.Message, c.Author = clip(c.ID, capSlug, cut), clip(c.Message, capText, cut), clip(c.Author, capName, cut)
	}
	for i := range o.Unavailable {
		o.Unavailable[i] = clip(o.Unavailable[i], capDetail, cut)
	}
	for i := range o.Deploys {
		dp := &o.Deploys[i]
		dp.Environment, dp.Date = clip(dp.Environment, capSlug, cut), clip(dp.Date, capSlug, cut)
	}
}

// unreadable says briefly why a part of a result could not be read.
func unreadable(err error) string {
	var se *sentry.Error
	if errors.As(err, &se) {
		if se.Detail != "" {
			return fmt.Sprintf("Sentry answered HTTP %d: %s", se.StatusCode, strings.TrimSuffix(se.Detail, "."))
		}
		return fmt.Sprintf("Sentry answered HTTP %d", se.StatusCode)
	}
	return err.Error()
}

// nameEmail is "Name <email>", or whichever of the two there is.
func nameEmail(name, email string) string {
	switch {
	case name == "" || name == email:
		return email
	case email == "":
		return name
	}
	return name + " <" + email + ">"
}

// nameEmailLine is nameEmail for text, each part rendered as untrusted.
func nameEmailLine(name, email string) string {
	switch {
	case name == "" || name == email:
		return line(email, capName)
	case email == "":
		return line(name, capName)
	}
	return line(name, capName) + " <" + line(email, capName) + ">"
}

// commitSubject is a commit message's subject line.
func commitSubject(s string) string {
	s, _, _ = strings.Cut(strings.TrimLeft(s, "\r\n"), "\n")
	return strings.TrimRight(s, "\r")
}

// shortSHA is a commit id as git abbreviates it (7); other ids stay.
func shortSHA(id string) string {
	if len(id) > 7 && hexDigits(id) {
		return id[:7]
	}
	return id
}

func hexDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
