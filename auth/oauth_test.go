package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

func TestTokenResponsesAreSanityChecked(t *testing.T) {
	day := 24 * time.Hour
	for _, tt := range []struct {
		name    string
		edit    func(body map[string]any)
		life    time.Duration // wanted lifetime (± a day)
		refused bool
	}{
		{"expires_in as sent", func(map[string]any) {}, 30 * day, false},
		{"expires_in two days", func(b map[string]any) { b["expires_in"] = 2 * 86400 }, 2 * day, false},
		{"expires_in missing", func(b map[string]any) { delete(b, "expires_in") }, 30 * day, false},
		{"expires_in zero", func(b map[string]any) { b["expires_in"] = 0 }, 30 * day, false},
		{"expires_in negative", func(b map[string]any) { b["expires_in"] = -3600 }, 30 * day, false},
		{"expires_in absurd", func(b map[string]any) { b["expires_in"] = int64(1) << 50 }, 30 * day, false},
		{"expires_in two years", func(b map[string]any) { b["expires_in"] = 2 * 365 * 86400 }, 30 * day, false},
		{"access token with a blank", func(b map[string]any) { b["access_token"] = "abc def" }, 0, true},
		{"access token with a newline", func(b map[string]any) { b["access_token"] = "abc\ndef" }, 0, true},
		{"access token with an escape", func(b map[string]any) { b["access_token"] = "abc\x1b[2Jdef" }, 0, true},
		{"refresh token with a tab", func(b map[string]any) { b["refresh_token"] = "abc\tdef" }, 0, true},
		{"refresh token with NUL", func(b map[string]any) { b["refresh_token"] = "abc\x00def" }, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Sign-in (browser).
			fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
			defer fake.Close()
			fake.AddOAuthApp(sentrytest.OAuthApp{ClientID: clientID, ClientSecret: clientSecret, RedirectURIs: []string{"http://127.0.0.1/callback"}})
			fake.EditTokenResponses(func(_ string, b map[string]any) { tt.edit(b) })
			c := auth.OAuthClient{BaseURL: fake.URL, ClientID: clientID, ClientSecret: clientSecret, Scopes: []string{"org:read"}}
			cred, err := c.LoginBrowser(context.Background(), auth.LoginOptions{Open: followInBackground, Timeout: 10 * time.Second})
			check := func(what string, cred *auth.Credential, err error) {
				t.Helper()
				if tt.refused {
					if err == nil || !strings.Contains(err.Error(), "blanks or control characters") {
						t.Errorf("%s: err = %v, want an unusable token refused", what, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if got := time.Until(cred.Expiry); got < tt.life-day || got > tt.life+day {
					t.Errorf("%s: token lives %s, want about %s", what, got, tt.life)
				}
			}
			check("login", cred, err)

			// Refresh (after a 401, so the call waits for it).
			fake, store, dir, good := signedIn(t, sentrytest.Options{})
			fake.EditTokenResponses(func(grant string, b map[string]any) {
				if grant == "refresh_token" {
					tt.edit(b)
				}
			})
			ts := newSource(fake, store, dir, auth.DefaultRefreshMargin, nil)
			tok, err := ts.Refresh(context.Background(), good.AccessToken)
			stored, _ := store.Load(fake.URL)
			check("refresh", stored, err)
			if tt.refused && (tok != "" || stored.AccessToken != good.AccessToken) {
				t.Errorf("refresh: an unusable token was used or stored: %q", tok)
			}
		})
	}
}

func TestEffectiveScopesFollowTheRequest(t *testing.T) {
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	defer fake.Close()
	fake.AddOAuthApp(sentrytest.OAuthApp{ClientID: clientID, ClientSecret: clientSecret, RedirectURIs: []string{"http://127.0.0.1/callback"}})
	// Sentry grants more than was asked for.
	fake.EditTokenResponses(func(_ string, b map[string]any) {
		b["scope"] = "event:admin event:read event:write org:admin org:read org:write"
	})
	c := auth.OAuthClient{BaseURL: fake.URL, ClientID: clientID, ClientSecret: clientSecret, Scopes: []string{"org:read", "event:write"}}
	cred, err := c.LoginBrowser(context.Background(), auth.LoginOptions{Open: followInBackground, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cred.RequestedScopes, " "); got != "org:read event:write" {
		t.Errorf("requested scopes %q", got)
	}
	if got := strings.Join(cred.EffectiveScopes(), " "); got != "event:read event:write org:read" {
		t.Errorf("effective scopes %q", got)
	}
}

func TestSourceReportsCredentialChanges(t *testing.T) {
	fake, store, dir, _ := signedIn(t, sentrytest.Options{}) // asked for org:read event:write
	due(t, store, fake.URL)
	fake.EditTokenResponses(func(grant string, b map[string]any) {
		if grant == "refresh_token" {
			b["scope"] = "org:read" // the grant shrank
		}
	})
	clock := newClock()
	ts := auth.NewRefreshingTokenSource(auth.TokenSourceOptions{Host: fake.URL, Store: store, Locker: auth.NewFileLocker(auth.LockPath(dir, fake.URL)), Margin: auth.DefaultRefreshMargin,
		ReloadEvery: time.Hour, Now: clock.now})
	var changes atomic.Int64
	ts.OnChange(func() { changes.Add(1) })
	if s, _ := ts.EffectiveScopes(); strings.Join(s, " ") != "event:read event:write org:read" {
		t.Fatalf("scopes before %v", s)
	}
	gen := ts.Generation()
	if _, err := ts.TokenAfterRefresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s, _ := ts.EffectiveScopes(); ts.Generation() != gen+1 || changes.Load() != 1 || strings.Join(s, " ") != "org:read" {
		t.Errorf("after a refresh: generation %d (was %d), %d changes, scopes %v", ts.Generation(), gen, changes.Load(), s)
	}

	// Another process signs in with other scopes: picked up on a later
	// call once ReloadEvery has passed.
	other := auth.OAuthClient{BaseURL: fake.URL, ClientID: clientID, ClientSecret: clientSecret, Scopes: []string{"project:read"}}
	fake.EditTokenResponses(nil)
	cred, err := other.LoginBrowser(context.Background(), auth.LoginOptions{Open: followInBackground, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	store.Save(cred)
	ts.Token(context.Background())
	ts.Wait(context.Background())
	if ts.Generation() != gen+1 {
		t.Errorf("the store was re-read before ReloadEvery")
	}
	clock.advance(2 * time.Hour)
	ts.Token(context.Background())
	ts.Wait(context.Background())
	if s, _ := ts.EffectiveScopes(); ts.Generation() != gen+2 || changes.Load() != 2 || strings.Join(s, " ") != "project:read" {
		t.Errorf("after a new sign-in: generation %d, %d changes, scopes %v", ts.Generation(), changes.Load(), s)
	}
}

func TestRefusedRefreshWhileTheTokenIsValid(t *testing.T) {
	fake, store, dir, cred := signedIn(t, sentrytest.Options{})
	due(t, store, fake.URL)
	broken, _ := store.Load(fake.URL)
	broken.RefreshToken = strings.Repeat("0", 64) // Sentry answers invalid_grant
	store.Save(broken)
	ts := newSource(fake, store, dir, auth.DefaultRefreshMargin, nil)
	for range 3 {
		if tok, err := ts.TokenAfterRefresh(context.Background()); err != nil || tok != cred.AccessToken {
			t.Fatalf("a refused refresh stopped a valid token: %q %v", tok, err)
		}
	}
	st, err := ts.Status()
	if err != nil || !st.NeedsSignIn || !st.Valid || !strings.Contains(st.Warning(), "before then") || !strings.Contains(st.Warning(), st.Credential.Expiry.Format(time.RFC3339)) {
		t.Errorf("status %+v %v: %s", st, err, st.Warning())
	}
	if n := fake.TokenGrants()["refresh_token"]; n != 0 {
		t.Errorf("%d refreshes", n)
	}
	refreshes := tokenRequests(fake)
	// Another process learns it from the store, without asking Sentry.
	other := newSource(fake, store, dir, auth.DefaultRefreshMargin, nil)
	if tok, err := other.TokenAfterRefresh(context.Background()); err != nil || tok != cred.AccessToken {
		t.Errorf("other process: %q %v", tok, err)
	}
	if st, _ := other.Status(); !st.NeedsSignIn {
		t.Error("the other process does not know a sign-in is needed")
	}
	if n := tokenRequests(fake); n != refreshes {
		t.Errorf("the other process asked Sentry again (%d requests)", n-refreshes)
	}
	// Sentry rejects the token: now the sign-in has expired.
	if _, err := ts.Refresh(context.Background(), cred.AccessToken); !errors.Is(err, auth.ErrSignInExpired) {
		t.Errorf("after a 401: %v", err)
	}
	if st, _ := ts.Status(); st.Valid || !strings.Contains(st.Warning(), "auth login") {
		t.Errorf("after a 401: %+v", st)
	}
}

func TestDeviceFlowLimits(t *testing.T) {
	for _, tt := range []struct {
		name    string
		edit    func(b map[string]any)
		wantErr string
	}{
		{"no expires_in", func(b map[string]any) { delete(b, "expires_in") }, "expired before it was approved"},
		{"zero expires_in", func(b map[string]any) { b["expires_in"] = 0 }, "expired before it was approved"},
		{"foreign verification_uri", func(b map[string]any) { b["verification_uri"] = "https://sentry.evil.example/oauth/device/" }, "refusing the device sign-in"},
		{"foreign verification_uri_complete", func(b map[string]any) { b["verification_uri_complete"] = "http://evil.example/?user_code=X" }, "refusing the device sign-in"},
		{"escape sequences", func(b map[string]any) {
			delete(b, "expires_in")
			b["user_code"] = "\x1b]0;pwned\x07ABCD-EFGH\u202e"
		}, "expired before it was approved"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{DeviceInterval: 10 * time.Millisecond})
			defer fake.Close()
			fake.AddOAuthApp(sentrytest.OAuthApp{ClientID: clientID, ClientSecret: clientSecret})
			fake.EditDeviceResponses(tt.edit)
			c := auth.OAuthClient{BaseURL: fake.URL, ClientID: clientID, Scopes: []string{"org:read"}}
			var notify syncBuffer
			done := make(chan error, 1)
			go func() {
				_, err := c.LoginDeviceWith(context.Background(), auth.LoginOptions{Notify: &notify, Timeout: 200 * time.Millisecond})
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the device flow is still polling")
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			out := notify.String()
			if strings.ContainsAny(out, "\x1b\x07\u202e") {
				t.Errorf("control characters reached the terminal: %q", out)
			}
			if tt.name == "escape sequences" && !strings.Contains(out, `\x1b]0;pwned\x07ABCD-EFGH\u202e`) {
				t.Errorf("the code is not shown escaped: %q", out)
			}
		})
	}
}
