package cli

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

// TestGrantFollowsTheCredential: when another process signs in again with
// other scopes, the identity's grant follows and the server is told (it
// sends tools/list_changed); scopes granted beyond those requested are
// not used.
func TestGrantFollowsTheCredential(t *testing.T) {
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	fake.AddToken("tok1", "org:read", "event:read")
	fake.AddToken("tok2", "org:read", "event:write", "member:read")
	host := fake.URL
	client, err := sentry.NewClient(sentry.Config{BaseURL: host})
	if err != nil {
		t.Fatal(err)
	}
	store := auth.NewFileStore(filepath.Join(t.TempDir(), "credentials.json"))
	save := func(token string, granted, requested []string) {
		t.Helper()
		c := &auth.Credential{Host: host, AccessToken: token, Kind: auth.KindToken, Scopes: granted, RequestedScopes: requested}
		if err := store.Save(c); err != nil {
			t.Fatal(err)
		}
	}
	save("tok1", []string{"org:read", "event:read"}, nil)
	ts := auth.NewRefreshingTokenSource(auth.TokenSourceOptions{Host: host, Store: store, ReloadEvery: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	id := &identity{host: host, key: host, ts: ts, client: client, logger: slog.New(slog.DiscardHandler)}
	var changes atomic.Int32
	id.onChange = func() { changes.Add(1) }
	id.watchSource(ts)
	id.start(context.Background())
	if !id.current().Grant.Allows([]string{"event:read"}) || id.current().Grant.Allows([]string{"event:write"}) {
		t.Fatalf("first grant %v", id.current().Grant.Scopes())
	}
	// A new sign-in asked for event:write; Sentry granted member:read too.
	save("tok2", []string{"org:read", "event:write", "member:read"}, []string{"org:read", "event:write"})
	deadline := time.Now().Add(5 * time.Second)
	for changes.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the new sign-in was not noticed")
		}
		ts.Token(context.Background()) // calls go on; the store is re-read in the background
		time.Sleep(10 * time.Millisecond)
	}
	got := id.current().Grant.Scopes()
	if !slices.Contains(got, "event:write") || slices.Contains(got, "member:read") {
		t.Errorf("grant after the new sign-in = %v: want event:write, and not member:read (granted but not asked for)", got)
	}
}
