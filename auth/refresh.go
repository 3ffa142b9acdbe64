package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// DefaultRefreshMargin is how long before expiry a token is refreshed.
const DefaultRefreshMargin = 24 * time.Hour

// DefaultAttemptTimeout bounds one refresh attempt: waiting for the
// cross-process lock, the token request and the save.
const DefaultAttemptTimeout = 30 * time.Second

// DefaultReloadEvery is how often a running source re-reads the store to
// pick up a sign-in made by another process.
const DefaultReloadEvery = time.Minute

// Back-off between failed refresh attempts (network, 5xx): doubling from
// backoffBase up to backoffMax, each delay jittered to 50-100 %.
const (
	backoffBase = 2 * time.Second
	backoffMax  = 5 * time.Minute
)

// deadReloadEvery throttles re-reading the store for a new sign-in while the
// one in memory can no longer be used.
const deadReloadEvery = 2 * time.Second

// ErrSignInExpired means the stored sign-in can no longer be used or
// refreshed: the user must sign in again. The credential is kept for
// inspection.
var ErrSignInExpired = errors.New("the Sentry sign-in has expired or was revoked; sign in again with `sentry-mcp auth login`")

// ErrNotSignedIn means no credential is stored for the host.
var ErrNotSignedIn = errors.New("not signed in to Sentry; run `sentry-mcp auth login` (or set SENTRY_ACCESS_TOKEN)")

// ValidateRefreshMargin checks a --refresh-margin value: negative values are
// refused; 0 means "refresh only when the token has expired or Sentry
// rejects it" (no early refresh).
func ValidateRefreshMargin(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("the refresh margin must not be negative (got %s); 0 refreshes only when the token has expired or is rejected", d)
	}
	return nil
}

// TokenSourceOptions configure a RefreshingTokenSource.
type TokenSourceOptions struct {
	Host  string // normalised base URL the credential belongs to; refreshes go here
	Store Store  // where the credential lives
	// Locker serialises refreshes of this credential across processes.
	// nil: CredentialLocker(Host, StoreOptions{}), the credential's one lock.
	Locker Locker
	// Margin: refresh this long before expiry, in the background (capped at
	// half the token's lifetime). 0 = only when the token has expired or
	// Sentry rejected it. Negative values are treated as 0; validate user
	// input with ValidateRefreshMargin.
	Margin time.Duration
	// AttemptTimeout bounds one refresh attempt; 0 = DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// ReloadEvery: how often the store is re-read (in the background) for a
	// sign-in made by another process; 0 = DefaultReloadEvery, < 0 = never.
	ReloadEvery time.Duration
	HTTPClient  *http.Client // for the token endpoint
	Logger      *slog.Logger
	Now         func() time.Time
	// OnRefresh, when set, is told the outcome of each token request sent
	// to Sentry: "ok", "failed" (network, 5xx; retried) or "refused"
	// (invalid_grant: a new sign-in is needed). For metrics.
	OnRefresh func(outcome string)
}

// RefreshingTokenSource hands out the stored access token and refreshes it
// before it expires or when Sentry rejects it.
//
// Rules:
//   - A call never waits for an early refresh: while the token is valid, a
//     refresh due by the margin runs in the background and the call gets the
//     current token at once.
//   - A call waits only when its token has expired or was rejected (401),
//     and then for at most one attempt (AttemptTimeout).
//   - One attempt at a time per credential: within the process every caller
//     shares the attempt in flight and its result; across processes the
//     Locker serialises them, and after taking it the store is read again:
//     the refresh happens only if the stored token is still the stale one.
//     Sentry rotates both tokens on refresh, so two processes refreshing the
//     same grant at once would otherwise kill each other's sign-in.
//   - After a failed attempt (network, 5xx) the next one waits for a bounded,
//     jittered back-off; calls in between get the current token while it is
//     valid, else the failed attempt's error.
//   - A refresh refused by Sentry (invalid_grant) is recorded in the store;
//     the token is used until it expires or is rejected (Status says a new
//     sign-in is needed), then calls fail with ErrSignInExpired until the
//     store holds a new sign-in.
type RefreshingTokenSource struct {
	opt    TokenSourceOptions
	locker Locker

	mu         sync.Mutex // guards the fields below; never held during I/O
	cred       *Credential
	gen        uint64
	listeners  []func()
	attempt    *attempt  // the refresh attempt in flight, if any
	failures   int       // consecutive failed attempts
	retryAt    time.Time // no new attempt before this (back-off)
	lastErr    error     // the last failed attempt's error
	rejected   string    // the access token Sentry answered 401 for
	unsaved    bool      // cred was refreshed but could not be saved
	lastReload time.Time // background reload (ReloadEvery)
	lastLook   time.Time // synchronous look for a new sign-in (deadReloadEvery)
	reloading  bool
	bgN        int           // attempts and reloads running in the background (ts.mu)
	bgIdle     chan struct{} // closed when bgN drops to 0 (ts.mu)

	backoffBase, backoffMax time.Duration
}

type attempt struct {
	done chan struct{}
	err  error
}

// NewRefreshingTokenSource returns a token source for the credential stored
// for opt.Host.
func NewRefreshingTokenSource(opt TokenSourceOptions) *RefreshingTokenSource {
	if opt.Margin < 0 {
		opt.Margin = 0
	}
	if opt.AttemptTimeout <= 0 {
		opt.AttemptTimeout = DefaultAttemptTimeout
	}
	if opt.ReloadEvery == 0 {
		opt.ReloadEvery = DefaultReloadEvery
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if k, err := hostKey(opt.Host); err == nil {
		opt.Host = k
	}
	ts := &RefreshingTokenSource{opt: opt, locker: opt.Locker, backoffBase: backoffBase, backoffMax: backoffMax}
	if ts.locker == nil {
		if l, err := CredentialLocker(opt.Host, StoreOptions{}); err == nil {
			ts.locker = l
		} else {
			ts.locker = errLocker{err}
		}
	}
	return ts
}

type errLocker struct{ err error }

func (e errLocker) Lock(context.Context) (func(), error) { return nil, e.err }

// Credential returns a copy of the credential in use (loading it if needed).
func (ts *RefreshingTokenSource) Credential() (*Credential, error) {
	c, err := ts.loaded()
	if err != nil {
		return nil, err
	}
	cp := *c
	return &cp, nil
}

// OnChange registers f to be called (without any lock held, from whatever
// goroutine replaced it) after the credential in use is replaced. f must
// not block.
func (ts *RefreshingTokenSource) OnChange(f func()) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.listeners = append(ts.listeners, f)
}

// Status is what a source knows about its sign-in (no I/O after the first
// load).
type Status struct {
	Credential *Credential // a copy of the credential in use
	// Valid: the access token has not expired and Sentry has not rejected it.
	Valid bool
	// NeedsSignIn: Sentry refused to refresh the sign-in. The token keeps
	// working until Credential.Expiry (while Valid); a new `auth login` is
	// needed before then.
	NeedsSignIn bool
	// RefreshError is the last failed refresh attempt (network, 5xx) while
	// the source waits to retry at RetryAt; nil when the last one worked.
	RefreshError error
	RetryAt      time.Time
}

// Warning is a one-line warning for `whoami` and `auth status`, "" when
// there is nothing to warn about.
func (s Status) Warning() string {
	switch {
	case s.NeedsSignIn && s.Valid && s.Credential != nil && !s.Credential.Expiry.IsZero():
		return fmt.Sprintf("Sentry refused to refresh this sign-in: the current token works until %s; sign in again with `sentry-mcp auth login` before then",
			s.Credential.Expiry.Format(time.RFC3339))
	case s.NeedsSignIn:
		return ErrSignInExpired.Error()
	case s.RefreshError != nil && s.Valid:
		return fmt.Sprintf("refreshing the token failed (%v); the current token is used until it expires, next attempt at %s",
			s.RefreshError, s.RetryAt.Format(time.RFC3339))
	}
	return ""
}

// Status reports the state of the sign-in.
func (ts *RefreshingTokenSource) Status() (Status, error) {
	if _, err := ts.loaded(); err != nil {
		return Status{}, err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	c := *ts.cred
	return Status{
		Credential:   &c,
		Valid:        ts.validLocked(ts.cred, ts.opt.Now()),
		NeedsSignIn:  !ts.cred.RefreshRefused.IsZero(),
		RefreshError: ts.lastErr,
		RetryAt:      ts.retryAt,
	}, nil
}

// Wait blocks until no refresh attempt or store reload runs in the
// background (or ctx ends). A short-lived process must call it before it
// exits: a refresh that has been sent must be saved, Sentry has rotated the
// tokens by then.
func (ts *RefreshingTokenSource) Wait(ctx context.Context) error {
	for {
		ts.mu.Lock()
		if ts.bgN == 0 {
			ts.mu.Unlock()
			return nil
		}
		idle := ts.bgIdle
		ts.mu.Unlock()
		select {
		case <-idle: // work may have started since: look again
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// TokenAfterRefresh is Token for one-shot commands (`auth token`): when an
// early refresh is due it waits for that attempt (at most AttemptTimeout)
// and returns the new token; if the attempt fails, the current token while
// it is valid.
func (ts *RefreshingTokenSource) TokenAfterRefresh(ctx context.Context) (string, error) {
	if _, err := ts.Token(ctx); err != nil {
		return "", err
	}
	if err := ts.Wait(ctx); err != nil {
		return "", err
	}
	return ts.Token(ctx)
}

// loaded returns the credential in use, reading the store the first time
// (without holding ts.mu).
func (ts *RefreshingTokenSource) loaded() (*Credential, error) {
	ts.mu.Lock()
	c := ts.cred
	ts.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := ts.readStore()
	if err != nil {
		return nil, err
	}
	ts.mu.Lock()
	if ts.cred == nil {
		ts.cred = c
		ts.lastReload = ts.opt.Now()
	}
	c = ts.cred
	ts.mu.Unlock()
	return c, nil
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

// replaceLocked makes c the credential in use and reports whether it is a
// different one (call notify after unlocking).
func (ts *RefreshingTokenSource) replaceLocked(c *Credential) bool {
	old := ts.cred
	ts.cred = c
	if old != nil && old.AccessToken == c.AccessToken && old.RefreshRefused.Equal(c.RefreshRefused) {
		return false
	}
	ts.gen++
	return true
}

func (ts *RefreshingTokenSource) notify() {
	ts.mu.Lock()
	ls := append([]func(){}, ts.listeners...)
	ts.mu.Unlock()
	for _, f := range ls {
		f()
	}
}

func (ts *RefreshingTokenSource) canRefresh(c *Credential) bool {
	return c.Kind != KindToken && c.RefreshToken != "" && c.ClientID != "" && c.ClientSecret != ""
}

// validLocked: c's token has not expired and was not rejected.
func (ts *RefreshingTokenSource) validLocked(c *Credential, now time.Time) bool {
	if c.AccessToken == ts.rejected {
		return false
	}
	return c.Expiry.IsZero() || now.Before(c.Expiry)
}

// fresh reports whether c is outside the refresh margin. The margin is
// capped at half the token's lifetime, so a margin longer than the tokens
// live (or short-lived tokens) never makes every call refresh.
func (ts *RefreshingTokenSource) fresh(c *Credential, now time.Time) bool {
	if c.Expiry.IsZero() {
		return true
	}
	margin := ts.opt.Margin
	if !c.Obtained.IsZero() {
		if half := c.Expiry.Sub(c.Obtained) / 2; margin > half {
			margin = half
		}
	}
	return now.Add(margin).Before(c.Expiry)
}

// Token returns a usable access token. It waits for a refresh only when the
// token has expired (at most one attempt); an early refresh runs in the
// background.
func (ts *RefreshingTokenSource) Token(ctx context.Context) (string, error) {
	if _, err := ts.loaded(); err != nil {
		return "", err
	}
	ts.mu.Lock()
	now := ts.opt.Now()
	ts.maybeReloadLocked(now)
	c := ts.cred
	valid := ts.validLocked(c, now)
	switch {
	case valid && (ts.fresh(c, now) || !c.RefreshRefused.IsZero() || !ts.canRefresh(c)):
		ts.mu.Unlock()
		return c.AccessToken, nil
	case valid:
		ts.startLocked(c.AccessToken, now) // early: in the background, unless backing off
		ts.mu.Unlock()
		return c.AccessToken, nil
	case !c.RefreshRefused.IsZero():
		ts.mu.Unlock()
		return ts.newSignIn(c.AccessToken, ErrSignInExpired)
	case !ts.canRefresh(c):
		ts.mu.Unlock()
		return c.AccessToken, nil // a token that cannot be refreshed is Sentry's to judge
	}
	return ts.waitLocked(ctx, c.AccessToken, now)
}

// Refresh replaces a token that Sentry rejected with 401. If another call
// (or process, or a new `auth login`) already replaced it, the newer token
// is returned without a new refresh.
func (ts *RefreshingTokenSource) Refresh(ctx context.Context, rejected string) (string, error) {
	if _, err := ts.loaded(); err != nil {
		return "", err
	}
	ts.mu.Lock()
	c := ts.cred
	if c.AccessToken != rejected {
		ts.mu.Unlock()
		return c.AccessToken, nil
	}
	ts.rejected = rejected
	switch {
	case !ts.canRefresh(c):
		ts.mu.Unlock()
		return ts.newSignIn(rejected, errors.New("Sentry rejected the stored token and it cannot be refreshed; sign in again with `sentry-mcp auth login`"))
	case !c.RefreshRefused.IsZero():
		ts.mu.Unlock()
		return ts.newSignIn(rejected, ErrSignInExpired)
	}
	return ts.waitLocked(ctx, rejected, ts.opt.Now())
}

// newSignIn looks in the store (at most every deadReloadEvery, without
// holding ts.mu) for a credential other than the unusable one, and returns
// its token, or fail.
func (ts *RefreshingTokenSource) newSignIn(unusable string, fail error) (string, error) {
	ts.mu.Lock()
	now := ts.opt.Now()
	if now.Sub(ts.lastLook) < deadReloadEvery {
		ts.mu.Unlock()
		return "", fail
	}
	ts.lastLook = now
	ts.mu.Unlock()
	c, err := ts.readStore()
	if err != nil || c.AccessToken == unusable {
		return "", fail
	}
	ts.mu.Lock()
	changed := false
	if ts.cred.AccessToken == unusable && !ts.unsaved { // unsaved: ours is newer than the store
		changed = ts.replaceLocked(c)
		ts.failures, ts.retryAt, ts.lastErr = 0, time.Time{}, nil
	}
	tok := ts.cred.AccessToken
	ts.mu.Unlock()
	if tok == unusable {
		return "", fail
	}
	if changed {
		ts.opt.Logger.Info("picked up a new Sentry sign-in", "host", ts.opt.Host)
		ts.notify()
	}
	return tok, nil
}

// waitLocked joins the attempt in flight, or starts one, and waits for it
// (ts.mu is held on entry and released). During back-off it fails at once
// with the last attempt's error.
func (ts *RefreshingTokenSource) waitLocked(ctx context.Context, stale string, now time.Time) (string, error) {
	a := ts.attempt
	if a == nil {
		if now.Before(ts.retryAt) {
			err := fmt.Errorf("%w (next attempt at %s)", ts.lastErr, ts.retryAt.Format(time.RFC3339))
			ts.mu.Unlock()
			// Another process may have refreshed meanwhile.
			return ts.newSignIn(stale, err)
		}
		a = ts.startLocked(stale, now)
	}
	ts.mu.Unlock()
	select {
	case <-a.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if a.err != nil {
		return "", a.err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if !ts.validLocked(ts.cred, ts.opt.Now()) {
		return "", ErrSignInExpired
	}
	return ts.cred.AccessToken, nil
}

// startLocked starts a refresh attempt of the token stale in the background
// unless one is in flight or the back-off has not passed; it returns the
// attempt in flight (nil if none).
func (ts *RefreshingTokenSource) startLocked(stale string, now time.Time) *attempt {
	if ts.attempt != nil {
		return ts.attempt
	}
	if now.Before(ts.retryAt) {
		return nil
	}
	a := &attempt{done: make(chan struct{})}
	ts.attempt = a
	ts.bgStartLocked()
	go ts.run(a, stale)
	return a
}

// bgStartLocked counts background work that Wait waits for; ts.mu is
// held. (A WaitGroup would not do: Add may not race with Wait.)
func (ts *RefreshingTokenSource) bgStartLocked() {
	if ts.bgN == 0 {
		ts.bgIdle = make(chan struct{})
	}
	ts.bgN++
}

// bgDone ends one piece of background work; ts.mu is not held.
func (ts *RefreshingTokenSource) bgDone() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.bgN--; ts.bgN == 0 {
		close(ts.bgIdle)
	}
}

// run is one attempt. It does not follow any caller's context: once the
// token request is sent, Sentry rotates the tokens whether or not we read
// the answer, so the request and the save run to completion, bounded by
// AttemptTimeout.
func (ts *RefreshingTokenSource) run(a *attempt, stale string) {
	defer ts.bgDone()
	ctx, cancel := context.WithTimeout(context.Background(), ts.opt.AttemptTimeout)
	defer cancel()
	changed, err := ts.refreshOnce(ctx, stale)
	ts.mu.Lock()
	ts.attempt = nil
	a.err = err
	switch {
	case err == nil || errors.Is(err, ErrSignInExpired):
		ts.failures, ts.retryAt, ts.lastErr = 0, time.Time{}, nil
	default:
		ts.failures++
		ts.lastErr = err
		ts.retryAt = ts.opt.Now().Add(ts.backoff(ts.failures))
		ts.opt.Logger.Warn("refreshing the Sentry token failed", "host", ts.opt.Host, "expiry", ts.cred.Expiry, "retry_at", ts.retryAt, "error", err)
	}
	ts.mu.Unlock()
	close(a.done)
	if changed {
		ts.notify()
	}
}

// backoff is the jittered delay after n consecutive failures.
func (ts *RefreshingTokenSource) backoff(n int) time.Duration {
	d := ts.backoffBase
	for i := 1; i < n && d < ts.backoffMax; i++ {
		d *= 2
	}
	d = min(d, ts.backoffMax)
	return d/2 + rand.N(d/2+1)
}

// refreshOnce refreshes under the cross-process lock. It reports whether
// the credential in use changed.
func (ts *RefreshingTokenSource) refreshOnce(ctx context.Context, stale string) (bool, error) {
	unlock, err := ts.locker.Lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()

	// Another process may have refreshed while we waited: read again.
	base, err := ts.readStore()
	if err != nil {
		return false, err
	}
	ts.mu.Lock()
	cur, unsaved := ts.cred, ts.unsaved
	ts.mu.Unlock()
	if unsaved && !base.Obtained.After(cur.Obtained) {
		// Our last refresh never reached the store: ours is the live grant.
		base = cur
		if err := ts.opt.Store.Save(base); err == nil {
			ts.mu.Lock()
			ts.unsaved = false
			ts.mu.Unlock()
		}
	}
	if base.AccessToken != stale || !base.RefreshRefused.IsZero() {
		ts.mu.Lock()
		changed := ts.replaceLocked(base)
		ts.mu.Unlock()
		ts.opt.Logger.Debug("adopted the stored Sentry token", "host", ts.opt.Host)
		if !base.RefreshRefused.IsZero() {
			return changed, ErrSignInExpired
		}
		return changed, nil
	}
	// The token endpoint is the configured Sentry's, never the host written
	// inside the credential (the store refuses a credential whose host
	// differs from its key, this is the second line).
	client := OAuthClient{BaseURL: ts.opt.Host, ClientID: base.ClientID, ClientSecret: base.ClientSecret, HTTPClient: ts.opt.HTTPClient}
	next, err := client.refresh(ctx, base, ts.opt.Now)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.ErrorCode == "invalid_client") {
			ts.outcome("refused")
			// Keep the credential (for inspection, and its token while it
			// lasts), marked so that no process refreshes it again.
			refused := *base
			refused.RefreshRefused = ts.opt.Now()
			if serr := ts.opt.Store.Save(&refused); serr != nil {
				ts.opt.Logger.Warn("could not record the refused refresh in the store", "host", ts.opt.Host, "error", serr)
			}
			ts.mu.Lock()
			changed := ts.replaceLocked(&refused)
			ts.mu.Unlock()
			ts.opt.Logger.Error("Sentry refused to refresh the sign-in; sign in again with `sentry-mcp auth login`", "host", ts.opt.Host, "error", re.ErrorCode, "token_valid_until", base.Expiry)
			return changed, ErrSignInExpired
		}
		ts.outcome("failed")
		return false, tokenError("refreshing the Sentry token", err, nil)
	}
	ts.outcome("ok")
	serr := ts.opt.Store.Save(next)
	ts.mu.Lock()
	changed := ts.replaceLocked(next)
	ts.unsaved = serr != nil
	ts.mu.Unlock()
	if serr != nil {
		// Sentry has rotated the tokens: until a later save succeeds, the
		// live ones exist only in this process.
		ts.opt.Logger.Error("the refreshed Sentry token could not be saved; will retry", "host", ts.opt.Host, "error", serr)
		return changed, nil
	}
	ts.opt.Logger.Info("refreshed the Sentry token", "host", ts.opt.Host, "expiry", next.Expiry)
	return changed, nil
}

func (ts *RefreshingTokenSource) outcome(o string) {
	if ts.opt.OnRefresh != nil {
		ts.opt.OnRefresh(o)
	}
}

// maybeReloadLocked re-reads the store in the background, at most every
// ReloadEvery, to pick up a sign-in made by another process.
func (ts *RefreshingTokenSource) maybeReloadLocked(now time.Time) {
	if ts.opt.ReloadEvery < 0 || ts.reloading || ts.attempt != nil || now.Sub(ts.lastReload) < ts.opt.ReloadEvery {
		return
	}
	ts.reloading, ts.lastReload = true, now
	ts.bgStartLocked()
	go func() {
		defer ts.bgDone()
		c, err := ts.readStore()
		ts.mu.Lock()
		ts.reloading = false
		changed := false
		cur := ts.cred
		// Adopt only a newer credential: a read from before our own save of
		// a refresh must not bring the stale token back.
		if err == nil && ts.attempt == nil && c.AccessToken != cur.AccessToken && !c.Obtained.Before(cur.Obtained) && !ts.unsaved {
			changed = ts.replaceLocked(c)
			ts.failures, ts.retryAt, ts.lastErr = 0, time.Time{}, nil
		}
		ts.mu.Unlock()
		if changed {
			ts.opt.Logger.Info("picked up a new Sentry sign-in", "host", ts.opt.Host)
			ts.notify()
		}
	}()
}
