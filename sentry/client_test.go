package sentry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func newTestClient(t *testing.T, h http.HandlerFunc, trusted ...string) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := NewClient(Config{BaseURL: srv.URL, Token: StaticToken("tok"), UserAgent: "sentry-mcp/test", TrustedHosts: trusted})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func TestRequestHeaders(t *testing.T) {
	var got http.Header
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		fmt.Fprint(w, `{"version":"0","auth":{"scopes":["org:read"]},"user":{"id":"1"}}`)
	})
	if _, _, err := c.Whoami(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got.Get("Authorization") != "Bearer tok" || got.Get("User-Agent") != "sentry-mcp/test" || got.Get("Accept") != "application/json" {
		t.Errorf("headers %v", got)
	}
}

func TestErrorsCarryDetailAndRateLimit(t *testing.T) {
	reset := time.Now().Add(3 * time.Second).Unix()
	tests := []struct {
		status     int
		ctype      string
		body       string
		wantDetail string
		wantCode   string
	}{
		{429, "text/html; charset=utf-8", `{"detail": "You are attempting to use this endpoint too frequently. Limit is 5 requests in 1 seconds"}`, "You are attempting to use this endpoint too frequently. Limit is 5 requests in 1 seconds", ""},
		{401, "application/json", `{"detail": {"code": "sso-required", "message": "Must login via SSO", "extra": {}}}`, "Must login via SSO", "sso-required"},
		{404, "text/plain", "Route not found, did you forget a trailing slash?\nmore", "Route not found, did you forget a trailing slash?", ""},
		{400, "application/json", `{"error":{"params":{"stats_period":{"message":"Invalid stats_period."}}}}`, `{"params":{"stats_period":{"message":"Invalid stats_period."}}}`, ""},
		{502, "text/html", "<html><body>Bad Gateway</body></html>", "", ""},
		{400, "application/json", `{"statusDetails": {"inRelease": ["Unable to find a release with the given version."]}, "status": ["\"fixed\" is not a valid choice."]}`, `status: "fixed" is not a valid choice.; statusDetails.inRelease: Unable to find a release with the given version.`, ""},
	}
	for _, tt := range tests {
		c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", tt.ctype)
			w.Header().Set("X-Sentry-Rate-Limit-Limit", "5")
			w.Header().Set("X-Sentry-Rate-Limit-Remaining", "0")
			w.Header().Set("X-Sentry-Rate-Limit-Reset", fmt.Sprint(reset))
			w.Header().Set("X-Sentry-Rate-Limit-ConcurrentLimit", "25")
			w.WriteHeader(tt.status)
			fmt.Fprint(w, tt.body)
		})
		_, _, err := c.GetIssue(context.Background(), "acme", "1")
		var se *Error
		if !errors.As(err, &se) {
			t.Fatalf("%d: %v", tt.status, err)
		}
		if se.StatusCode != tt.status || se.Detail != tt.wantDetail || se.Code != tt.wantCode {
			t.Errorf("%d: got %+v", tt.status, se)
		}
		if !se.RateLimit.Present || se.RateLimit.Limit != 5 || se.RateLimit.Reset.Unix() != reset || se.RateLimit.ConcurrentLimit != 25 {
			t.Errorf("%d: rate limit %+v", tt.status, se.RateLimit)
		}
		if se.Path != "/api/0/organizations/acme/issues/1/" {
			t.Errorf("path %q", se.Path)
		}
	}
}

func TestCancellationStopsTheUpstreamRequest(t *testing.T) {
	started := make(chan struct{})
	gone := make(chan struct{})
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // the server sees the client hang up
		close(gone)
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, _, err := c.ListOrganizations(ctx, ListOptions{}); errc <- err }()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
}

func TestRegionURLOnlyOnTrustedHosts(t *testing.T) {
	var regionHits, evilHits atomic.Int64
	region := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		regionHits.Add(1)
		fmt.Fprint(w, `[]`)
	}))
	defer region.Close()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { evilHits.Add(1) }))
	defer evil.Close()
	var mainIssueCalls atomic.Int64
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/0/organizations/":
			fmt.Fprintf(w, `[{"id":"1","slug":"good","links":{"regionUrl":%q}},{"id":"2","slug":"bad","links":{"regionUrl":%q}}]`, region.URL, evil.URL)
		default:
			mainIssueCalls.Add(1)
			fmt.Fprint(w, `[]`)
		}
	}, strings.TrimPrefix(region.URL, "http://"))
	ctx := context.Background()
	if _, _, err := c.ListOrganizations(ctx, ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ListIssues(ctx, "good", IssueListOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ListIssues(ctx, "bad", IssueListOptions{}); err != nil {
		t.Fatal(err)
	}
	if regionHits.Load() != 1 || evilHits.Load() != 0 || mainIssueCalls.Load() != 1 {
		t.Errorf("region %d, evil %d, main %d", regionHits.Load(), evilHits.Load(), mainIssueCalls.Load())
	}
}

func TestSentryIOHostRules(t *testing.T) {
	c, _ := NewClient(Config{BaseURL: "https://sentry.io"})
	for host, want := range map[string]bool{
		"https://sentry.io/x":          true,
		"https://us.sentry.io/x":       true,
		"https://acme.sentry.io/x":     true,
		"http://us.sentry.io/x":        false,
		"https://sentry.io.evil.com/x": false,
		"https://evilsentry.io/x":      false,
		"https://us.sentry.io:444/x":   false,
		"https://us.sentry.io:443/x":   true,
		"https://u:p@us.sentry.io/x":   false,
	} {
		u, _ := ParseBaseURL(strings.TrimSuffix(host, "/x"))
		if u == nil { // credentials or plain http are refused outright
			if want {
				t.Errorf("%s refused", host)
			}
			continue
		}
		if got := c.IsSentryURL(u); got != want {
			t.Errorf("IsSentryURL(%s) = %v, want %v", host, got, want)
		}
	}
}

func TestPaginationFromHeaders(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<http://x/api/0/organizations/acme/releases/?&cursor=100:-1:1>; rel="previous"; results="false"; cursor="100:-1:1", <http://x/api/0/organizations/acme/releases/?&cursor=100:1:0>; rel="next"; results="true"; cursor="100:1:0"`)
		w.Header().Set("X-Hits", "250")
		fmt.Fprint(w, `[{"version":"1.0","id":1,"projects":[{"id":1,"slug":"p"}]}]`)
	})
	rels, resp, err := c.ListReleases(context.Background(), "acme", ReleaseListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Page.NextCursor != "100:1:0" || resp.Page.PrevCursor != "" || resp.Page.Hits != 250 || rels[0].Projects[0].ID != "1" {
		t.Errorf("page %+v rels %+v", resp.Page, rels)
	}
}

func TestRedirectsStayOnTheConfiguredSentry(t *testing.T) {
	var evilHits, redirects atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		fmt.Fprint(w, `[]`)
	}))
	defer evil.Close()
	c, srv := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/0/organizations/":
			redirects.Add(1)
			http.Redirect(w, r, evil.URL+"/api/0/organizations/", http.StatusFound)
		case "/api/0/":
			http.Redirect(w, r, "/api/0/organizations/acme/projects/", http.StatusFound) // same host: fine
		default:
			if r.Header.Get("Authorization") != "Bearer tok" {
				t.Errorf("same-host redirect lost the token")
			}
			fmt.Fprint(w, `{}`)
		}
	})
	_ = srv
	if _, _, err := c.ListOrganizations(context.Background(), ListOptions{}); err == nil || !strings.Contains(err.Error(), "refusing a redirect") {
		t.Errorf("err = %v", err)
	}
	if evilHits.Load() != 0 {
		t.Error("a request followed a redirect to another host")
	}
	if redirects.Load() != 1 {
		t.Errorf("a refused redirect was retried %d times", redirects.Load()-1)
	}
	if _, _, err := c.Whoami(context.Background()); err != nil {
		t.Errorf("same-host redirect: %v", err)
	}
}
