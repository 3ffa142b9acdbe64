package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

// app is what serve, tools, call and demo share: one Sentry client, the
// tool inventory, and the caller's identity.
type app struct {
	inv     *tools.Inventory
	id      *identity
	cleanup func()
}

// demoScopes is what the demo token holds: a typical member's grant.
var demoScopes = []string{"org:read", "project:read", "project:releases", "team:read", "member:read", "event:write"}

// newApp wires options -> sentry client -> identity -> tool inventory.
// A missing or rejected sign-in is not an error: the identity carries the
// problem, and only whoami is enabled.
func newApp(ctx context.Context, o *options, logger *slog.Logger) (*app, error) {
	a := &app{cleanup: func() {}}
	var bound []string
	if o.scopes != "" {
		bound, _ = auth.ParseScopes(o.scopes) // checked when parsed
		if bound == nil {
			bound = []string{}
		}
	}
	id := &identity{bound: bound, readOnly: o.readOnly, org: o.org, logger: logger}
	base := o.url
	switch {
	case o.demo:
		fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
		a.cleanup = fake.Close
		token := randomToken()
		fake.AddToken(token, demoScopes...)
		base = fake.URL
		id.static = sentry.StaticToken(token)
		id.key = "demo"
	default:
		tok, err := envToken()
		if err != nil {
			return nil, err
		}
		if tok != "" {
			id.static = sentry.StaticToken(tok)
			id.key = "env"
		}
	}
	host, err := normalizedHost(base)
	if err != nil {
		a.cleanup()
		return nil, err
	}
	id.host = host
	if id.static == nil {
		id.newSource = func() (*auth.RefreshingTokenSource, error) { return tokenSource(o, host, logger) }
		id.store = auth.OpenStore(storeOptions(o, logger))
		if id.ts, err = id.newSource(); err != nil {
			a.cleanup()
			return nil, err
		}
		id.key = host
		ts, stop := id.ts, a.cleanup
		a.cleanup = func() {
			// A refresh already sent must be saved: Sentry has rotated the tokens.
			ctx, cancel := context.WithTimeout(context.Background(), auth.DefaultAttemptTimeout+5*time.Second)
			defer cancel()
			_ = ts.Wait(ctx)
			stop()
		}
		id.watchSource(id.ts)
	}
	client, err := sentry.NewClient(sentry.Config{BaseURL: base, UserAgent: "sentry-mcp/" + version, Timeout: o.timeout, Logger: logger})
	if err != nil {
		a.cleanup()
		return nil, err
	}
	id.client = client
	a.inv, err = tools.New(tools.Config{Client: client, Logger: logger,
		Selection: tools.Selection{Toolsets: o.toolsets, Tools: o.tools, Exclude: o.excludeTools}})
	if err != nil {
		a.cleanup()
		return nil, fmt.Errorf("--toolsets / --tools / --exclude-tools (SENTRY_MCP_TOOLSETS, SENTRY_MCP_TOOLS, SENTRY_MCP_EXCLUDE_TOOLS): %w", err)
	}
	a.id = id
	id.start(ctx)
	return a, nil
}

// requireSignIn fails when there are no usable credentials: for one-shot
// commands (call, demo), where a server that only offers whoami helps no one.
func (a *app) requireSignIn() error {
	if p := a.id.current(); p.Problem != "" {
		return fmt.Errorf("%s To try sentry-mcp without an account, run: sentry-mcp demo", p.Problem)
	}
	return nil
}

// identity is the one principal of a stdio server or CLI command: a demo
// or SENTRY_ACCESS_TOKEN token (learned once), or the stored sign-in,
// which is looked at again so that a sign-in made later is picked up.
type identity struct {
	host     string
	client   *sentry.Client
	bound    []string // --scopes; nil = none
	readOnly bool
	org      string
	logger   *slog.Logger
	key      string

	static sentry.TokenSource // demo or SENTRY_ACCESS_TOKEN
	// The stored sign-in: its source (replaced when a rejected or expired
	// sign-in is followed by a new one), the store, and how to make a source.
	newSource func() (*auth.RefreshingTokenSource, error)
	store     auth.Store

	reloadMu sync.Mutex // one reload at a time, so a stale read never wins

	mu sync.Mutex
	ts *auth.RefreshingTokenSource
	// rejected is a stored access token Sentry refused, and why: it stays
	// refused until the store holds another one.
	rejected, rejectedWhy string
	cur                   *tools.Principal
	checked               time.Time
	onChange              func() // called after the principal changed (serve: tools/list_changed)
}

// recheck is how often the stored sign-in's state is looked at again
// (cheap: the source answers from memory; only a missing, rejected or
// expired sign-in reads the store).
const recheck = 2 * time.Second

// watchSource reloads when a refresh or a sign-in by another process
// replaces the credential: what may be done may change with it.
func (id *identity) watchSource(ts *auth.RefreshingTokenSource) {
	ts.OnChange(func() {
		go func() {
			id.reloadMu.Lock()
			defer id.reloadMu.Unlock()
			id.reloadLocked()
		}()
	})
}

// source is the stored sign-in's token source in use.
func (id *identity) source() *auth.RefreshingTokenSource {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.ts
}

func (id *identity) principal(grant auth.Grant, problem string) *tools.Principal {
	p := &tools.Principal{Key: id.key, Grant: grant, Org: id.org, Problem: problem}
	if id.static != nil {
		p.Token = id.static
	} else if ts := id.source(); ts != nil {
		p.Token = ts
	}
	return p
}

// start sets the first principal: for a token of unknown scopes, asks
// Sentry once which scopes it holds.
func (id *identity) start(ctx context.Context) {
	if id.static == nil {
		id.reloadMu.Lock()
		defer id.reloadMu.Unlock()
		id.reloadLocked()
		if id.cur.Problem == "" {
			// Sentry is the judge of a stored sign-in too: a rejected one
			// enables only whoami, which says what to do.
			ts := id.source()
			if _, problem := id.learnScopes(ctx, ts, "the stored sign-in"); problem != "" {
				if cred, err := ts.Credential(); err == nil {
					id.mu.Lock()
					id.rejected, id.rejectedWhy = cred.AccessToken, problem
					id.mu.Unlock()
				}
				id.set(id.principal(auth.NewGrant([]string{}, nil, id.readOnly), problem))
			}
		}
		return
	}
	scopes, problem := id.learnScopes(ctx, id.static, "the token in SENTRY_ACCESS_TOKEN")
	id.set(id.principal(auth.NewGrant(scopes, id.bound, id.readOnly), problem))
}

// learnScopes asks Sentry which scopes the token holds; nil when that
// cannot be learned (then Sentry's 403s decide), and a problem when Sentry
// rejects the token.
func (id *identity) learnScopes(ctx context.Context, ts sentry.TokenSource, what string) ([]string, string) {
	ctx, cancel := context.WithTimeout(sentry.WithTokenSource(ctx, ts), 10*time.Second)
	defer cancel()
	idx, _, err := id.client.Whoami(ctx)
	var (
		se *sentry.Error
		te *sentry.TokenError
	)
	switch {
	case sentry.StatusCode(err) == 401 && errors.As(err, &se) && id.static != nil:
		return []string{}, fmt.Sprintf("Sentry at %s rejected %s (%s). Create a new token (Sentry: Settings > Account > API > Auth Tokens) or unset it and run `sentry-mcp auth login`, then restart the server.", id.host, what, strings.TrimSuffix(se.Detail, "."))
	case sentry.StatusCode(err) == 401 && errors.As(err, &se):
		return []string{}, fmt.Sprintf("Sentry at %s rejected %s (%s). Run `sentry-mcp auth login` again; this server picks up the new sign-in without a restart.", id.host, what, strings.TrimSuffix(se.Detail, "."))
	case errors.As(err, &te):
		return []string{}, fmt.Sprintf("%s for %s cannot be used: %v. Run `sentry-mcp auth login` again; this server picks up the new sign-in without a restart.", what, id.host, te.Err)
	case err != nil && id.static == nil:
		id.logger.Warn("could not check the stored sign-in with Sentry; using the scopes it was granted", "error", err)
		return nil, ""
	case err != nil:
		id.logger.Warn("could not learn the token's scopes; listing every tool and relying on Sentry's permission checks", "error", err)
		return nil, ""
	case idx.Auth == nil:
		id.logger.Warn("Sentry did not report the token's scopes; listing every tool and relying on Sentry's permission checks")
		return nil, ""
	}
	return append([]string{}, idx.Auth.Scopes...), ""
}

// reloadLocked looks at the stored sign-in again; id.reloadMu is held.
// A sign-in that Sentry rejected, or that expired after Sentry refused to
// refresh it, stays so until the store holds another credential: then a
// new source takes over.
func (id *identity) reloadLocked() {
	ts := id.source()
	if ts == nil {
		return
	}
	p := id.evaluate(ts)
	if p.Problem != "" && id.newSource != nil {
		if c, err := id.store.Load(id.host); err == nil && p.Token != nil {
			if cur, cerr := ts.Credential(); cerr == nil && c.AccessToken != cur.AccessToken {
				if next, err := id.newSource(); err == nil {
					id.logger.Info("picked up a new Sentry sign-in", "host", id.host)
					id.mu.Lock()
					id.ts = next
					id.mu.Unlock()
					id.watchSource(next)
					p = id.evaluate(next)
				}
			}
		}
	}
	id.set(p)
}

// evaluate is the principal the source's current state gives.
func (id *identity) evaluate(ts *auth.RefreshingTokenSource) *tools.Principal {
	st, err := ts.Status()
	cred := st.Credential
	id.mu.Lock()
	rejected, why := id.rejected, id.rejectedWhy
	id.mu.Unlock()
	none := auth.NewGrant([]string{}, nil, id.readOnly)
	switch {
	case errors.Is(err, auth.ErrNotSignedIn):
		return id.principal(none, fmt.Sprintf("not signed in to %s. Run `sentry-mcp auth login` in a terminal (or set SENTRY_ACCESS_TOKEN to a Sentry auth token with org:read, project:read, event:read; add event:write to resolve issues); this server picks up the sign-in without a restart.", id.host))
	case err != nil:
		return id.principal(none, fmt.Sprintf("the stored sign-in for %s cannot be used: %v. Run `sentry-mcp auth login` again.", id.host, err))
	case rejected != "" && cred.AccessToken == rejected:
		return id.principal(none, why)
	case !st.Valid && st.NeedsSignIn:
		return id.principal(none, fmt.Sprintf("the sign-in to %s has expired and Sentry refused to refresh it. Run `sentry-mcp auth login` again; this server picks up the new sign-in without a restart.", id.host))
	}
	p := id.principal(auth.NewGrant(cred.EffectiveScopes(), id.bound, id.readOnly), "")
	p.Token = ts
	p.Warning = st.Warning()
	if cred.User != nil && cred.User.ID != "" {
		p.Key = id.host + " user " + cred.User.ID
	}
	return p
}

// set makes p the principal and reports a change of what it may do.
func (id *identity) set(p *tools.Principal) {
	id.mu.Lock()
	old := id.cur
	id.cur, id.checked = p, time.Now()
	f := id.onChange
	id.mu.Unlock()
	if old != nil && f != nil && !samePolicy(old, p) {
		id.logger.Info("the sign-in changed; the tool list follows", "host", id.host, "granted", strings.Join(p.Grant.Scopes(), ","))
		f()
	}
}

func samePolicy(a, b *tools.Principal) bool {
	return a.Problem == b.Problem && a.Warning == b.Warning && a.Grant.Known() == b.Grant.Known() &&
		strings.Join(a.Grant.Scopes(), " ") == strings.Join(b.Grant.Scopes(), " ")
}

// current returns the principal, looking at the stored sign-in again when
// the last look is older than recheck. Only one caller reloads; the others
// take the principal as it is.
func (id *identity) current() *tools.Principal {
	id.mu.Lock()
	p, stale := id.cur, id.ts != nil && time.Since(id.checked) >= recheck
	id.mu.Unlock()
	if stale && id.reloadMu.TryLock() {
		id.reloadLocked()
		id.reloadMu.Unlock()
		id.mu.Lock()
		p = id.cur
		id.mu.Unlock()
	}
	return p
}

// bind is the MCP adapter's Bind: every request carries the current principal.
func (id *identity) bind(ctx context.Context) context.Context {
	return tools.WithPrincipal(ctx, id.current())
}

// watch looks for a new sign-in every interval until ctx ends.
func (id *identity) watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			id.current()
		}
	}
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

func storeOptions(o *options, logger *slog.Logger) auth.StoreOptions {
	return auth.StoreOptions{Insecure: o.insecureStorage, Logger: logger}
}

// tokenSource is the refreshing source of the credential stored for host,
// under the credential's one lock.
func tokenSource(o *options, host string, logger *slog.Logger) (*auth.RefreshingTokenSource, error) {
	so := storeOptions(o, logger)
	lock, err := auth.CredentialLocker(host, so)
	if err != nil {
		return nil, err
	}
	return auth.NewRefreshingTokenSource(auth.TokenSourceOptions{
		Host:   host,
		Store:  auth.OpenStore(so),
		Locker: lock,
		Margin: o.refreshMargin,
		Logger: logger,
	}), nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// envToken is SENTRY_ACCESS_TOKEN, trimmed; "" when unset or blank. A token
// with blanks or control characters inside is refused at once (it would
// fail every call as an unreachable Sentry).
func envToken() (string, error) {
	tok := strings.TrimSpace(os.Getenv("SENTRY_ACCESS_TOKEN"))
	if strings.IndexFunc(tok, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		return "", errors.New("SENTRY_ACCESS_TOKEN holds blanks or control characters inside the token; set it to the token alone")
	}
	return tok, nil
}
