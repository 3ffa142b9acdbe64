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
	"path/filepath"
	"sync"
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

// TokenSourceOptions configure a RefreshingTokenSource.
type TokenSourceOptions struct {
	Host       string        // normalised base URL the credential belongs to
	Store      Store         // where the credential lives
	LockDir    string        // directory for the cross-process lock file
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

	mu   sync.Mutex
	cred *Credential
	dead bool
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
	return &RefreshingTokenSource{opt: opt, lock: flock.New(LockPath(opt.LockDir, opt.Host))}
}

// LockPath is the refresh lock file for host inside dir.
func LockPath(dir, host string) string {
	sum := sha256.Sum256([]byte(host))
	return filepath.Join(dir, "refresh-"+hex.EncodeToString(sum[:6])+".lock")
}

// Credential returns a copy of the credential in use (loading it if needed).
func (ts *RefreshingTokenSource) Credential() (*Credential, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
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
	c, err := ts.opt.Store.Load(ts.opt.Host)
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrNotSignedIn
	case err != nil:
		return fmt.Errorf("reading the stored Sentry sign-in: %w", err)
	}
	ts.cred = c
	return nil
}

// usableLocked loads the credential and fails when the sign-in is dead.
func (ts *RefreshingTokenSource) usableLocked() error {
	if err := ts.loadLocked(); err != nil {
		return err
	}
	if ts.dead {
		return ErrSignInExpired
	}
	return nil
}

func (ts *RefreshingTokenSource) canRefresh(c *Credential) bool {
	return c.Kind != KindToken && c.RefreshToken != "" && c.ClientID != ""
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
	ts.mu.Lock()
	defer ts.mu.Unlock()
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
// (or process) already replaced it, the newer token is returned without a
// new refresh.
func (ts *RefreshingTokenSource) Refresh(ctx context.Context, rejected string) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if err := ts.usableLocked(); err != nil {
		return "", err
	}
	if ts.cred.AccessToken != rejected {
		return ts.cred.AccessToken, nil
	}
	if !ts.canRefresh(ts.cred) {
		return "", fmt.Errorf("Sentry rejected the stored token and it cannot be refreshed; sign in again with `sentry-mcp auth login`")
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

// refreshLocked refreshes under the cross-process lock. ts.mu is held.
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

	// Another process may have refreshed while we waited: read again.
	stored, err := ts.opt.Store.Load(ts.opt.Host)
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrNotSignedIn
	case err != nil:
		return fmt.Errorf("reading the stored Sentry sign-in: %w", err)
	}
	if stored.AccessToken != stale {
		ts.cred = stored
		ts.opt.Logger.Debug("adopted a token refreshed by another process", "host", ts.opt.Host)
		return nil
	}
	client := OAuthClient{BaseURL: stored.Host, ClientID: stored.ClientID, ClientSecret: stored.ClientSecret, HTTPClient: ts.opt.HTTPClient}
	if client.BaseURL == "" {
		client.BaseURL = ts.opt.Host
	}
	next, err := client.refresh(ctx, stored)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			ts.dead = true // keep the credential for inspection; never refresh it again here
			ts.cred = stored
			ts.opt.Logger.Error("Sentry refused to refresh the sign-in (invalid_grant); sign in again with `sentry-mcp auth login`", "host", ts.opt.Host)
			return ErrSignInExpired
		}
		return tokenError("refreshing the Sentry token", err, nil)
	}
	if err := ts.opt.Store.Save(next); err != nil {
		// Sentry has rotated the tokens: the new ones exist only in memory.
		ts.cred = next
		ts.opt.Logger.Error("the refreshed Sentry token could not be saved; other processes will need to sign in again", "host", ts.opt.Host, "error", err)
		return nil
	}
	ts.cred = next
	ts.opt.Logger.Info("refreshed the Sentry token", "host", ts.opt.Host, "expiry", next.Expiry)
	return nil
}
