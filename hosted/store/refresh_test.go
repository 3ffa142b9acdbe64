package store

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

const (
	upstreamID     = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	upstreamSecret = "sntrya_SECRET2CLIENT2abcdef0123456789"
)

// signIn signs in to the fake through the browser flow (the "browser"
// follows the authorize URL at once) and returns the credential.
func signIn(t *testing.T, fake *sentrytest.Server) *auth.Credential {
	t.Helper()
	c := auth.OAuthClient{BaseURL: fake.URL, ClientID: upstreamID, ClientSecret: upstreamSecret, Scopes: []string{"org:read", "event:write"}}
	cred, err := c.LoginBrowser(context.Background(), auth.LoginOptions{
		Open: func(u string) error {
			go func() {
				if resp, err := http.Get(u); err == nil {
					resp.Body.Close()
				}
			}()
			return nil
		},
		Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func tokenRequests(fake *sentrytest.Server) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Path == "/oauth/token/" {
			n++
		}
	}
	return n
}

// Two servers (two handles on one database) whose token sources both
// see Sentry reject the same token refresh it exactly once between them:
// the second waits for the first's lock, re-reads the grant and adopts the
// new token. Refreshing twice would have Sentry rotate the refresh token
// under the first and end the user's sign-in.
func TestRefreshExactlyOnceAcrossServers(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
		t.Cleanup(fake.Close)
		fake.AddOAuthApp(sentrytest.OAuthApp{ClientID: upstreamID, ClientSecret: upstreamSecret, RedirectURIs: []string{"http://127.0.0.1/callback"}})
		cred := signIn(t, fake)
		stale := cred.AccessToken

		db1, db2 := twoServers(t, b)
		cred.ClientID, cred.ClientSecret = "", ""
		g := mustCreateGrant(t, db1, &Grant{ClientID: "mcp-client", ClientName: "MCP client", Resource: "/mcp", Consented: []string{"org:read"}, Credential: cred})

		sources := make([]*auth.RefreshingTokenSource, 2)
		for i, db := range []*DB{db1, db2} {
			sources[i] = auth.NewRefreshingTokenSource(auth.TokenSourceOptions{
				Host:        fake.URL,
				Store:       db.CredentialStore(g.ID, upstreamID, upstreamSecret),
				Locker:      db.Locker(g.ID),
				ReloadEvery: -1,
			})
			c, err := sources[i].Credential() // both hold the stale token
			if err != nil || c.AccessToken != stale || c.ClientSecret != upstreamSecret {
				t.Fatalf("source %d: %v", i, err)
			}
		}
		before := tokenRequests(fake)
		release := fake.HoldTokenRequests()
		defer release()

		toks, errs := make([]string, 2), make([]error, 2)
		var wg sync.WaitGroup
		for i, ts := range sources {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				toks[i], errs[i] = ts.Refresh(ctx, stale)
			}()
		}
		// Hold the first refresh at Sentry until the other source is surely
		// waiting for the lock (it would have sent its own request by now).
		deadline := time.Now().Add(10 * time.Second)
		for tokenRequests(fake) == before && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		if n := tokenRequests(fake) - before; n != 1 {
			t.Errorf("%d token requests reached Sentry while the first was held, want 1", n)
		}
		release()
		wg.Wait()

		for i := range 2 {
			if errs[i] != nil {
				t.Fatalf("source %d: %v", i, errs[i])
			}
		}
		if toks[0] == stale || toks[0] != toks[1] {
			t.Errorf("the sources got different or stale tokens (equal: %v, stale: %v)", toks[0] == toks[1], toks[0] == stale)
		}
		if n := fake.TokenGrants()["refresh_token"]; n != 1 {
			t.Errorf("%d refresh_token grants, want exactly 1", n)
		}
		if n := tokenRequests(fake) - before; n != 1 {
			t.Errorf("%d token requests, want 1", n)
		}
		stored, err := db2.Grant(context.Background(), g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Credential.AccessToken != toks[0] || stored.Credential.RefreshToken == cred.RefreshToken || stored.Credential.RefreshToken == "" {
			t.Error("the database does not hold the refreshed tokens")
		}
		if !stored.Updated.After(stored.Created) && !stored.Updated.Equal(stored.Created) {
			t.Errorf("Updated %v", stored.Updated)
		}
		// The refreshed token works at Sentry, the stale one no longer does.
		for tok, want := range map[string]int{toks[0]: 200, stale: 401} {
			req, _ := http.NewRequest("GET", fake.URL+"/api/0/organizations/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("token (stale: %v) answered %d, want %d", tok == stale, resp.StatusCode, want)
			}
		}
		// Both sources go on with the new token; neither refreshes again.
		for i, ts := range sources {
			if tok, err := ts.Token(context.Background()); err != nil || tok != toks[0] {
				t.Errorf("source %d Token: %v", i, err)
			}
		}
		if n := fake.TokenGrants()["refresh_token"]; n != 1 {
			t.Errorf("%d refresh_token grants after Token, want 1", n)
		}
	})
}
