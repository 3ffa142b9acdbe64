package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// runStatus says who is signed in, with which scopes, until when, where
// it is stored, and whether Sentry accepts it; exit 1 if it is not valid.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	cfg, host, err := authFlags(cmdStatus, args, stderr)
	if err != nil {
		return err
	}
	var (
		source   sentry.TokenSource
		st       auth.Status
		location string
	)
	tok, err := envToken()
	if err != nil {
		return err
	}
	if tok != "" {
		source, location = sentry.StaticToken(tok), "environment (SENTRY_ACCESS_TOKEN)"
	} else {
		ts, err := tokenSource(cfg, host, logger)
		if err != nil {
			return err
		}
		defer waitForRefresh(ts)
		st, err = ts.Status()
		switch {
		case errors.Is(err, auth.ErrUnreadable):
			fmt.Fprintf(stdout, "%s: the stored credential is unreadable: %s\nSign in again with `sentry-mcp auth login`.\n", host, render.Line(err.Error(), 500))
			return exitCode(1)
		case err != nil:
			fmt.Fprintf(stdout, "%s: not signed in. Run `sentry-mcp auth login`.\n", host)
			return exitCode(1)
		}
		source, location = ts, auth.StoredAt(auth.OpenStore(storeOptions(cfg, logger)), host)
	}
	fmt.Fprintf(stdout, "Host:       %s\n", host)
	fmt.Fprintf(stdout, "Stored in:  %s\n", location)
	if cred := st.Credential; cred != nil {
		if cred.User != nil {
			fmt.Fprintf(stdout, "User:       %s <%s>\n", render.Line(cred.User.Name, 200), render.Line(cred.User.Email, 200))
		}
		fmt.Fprintf(stdout, "Scopes:     %s\n", render.Line(strings.Join(cred.EffectiveScopes(), " "), 0))
		if cred.Expiry.IsZero() {
			fmt.Fprintln(stdout, "Expires:    unknown")
		} else {
			fmt.Fprintf(stdout, "Expires:    %s (in %s)\n", cred.Expiry.UTC().Format(time.RFC3339), time.Until(cred.Expiry).Round(time.Minute))
		}
		switch {
		case cred.Kind == auth.KindToken:
			fmt.Fprintln(stdout, "Refresh:    no (a pasted token; sign in with OAuth to get automatic refresh)")
		case cred.RefreshToken == "" || cred.ClientSecret == "":
			fmt.Fprintln(stdout, "Refresh:    no (no refresh token or client secret)")
		case st.NeedsSignIn:
			fmt.Fprintln(stdout, "Refresh:    refused by Sentry: sign in again")
		default:
			fmt.Fprintln(stdout, "Refresh:    yes, automatically")
		}
		if w := st.Warning(); w != "" {
			fmt.Fprintf(stdout, "Warning:    %s\n", render.Line(w, 500))
		}
	}
	c, err := sentry.NewClient(sentry.Config{BaseURL: host, Token: source, UserAgent: "sentry-mcp/" + version})
	if err != nil {
		return err
	}
	idx, _, err := c.Whoami(ctx)
	switch {
	case err != nil:
		fmt.Fprintf(stdout, "Status:     invalid: %s\n", render.Line(err.Error(), 500))
		return exitCode(1)
	case idx.User == nil:
		fmt.Fprintln(stdout, "Status:     invalid: Sentry does not know this token")
		return exitCode(1)
	}
	if st.Credential == nil {
		fmt.Fprintf(stdout, "User:       %s <%s>\n", render.Line(idx.User.Name, 200), render.Line(idx.User.Email, 200))
		if idx.Auth != nil {
			fmt.Fprintf(stdout, "Scopes:     %s\n", render.Line(strings.Join(idx.Auth.Scopes, " "), 0))
		}
	}
	fmt.Fprintln(stdout, "Status:     valid")
	return nil
}

// waitForRefresh lets a refresh that a short-lived command started finish
// and be saved before the process exits (Sentry has rotated the tokens).
func waitForRefresh(ts *auth.RefreshingTokenSource) {
	ctx, cancel := context.WithTimeout(context.Background(), auth.DefaultAttemptTimeout+5*time.Second)
	defer cancel()
	_ = ts.Wait(ctx)
}
