package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sentry-mcp/sentry-mcp/hosted/store"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// runGrants is `sentry-mcp grants list` and `grants revoke ID`: the
// hosted server's sign-ins, read from the same database with the same key.
func runGrants(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	var o options
	pos, err := cmdGrants.parse(&o, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] == "list" && len(pos) != 1) || (pos[0] == "revoke" && len(pos) != 2) || (pos[0] != "list" && pos[0] != "revoke") {
		fmt.Fprint(stdout, cmdGrants.help())
		return errUsage
	}
	keys, err := encryptionKeys(false)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, o.database, keys)
	if err != nil {
		return fmt.Errorf("opening the grants database: %w", err)
	}
	defer db.Close()
	if pos[0] == "revoke" {
		id := pos[1]
		switch err := db.DeleteGrant(ctx, id); {
		case errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("no grant %q in %s; `sentry-mcp grants list` shows them", render.Line(id, 64), db.Location())
		case err != nil:
			return err
		}
		logger.Info("revoked the grant: its MCP tokens no longer work and its Sentry tokens are deleted", "grant", id)
		fmt.Fprintf(stdout, "Revoked %s.\n", id)
		return nil
	}
	grants, err := db.ListGrants(ctx)
	if err != nil {
		return err
	}
	if o.json {
		type row struct {
			ID        string    `json:"id"`
			Client    string    `json:"client"`
			ClientID  string    `json:"client_id"`
			UserID    string    `json:"sentry_user_id,omitempty"`
			User      string    `json:"sentry_user,omitempty"`
			Scopes    []string  `json:"scopes"`
			Consented []string  `json:"consented"`
			Org       string    `json:"organization,omitempty"`
			Expires   time.Time `json:"sentry_token_expires,omitzero"`
			NeedsSign bool      `json:"needs_sign_in,omitempty"`
			Created   time.Time `json:"created"`
		}
		rows := []row{}
		for _, g := range grants {
			r := row{ID: g.ID, Client: g.ClientName, ClientID: g.ClientID, Consented: g.Consented, Org: g.Org, Created: g.Created}
			if c := g.Credential; c != nil {
				r.Scopes, r.Expires, r.NeedsSign = c.Scopes, c.Expiry, !c.RefreshRefused.IsZero()
				if c.User != nil {
					r.UserID, r.User = c.User.ID, userName(c.User.Name, c.User.Email)
				}
			}
			rows = append(rows, r)
		}
		b, _ := json.MarshalIndent(map[string]any{"grants": rows}, "", "  ")
		fmt.Fprintln(stdout, terminalJSON(b))
		return nil
	}
	if len(grants) == 0 {
		fmt.Fprintf(stdout, "No one is connected (%s).\n", db.Location())
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GRANT\tSENTRY USER\tCLIENT\tSCOPES\tORGANIZATION\tSENTRY TOKEN EXPIRES\tCREATED")
	for _, g := range grants {
		user, scopes, expires := "?", "", ""
		if c := g.Credential; c != nil {
			if c.User != nil {
				user = userName(c.User.Name, c.User.Email)
			}
			scopes = strings.Join(c.Scopes, " ")
			if !c.Expiry.IsZero() {
				expires = c.Expiry.UTC().Format(time.RFC3339)
			}
			if !c.RefreshRefused.IsZero() {
				expires += " (needs sign-in)"
			}
		}
		org := g.Org
		if org == "" {
			org = "any"
		}
		client := g.ClientName
		if client == "" {
			client = g.ClientID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.ID, render.Line(user, 60), render.Line(client, 40), scopes, org, expires, g.Created.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func userName(name, email string) string {
	switch {
	case name != "" && email != "" && name != email:
		return name + " <" + email + ">"
	case email != "":
		return email
	}
	return name
}
