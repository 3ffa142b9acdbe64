package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/oauth2"
)

// DefaultRefreshMargin is how long before expiry a token is refreshed.
const DefaultRefreshMargin = 24 * time.Hour

// ErrSignInExpired means the stored sign-in can no longer be refreshed:
// the user must sign in again. The credential is kept for inspection.
var ErrSignInExpired = errors.New("the Sentry sign-in has expired or was revoked; sign in again with `sentry-mcp auth login`")

// ErrNotSignedIn means no credential is stored for the host.
var ErrNotSignedIn = errors.New("not signed in to Sentry; run `sentry-mcp auth login` (or set SENTRY_ACCESS_TOKEN)")

// refreshTimeout bounds one refresh (token request and save) once it has
// started; it does not follow the caller's context, see refreshLocked.
const refreshTimeout = 30 * time.Second

// reloadEvery throttles re-reading the store for a new sign-in while the
// one in memory is dead.
const reloadEvery = 2 * time.Second

// TokenSourceOptions configure a RefreshingTokenSource.
type TokenSourceOptions struct {
	Host       string        // normalised base URL the credential belongs to
	Store      Store         // where the credential lives
	LockDir    string        // directory for the cross-process lock file (see LockDir)
	Margin     time.Duration // refresh this long before expiry; 0 = DefaultRefreshMargin
	HTTPClient *http.Client  // for the token endpoint
	Logger     *slog.Logger
	Now        func() time.Time
}

// RefreshingTokenSource hands out the stored access token and refreshes it
// before it expires or when Sentry rejects it. Refreshes are serialised
// within the process (one refresh serves every waiting call) and across
// processes by a file lock: after taking the lock the store is read again,
// and the refresh happens only if the stored token is still the stale one.
// Sentry rotates both tokens on refresh, so two processes refreshing the
// same grant at once would otherwise kill each other's sign-in.
type RefreshingTokenSource struct {
	opt  TokenSourceOptions
	lock *flock.Flock

	// mu is a one-slot semaphore rather than a sync.Mutex so that a call
	// waiting behind a refresh can give up when its context ends.
	mu         chan struct{}
	cred       *Credential
	dead       bool      // the grant in cred was refused; wait for a new sign-in
	unsaved    bool      // cred was refreshed but could not be saved
	lastReload time.Time // when a dead source last looked for a new sign-in
}

// NewRefreshingTokenSource returns a token source for the credential stored
// for opt.Host.
func NewRefreshingTokenSource(opt TokenSourceOptions) *RefreshingTokenSource {
	if opt.Margin == 0 {
		opt.Margin = DefaultRefreshMargin
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &RefreshingTokenSource{opt: opt, lock: flock.New(LockPath(opt.LockDir, opt.Host)), mu: make(chan struct{}, 1)}
}

// LockPath is the refresh lock file for host inside dir.
func LockPath(dir, host string) string {
	sum := sha256.Sum256([]byte(host))
	return filepath.Join(dir, "refresh-"+hex.EncodeToString(sum[:6])+".lock")
}

// LockDir is where processes sharing store coordinate refreshes: next to
// the credentials file, or for the keyring (which is per user, whatever the
// environment says) a directory derived from the account's home in the
// user database, so that processes started with different XDG_CONFIG_HOME
// or HOME still share one lock.
func LockDir(store Store, opts StoreOptions) string {
	if loc := store.Location(); loc != LocationKeyring && filepath.IsAbs(loc) {
		return filepath.Dir(loc)
	}
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		return filepath.Join(u.HomeDir, ".config", "sentry-mcp")
	}
	if d := opts.Dir(); filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(os.TempDir(), "sentry-mcp-"+strconv.Itoa(os.Getuid()))
}

func (ts *RefreshingTokenSource) acquire(ctx context.Context) error {
	select {
	case ts.mu <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (ts *RefreshingTokenSource) release() { <-ts.mu }

// Credential returns a copy of the credential in use (loading it if needed).
func (ts *RefreshingTokenSource) Credential() (*Credential, error) {
	if err := ts.acquire(context.Background()); err != nil {
		return nil, err
	}
	defer ts.release()
	if err := ts.loadLocked(); err != nil {
		return nil, err
	}
	c := *ts.cred
	return &c, nil
}

func (ts *RefreshingTokenSource) loadLocked() error {
	if ts.cred != nil {
		return nil
	}
	c, err := ts.readStore()
	if err != nil {
		return err
	}
	ts.cred = c
	return nil
}

func (ts *RefreshingTokenSource) readStore() (*Credential, error) {
	c, err := ts.opt.Store.Load(ts.opt.Host)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrNotSignedIn
	case err != nil:
		return nil, fmt.Errorf("reading the stored Sentry sign-in: %w", err)
	}
	return c, nil
}

// usableLocked loads the credential. A dead sign-in stays dead until the
// store holds another one (the user ran `auth login` again), which is
// looked for at most every reloadEvery.
func (ts *RefreshingTokenSource) usableLocked() error {
	if err := ts.loadLocked(); err != nil {
		return err
	}
	if !ts.dead {
		return nil
	}
	if time.Since(ts.lastReload) >= reloadEvery {
		ts.lastReload = time.Now()
		if c, err := ts.readStore(); err == nil && c.AccessToken != ts.cred.AccessToken {
			ts.cred, ts.dead, ts.unsaved = c, false, false
			ts.opt.Logger.Info("picked up a new Sentry sign-in", "host", ts.opt.Host)
			return nil
		}
	}
	return ErrSignInExpired
}

func (ts *RefreshingTokenSource) canRefresh(c *Credential) bool {
	return c.Kind != KindToken && c.RefreshToken != "" && c.ClientID != "" && c.ClientSecret != ""
}

// fresh reports whether c is outside the refresh margin. The margin is
// capped at half the token's lifetime, so a margin longer than the tokens
// live (or short-lived tokens) never makes every call refresh.
func (ts *RefreshingTokenSource) fresh(c *Credential) bool {
	if c.Expiry.IsZero() {
		return true
	}
	margin := ts.opt.Margin
	if !c.Obtained.IsZero() {
		if half := c.Expiry.Sub(c.Obtained) / 2; margin > half {
			margin = half
		}
	}
	return ts.opt.Now().Add(margin).Before(c.Expiry)
}

// Token returns a usable access token, refreshing it first when it is
// within the margin of its expiry.
func (ts *RefreshingTokenSource) Token(ctx context.Context) (string, error) {
	if err := ts.acquire(ctx); err != nil {
		return "", err
	}
	defer ts.release()
	if err := ts.usableLocked(); err != nil {
		return "", err
	}
	if ts.fresh(ts.cred) || !ts.canRefresh(ts.cred) {
		return ts.cred.AccessToken, nil // a token that cannot be refreshed is Sentry's to judge
	}
	if err := ts.refreshLocked(ctx, ts.cred.AccessToken); err != nil {
		if !errors.Is(err, ErrSignInExpired) && ts.opt.Now().Before(ts.cred.Expiry) {
			// Early refresh failed (network, 5xx) but the token still works.
			ts.opt.Logger.Warn("refreshing the Sentry token failed; using the current one until it expires", "host", ts.opt.Host, "expiry", ts.cred.Expiry, "error", err)
			return ts.cred.AccessToken, nil
		}
		return "", err
	}
	return ts.cred.AccessToken, nil
}

// Refresh replaces a token that Sentry rejected with 401. If another call
// (or process, or a new `auth login`) already replaced it, the newer token
// is returned without a new refresh.
func (ts *RefreshingTokenSource) Refresh(ctx context.Context, rejected string) (string, error) {
	if err := ts.acquire(ctx); err != nil {
		return "", err
	}
	defer ts.release()
	if err := ts.usableLocked(); err != nil {
		return "", err
	}
	if ts.cred.AccessToken != rejected {
		return ts.cred.AccessToken, nil
	}
	if !ts.canRefresh(ts.cred) {
		if c, err := ts.readStore(); err == nil && c.AccessToken != rejected {
			ts.cred = c // signed in again since we loaded
			return c.AccessToken, nil
		}
		return "", errors.New("Sentry rejected the stored token and it cannot be refreshed; sign in again with `sentry-mcp auth login`")
	}
	if err := ts.refreshLocked(ctx, rejected); err != nil {
		return "", err
	}
	return ts.cred.AccessToken, nil
}

// Scopes are the granted scopes of the credential in use.
func (ts *RefreshingTokenSource) Scopes() ([]string, error) {
	c, err := ts.Credential()
	if err != nil {
		return nil, err
	}
	return c.Scopes, nil
}

// refreshLocked refreshes under the cross-process lock; ts.mu is held.
// Only the wait for the lock follows ctx: once the token request is sent,
// Sentry rotates the tokens whether or not we read the answer, so the
// request and the save run to completion (bounded by refreshTimeout) even
// if the call that started them is cancelled.
func (ts *RefreshingTokenSource) refreshLocked(ctx context.Context, stale string) error {
	if err := os.MkdirAll(filepath.Dir(ts.lock.Path()), 0o700); err != nil {
		return fmt.Errorf("creating the lock directory: %w", err)
	}
	lctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	ok, err := ts.lock.TryLockContext(lctx, 20*time.Millisecond)
	if err != nil || !ok {
		return fmt.Errorf("waiting for another sentry-mcp process to finish refreshing the token: %w", errors.Join(err, lctx.Err()))
	}
	defer ts.lock.Unlock()
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer rcancel()

	// Another process may have refreshed while we waited: read again.
	base, err := ts.readStore()
	if err != nil {
		return err
	}
	if ts.unsaved && !base.Obtained.After(ts.cred.Obtained) {
		// Our last refresh never reached the store: ours is the live grant.
		base = ts.cred
		if err := ts.opt.Store.Save(base); err == nil {
			ts.unsaved = false
		}
	}
	if base.AccessToken != stale {
		ts.cred = base
		ts.opt.Logger.Debug("adopted a token refreshed by another process", "host", ts.opt.Host)
		return nil
	}
	client := OAuthClient{BaseURL: base.Host, ClientID: base.ClientID, ClientSecret: base.ClientSecret, HTTPClient: ts.opt.HTTPClient}
	if client.BaseURL == "" {
		client.BaseURL = ts.opt.Host
	}
	next, err := client.refresh(rctx, base)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.ErrorCode == "invalid_client") {
			ts.dead = true // keep the credential for inspection; never refresh it again here
			ts.cred = base
			ts.lastReload = time.Now()
			ts.opt.Logger.Error("Sentry refused to refresh the sign-in; sign in again with `sentry-mcp auth login`", "host", ts.opt.Host, "error", re.ErrorCode)
			return ErrSignInExpired
		}
		return tokenError("refreshing the Sentry token", err, nil)
	}
	ts.cred = next
	if err := ts.opt.Store.Save(next); err != nil {
		// Sentry has rotated the tokens: until a later save succeeds, the
		// live ones exist only in this process.
		ts.unsaved = true
		ts.opt.Logger.Error("the refreshed Sentry token could not be saved; will retry", "host", ts.opt.Host, "error", err)
		return nil
	}
	ts.unsaved = false
	ts.opt.Logger.Info("refreshed the Sentry token", "host", ts.opt.Host, "expiry", next.Expiry)
	return nil
}
