package sentry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

// countingRefresher counts refreshes; each one mints the next token.
type countingRefresher struct {
	fake      *sentrytest.Server
	refreshes atomic.Int64
	cur       atomic.Value
}

func (r *countingRefresher) Token(context.Context) (string, error) { return r.cur.Load().(string), nil }
func (r *countingRefresher) Refresh(_ context.Context, rejected string) (string, error) {
	n := r.refreshes.Add(1)
	next := fmt.Sprintf("tok-%d", n)
	r.fake.AddToken(next, "org:read", "event:read", "project:read")
	r.cur.Store(next)
	return next, nil
}

func TestUserActionRequiredIsNotRefreshed(t *testing.T) {
	tests := []struct {
		code      string
		wantSSO   bool
		wantLogin bool
	}{
		{CodeSSORequired, true, true},
		{Code2FARequired, false, false},
		{CodeSudoRequired, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			fake := sentrytest.NewServer(nil, sentrytest.Options{})
			defer fake.Close()
			ts := &countingRefresher{fake: fake}
			fake.AddToken("tok-0", "org:read", "event:read", "project:read")
			ts.cur.Store("tok-0")
			c, err := NewClient(Config{BaseURL: fake.URL, Token: ts})
			if err != nil {
				t.Fatal(err)
			}
			fake.RequireUserAction("acme", tt.code)
			for range 5 {
				_, _, err = c.ListProjects(context.Background(), "acme", ListOptions{})
				var se *Error
				if !errors.As(err, &se) || se.StatusCode != 401 || se.Code != tt.code {
					t.Fatalf("err = %#v", err)
				}
				if (errorCode(err) == CodeSSORequired) != tt.wantSSO || !IsUserActionRequired(err) {
					t.Errorf("IsSSORequired %v, IsUserActionRequired %v", (errorCode(err) == CodeSSORequired), IsUserActionRequired(err))
				}
				if want := fake.URL + "/auth/login/acme/"; tt.wantLogin && se.LoginURL != want {
					t.Errorf("LoginURL %q, want %q", se.LoginURL, want)
				}
				if !tt.wantLogin && se.LoginURL != "" {
					t.Errorf("LoginURL %q", se.LoginURL)
				}
			}
			if n := ts.refreshes.Load(); n != 0 {
				t.Errorf("%d refreshes for a %s 401; a new token cannot help", n, tt.code)
			}
			// An invalid token is still refreshed once, and the call retried.
			fake.RequireUserAction("acme", "")
			ts.cur.Store("unknown-token")
			if _, _, err := c.ListProjects(context.Background(), "acme", ListOptions{}); err != nil || ts.refreshes.Load() != 1 {
				t.Errorf("invalid token: %v, %d refreshes", err, ts.refreshes.Load())
			}
		})
	}
}

func TestLoginURLStaysOnTheConfiguredSentry(t *testing.T) {
	tests := []struct {
		loginURL string
		want     string // "%s" is the server's URL; "" = not exposed
	}{
		{"/auth/login/acme/", "%s/auth/login/acme/"},
		{"/auth/login/acme/?next=%2Forganizations%2Facme%2F", "%s/auth/login/acme/?next=%2Forganizations%2Facme%2F"},
		{"/auth/login/../../acme/", "%s/acme/"},
		{"%s/auth/login/acme/", "%s/auth/login/acme/"},
		{"https://evil.example/auth/login/acme/", ""},
		{"//evil.example/auth/login/acme/", ""},
		{"javascript:alert(1)", ""},
		{"data:text/html,hi", ""},
		{"auth/login/acme/", ""},
		{"/auth/login/acme/\r\nX: y", ""},
		{"http://user:pw@%h/auth/", ""},
		{"ftp://%h/auth/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.loginURL, func(t *testing.T) {
			var base string
			c, srv := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				login := strings.ReplaceAll(strings.ReplaceAll(tt.loginURL, "%s", base), "%h", strings.TrimPrefix(base, "http://"))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(401)
				fmt.Fprintf(w, `{"detail": {"code": "sso-required", "message": "Must login via SSO", "extra": {"loginUrl": %q}}}`, login)
			})
			base = srv.URL
			_, _, err := c.GetIssue(context.Background(), "acme", "1")
			var se *Error
			if !errors.As(err, &se) || !(errorCode(err) == CodeSSORequired) {
				t.Fatalf("err = %v", err)
			}
			want := strings.ReplaceAll(tt.want, "%s", base)
			if se.LoginURL != want {
				t.Errorf("LoginURL %q, want %q", se.LoginURL, want)
			}
		})
	}
}
