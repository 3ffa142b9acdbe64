package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/hosted/secrets"
	"github.com/sentry-mcp/sentry-mcp/hosted/store"
)

func newKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// serve --http refuses to start without what it needs, and says what.
func TestServeHTTPNeeds(t *testing.T) {
	key := "SENTRY_MCP_ENCRYPTION_KEY=" + newKey()
	client := []string{"SENTRY_CLIENT_ID=abc", "SENTRY_CLIENT_SECRET=def"}
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no key", client, []string{"--http", "127.0.0.1:0"}, "set SENTRY_MCP_ENCRYPTION_KEY"},
		{"bad key", append(client, "SENTRY_MCP_ENCRYPTION_KEY=c2hvcnQ="), []string{"--http", "127.0.0.1:0"}, "SENTRY_MCP_ENCRYPTION_KEY:"},
		{"no OAuth app", []string{key}, []string{"--http", "127.0.0.1:0"}, "set SENTRY_CLIENT_ID and SENTRY_CLIENT_SECRET"},
		{"not loopback, no public URL", append(client, key), []string{"--http", "0.0.0.0:0"}, "--public-url (SENTRY_MCP_PUBLIC_URL) is required"},
		{"plain http public URL", append(client, key), []string{"--http", "127.0.0.1:0", "--public-url", "http://mcp.example.com"}, "use https"},
		{"public URL with a path", append(client, key), []string{"--http", "127.0.0.1:0", "--public-url", "https://example.com/mcp"}, "want an origin"},
		{"organization flag", append(client, key), []string{"--http", "127.0.0.1:0", "--organization", "acme"}, "/mcp/{organization}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := binCommand(ctx, append(tc.env, "XDG_DATA_HOME="+t.TempDir()), append([]string{"serve"}, tc.args...)...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Errorf("err %v, output:\n%s\nwant %q", err, out, tc.want)
			}
			if strings.Contains(string(out), "def") && strings.Contains(string(out), "SENTRY_CLIENT_SECRET=") {
				t.Errorf("the output shows the client secret:\n%s", out)
			}
		})
	}
}

var servingURL = regexp.MustCompile(`msg="serving MCP over HTTP" url=(http://\S+/mcp)`)

// startHTTP runs serve --http and returns the MCP URL it logs.
func startHTTP(t *testing.T, env []string, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if len(args) == 0 || args[0] != "--http" {
		args = append([]string{"--http", "127.0.0.1:0"}, args...)
	}
	cmd := binCommand(ctx, env, append([]string{"serve"}, args...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingURL.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	stop := func() error {
		defer cancel()
		cmd.Process.Signal(syscall.SIGTERM)
		return cmd.Wait()
	}
	select {
	case u := <-found:
		t.Cleanup(func() { stop() })
		return u, stop
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("serve --http did not say where it listens")
	}
	return "", nil
}

// serve --http --demo runs a team server on the sample Sentry with no
// configuration, challenges an unauthenticated client, and stops on SIGTERM.
func TestServeHTTPDemo(t *testing.T) {
	mcpURL, stop := startHTTP(t, []string{"XDG_DATA_HOME=" + t.TempDir()}, "--demo")
	base := strings.TrimSuffix(mcpURL, "/mcp")
	resp, err := http.Post(mcpURL, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := `Bearer resource_metadata="` + base + `/.well-known/oauth-protected-resource/mcp", scope="org:read project:read team:read event:read"`
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != want {
		t.Errorf("%d %q, want 401 %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
	}
	resp, err = http.Get(base + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if meta["issuer"] != base || meta["registration_endpoint"] != base+"/oauth/register" {
		t.Errorf("metadata %v", meta)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %v %v", path, resp, err)
		}
		if resp != nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`sentry_mcp_http_requests_total{code="401"`, "sentry_mcp_requests_total", "sentry_mcp_refreshes_total"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
}

// On loopback the public URL keeps the host of --http as written.
func TestServeHTTPLocalhost(t *testing.T) {
	mcpURL, _ := startHTTP(t, []string{"XDG_DATA_HOME=" + t.TempDir()}, "--http", "localhost:0", "--demo")
	if !strings.HasPrefix(mcpURL, "http://localhost:") {
		t.Fatalf("serving at %s, want http://localhost:PORT/mcp", mcpURL)
	}
	resp, err := http.Get(strings.TrimSuffix(mcpURL, "/mcp") + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	var prm map[string]any
	json.NewDecoder(resp.Body).Decode(&prm)
	resp.Body.Close()
	if prm["resource"] != mcpURL {
		t.Errorf("resource %v, want %s", prm["resource"], mcpURL)
	}
}

// grants list shows who is connected; grants revoke ends a sign-in; on
// SQLite and, when one is given, on PostgreSQL.
func TestGrants(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { testGrants(t, filepath.Join(t.TempDir(), "grants.db")) })
	t.Run("PostgreSQL", func(t *testing.T) {
		dsn := deployPostgres(t)
		if dsn == "" {
			t.Skip("SENTRY_MCP_TEST_POSTGRES is not set")
		}
		testGrants(t, dsn)
	})
}

func testGrants(t *testing.T, dbPath string) {
	key := newKey()
	keys, err := secrets.ParseKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), dbPath, keys)
	if err != nil {
		t.Fatal(err)
	}
	g := &store.Grant{ClientID: "smcp_client_x", ClientName: "Claude Code", Resource: "/mcp/acme", Org: "acme", Consented: []string{"org:read", "event:read"},
		Credential: &auth.Credential{Host: "https://sentry.io", AccessToken: "sentry-secret-access", RefreshToken: "sentry-secret-refresh", Kind: auth.KindOAuth,
			Scopes: []string{"event:read", "org:read"}, Expiry: time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC), User: &auth.CredentialUser{ID: "42", Name: "Jane", Email: "jane@example.com"}}}
	if err := db.CreateGrant(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	db.Close()
	env := []string{"SENTRY_MCP_ENCRYPTION_KEY=" + key}
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := binCommand(ctx, env, append([]string{"grants", "--database", dbPath}, args...)...).CombinedOutput()
		return string(out), err
	}
	out, err := run("list")
	for _, want := range []string{g.ID, "Jane <jane@example.com>", "Claude Code", "event:read org:read", "acme", "2027-01-02T03:04:05Z"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("grants list (%v) lacks %q:\n%s", err, want, out)
		}
	}
	if strings.Contains(out, "sentry-secret") {
		t.Errorf("grants list shows a token:\n%s", out)
	}
	out, err = run("--json", "list")
	var list struct{ Grants []map[string]any }
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list.Grants) != 1 || list.Grants[0]["id"] != g.ID || list.Grants[0]["organization"] != "acme" {
		t.Errorf("grants --json list: %v\n%s", err, out)
	}
	if out, err := run("revoke", "g_nope"); err == nil || !strings.Contains(out, "no grant") {
		t.Errorf("revoke unknown: %v\n%s", err, out)
	}
	if out, err := run("revoke", g.ID); err != nil || !strings.Contains(out, "Revoked "+g.ID) {
		t.Errorf("revoke: %v\n%s", err, out)
	}
	if out, _ := run("list"); !strings.Contains(out, "No one is connected") {
		t.Errorf("after revoke:\n%s", out)
	}
}
