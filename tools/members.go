package tools

import (
	"context"
	"fmt"

	"github.com/sentry-mcp/sentry-mcp/schemas"
	"github.com/sentry-mcp/sentry-mcp/sentry"
)

func listMembersTool() Tool {
	return define(Tool{
		Name:        "list_members",
		Title:       "List members",
		Description: "List an organization's members (user:ID assigns to one).",
		Toolset:     ToolsetOrgs,
		Scopes:      []string{"member:read"},
		ReadOnly:    true,
	}, func(ctx context.Context, d *Deps, p *Principal, in *schemas.ListMembersInput) (*schemas.MembersOutput, string, error) {
		org, err := p.organization(in.Organization)
		if err != nil {
			return nil, "", err
		}
		members, resp, err := d.Client.ListMembers(ctx, org, sentry.ListOptions{Query: in.Query, Cursor: in.Cursor})
		if err != nil {
			return nil, "", subject(err, "list_organizations", "organization %q", org)
		}
		out := &schemas.MembersOutput{Members: make([]schemas.Member, 0, len(members)), Page: page(resp)}
		b := listBuilder()
		if len(members) > 0 {
			// Sentry's member id is another number; only the user id assigns.
			b.WriteString("Assign with user:ID (the user id, not the member id).\n")
		}
		for _, m := range members {
			mb := schemas.Member{Name: m.Name, Email: m.Email, Role: m.OrgRole}
			if mb.Role == "" {
				mb.Role = m.Role
			}
			if m.User != nil && m.User.ID != "" {
				mb.UserID = string(m.User.ID)
				if m.User.Name != "" {
					mb.Name = m.User.Name
				}
				if m.User.Email != "" {
					mb.Email = m.User.Email
				}
			} else {
				mb.Pending = true
			}
			if mb.Name == mb.Email {
				mb.Name = "" // Sentry names invites and nameless users by their email
			}
			out.Members = append(out.Members, mb)
			who := nameEmailLine(mb.Name, mb.Email)
			if mb.Role != "" {
				who += ", " + line(mb.Role, capSlug)
			}
			switch {
			case !mb.Pending:
				fmt.Fprintf(b, "user:%s  %s\n", line(mb.UserID, capSlug), who)
			case m.Expired:
				fmt.Fprintf(b, "(invited)  %s, invite expired\n", who)
			default:
				fmt.Fprintf(b, "(invited)  %s, invite pending, not assignable yet\n", who)
			}
		}
		if len(members) == 0 {
			b.WriteString("No members found.\n")
		}
		text := finishList(b, &out.Page)
		var cut bool
		out.Members, cut = fitList(out.Members, capName, func(m schemas.Member, max int, cut *bool) schemas.Member {
			return schemas.Member{UserID: clip(m.UserID, capSlug, cut), Name: clip(m.Name, min(max, capName), cut), Email: clip(m.Email, min(max, capName), cut), Role: clip(m.Role, capSlug, cut), Pending: m.Pending}
		}, func(items []schemas.Member) int { c := *out; c.Members = items; return jsonSize(&c) })
		out.Truncated = out.Truncated || cut
		return out, text, nil
	})
}
