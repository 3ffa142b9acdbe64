package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

var errUsage = errors.New("usage")

// config is what every command shares: flag first, then environment.
type config struct {
	url             string
	scopes          string
	org             string
	readOnly        bool
	demo            bool
	json            bool // call only
	insecureStorage bool
	refreshMargin   time.Duration
	timeout         time.Duration
}

func newFlagSet(name string, cfg *config, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { fmt.Fprint(out, usage) }
	fs.StringVar(&cfg.url, "url", "", "Sentry base URL (SENTRY_URL)")
	fs.StringVar(&cfg.scopes, "scopes", "", "upper bound on scopes (SENTRY_MCP_SCOPES)")
	fs.StringVar(&cfg.org, "organization", "", "pin to one organization (SENTRY_ORG)")
	fs.BoolVar(&cfg.readOnly, "read-only", false, "disable tools that change Sentry (SENTRY_MCP_READ_ONLY)")
	fs.BoolVar(&cfg.demo, "demo", false, "use the built-in sample Sentry")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "per-request timeout for Sentry (SENTRY_MCP_TIMEOUT)")
	addStorageFlags(fs, cfg)
	return fs
}

// addStorageFlags are the flags of every command that reads credentials.
func addStorageFlags(fs *flag.FlagSet, cfg *config) {
	fs.BoolVar(&cfg.insecureStorage, "insecure-storage", false, "store credentials in a plain file instead of the OS keyring")
	fs.DurationVar(&cfg.refreshMargin, "refresh-margin", auth.DefaultRefreshMargin, "refresh the token this long before it expires (SENTRY_MCP_REFRESH_MARGIN)")
}

// parseArgs parses flags anywhere among the arguments and fills unset
// settings from the environment. It returns the positional arguments.
func parseArgs(fs *flag.FlagSet, cfg *config, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	env := func(flagName, envName string, dst *string) {
		if !set[flagName] {
			*dst = os.Getenv(envName)
		}
	}
	env("url", "SENTRY_URL", &cfg.url)
	env("scopes", "SENTRY_MCP_SCOPES", &cfg.scopes)
	env("organization", "SENTRY_ORG", &cfg.org)
	if !set["read-only"] {
		if v := os.Getenv("SENTRY_MCP_READ_ONLY"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("SENTRY_MCP_READ_ONLY=%q: want 1, true, 0 or false", v)
			}
			cfg.readOnly = b
		}
	}
	if !set["refresh-margin"] {
		if v := os.Getenv("SENTRY_MCP_REFRESH_MARGIN"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("SENTRY_MCP_REFRESH_MARGIN=%q: want a duration like 24h", v)
			}
			cfg.refreshMargin = d
		}
	}
	if !set["timeout"] {
		if v := os.Getenv("SENTRY_MCP_TIMEOUT"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("SENTRY_MCP_TIMEOUT=%q: want a duration like 30s", v)
			}
			cfg.timeout = d
		}
	}
	if !set["insecure-storage"] && os.Getenv("SENTRY_MCP_INSECURE_STORAGE") != "" {
		b, err := strconv.ParseBool(os.Getenv("SENTRY_MCP_INSECURE_STORAGE"))
		if err != nil {
			return nil, fmt.Errorf("SENTRY_MCP_INSECURE_STORAGE: want 1, true, 0 or false")
		}
		cfg.insecureStorage = b
	}
	if cfg.org != "" && !sentry.ValidSlug(cfg.org) {
		return nil, fmt.Errorf("invalid organization %q: want a slug like acme", cfg.org)
	}
	return pos, nil
}

// demoScopes is what the demo token holds: a typical member's grant.
var demoScopes = []string{"org:read", "project:read", "project:releases", "team:read", "member:read", "event:write"}

// setup wires config -> sentry client -> grant -> tool inventory. The
// returned cleanup stops the demo backend, if any.
func setup(ctx context.Context, cfg *config, logger *slog.Logger) (*tools.Inventory, func(), error) {
	cleanup := func() {}
	var (
		base        = cfg.url
		source      sentry.TokenSource
		tokenScopes []string // from the stored grant, when there is one
	)
	switch {
	case cfg.demo:
		fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
		cleanup = fake.Close
		token := randomToken()
		fake.AddToken(token, demoScopes...)
		base, source = fake.URL, sentry.StaticToken(token)
	case os.Getenv("SENTRY_ACCESS_TOKEN") != "":
		source = sentry.StaticToken(os.Getenv("SENTRY_ACCESS_TOKEN"))
	default:
		host, err := normalizedHost(base)
		if err != nil {
			return nil, cleanup, err
		}
		ts := tokenSource(cfg, host, logger)
		cred, err := ts.Credential()
		if errors.Is(err, auth.ErrNotSignedIn) {
			return nil, cleanup, fmt.Errorf("not signed in to %s: run `sentry-mcp auth login` (or set SENTRY_ACCESS_TOKEN to a Sentry auth token with org:read, project:read, event:read; add event:write to resolve issues). "+
				"To try sentry-mcp without an account, run: sentry-mcp demo", host)
		} else if err != nil {
			return nil, cleanup, err
		}
		source, tokenScopes = ts, cred.Scopes
	}
	client, err := sentry.NewClient(sentry.Config{BaseURL: base, Token: source, UserAgent: "sentry-mcp/" + version, Timeout: cfg.timeout, Logger: logger})
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	var bound []string
	if cfg.scopes != "" {
		if bound, err = auth.ParseScopes(cfg.scopes); err != nil {
			cleanup()
			return nil, func() {}, fmt.Errorf("--scopes / SENTRY_MCP_SCOPES: %w", err)
		}
		if bound == nil {
			bound = []string{}
		}
	}
	if tokenScopes == nil {
		tokenScopes = learnScopes(ctx, client, logger)
	}
	env := &tools.Env{
		Client:      client,
		Grant:       auth.NewGrant(tokenScopes, bound, cfg.readOnly),
		TokenScopes: tokenScopes,
		Org:         cfg.org,
		Logger:      logger,
	}
	inv, err := tools.NewInventory(env)
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	return inv, cleanup, nil
}

// learnScopes asks Sentry once which scopes the token holds; nil when that
// cannot be learned (then Sentry's 403s decide).
func learnScopes(ctx context.Context, c *sentry.Client, logger *slog.Logger) []string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	idx, _, err := c.Whoami(ctx)
	switch {
	case sentry.StatusCode(err) == 401:
		var se *sentry.Error
		errors.As(err, &se)
		logger.Warn("Sentry rejected the access token; tool calls will fail until SENTRY_ACCESS_TOKEN holds a valid token", "host", c.BaseURL().Host, "detail", se.Detail)
		return nil
	case err != nil:
		logger.Warn("could not learn the token's scopes; listing every tool and relying on Sentry's permission checks", "error", err)
		return nil
	case idx.Auth == nil:
		logger.Warn("Sentry did not report the token's scopes; listing every tool and relying on Sentry's permission checks")
		return nil
	}
	return append([]string{}, idx.Auth.Scopes...)
}

// normalizedHost is the credential key for a --url value: the parsed base URL.
func normalizedHost(raw string) (string, error) {
	if raw == "" {
		raw = sentry.DefaultBaseURL
	}
	u, err := sentry.ParseBaseURL(raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

func storeOptions(cfg *config, logger *slog.Logger) auth.StoreOptions {
	return auth.StoreOptions{Insecure: cfg.insecureStorage, Logger: logger}
}

// tokenSource is the refreshing source of the credential stored for host.
func tokenSource(cfg *config, host string, logger *slog.Logger) *auth.RefreshingTokenSource {
	so := storeOptions(cfg, logger)
	store := auth.OpenStore(so)
	return auth.NewRefreshingTokenSource(auth.TokenSourceOptions{
		Host:    host,
		Store:   store,
		LockDir: auth.LockDir(store, so),
		Margin:  cfg.refreshMargin,
		Logger:  logger,
	})
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func scopeSummary(t tools.Tool) string {
	if len(t.Scopes) == 0 {
		return "-"
	}
	return strings.Join(auth.Minimal(t.Scopes), " | ")
}
