package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

const (
	testClientID     = "5f4e3d2c1b0a99887766554433221100"
	testClientSecret = "sntrya_SECRET3CLIENT3abcdef0123456789"
)

// oauthFake is a fake Sentry with an OAuth app, and a config dir that
// holds the plain-file credential store for the commands run against it.
type oauthFake struct {
	*sentrytest.Server
	config string
}

func newOAuthFake(t *testing.T, opts sentrytest.Options) *oauthFake {
	t.Helper()
	if opts.DeviceInterval == 0 {
		opts.DeviceInterval = 50 * time.Millisecond
	}
	fake := sentrytest.NewServer(sentrytest.DemoData(), opts)
	t.Cleanup(fake.Close)
	fake.AddOAuthApp(sentrytest.OAuthApp{ClientID: testClientID, ClientSecret: testClientSecret, RedirectURIs: []string{"http://127.0.0.1/callback"}})
	return &oauthFake{Server: fake, config: t.TempDir()}
}

// realKeyring is set by scripts/test-keyring.sh, which runs these tests
// inside a private D-Bus session with an unlocked gnome-keyring: then the
// commands store credentials in that real keyring, not in a file.
var realKeyring = os.Getenv("SENTRY_MCP_KEYRING_TEST") == "1"

// env is what every auth command gets: the fake's URL, the OAuth client,
// and a private config dir. Without the real keyring, credentials go to
// the file store and no session bus is passed (the keyring is not touched).
func (f *oauthFake) env(extra ...string) []string {
	env := []string{
		"SENTRY_URL=" + f.URL,
		"XDG_CONFIG_HOME=" + f.config,
		"SENTRY_CLIENT_ID=" + testClientID,
		"SENTRY_CLIENT_SECRET=" + testClientSecret,
		"BROWSER=" + browser,
	}
	if realKeyring {
		env = append(env, "DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"), "XDG_RUNTIME_DIR="+os.Getenv("XDG_RUNTIME_DIR"))
	} else {
		env = append(env, "SENTRY_MCP_INSECURE_STORAGE=1")
	}
	return append(env, extra...)
}

// store is where the commands keep the credential.
func (f *oauthFake) store() auth.Store {
	if realKeyring {
		return auth.NewKeyringStore(3 * time.Second)
	}
	return auth.NewFileStore(filepath.Join(f.config, "sentry-mcp", "credentials.json"))
}

// location is what `auth status` says about the store.
func (f *oauthFake) location() string {
	if realKeyring {
		return "Stored in:  keyring"
	}
	return "credentials.json"
}

type result struct {
	code           int
	stdout, stderr string
}

func runCmd(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := binCommand(ctx, env, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// noSecrets fails when any known secret shows in the output.
func noSecrets(t *testing.T, f *oauthFake, outputs ...string) {
	t.Helper()
	secrets := []string{testClientSecret}
	if c, err := f.store().Load(f.URL); err == nil {
		secrets = append(secrets, c.AccessToken)
		if c.RefreshToken != "" {
			secrets = append(secrets, c.RefreshToken)
		}
	}
	for _, o := range outputs {
		for _, s := range secrets {
			if strings.Contains(o, s) {
				t.Errorf("a secret appeared in the output:\n%s", o)
			}
		}
	}
}

func (f *oauthFake) stored(t *testing.T) map[string]any {
	t.Helper()
	c, err := f.store().Load(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// makeDue rewrites the stored credential to expire in an hour, inside the
// default 24 h refresh margin, as after 29 days of use.
func (f *oauthFake) makeDue(t *testing.T) {
	t.Helper()
	c, err := f.store().Load(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.Expiry = time.Now().Add(time.Hour)
	c.Obtained = time.Now().Add(-29*24*time.Hour - 23*time.Hour)
	if err := f.store().Save(c); err != nil {
		t.Fatal(err)
	}
}

func TestLoginWithBrowserThenServe(t *testing.T) {
	f := newOAuthFake(t, sentrytest.Options{})
	login := runCmd(t, f.env(), "", "auth", "login", "--scopes", "org:read,event:write", "--timeout", "20s")
	if login.code != 0 || !strings.Contains(login.stdout, "Signed in to "+f.URL+" as Dana Reyes") {
		t.Fatalf("login: %+v", login)
	}
	if !strings.Contains(login.stderr, "/oauth/authorize/?") || !strings.Contains(login.stderr, "code_challenge_method=S256") {
		t.Errorf("the authorize URL was not printed: %s", login.stderr)
	}
	cred := f.stored(t)
	if cred["refresh_token"] == "" || cred["client_secret"] != testClientSecret || cred["kind"] != "oauth" {
		t.Errorf("stored %v", cred)
	}
	file := filepath.Join(f.config, "sentry-mcp", "credentials.json")
	if fi, err := os.Stat(file); realKeyring && err == nil {
		t.Errorf("with a working keyring the credential also went to %s", file)
	} else if !realKeyring && (err != nil || fi.Mode().Perm() != 0o600) {
		t.Errorf("credential file: %v %v", fi, err)
	}

	status := runCmd(t, f.env(), "", "auth", "status")
	for _, w := range []string{"Dana Reyes", "event:write", "Refresh:    yes", f.location(), "Status:     valid"} {
		if !strings.Contains(status.stdout, w) {
			t.Errorf("status lacks %q:\n%s", w, status.stdout)
		}
	}
	// The stored grant gates the tools: event:write enables resolve_issue.
	tools := runCmd(t, f.env(), "", "tools")
	if !regexp.MustCompile(`resolve_issue\s.*yes`).MatchString(tools.stdout) || !regexp.MustCompile(`list_releases\s.*no`).MatchString(tools.stdout) {
		t.Errorf("tools with the stored grant:\n%s", tools.stdout)
	}
	// ...and says which sign-in enables the ones it hides.
	if !strings.Contains(tools.stdout, "To enable list_members, list_releases, get_release: sentry-mcp auth login --scopes triage") {
		t.Errorf("tools does not name the sign-in for the hidden tools:\n%s", tools.stdout)
	}
	call := runCmd(t, f.env(), "", "call", "list_issues", `{"organization":"acme","limit":2}`)
	if call.code != 0 {
		t.Errorf("call with the stored sign-in: %+v", call)
	}
	token := runCmd(t, f.env(), "", "auth", "token")
	if strings.TrimSpace(token.stdout) != cred["access_token"] {
		t.Errorf("auth token printed %q", token.stdout)
	}
	logout := runCmd(t, f.env(), "", "auth", "logout")
	if logout.code != 0 || !strings.Contains(logout.stdout, "Signed out") {
		t.Errorf("logout: %+v", logout)
	}
	if after := runCmd(t, f.env(), "", "auth", "status"); after.code != 1 || !strings.Contains(after.stdout, "not signed in") {
		t.Errorf("status after logout: %+v", after)
	}
	if again := runCmd(t, f.env(), "", "call", "whoami"); again.code != 1 || !strings.Contains(again.stderr, "auth login") {
		t.Errorf("call after logout: %+v", again)
	}
	noSecrets(t, f, login.stdout, login.stderr, status.stdout, status.stderr, tools.stdout, tools.stderr, call.stdout, call.stderr, logout.stdout)
}

func TestLoginErrors(t *testing.T) {
	f := newOAuthFake(t, sentrytest.Options{})
	f.AddOAuthApp(sentrytest.OAuthApp{ClientID: "narrow", ClientSecret: testClientSecret, RedirectURIs: []string{"http://127.0.0.1/callback"}, AllowedScopes: []string{"org:read"}})
	f.AddOAuthApp(sentrytest.OAuthApp{ClientID: "elsewhere", ClientSecret: testClientSecret, RedirectURIs: []string{"https://app.example/callback"}})
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"redirect URI not registered", f.env("SENTRY_CLIENT_ID=elsewhere"), nil, "redirect URI"},
		{"wrong secret", f.env("SENTRY_CLIENT_SECRET=sntrya_wrong"), nil, "SENTRY_CLIENT_SECRET"},
		{"unknown client", f.env("SENTRY_CLIENT_ID=nope"), nil, "client"},
		{"scope beyond the app", f.env("SENTRY_CLIENT_ID=narrow"), []string{"--scopes", "org:read,event:write"}, "allowed scopes"},
		{"no client id", f.env("SENTRY_CLIENT_ID="), nil, "SENTRY_CLIENT_ID"},
		{"no secret", f.env("SENTRY_CLIENT_SECRET="), nil, "SENTRY_CLIENT_SECRET"},
		{"bad scope name", f.env(), []string{"--scopes", "org:reed"}, "unknown scope"},
		{"no browser arrives", f.env("BROWSER=true"), []string{"--timeout", "1s"}, "no sign-in arrived"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t, tt.env, "", append([]string{"auth", "login", "--timeout", "20s"}, tt.args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("got %+v, want exit 1 and %q", r, tt.want)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "sentry-mcp: ") {
				t.Errorf("the error is not one clear line: %q", last)
			}
			noSecrets(t, f, r.stdout, r.stderr)
		})
	}
	f.DenyConsent(true)
	if r := runCmd(t, f.env(), "", "auth", "login", "--timeout", "20s"); r.code != 1 || !strings.Contains(r.stderr, "denied") {
		t.Errorf("denied consent: %+v", r)
	}
}

func TestLoginDevice(t *testing.T) {
	f := newOAuthFake(t, sentrytest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := binCommand(ctx, f.env("SENTRY_CLIENT_SECRET="), "auth", "login", "--device")
	cmd.Stdin = strings.NewReader(testClientSecret + "\n")
	cmd.Args = append(cmd.Args, "--client-secret-stdin")
	stderr, _ := cmd.StderrPipe()
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen bytes.Buffer
	var once sync.Once
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if m := regexp.MustCompile(`enter the code\s+([B-Z]{4}-[B-Z]{4})`).FindStringSubmatch(sc.Text()); m != nil {
			once.Do(func() {
				time.Sleep(200 * time.Millisecond) // let it poll while pending
				if err := f.ApproveDevice(m[1], true); err != nil {
					t.Error(err)
				}
			})
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("device login: %v\n%s", err, seen.String())
	}
	if !strings.Contains(stdout.String(), "Signed in") || !strings.Contains(seen.String(), f.URL+"/oauth/device/") {
		t.Errorf("stdout %s\nstderr %s", stdout.String(), seen.String())
	}
	if c := f.stored(t); c["refresh_token"] == "" || c["client_secret"] != testClientSecret {
		t.Errorf("stored %v", c)
	}
	noSecrets(t, f, stdout.String(), seen.String())
}

func TestLoginWithToken(t *testing.T) {
	f := newOAuthFake(t, sentrytest.Options{})
	f.AddToken(secretToken, "org:read", "event:read")
	r := runCmd(t, f.env(), secretToken+"\n", "auth", "login", "--with-token")
	if r.code != 0 || !strings.Contains(r.stdout, "cannot be refreshed") {
		t.Fatalf("%+v", r)
	}
	status := runCmd(t, f.env(), "", "auth", "status")
	if !strings.Contains(status.stdout, "Refresh:    no") || !strings.Contains(status.stdout, "valid") || strings.Contains(status.stdout+status.stderr+r.stdout+r.stderr, secretToken) {
		t.Errorf("status: %+v", status)
	}
	if bad := runCmd(t, f.env(), "sntryu_unknown\n", "auth", "login", "--with-token"); bad.code != 1 || !strings.Contains(bad.stderr, "Invalid token") {
		t.Errorf("bad token: %+v", bad)
	}
	// SENTRY_ACCESS_TOKEN overrides the store and is never written to it.
	other := "sntryu_ENVTOKEN0123456789abcdef0123456789abcdef0123456789abcd"
	f.AddToken(other, "org:admin")
	env := runCmd(t, f.env("SENTRY_ACCESS_TOKEN="+other), "", "auth", "status")
	if !strings.Contains(env.stdout, "environment") || strings.Contains(env.stdout, other) {
		t.Errorf("status with env token: %+v", env)
	}
	if c := f.stored(t); c["access_token"] != secretToken {
		t.Error("the environment token was written to the store")
	}
}

// TestProcessRaceRefreshesOnce starts several processes sharing one stored
// credential whose token is due for refresh. Sentry rotates both tokens on
// refresh, so without the cross-process lock all but one would fail.
func TestProcessRaceRefreshesOnce(t *testing.T) {
	const procs = 6
	f := newOAuthFake(t, sentrytest.Options{})
	if r := runCmd(t, f.env(), "", "auth", "login", "--timeout", "20s"); r.code != 0 {
		t.Fatalf("login: %+v", r)
	}
	before := f.stored(t)["access_token"]
	f.makeDue(t)
	env := f.env()
	var wg sync.WaitGroup
	results := make([]result, procs)
	start := make(chan struct{})
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			args := []string{"auth", "token"}
			if i%2 == 1 {
				args = []string{"call", "list_organizations"}
			}
			results[i] = runCmd(t, env, "", args...)
		}()
	}
	close(start)
	wg.Wait()
	after := f.stored(t)["access_token"]
	failures := 0
	for i, r := range results {
		if r.code != 0 || strings.Contains(r.stderr, "invalid_grant") || strings.Contains(r.stderr, "sign in again") {
			failures++
			t.Errorf("process %d: %+v", i, r)
		}
		if i%2 == 0 && strings.TrimSpace(r.stdout) != after {
			t.Errorf("process %d ended with another token than the stored one", i)
		}
	}
	if st := runCmd(t, env, "", "auth", "status"); st.code != 0 || !strings.Contains(st.stdout, "Status:     valid") {
		t.Errorf("after the race the stored sign-in is not valid: %+v", st)
	}
	refreshes := f.TokenGrants()["refresh_token"]
	t.Logf("process race: %d processes, %d refresh requests, %d failures", procs, refreshes, failures)
	if refreshes != 1 || after == before {
		t.Errorf("%d refresh requests reached Sentry, want exactly 1 (token changed: %v)", refreshes, after != before)
	}
}

// TestSecretsNeverLeak runs every tool and every error path through the
// real binary at debug log level, with a stored OAuth sign-in that gets
// refreshed on the way, and looks for any token or the client secret in
// everything it wrote.
func TestSecretsNeverLeak(t *testing.T) {
	f := newOAuthFake(t, sentrytest.Options{})
	// The triage preset: every tool, member lookup and writes included.
	if r := runCmd(t, f.env(), "", "auth", "login", "--scopes", "triage", "--timeout", "20s"); r.code != 0 || !strings.Contains(r.stdout, "event:write") || !strings.Contains(r.stdout, "member:read") {
		t.Fatalf("login: %+v", r)
	}
	first := f.stored(t)
	f.makeDue(t)
	env := f.env("SENTRY_MCP_LOG_LEVEL=debug")
	p := startServe(t, env)
	p.request("initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}})
	p.notify("notifications/initialized")
	var transcript strings.Builder
	call := func(name string, args map[string]any) {
		resp := p.request("tools/call", map[string]any{"name": name, "arguments": args})
		b, _ := json.Marshal(resp)
		transcript.Write(b)
	}
	every := func() {
		call("whoami", nil)
		call("list_organizations", nil)
		call("list_projects", map[string]any{"organization": "acme"})
		call("list_issues", map[string]any{"organization": "acme", "limit": 2})
		call("get_issue", map[string]any{"issue": "BACKEND-1", "organization": "acme"})
		call("resolve_issue", map[string]any{"issue": "BACKEND-1", "organization": "acme"})
		call("list_releases", map[string]any{"organization": "acme"})
		call("get_issue", map[string]any{"issue": "https://evil.example/organizations/acme/issues/1/"})
		call("list_issues", map[string]any{"organization": "../../x"})
	}
	every()
	for _, st := range []int{400, 401, 403, 404, 429, 500, 502} {
		f.FailNext(3, st, `{"detail": "injected"}`)
		every()
	}
	f.ExpireToken(f.stored(t)["access_token"].(string)) // 401, then a refresh on the 401 path
	every()
	p.in.Close()
	p.cmd.Wait()
	last := f.stored(t)
	if last["access_token"] == first["access_token"] {
		t.Fatal("the test meant to exercise refreshes, but none happened")
	}
	extra := []string{}
	for _, args := range [][]string{{"auth", "status"}, {"tools"}, {"call", "resolve_issue", `{"issue":"1"}`}, {"auth", "login", "--timeout", "1s"}} {
		r := runCmd(t, f.env("SENTRY_MCP_LOG_LEVEL=debug", "SENTRY_CLIENT_ID=nope"), "", args...)
		extra = append(extra, r.stdout, r.stderr)
	}
	everything := transcript.String() + p.stderr.String() + strings.Join(extra, "")
	for name, secret := range map[string]any{
		"first access token": first["access_token"], "first refresh token": first["refresh_token"],
		"last access token": last["access_token"], "last refresh token": last["refresh_token"],
		"client secret": testClientSecret,
	} {
		if strings.Contains(everything, secret.(string)) {
			t.Errorf("the %s appeared in the output", name)
		}
	}
	if !strings.Contains(p.stderr.String(), "sentry request") || !strings.Contains(p.stderr.String(), "refreshed the Sentry token") {
		t.Errorf("debug logs are missing, so the test proves little:\n%s", p.stderr.String())
	}
}
