package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

func authUsage() string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	for _, c := range []command{cmdLogin, cmdStatus, cmdToken, cmdLogout} {
		fmt.Fprintf(&b, "  sentry-mcp %-12s %s\n", c.name, c.summary)
	}
	b.WriteString("\nLogin flags (each also read from the environment variable shown; the flag wins):\n")
	b.WriteString(flagTable(cmdLogin.settings))
	b.WriteString(`
The OAuth application (Sentry: Settings > Account > API > Applications, type Confidential) must
allow the redirect URI http://127.0.0.1/callback and every scope you request.
`)
	return b.String()
}

func runAuth(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, logger *slog.Logger) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, authUsage())
		return errUsage
	}
	switch args[0] {
	case "login":
		return runLogin(ctx, args[1:], stdin, stdout, stderr, logger)
	case "status":
		return runStatus(ctx, args[1:], stdout, stderr, logger)
	case "token":
		return runToken(ctx, args[1:], stdout, logger)
	case "logout":
		return runLogout(args[1:], stdout, logger)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, authUsage())
		return nil
	}
	fmt.Fprintf(stderr, "sentry-mcp: unknown auth command %q\n\n%s", args[0], authUsage())
	return errUsage
}

// authFlags parses an auth command's flags; it takes no positional arguments.
func authFlags(c command, args []string, stderr io.Writer) (*options, string, error) {
	var o options
	pos, err := c.parse(&o, args, stderr)
	if err != nil {
		return nil, "", err
	}
	if len(pos) > 0 {
		return nil, "", fmt.Errorf("unexpected arguments %q", pos)
	}
	host, err := normalizedHost(o.url)
	return &o, host, err
}

func runLogin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, logger *slog.Logger) error {
	cfg, host, err := authFlags(cmdLogin, args, stderr)
	if err != nil {
		return err
	}
	clientID, scopes, device, withToken := cfg.clientID, cfg.loginScopes, cfg.device, cfg.withToken
	store := auth.OpenStore(storeOptions(cfg, logger))
	if withToken {
		return loginWithToken(ctx, host, stdin, stdout, store)
	}
	requested, err := auth.ParseScopes(scopes)
	if err != nil {
		return fmt.Errorf("--scopes: %w", err)
	}
	if clientID == "" {
		return errors.New("no OAuth client id: pass --client-id or set SENTRY_CLIENT_ID (create one in Sentry: Settings > Account > API > Applications, type Confidential), or use `auth login --with-token`")
	}
	secret := os.Getenv("SENTRY_CLIENT_SECRET")
	if cfg.secretStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading the client secret from stdin: %w", err)
		}
		secret = strings.TrimSpace(line)
	}
	if secret == "" && !device {
		return errors.New("no OAuth client secret: Sentry requires it to exchange the code; set SENTRY_CLIENT_SECRET or pass --client-secret-stdin")
	}
	client := auth.OAuthClient{BaseURL: host, ClientID: clientID, ClientSecret: secret, Scopes: requested}
	var cred *auth.Credential
	if device {
		cred, err = client.LoginDevice(ctx, stderr)
	} else {
		cred, err = client.LoginBrowser(ctx, auth.LoginOptions{Port: cfg.port, Open: openBrowser, Notify: stderr, Timeout: cfg.waitLogin})
	}
	if err != nil {
		return err
	}
	if err := store.Save(cred); err != nil {
		return fmt.Errorf("signed in, but the credential could not be stored: %w", err)
	}
	who := "you"
	if cred.User != nil {
		who = cred.User.Name
	}
	fmt.Fprintf(stdout, "Signed in to %s as %s.\nScopes: %s\nStored in: %s\n", host, render.Line(who, 200), render.Line(strings.Join(cred.Scopes, " "), 0), store.Location())
	if cred.ClientSecret == "" {
		fmt.Fprintln(stdout, "No client secret was given, so this sign-in cannot be refreshed: run login again when it expires.")
	}
	return nil
}

func loginWithToken(ctx context.Context, host string, stdin io.Reader, stdout io.Writer, store auth.Store) error {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("reading the token from stdin: %w", err)
	}
	token := strings.TrimSpace(line)
	if token == "" || strings.ContainsAny(token, " \t") {
		return errors.New("no token on stdin: pipe a Sentry auth token in, e.g. `sentry-mcp auth login --with-token < token.txt`")
	}
	c, err := sentry.NewClient(sentry.Config{BaseURL: host, Token: sentry.StaticToken(token), UserAgent: "sentry-mcp/" + version})
	if err != nil {
		return err
	}
	idx, _, err := c.Whoami(ctx)
	if err != nil {
		return fmt.Errorf("checking the token with %s: %w", host, err)
	}
	if idx.User == nil || idx.Auth == nil {
		return fmt.Errorf("%s did not accept the token as a user token", host)
	}
	cred := &auth.Credential{Host: host, AccessToken: token, Kind: auth.KindToken, Scopes: idx.Auth.Scopes,
		User: &auth.CredentialUser{ID: string(idx.User.ID), Name: idx.User.Name, Email: idx.User.Email}}
	if err := store.Save(cred); err != nil {
		return fmt.Errorf("the credential could not be stored: %w", err)
	}
	fmt.Fprintf(stdout, "Signed in to %s as %s with a token (it cannot be refreshed).\nScopes: %s\nStored in: %s\n", host, render.Line(idx.User.Name, 200), render.Line(strings.Join(cred.Scopes, " "), 0), store.Location())
	return nil
}

// openBrowser runs $BROWSER with the URL, else the platform's opener.
func openBrowser(url string) error {
	if b := os.Getenv("BROWSER"); b != "" {
		cmd := exec.Command(b, url)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		return cmd.Start()
	}
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	return cmd.Start()
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	cfg, host, err := authFlags(cmdStatus, args, stderr)
	if err != nil {
		return err
	}
	var (
		source   sentry.TokenSource
		cred     *auth.Credential
		location string
	)
	if tok := strings.TrimSpace(os.Getenv("SENTRY_ACCESS_TOKEN")); tok != "" {
		source, location = sentry.StaticToken(tok), "environment (SENTRY_ACCESS_TOKEN)"
	} else {
		ts := tokenSource(cfg, host, logger)
		if cred, err = ts.Credential(); err != nil {
			fmt.Fprintf(stdout, "%s: not signed in. Run `sentry-mcp auth login`.\n", host)
			return exitCode(1)
		}
		source, location = ts, auth.OpenStore(storeOptions(cfg, logger)).Location()
	}
	fmt.Fprintf(stdout, "Host:       %s\n", host)
	fmt.Fprintf(stdout, "Stored in:  %s\n", location)
	if cred != nil {
		if cred.User != nil {
			fmt.Fprintf(stdout, "User:       %s <%s>\n", render.Line(cred.User.Name, 200), render.Line(cred.User.Email, 200))
		}
		fmt.Fprintf(stdout, "Scopes:     %s\n", render.Line(strings.Join(cred.Scopes, " "), 0))
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
		default:
			fmt.Fprintln(stdout, "Refresh:    yes, automatically")
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
	if cred == nil {
		fmt.Fprintf(stdout, "User:       %s <%s>\n", render.Line(idx.User.Name, 200), render.Line(idx.User.Email, 200))
		if idx.Auth != nil {
			fmt.Fprintf(stdout, "Scopes:     %s\n", render.Line(strings.Join(idx.Auth.Scopes, " "), 0))
		}
	}
	fmt.Fprintln(stdout, "Status:     valid")
	return nil
}

func runToken(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	cfg, host, err := authFlags(cmdToken, args, os.Stderr)
	if err != nil {
		return err
	}
	if tok := strings.TrimSpace(os.Getenv("SENTRY_ACCESS_TOKEN")); tok != "" {
		fmt.Fprintln(stdout, tok)
		return nil
	}
	tok, err := tokenSource(cfg, host, logger).Token(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func runLogout(args []string, stdout io.Writer, logger *slog.Logger) error {
	cfg, host, err := authFlags(cmdLogout, args, os.Stderr)
	if err != nil {
		return err
	}
	store := auth.OpenStore(storeOptions(cfg, logger))
	if err := store.Delete(host); errors.Is(err, auth.ErrNotFound) {
		fmt.Fprintf(stdout, "%s: not signed in.\n", host)
		return exitCode(1)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Signed out of %s (removed from %s).\n", host, store.Location())
	return nil
}
