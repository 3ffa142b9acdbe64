package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/hosted/authserver"
	"github.com/sentry-mcp/sentry-mcp/hosted/httpserver"
	"github.com/sentry-mcp/sentry-mcp/hosted/ratelimit"
	"github.com/sentry-mcp/sentry-mcp/hosted/secrets"
	"github.com/sentry-mcp/sentry-mcp/hosted/store"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

// shutdownGrace bounds how long SIGTERM waits for in-flight requests.
const shutdownGrace = 20 * time.Second

// runServeHTTP is hosted mode: one Streamable HTTP endpoint for many
// users, each signed in to Sentry through this server's OAuth
// authorization server, their grants kept encrypted in the database.
func runServeHTTP(ctx context.Context, o *options, logger *slog.Logger) error {
	if o.org != "" {
		return errors.New("--organization does not apply to --http: clients connect to /mcp/{organization} to pin one")
	}
	trusted, err := ratelimit.ParseTrustedProxies(o.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies (SENTRY_MCP_TRUSTED_PROXIES): %w", err)
	}
	keys, err := encryptionKeys(o.demo)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.http)
	if err != nil {
		return fmt.Errorf("--http %s: %w", o.http, err)
	}
	defer ln.Close()
	loopback := isLoopback(ln.Addr())
	public, err := publicURL(o.publicURL, o.http, ln.Addr(), loopback)
	if err != nil {
		return err
	}

	base := o.url
	upstream := auth.OAuthClient{ClientID: os.Getenv("SENTRY_CLIENT_ID"), ClientSecret: os.Getenv("SENTRY_CLIENT_SECRET")}
	dsn := o.database
	if o.demo {
		fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
		defer fake.Close()
		base = fake.URL
		upstream.ClientID, upstream.ClientSecret = "demo-"+randomToken()[:16], randomToken()
		fake.AddOAuthApp(sentrytest.OAuthApp{ClientID: upstream.ClientID, ClientSecret: upstream.ClientSecret,
			RedirectURIs: []string{public.String() + "/oauth/callback"}})
		if dsn == "" {
			dir, err := os.MkdirTemp("", "sentry-mcp-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			dsn = filepath.Join(dir, "demo.db")
		}
	} else if upstream.ClientID == "" || upstream.ClientSecret == "" {
		return fmt.Errorf("hosted mode signs users in through your Sentry OAuth application: set SENTRY_CLIENT_ID and SENTRY_CLIENT_SECRET (create it in Sentry under Settings > Developer Settings > Custom Integrations or Account > API > Applications, confidential, redirect URI %s/oauth/callback); to try it without one: sentry-mcp serve --http %s --demo", public, o.http)
	}
	host, err := normalizedHost(base)
	if err != nil {
		return err
	}
	upstream.BaseURL = host

	db, err := store.Open(ctx, dsn, keys)
	if err != nil {
		return fmt.Errorf("opening the grants database: %w", err)
	}
	defer db.Close()

	var bound []string
	if o.scopes != "" {
		bound, _ = auth.ParseScopes(o.scopes) // checked when parsed
		if bound == nil {
			bound = []string{}
		}
	}
	// The Sentry client's requests are timed by the HTTP server's metrics,
	// which exist once the server does.
	metrics := &lazyUpstream{}
	hc := &http.Client{Transport: metrics}
	client, err := sentry.NewClient(sentry.Config{BaseURL: host, UserAgent: "sentry-mcp/" + version, Timeout: o.timeout, Logger: logger, HTTPClient: hc})
	if err != nil {
		return err
	}
	inv, err := tools.New(tools.Config{Client: client, Logger: logger, SignIn: hostedSignIn,
		Selection: tools.Selection{Toolsets: o.toolsets, Tools: o.tools, Exclude: o.excludeTools}})
	if err != nil {
		return fmt.Errorf("--toolsets / --tools / --exclude-tools (SENTRY_MCP_TOOLSETS, SENTRY_MCP_TOOLS, SENTRY_MCP_EXCLUDE_TOOLS): %w", err)
	}
	var refreshed atomic.Pointer[httpserver.Metrics]
	upstream.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: metrics}
	as, err := authserver.New(authserver.Config{
		PublicURL: public, Store: db, Keys: keys, Sentry: upstream, API: client,
		Scopes: bound, ReadOnly: o.readOnly, RegistrationsPerMinute: o.registrationLimit,
		TrustedProxies: trusted, RefreshMargin: o.refreshMargin, Logger: logger,
		OnRefresh: func(outcome string) {
			if m := refreshed.Load(); m != nil {
				m.Refresh(outcome)
			}
		},
	})
	if err != nil {
		return err
	}
	hs, err := httpserver.New(httpserver.Config{
		PublicURL: public, Loopback: loopback, Inventory: inv, Version: version,
		Auth: as, OAuth: as.Handler(), DefaultScopes: as.Defaults(), ScopesSupported: as.ScopesSupported(),
		Ready: db.Ready, Logger: logger, TrustedProxies: trusted,
	})
	if err != nil {
		return err
	}
	refreshed.Store(hs.Metrics())
	db.OnLockWait(hs.Metrics().LockWait)
	metrics.set(hs.Metrics().Upstream(sentryTransport()))

	go sweep(ctx, db, logger)
	logger.Info("serving MCP over HTTP", "url", public.String()+"/mcp", "sentry", host, "database", db.Location(),
		"scopes", strings.Join(as.ScopesSupported(), ","), "read_only", o.readOnly, "version", version)
	if o.demo {
		logger.Info("demo: the built-in sample Sentry signs everyone in as its demo user; connect a client, e.g. claude mcp add --transport http sentry-demo " + public.String() + "/mcp")
	}
	err = hs.Serve(ctx, ln, shutdownGrace)
	wctx, cancel := context.WithTimeout(context.Background(), auth.DefaultAttemptTimeout+5*time.Second)
	defer cancel()
	_ = as.Wait(wctx) // a refresh Sentry answered must be saved
	return err
}

// hostedSignIn says how a hosted user gets a grant with more scopes: a
// new sign-in through their MCP client that asks for them.
func hostedSignIn(scopes []string) string {
	return "Sign in to this server again from your MCP client and approve " + strings.Join(scopes, " ") +
		" (the client asks for it in the authorization request's scope parameter)."
}

// encryptionKeys reads SENTRY_MCP_ENCRYPTION_KEY; the demo makes one up.
func encryptionKeys(demo bool) (*secrets.Keys, error) {
	v := strings.TrimSpace(os.Getenv("SENTRY_MCP_ENCRYPTION_KEY"))
	if v == "" {
		if demo {
			return secrets.Ephemeral(), nil
		}
		return nil, errors.New("hosted mode keeps each user's Sentry tokens encrypted: set SENTRY_MCP_ENCRYPTION_KEY to the base64 of 32 random bytes (e.g. `openssl rand -base64 32`), or kid:base64,... newest first to rotate keys")
	}
	k, err := secrets.ParseKeys(v)
	if err != nil {
		return nil, fmt.Errorf("SENTRY_MCP_ENCRYPTION_KEY: %w", err)
	}
	return k, nil
}

func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// publicURL is --public-url, checked, or http://ADDR on loopback: the host
// as written in --http (localhost stays localhost, which is what clients
// are then told to use), with the port the listener got when ADDR's is 0.
func publicURL(raw, listen string, addr net.Addr, loopback bool) (*url.URL, error) {
	if raw == "" {
		if !loopback {
			return nil, errors.New("--public-url (SENTRY_MCP_PUBLIC_URL) is required when --http is not a loopback address: the https origin your users reach, e.g. https://mcp.example.com")
		}
		host, _, err := net.SplitHostPort(listen)
		if err != nil || host == "" {
			return &url.URL{Scheme: "http", Host: addr.String()}, nil
		}
		_, port, _ := net.SplitHostPort(addr.String())
		return &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}, nil
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Path != "" {
		return nil, fmt.Errorf("--public-url %q: want an origin like https://mcp.example.com (no path, query or credentials)", sentry.RedactUserinfo(raw))
	}
	if u.Scheme == "http" && !sentry.IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("--public-url %q: tokens would travel in clear text; use https (plain http only for a loopback host)", raw)
	}
	return u, nil
}

// sentryTransport is the transport of requests to Sentry.
func sentryTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	return t
}

// lazyUpstream is the Sentry transport, set once the metrics exist.
type lazyUpstream struct {
	rt atomic.Pointer[http.RoundTripper]
}

func (l *lazyUpstream) set(rt http.RoundTripper) { l.rt.Store(&rt) }

func (l *lazyUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	if p := l.rt.Load(); p != nil {
		return (*p).RoundTrip(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// sweep deletes expired codes, tokens and pending sign-ins now and then.
func sweep(ctx context.Context, db *store.DB, logger *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := db.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("deleting expired tokens failed", "error", err)
		} else if n > 0 {
			logger.Debug("deleted expired tokens", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
