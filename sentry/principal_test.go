package sentry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

func TestTokenSourceFromContext(t *testing.T) {
	fake := sentrytest.NewServer(nil, sentrytest.Options{})
	defer fake.Close()
	fake.AddToken("tok-a", "org:read")
	fake.AddToken("tok-b", "org:read")
	own := &countingRefresher{fake: fake}
	own.cur.Store("tok-a")
	c, err := NewClient(Config{BaseURL: fake.URL, Token: own})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := c.Whoami(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Whoami(WithTokenSource(ctx, StaticToken("tok-b"))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Whoami(WithTokenSource(ctx, nil)); err != nil { // nil: Config.Token
		t.Fatal(err)
	}
	var got []string
	for _, r := range fake.Requests() {
		got = append(got, r.Authorization)
	}
	if want := []string{"Bearer tok-a", "Bearer tok-b", "Bearer tok-a"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sent %q, want %q", got, want)
	}
	// A 401 refreshes the context's source, not the client's.
	other := &countingRefresher{fake: fake}
	other.cur.Store("revoked")
	fake.ResetRequests()
	if _, _, err := c.Whoami(WithTokenSource(ctx, other)); err != nil {
		t.Fatal(err)
	}
	if other.refreshes.Load() != 1 || own.refreshes.Load() != 0 {
		t.Errorf("refreshes: context's %d, client's %d", other.refreshes.Load(), own.refreshes.Load())
	}
	if n := len(fake.Requests()); n != 2 {
		t.Errorf("%d requests, want 2 (the 401 and the retry)", n)
	}
}

// TestConcurrencyLimitsArePerPrincipal: Sentry said one user may have one
// request in flight to an endpoint; while that user's request hangs,
// another user's request to the same endpoint must not wait for it.
func TestConcurrencyLimitsArePerPrincipal(t *testing.T) {
	var (
		mu      sync.Mutex
		release chan struct{}
	)
	inSlow := make(chan struct{}, 1)
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Sentry-Rate-Limit-ConcurrentLimit", "1")
		if r.URL.Query().Get("query") == "hang" {
			mu.Lock()
			ch := release
			mu.Unlock()
			inSlow <- struct{}{}
			<-ch
		}
		fmt.Fprint(w, `[]`)
	})
	const endpoint = "GET /api/0/organizations/%s/issues/"
	tests := []struct {
		name        string
		slow, other func(context.Context) context.Context
		shared      bool
	}{
		{"token sources", func(ctx context.Context) context.Context { return WithTokenSource(ctx, StaticToken("alice")) },
			func(ctx context.Context) context.Context { return WithTokenSource(ctx, StaticToken("bob")) }, false},
		{"principal keys", func(ctx context.Context) context.Context { return WithPrincipalKey(ctx, "user:1") },
			func(ctx context.Context) context.Context { return WithPrincipalKey(ctx, "user:2") }, false},
		{"key wins over source", func(ctx context.Context) context.Context {
			return WithPrincipalKey(WithTokenSource(ctx, StaticToken("t1")), "user:3")
		}, func(ctx context.Context) context.Context {
			return WithPrincipalKey(WithTokenSource(ctx, StaticToken("t2")), "user:3")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bg := context.Background()
			if _, _, err := c.ListIssues(tt.slow(bg), "acme", IssueListOptions{}); err != nil { // learns limit 1
				t.Fatal(err)
			}
			if c.limitFor(tt.slow(bg), endpoint) != 1 {
				t.Fatalf("limit %d", c.limitFor(tt.slow(bg), endpoint))
			}
			if !tt.shared && c.limitFor(tt.other(bg), endpoint) != 0 {
				t.Error("one principal's limit applies to another")
			}
			ch := make(chan struct{})
			mu.Lock()
			release = ch
			mu.Unlock()
			var once sync.Once
			defer once.Do(func() { close(ch) })
			done := make(chan error, 1)
			go func() {
				_, _, err := c.ListIssues(tt.slow(bg), "acme", IssueListOptions{Query: "hang"})
				done <- err
			}()
			<-inSlow // the slow request holds its principal's one slot
			timeout := 10 * time.Second
			if tt.shared {
				timeout = 200 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(tt.other(bg), timeout)
			_, _, err := c.ListIssues(ctx, "acme", IssueListOptions{})
			cancel()
			switch {
			case tt.shared && !errors.Is(err, context.DeadlineExceeded):
				t.Errorf("the same principal did not wait for its slot: %v", err)
			case !tt.shared && err != nil:
				t.Errorf("another principal waited for the slow one's slot: %v", err)
			}
			once.Do(func() { close(ch) })
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLimitersAreBounded(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Sentry-Rate-Limit-ConcurrentLimit", "5")
		fmt.Fprint(w, `{}`)
	})
	for i := range maxLimiters + 100 {
		if _, _, err := c.GetIssue(WithPrincipalKey(context.Background(), fmt.Sprint("user:", i)), "acme", "1"); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	c.limits.Range(func(k, v any) bool { n++; return true })
	if n > maxLimiters || int(c.nlimits.Load()) != n {
		t.Errorf("%d limiters (counted %d), want at most %d", n, c.nlimits.Load(), maxLimiters)
	}
	if !strings.Contains(fmt.Sprint(principalOf(WithPrincipalKey(context.Background(), "k"))), "k") {
		t.Error("principal key")
	}
}
