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
	if withToken {
		return loginWithToken(ctx, host, stdin, stdout, storeOptions(cfg, logger))
	}
	requested, err := auth.ParseLoginScopes(scopes)
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
		cred, err = client.LoginDeviceWith(ctx, auth.LoginOptions{Notify: stderr, Timeout: cfg.waitLogin})
	} else {
		cred, err = client.LoginBrowser(ctx, auth.LoginOptions{Port: cfg.port, Open: openBrowser, Notify: stderr, Timeout: cfg.waitLogin})
	}
	if err != nil {
		return err
	}
	where, err := auth.SaveLogin(storeOptions(cfg, logger), cred)
	if err != nil {
		return fmt.Errorf("signed in, but the credential could not be stored: %w", err)
	}
	who := "you"
	if cred.User != nil {
		who = cred.User.Name
	}
	fmt.Fprintf(stdout, "Signed in to %s as %s.\nScopes: %s\nStored in: %s\n", host, render.Line(who, 200), render.Line(strings.Join(cred.EffectiveScopes(), " "), 0), where)
	if cred.ClientSecret == "" {
		fmt.Fprintln(stdout, "No client secret was given, so this sign-in cannot be refreshed: run login again when it expires.")
	}
	return nil
}

func loginWithToken(ctx context.Context, host string, stdin io.Reader, stdout io.Writer, so auth.StoreOptions) error {
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
	where, err := auth.SaveLogin(so, cred)
	if err != nil {
		return fmt.Errorf("the credential could not be stored: %w", err)
	}
	fmt.Fprintf(stdout, "Signed in to %s as %s with a token (it cannot be refreshed).\nScopes: %s\nStored in: %s\n", host, render.Line(idx.User.Name, 200), render.Line(strings.Join(cred.Scopes, " "), 0), where)
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
