package e2e

// Three replicas of `sentry-mcp serve --http` sharing one PostgreSQL
// database behind a round-robin reverse proxy with no session affinity, as
// a team runs them behind its load balancer. Every replica has the same
// upstream OAuth application and encryption key; the proxy keeps the
// client's Host, the public URL's. The tests count what reaches the fake
// Sentry's token endpoint: a grant is refreshed exactly once across the
// replicas, whether it fell due or Sentry rejected its token, and a replica
// killed with SIGKILL while it holds the grant's refresh lock neither wedges
// the others nor (when Sentry had not seen its request) loses the grant.

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/sentry-mcp/sentry-mcp/hosted/store/storetest"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

const replicaCount = 3

// testDatabase creates a fresh database on the server of
// SENTRY_MCP_TEST_POSTGRES, dropped at cleanup (after every replica
// started later has stopped), and returns its URL and a connection to it
// for looking at locks. Without the variable the test is skipped, unless
// SENTRY_MCP_REQUIRE_POSTGRES=1.
func testDatabase(t *testing.T) (string, *sql.DB) {
	t.Helper()
	base := storetest.Server(t)
	if base == "" {
		t.Skip("PostgreSQL tests skipped: SENTRY_MCP_TEST_POSTGRES is not set (start one with scripts/postgres.sh)")
	}
	dsn := storetest.FreshDatabase(t, base, "sentry_mcp_e2e")
	obs, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { obs.Close() }) // before the database is dropped
	return dsn, obs
}

// rrProxy is a reverse proxy that sends each request to the next live
// replica in turn (no affinity), keeping the client's Host header.
type rrProxy struct {
	mu      sync.Mutex
	targets []*url.URL
	down    []bool
	next    int
	log     []hop // each request, in order
	tr      *http.Transport
}

type hop struct {
	Method, Path string
	Replica      int
}

func (p *rrProxy) handler() http.Handler {
	p.tr = http.DefaultTransport.(*http.Transport).Clone()
	p.tr.MaxIdleConnsPerHost = 64
	return &httputil.ReverseProxy{
		Transport: p.tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			p.mu.Lock()
			i := p.next
			for p.down[i] {
				i = (i + 1) % len(p.targets)
			}
			p.next = (i + 1) % len(p.targets)
			p.log = append(p.log, hop{pr.In.Method, pr.In.URL.Path, i})
			target := p.targets[i]
			p.mu.Unlock()
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the public URL's host, which each replica checks
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "502 bad gateway: "+err.Error(), http.StatusBadGateway)
		},
	}
}

// stop takes replica i out of the rotation, as a load balancer's health
// check does when a replica dies.
func (p *rrProxy) stop(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down[i] = true
}

// hops is the log from position from on.
func (p *rrProxy) hops(from int) []hop {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]hop(nil), p.log[min(from, len(p.log)):]...)
}

func (p *rrProxy) logLen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.log)
}

// replicaSet is the fake Sentry, the database, the replicas and the proxy.
type replicaSet struct {
	fake  *sentrytest.Server
	front *hosted // the proxy, as clients see the server: URL and Public
	nodes []*hosted
	addrs []string // each replica's own listening address
	proxy *rrProxy
	dbURL string
	obs   *sql.DB
	env   []string

	mu       sync.Mutex
	issued   map[string][]string // access tokens the fake issued, by grant type
	onIssued func(grantType string)
}

// startReplicas starts the fake (with opts), a fresh database, three
// replicas with extra flags, and the proxy in front of them.
func startReplicas(t *testing.T, opts sentrytest.Options, extra ...string) *replicaSet {
	t.Helper()
	dbURL, obs := testDatabase(t)
	fake := sentrytest.NewServer(sentrytest.DemoData(), opts)
	t.Cleanup(fake.Close)
	s := &replicaSet{fake: fake, dbURL: dbURL, obs: obs, issued: map[string][]string{}}
	fake.EditTokenResponses(func(grantType string, body map[string]any) {
		s.mu.Lock()
		if tok, ok := body["access_token"].(string); ok {
			s.issued[grantType] = append(s.issued[grantType], tok)
		}
		f := s.onIssued
		s.mu.Unlock()
		if f != nil {
			f(grantType)
		}
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	clientID, secret, key := randomHex(16), randomHex(32), make([]byte, 32)
	rand.Read(key)
	encKey := base64.StdEncoding.EncodeToString(key)
	fake.AddOAuthApp(sentrytest.OAuthApp{ClientID: clientID, ClientSecret: secret, RedirectURIs: []string{public + "/oauth/callback"}})
	s.env = []string{"SENTRY_CLIENT_ID=" + clientID, "SENTRY_CLIENT_SECRET=" + secret, "SENTRY_MCP_ENCRYPTION_KEY=" + encKey}

	s.proxy = &rrProxy{down: make([]bool, replicaCount)}
	for i := range replicaCount {
		addr := freeAddr(t)
		args := append([]string{"--http", addr, "--public-url", public, "--url", fake.URL, "--database", dbURL}, extra...)
		h := startHosted(t, args, s.env)
		h.secrets = append(h.secrets, secret, encKey)
		if want := public + "/mcp"; h.URL != want {
			t.Fatalf("replica %d serves at %s, want %s", i+1, h.URL, want)
		}
		s.nodes = append(s.nodes, h)
		s.addrs = append(s.addrs, addr)
		s.proxy.targets = append(s.proxy.targets, &url.URL{Scheme: "http", Host: addr})
	}
	srv := &http.Server{Handler: s.proxy.handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		// A replica's graceful shutdown waits up to 5 s for connections
		// on which no request came yet (spare ones the transport dialled).
		s.proxy.tr.CloseIdleConnections()
	})
	s.front = &hosted{URL: public + "/mcp", Public: public}
	return s
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// tokens issued by the fake for grantType so far.
func (s *replicaSet) tokensIssued(grantType string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued[grantType]...)
}

// setOnIssued runs f (under the fake's lock: it must not call the fake)
// for every successful token response, after Sentry's tables changed and
// before the response is written.
func (s *replicaSet) setOnIssued(f func(grantType string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onIssued = f
}

// signIn signs one user in through the proxy with the Go SDK's auth
// handler and returns the MCP access token. Its steps (consent page,
// consent POST, Sentry's redirect to the callback, token exchange) land on
// different replicas.
func (s *replicaSet) signIn(t *testing.T, ctx context.Context) string {
	t.Helper()
	from := s.proxy.logLen()
	b := newBrowser(s.front, s.fake.URL, "http://127.0.0.1:47614/callback")
	c := newSDKClient(t, b, "sentry-mcp e2e (replicas)", nil)
	c.connect(t, ctx, s.front.URL)
	// The browser's consent page, consent POST and callback follow one
	// another through the proxy, so each lands on another replica.
	by := map[string]int{}
	var steps []string
	for _, h := range s.proxy.hops(from) {
		if strings.HasPrefix(h.Path, "/oauth/") {
			by[h.Method+" "+h.Path] = h.Replica
			steps = append(steps, fmt.Sprintf("%s %s → replica %d", h.Method, h.Path, h.Replica+1))
		}
	}
	page, post, callback := by["GET /oauth/authorize"], by["POST /oauth/authorize"], by["GET /oauth/callback"]
	if len(steps) < 5 || page == post || post == callback {
		t.Fatalf("the sign-in's consent page, consent POST and callback were not served by different replicas: %q", steps)
	}
	if len(s.tokensIssued("authorization_code")) != 1 {
		t.Fatalf("the fake issued %d tokens by authorization_code, want 1", len(s.tokensIssued("authorization_code")))
	}
	return c.tokens.current().AccessToken
}

// refreshRequests counts the refresh_token requests that reached the
// fake's token endpoint (answered or not).
func (s *replicaSet) refreshRequests() int {
	n := 0
	for _, r := range s.fake.Requests() {
		if r.Path == "/oauth/token/" {
			if v, err := url.ParseQuery(string(r.Body)); err == nil && v.Get("grant_type") == "refresh_token" {
				n++
			}
		}
	}
	return n
}

// heldRowLocks counts the sessions (other than ours) holding a row lock
// (SELECT ... FOR UPDATE) on the grants table of the replicas' database.
func (s *replicaSet) heldRowLocks(t *testing.T) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int
	err := s.obs.QueryRowContext(ctx, `SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE c.relname = 'grants' AND l.mode = 'RowShareLock' AND l.granted AND l.pid <> pg_backend_pid()`).Scan(&n)
	if err != nil {
		t.Fatalf("reading pg_locks: %v", err)
	}
	return n
}

// grantNeedsSignIn is needs_sign_in of the only grant in `sentry-mcp
// grants list --json` on the replicas' database.
func (s *replicaSet) grantNeedsSignIn(t *testing.T) bool {
	t.Helper()
	cmd := exec.Command(binary, "grants", "list", "--json", "--database", s.dbURL)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, s.env...)
	out, err := cmd.Output()
	var list struct {
		Grants []struct {
			NeedsSignIn bool `json:"needs_sign_in"`
		}
	}
	if err == nil {
		err = json.Unmarshal(out, &list)
	}
	if err != nil || len(list.Grants) != 1 {
		t.Fatalf("sentry-mcp grants list --json: %v, %d grants: %s", err, len(list.Grants), out)
	}
	return list.Grants[0].NeedsSignIn
}

// noSecretsLogged checks every replica's log for the tokens of the test.
func (s *replicaSet) noSecretsLogged(t *testing.T, secrets ...string) {
	t.Helper()
	for _, tokens := range s.issued {
		secrets = append(secrets, tokens...)
	}
	for _, h := range s.nodes {
		h.noSecretsLogged(t, secrets...)
	}
}

// callResult is one raw tools/call over HTTP.
type callResult struct {
	err    error
	status int
	header http.Header
	rpcErr string
	tool   toolResult
	took   time.Duration
}

func (r callResult) ok() bool {
	return r.err == nil && r.status == http.StatusOK && r.rpcErr == "" && !r.tool.IsError
}

func (r callResult) String() string {
	switch {
	case r.err != nil:
		return "error: " + r.err.Error()
	case r.status != http.StatusOK:
		return fmt.Sprintf("HTTP %d (WWW-Authenticate %q)", r.status, r.header.Get("WWW-Authenticate"))
	case r.rpcErr != "":
		return "JSON-RPC error: " + r.rpcErr
	case r.tool.IsError:
		var b strings.Builder
		for _, c := range r.tool.Content {
			b.WriteString(c.Text)
		}
		return "tool error: " + b.String()
	}
	return "ok"
}

// call POSTs one tools/call of tool as a raw JSON-RPC request (the server
// is stateless: no initialize is needed) to endpoint, with the public
// URL's Host.
func (s *replicaSet) call(ctx context.Context, endpoint, bearer, tool string, id int) callResult {
	start := time.Now()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{"name": tool, "arguments": map[string]any{}}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return callResult{err: err}
	}
	req.Host = strings.TrimPrefix(s.front.Public, "http://")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return callResult{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	r := callResult{err: err, status: resp.StatusCode, header: resp.Header, took: time.Since(start)}
	if err != nil || resp.StatusCode != http.StatusOK {
		return r
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		var last []byte
		for _, line := range bytes.Split(raw, []byte("\n")) {
			if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
				last = bytes.TrimSpace(d)
			}
		}
		raw = last
	}
	var m message
	if err := json.Unmarshal(raw, &m); err != nil {
		r.err = fmt.Errorf("not a JSON-RPC response: %.300q", raw)
		return r
	}
	if m.Error != nil {
		r.rpcErr = fmt.Sprintf("%d %s", m.Error.Code, m.Error.Message)
		return r
	}
	if err := json.Unmarshal(m.Result, &r.tool); err != nil {
		r.err = fmt.Errorf("not a tools/call result: %.300q", raw)
	}
	return r
}

// burst makes n concurrent calls of tool through the proxy, released at
// once, and returns the results and the replicas that served them.
func (s *replicaSet) burst(t *testing.T, ctx context.Context, n int, bearer, tool string) ([]callResult, map[int]int) {
	t.Helper()
	from := s.proxy.logLen()
	results := make([]callResult, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			results[i] = s.call(cctx, s.front.URL, bearer, tool, 100+i)
		}()
	}
	close(start)
	wg.Wait()
	by := map[int]int{}
	for _, h := range s.proxy.hops(from) {
		if h.Path == "/mcp" {
			by[h.Replica]++
		}
	}
	return results, by
}

// wantAllOK fails for every call that did not succeed.
func wantAllOK(t *testing.T, what string, results []callResult) {
	t.Helper()
	failed := 0
	for i, r := range results {
		if !r.ok() {
			failed++
			if failed <= 5 {
				t.Errorf("%s: call %d: %s", what, i, r)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%s: %d of %d calls failed, want 0", what, failed, len(results))
	}
}

// wantSpread fails unless every live replica served some of the calls.
func wantSpread(t *testing.T, what string, by map[int]int, live ...int) {
	t.Helper()
	for _, i := range live {
		if by[i] == 0 {
			t.Errorf("%s: replica %d served none of the calls (%v): the proxy does not rotate", what, i+1, by)
		}
	}
}

// waitUntil polls cond every 10 ms for up to d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", d, what)
		}
	}
}

// usesOnly checks that the last n requests to Sentry's API carried token.
func usesOnly(t *testing.T, fake *sentrytest.Server, n int, token, what string) {
	t.Helper()
	var api []sentrytest.Request
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, "/api/") {
			api = append(api, r)
		}
	}
	if len(api) < n {
		t.Fatalf("%s: %d requests reached Sentry's API, want at least %d", what, len(api), n)
	}
	for _, r := range api[len(api)-n:] {
		if r.Authorization != "Bearer "+token {
			t.Errorf("%s: %s %s reached Sentry with another token than the refreshed one", what, r.Method, r.Path)
		}
	}
}

// TestReplicasRefreshOnce: 50 concurrent calls through the proxy, on a
// grant whose Sentry token is due for refresh (by the margin) or that
// Sentry rejects (401), refresh it exactly once across the three replicas,
// and none of them fails.
func TestReplicasRefreshOnce(t *testing.T) {
	// Long enough that signing in and the first calls end before half of
	// it, also on a busy CI machine under the race detector.
	const lifetime = 14 * time.Second
	tests := []struct {
		name  string
		opts  sentrytest.Options
		flags []string
		// stale makes the grant's Sentry token need a refresh.
		stale func(s *replicaSet, signedIn time.Time)
	}{
		{
			name: "due by the margin",
			// --refresh-margin 24h is capped at half the token's lifetime.
			opts: sentrytest.Options{TokenLifetime: lifetime}, flags: []string{"--refresh-margin", "24h"},
			stale: func(s *replicaSet, signedIn time.Time) {
				time.Sleep(time.Until(signedIn.Add(lifetime/2 + 300*time.Millisecond)))
			},
		},
		{
			name: "rejected by Sentry",
			stale: func(s *replicaSet, _ time.Time) {
				s.fake.ExpireToken(s.tokensIssued("authorization_code")[0])
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxTimeout(t, 60*time.Second)
			s := startReplicas(t, tt.opts, tt.flags...)
			bearer := s.signIn(t, ctx)
			signedIn := time.Now()
			old := s.tokensIssued("authorization_code")[0]

			tt.stale(s, signedIn)
			start := time.Now()
			results, by := s.burst(t, ctx, 50, bearer, "whoami")
			t.Logf("50 calls in %v, by replica %v", time.Since(start).Round(time.Millisecond), by)
			wantAllOK(t, "50 concurrent calls", results)
			wantSpread(t, "50 concurrent calls", by, 0, 1, 2)

			// An early refresh runs in the background: let it finish.
			waitUntil(t, 10*time.Second, "the grant is refreshed", func() bool { return s.fake.TokenGrants()["refresh_token"] >= 1 })
			time.Sleep(300 * time.Millisecond)
			if g, n := s.fake.TokenGrants()["refresh_token"], s.refreshRequests(); g != 1 || n != 1 {
				t.Errorf("Sentry answered %d refresh_token grants to %d requests, want exactly 1 refresh", g, n)
			}
			used := 0
			for _, r := range s.fake.Requests() {
				if r.Authorization == "Bearer "+old {
					used++
				}
			}
			if used == 0 {
				t.Errorf("no call reached Sentry with the stale token: the test did not exercise the refresh")
			}
			// Every replica now calls Sentry with the refreshed token.
			refreshed := s.tokensIssued("refresh_token")
			if len(refreshed) != 1 {
				t.Fatalf("%d refreshed tokens", len(refreshed))
			}
			results, by = s.burst(t, ctx, replicaCount, bearer, "whoami")
			wantAllOK(t, "calls after the refresh", results)
			wantSpread(t, "calls after the refresh", by, 0, 1, 2)
			usesOnly(t, s.fake, replicaCount, refreshed[0], "calls after the refresh")
			if g := s.fake.TokenGrants()["refresh_token"]; g != 1 {
				t.Errorf("%d refresh_token grants after the calls that followed, want still 1", g)
			}
			if s.grantNeedsSignIn(t) {
				t.Errorf("the grant is marked for sign-in after a good refresh")
			}
			s.noSecretsLogged(t, bearer)
		})
	}
}

// TestReplicasSIGKILLHoldingRefreshLock: replica 1 takes the grant's
// refresh lock (a PostgreSQL row lock in an open transaction) and is killed
// with SIGKILL while its token request is in flight.
func TestReplicasSIGKILLHoldingRefreshLock(t *testing.T) {
	// A Sentry token rejected with 401 makes the call wait for the refresh.
	setup := func(t *testing.T, ctx context.Context) (*replicaSet, string, string) {
		s := startReplicas(t, sentrytest.Options{})
		bearer := s.signIn(t, ctx)
		// Every replica has loaded the grant and served a call with it.
		results, by := s.burst(t, ctx, replicaCount, bearer, "whoami")
		wantAllOK(t, "calls before the kill", results)
		wantSpread(t, "calls before the kill", by, 0, 1, 2)
		old := s.tokensIssued("authorization_code")[0]
		return s, bearer, old
	}
	// stallRefresh sends a call straight to replica 1 (not through the
	// proxy) after Sentry starts rejecting the token, so that replica 1
	// is the one to refresh; the call dies with it.
	stallRefresh := func(t *testing.T, ctx context.Context, s *replicaSet, bearer, old string) <-chan callResult {
		s.fake.ExpireToken(old)
		done := make(chan callResult, 1)
		go func() { done <- s.call(ctx, "http://"+s.addrs[0]+"/mcp", bearer, "whoami", 1) }()
		return done
	}
	kill := func(t *testing.T, s *replicaSet, done <-chan callResult) {
		t.Helper()
		s.nodes[0].kill()
		s.proxy.stop(0)
		if r := waitFor(t, done, 10*time.Second, "the call to the killed replica to end"); r.err == nil {
			t.Errorf("the call to the killed replica was answered: %s", r)
		}
	}

	t.Run("before its token request reached Sentry", func(t *testing.T) {
		ctx := ctxTimeout(t, 60*time.Second)
		s, bearer, old := setup(t, ctx)
		release := s.fake.HoldTokenRequests()
		defer release()
		done := stallRefresh(t, ctx, s, bearer, old)
		waitUntil(t, 10*time.Second, "replica 1's token request is held", func() bool { return s.fake.HeldTokenRequests() == 1 })
		if n := s.heldRowLocks(t); n != 1 {
			t.Fatalf("%d sessions hold a row lock on grants while replica 1 refreshes, want 1 (its open transaction)", n)
		}

		kill(t, s, done)
		// Its connections closed: the fake drops the held request (it
		// never reached Sentry) and PostgreSQL aborts the transaction.
		waitUntil(t, 5*time.Second, "the fake drops the killed replica's token request", func() bool { return s.fake.HeldTokenRequests() == 0 })
		waitUntil(t, 5*time.Second, "PostgreSQL releases the killed replica's lock", func() bool { return s.heldRowLocks(t) == 0 })
		release()
		if g := s.fake.TokenGrants()["refresh_token"]; g != 0 {
			t.Fatalf("%d refresh_token grants before the others refresh, want 0", g)
		}

		// Replicas 2 and 3 refresh once and serve every call.
		start := time.Now()
		results, by := s.burst(t, ctx, 20, bearer, "whoami")
		wantAllOK(t, "calls after the kill", results)
		wantSpread(t, "calls after the kill", by, 1, 2)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("the calls after the kill took %v: they waited for a lock nobody holds", d)
		}
		if g, n := s.fake.TokenGrants()["refresh_token"], s.refreshRequests(); g != 1 || n != 2 {
			t.Errorf("Sentry answered %d refresh_token grants to %d requests, want 1 answered after the killed replica's unanswered one", g, n)
		}
		// The grant stays usable.
		refreshed := s.tokensIssued("refresh_token")
		results, _ = s.burst(t, ctx, 4, bearer, "list_organizations")
		wantAllOK(t, "later calls", results)
		if len(refreshed) == 1 {
			usesOnly(t, s.fake, 4, refreshed[0], "later calls")
		}
		if s.grantNeedsSignIn(t) {
			t.Errorf("the grant is marked for sign-in, want usable")
		}
		s.noSecretsLogged(t, bearer)
	})

	t.Run("after Sentry rotated the tokens", func(t *testing.T) {
		ctx := ctxTimeout(t, 60*time.Second)
		s, bearer, old := setup(t, ctx)
		rotated, proceed := make(chan struct{}, 1), make(chan struct{})
		var once sync.Once
		s.setOnIssued(func(grantType string) {
			if grantType != "refresh_token" {
				return
			}
			once.Do(func() {
				rotated <- struct{}{}
				select { // the fake's lock is held: never for long
				case <-proceed:
				case <-time.After(10 * time.Second):
				}
			})
		})
		defer func() {
			select {
			case <-proceed:
			default:
				close(proceed)
			}
		}()
		done := stallRefresh(t, ctx, s, bearer, old)
		waitFor(t, rotated, 10*time.Second, "Sentry to rotate the tokens for replica 1")
		if n := s.heldRowLocks(t); n != 1 {
			t.Errorf("%d sessions hold a row lock on grants while replica 1 refreshes, want 1", n)
		}
		// Killed after the rotation, before the answer: the new tokens
		// die with the process.
		kill(t, s, done)
		close(proceed)
		waitUntil(t, 5*time.Second, "PostgreSQL releases the killed replica's lock", func() bool { return s.heldRowLocks(t) == 0 })

		// Every request gets 401 with the challenge (also the one that
		// finds Sentry refusing the grant), and none hangs.
		for i := range 6 {
			cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			r := s.call(cctx, s.front.URL, bearer, "whoami", 10+i)
			cancel()
			t.Logf("call %d after the kill: %s (%v)", i+1, r, r.took.Round(time.Millisecond))
			switch {
			case r.err != nil:
				t.Fatalf("call %d after the kill: %s (after %v)", i+1, r, r.took)
			case r.ok():
				t.Fatalf("call %d after the kill succeeded: the lost tokens came back?", i+1)
			default:
				wantChallenge(t, s.front, &http.Response{StatusCode: r.status, Header: r.header}, fmt.Sprintf("call %d after the kill", i+1))
			}
		}
		if !s.grantNeedsSignIn(t) {
			t.Errorf("the grant is not marked for sign-in after Sentry refused its refresh")
		}
		if g, n := s.fake.TokenGrants()["refresh_token"], s.refreshRequests(); g != 1 || n != 2 {
			t.Errorf("Sentry answered %d refresh_token grants to %d requests, want the lost rotation and one refused attempt", g, n)
		}
		s.noSecretsLogged(t, bearer)
	})
}
