package sentry

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// faultClient is a client with short timeouts and backoff against h.
func faultClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := NewClient(Config{BaseURL: srv.URL, Token: StaticToken("tok"), Timeout: 300 * time.Millisecond, RetryBackoff: 5 * time.Millisecond, MaxRateLimitWait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const orgsJSON = `[{"id":"1","slug":"acme","name":"Acme"}]`

// hangUp closes the connection without an answer (a reset).
func hangUp(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestUpstreamFaults(t *testing.T) {
	tests := []struct {
		name     string
		fault    func(w http.ResponseWriter, r *http.Request)
		times    int    // how many requests get the fault; later ones are answered normally
		wantErr  string // "" = the call succeeds (after retries)
		attempts int    // requests that reach the server
	}{
		{"503 once is retried", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, 1, "", 2},
		{"500 always", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			fmt.Fprint(w, `{"detail": "Internal Error", "errorId": "abc"}`)
		}, 99, "500 Internal Error", 3},
		{"502 HTML page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
		}, 99, "502 Bad Gateway", 3},
		{"connection reset once", func(w http.ResponseWriter, r *http.Request) { hangUp(w) }, 1, "", 2},
		{"connection reset always", func(w http.ResponseWriter, r *http.Request) { hangUp(w) }, 99, "failed", 3},
		{"response cut in half", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			fmt.Fprint(w, orgsJSON[:10])
			w.(http.Flusher).Flush()
			hangUp(w)
		}, 99, "reading the response", 3},
		{"never answers", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, 99, "no answer within", 1},
		{"invalid JSON", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `[{"id": "1", "slug": `) }, 99, "unexpected", 1},
		{"wrong shape", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"detail": "not a list"}`) }, 99, "unexpected", 1},
		{"gzip body", func(w http.ResponseWriter, r *http.Request) {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write([]byte(orgsJSON))
			zw.Close()
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(b.Bytes())
		}, 99, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			c := faultClient(t, func(w http.ResponseWriter, r *http.Request) {
				if int(n.Add(1)) <= tt.times {
					tt.fault(w, r)
					return
				}
				fmt.Fprint(w, orgsJSON)
			})
			start := time.Now()
			orgs, resp, err := c.ListOrganizations(context.Background(), ListOptions{})
			elapsed := time.Since(start)
			if tt.wantErr == "" {
				if err != nil || len(orgs) != 1 || orgs[0].Slug != "acme" {
					t.Fatalf("got %v, %v", orgs, err)
				}
				if resp.Attempts != tt.attempts {
					t.Errorf("attempts %d, want %d", resp.Attempts, tt.attempts)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if got := int(n.Load()); got != tt.attempts {
				t.Errorf("%d requests reached the server, want %d", got, tt.attempts)
			}
			if elapsed > 3*time.Second {
				t.Errorf("took %s: not bounded", elapsed)
			}
			if err != nil && strings.Contains(err.Error(), "<html") {
				t.Errorf("HTML in the error: %v", err)
			}
			// The next call works.
			n.Store(100)
			if _, _, err := c.ListOrganizations(context.Background(), ListOptions{}); err != nil {
				t.Errorf("next call: %v", err)
			}
		})
	}
}

func TestDNSFailureIsNotRetried(t *testing.T) {
	c, _ := NewClient(Config{BaseURL: "https://sentry.invalid", Token: StaticToken("tok"), Timeout: 5 * time.Second, RetryBackoff: time.Second})
	start := time.Now()
	_, _, err := c.Whoami(context.Background())
	elapsed := time.Since(start)
	var ne *NetworkError
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v", err)
	}
	var dns *net.DNSError
	if !errors.As(err, &dns) || !dns.IsNotFound {
		t.Skipf("this machine's resolver did not answer NXDOMAIN for .invalid (%v)", err)
	}
	if transient(err) || elapsed > 900*time.Millisecond {
		t.Errorf("an unknown host was retried (took %s)", elapsed)
	}
}

func TestPutIsRetriedAndSaysSo(t *testing.T) {
	var n atomic.Int64
	c := faultClient(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(502)
			return
		}
		fmt.Fprint(w, `{"id":"1","status":"resolved"}`)
	})
	is, resp, err := c.UpdateIssue(context.Background(), "acme", "1", IssueUpdate{Status: "resolved"})
	if err != nil || is.Status != "resolved" || resp.Attempts != 2 {
		t.Fatalf("%v %+v %v", is, resp, err)
	}
}

func TestRateLimitIsWaitedOutWhenShort(t *testing.T) {
	for _, tt := range []struct {
		name     string
		resetIn  time.Duration
		wantErr  bool
		attempts int64
	}{
		{"reset in 1s: wait and retry", time.Second, false, 2},
		{"reset in 60s: tell the agent", time.Minute, true, 1},
		{"no reset header", 0, true, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			c := faultClient(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					if tt.resetIn > 0 {
						// Sentry's reset is whole epoch seconds.
						w.Header().Set("X-Sentry-Rate-Limit-Reset", fmt.Sprint(time.Now().Add(tt.resetIn).Unix()))
						w.Header().Set("X-Sentry-Rate-Limit-Remaining", "0")
					}
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					w.WriteHeader(429)
					fmt.Fprint(w, `{"detail": "You are attempting to use this endpoint too frequently. Limit is 5 requests in 1 seconds"}`)
					return
				}
				fmt.Fprint(w, orgsJSON)
			})
			start := time.Now()
			_, resp, err := c.ListOrganizations(context.Background(), ListOptions{})
			if (err != nil) != tt.wantErr || n.Load() != tt.attempts {
				t.Fatalf("err %v, %d requests", err, n.Load())
			}
			if !tt.wantErr && (resp.RateLimitWait <= 0 || time.Since(start) > tt.resetIn+time.Second) {
				t.Errorf("waited %s in %s", resp.RateLimitWait, time.Since(start))
			}
			if tt.wantErr && time.Since(start) > 500*time.Millisecond {
				t.Errorf("a long rate limit was waited for: %s", time.Since(start))
			}
			var se *Error
			if tt.wantErr && (!errors.As(err, &se) || se.StatusCode != 429 || !strings.Contains(se.Detail, "too frequently")) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestWaitIsCancelledWithTheCall(t *testing.T) {
	c := faultClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Sentry-Rate-Limit-Reset", fmt.Sprint(time.Now().Add(1500*time.Millisecond).Unix()))
		w.WriteHeader(429)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, _, err := c.ListOrganizations(ctx, ListOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("the wait outlived the call: %s", time.Since(start))
	}
}

func TestConcurrencyLimitIsRespectedPerEndpoint(t *testing.T) {
	var inflight, peak atomic.Int64
	c := faultClient(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/issues/") {
			now := inflight.Add(1)
			defer inflight.Add(-1)
			for {
				p := peak.Load()
				if now <= p || peak.CompareAndSwap(p, now) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
			w.Header().Set("X-Sentry-Rate-Limit-ConcurrentLimit", "3")
			fmt.Fprint(w, `[]`)
			return
		}
		fmt.Fprint(w, orgsJSON) // another endpoint: no limit
	})
	ctx := context.Background()
	if _, _, err := c.ListIssues(ctx, "acme", IssueListOptions{}); err != nil { // learns the limit
		t.Fatal(err)
	}
	if got := c.limitOf("GET /api/0/organizations/%s/issues/"); got != 3 {
		t.Fatalf("learned limit %d", got)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(2)
		go func() { defer wg.Done(); c.ListIssues(ctx, "acme", IssueListOptions{}) }()
		go func() { defer wg.Done(); c.ListOrganizations(ctx, ListOptions{}) }()
	}
	wg.Wait()
	if p := peak.Load(); p > 3 {
		t.Errorf("%d requests in flight to an endpoint limited to 3", p)
	}
	if c.limitOf("GET /api/0/organizations/") != 0 {
		t.Error("a limit appeared for an endpoint that sent none")
	}
}

func TestLenientDecodingOfSelfHostedVariety(t *testing.T) {
	c := faultClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/organizations/"):
			fmt.Fprint(w, `[{"id": 7, "slug": "acme", "name": "Acme"}, {"slug": "old", "name": "Old", "links": null, "status": "active", "features": null}]`)
		case strings.HasSuffix(r.URL.Path, "/events/latest/"):
			fmt.Fprint(w, `{"eventID": "e1", "tags": [{"key": null, "value": "x"}, {"key": "env", "value": 3}], "entries": [{"type": "exception", "data": {"values": [{"type": "E", "value": null, "stacktrace": {"frames": [{"lineNo": "12", "inApp": true, "context": [[12, "x = 1"]]}]}}]}}, {"type": "unknown", "data": 5}], "release": "1.0"}`)
		default:
			fmt.Fprint(w, `{"id": 42, "shortId": "X-1", "title": 123, "count": "150", "userCount": "7", "firstSeen": null, "tags": [{"key": null, "totalValues": "3"}], "statusDetails": [], "assignedTo": "someone", "newField": {"a": [1, 2]}}`)
		}
	})
	ctx := context.Background()
	orgs, _, err := c.ListOrganizations(ctx, ListOptions{})
	if err != nil || len(orgs) != 2 || orgs[0].ID != "7" || orgs[1].Links.RegionURL != "" {
		t.Errorf("orgs %+v %v", orgs, err)
	}
	is, _, err := c.GetIssue(ctx, "acme", "42")
	if err != nil || is.ID != "42" || is.ShortID != "X-1" || is.Count != 150 || is.UserCount != 7 || is.Project.Slug != "" {
		t.Errorf("issue %+v %v", is, err)
	}
	ev, _, err := c.LatestEvent(ctx, "acme", "42")
	if err != nil || ev.EventID != "e1" {
		t.Fatalf("event %+v %v", ev, err)
	}
	ex := ev.Exceptions()
	if len(ex) != 1 || ex[0].Stacktrace.Frames[0].LineNo != 12 || ex[0].Stacktrace.Frames[0].Context[0].Code != "x = 1" {
		t.Errorf("exceptions %+v", ex)
	}
}

func TestTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&Error{StatusCode: 500}, true},
		{&Error{StatusCode: 502}, true},
		{&Error{StatusCode: 503}, true},
		{&Error{StatusCode: 504}, true},
		{&Error{StatusCode: 400}, false},
		{&Error{StatusCode: 404}, false},
		{&Error{StatusCode: 429}, false},
		{&NetworkError{Err: errors.New("connection reset by peer")}, true},
		{&NetworkError{Err: &net.DNSError{IsNotFound: true}}, false},
		{&NetworkError{Err: &net.DNSError{IsTemporary: true}}, true},
		{&NetworkError{Err: fmt.Errorf("no answer: %w", context.DeadlineExceeded)}, false},
		{&NetworkError{Err: fmt.Errorf("%w to evil", errRedirect)}, false},
		{&DecodeError{Err: errors.New("bad json")}, false},
		{context.Canceled, false},
	}
	for _, tt := range tests {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
