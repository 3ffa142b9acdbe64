package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

const secretToken = "sntryu_SECRET1TOKEN1abcdef0123456789abcdef0123456789abcdef0123"

var binary, browser string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sentry-mcp-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "sentry-mcp")
	browser = filepath.Join(dir, "browser")
	for _, b := range [][]string{{"-o", binary, "../.."}, {"-o", browser, "./testdata/browser"}} {
		if out, err := exec.Command("go", append([]string{"build"}, b...)...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// command runs the built binary with a clean environment plus env.
func binCommand(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}, env...)
	return cmd
}

func fakeSentry(t *testing.T, scopes ...string) *sentrytest.Server {
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	fake.AddToken(secretToken, scopes...)
	return fake
}

// rpcPipe drives `sentry-mcp serve` over real stdio pipes.
type rpcPipe struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *syncBuffer
	nextID int
	seen   []string // notification methods read while waiting for responses
}

func (p *rpcPipe) stderrText() string { return p.stderr.String() }

// syncBuffer is a bytes.Buffer safe for the process's writer and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (p *rpcPipe) sawNotification(method string) bool { return slices.Contains(p.seen, method) }

func startServe(t *testing.T, env []string, args ...string) *rpcPipe {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := binCommand(ctx, env, append([]string{"serve"}, args...)...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &rpcPipe{t: t, cmd: cmd, in: in, out: bufio.NewScanner(out), stderr: &syncBuffer{}}
	p.out.Buffer(make([]byte, 1<<20), 8<<20)
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// request sends a JSON-RPC request and returns the response with its id;
// any stdout line that is not a JSON-RPC message fails the test.
func (p *rpcPipe) request(method string, params any) map[string]any {
	p.t.Helper()
	p.nextID++
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": p.nextID, "method": method, "params": params})
	if _, err := p.in.Write(append(msg, '\n')); err != nil {
		p.t.Fatal(err)
	}
	for p.out.Scan() {
		var resp map[string]any
		if err := json.Unmarshal(p.out.Bytes(), &resp); err != nil || resp["jsonrpc"] != "2.0" {
			p.t.Fatalf("stdout carried a non-protocol line: %q", p.out.Text())
		}
		if id, ok := resp["id"].(float64); ok && int(id) == p.nextID {
			return resp
		}
		if m, ok := resp["method"].(string); ok && resp["id"] == nil {
			p.seen = append(p.seen, m)
		}
	}
	p.t.Fatalf("no response to %s; stderr:\n%s", method, p.stderr)
	return nil
}

func (p *rpcPipe) notify(method string) {
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method})
	p.in.Write(append(msg, '\n'))
}

func TestServeOverStdio(t *testing.T) {
	fake := fakeSentry(t, "org:read", "project:read", "event:read")
	p := startServe(t, []string{"SENTRY_URL=" + fake.URL, "SENTRY_ACCESS_TOKEN=" + secretToken})
	init := p.request("initialize", map[string]any{
		"protocolVersion": "2025-06-18",
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "test", "version": "1"},
	})
	result, _ := init["result"].(map[string]any)
	if result == nil || !strings.Contains(fmt.Sprint(result["instructions"]), "event:write") {
		t.Fatalf("initialize = %v", init)
	}
	p.notify("notifications/initialized")

	list := p.request("tools/list", map[string]any{})
	var names []string
	for _, tool := range list["result"].(map[string]any)["tools"].([]any) {
		names = append(names, tool.(map[string]any)["name"].(string))
	}
	readOnly := map[string]bool{}
	for _, tl := range tools.All() {
		readOnly[tl.Name] = tl.ReadOnly
	}
	for _, n := range names {
		if !readOnly[n] {
			t.Errorf("a read-only token lists the write %s", n)
		}
	}
	if !slices.Contains(names, "list_issues") || len(names) < 10 {
		t.Errorf("event:read token lists %v", names)
	}

	call := p.request("tools/call", map[string]any{"name": "list_issues", "arguments": map[string]any{"organization": "acme", "limit": 3}})
	res := call["result"].(map[string]any)
	if res["isError"] == true || res["structuredContent"] == nil {
		t.Errorf("list_issues = %v", res)
	}
	refused := p.request("tools/call", map[string]any{"name": "resolve_issue", "arguments": map[string]any{"issue": "1"}})
	if r := refused["result"].(map[string]any); r["isError"] != true || !strings.Contains(fmt.Sprint(r["content"]), "event:write") {
		t.Errorf("resolve_issue = %v", refused)
	}

	p.in.Close() // EOF ends the server cleanly
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v; stderr:\n%s", err, p.stderr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not exit on stdin EOF")
	}
	if strings.Contains(p.stderr.String(), secretToken) {
		t.Error("the token appeared on stderr")
	}
	if !strings.Contains(p.stderr.String(), "serving MCP on stdio") {
		t.Errorf("no start-up log on stderr: %s", p.stderr)
	}
}

func TestCLI(t *testing.T) {
	fake := fakeSentry(t, "org:read", "event:read")
	env := []string{"SENTRY_URL=" + fake.URL, "SENTRY_ACCESS_TOKEN=" + secretToken}
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantCode int
		stdout   []string
		stderr   []string
	}{
		{"version", nil, []string{"--version"}, 0, []string{"sentry-mcp", "commit"}, nil},
		{"tools", env, []string{"tools"}, 0, []string{"resolve_issue", "event:write", "no: needs event:write", "list_issues", "event:read", "yes"}, nil},
		{"tools read-only env", append(env, "SENTRY_MCP_READ_ONLY=1"), []string{"tools"}, 0, []string{"no: read-only"}, nil},
		{"tools --scopes flag beats env", append(env, "SENTRY_MCP_SCOPES=org:read"), []string{"tools", "--scopes", "event:read"}, 0, []string{"Granted scopes: event:read\n"}, nil},
		{"call text", env, []string{"call", "list_projects", `{"organization":"acme"}`}, 0, []string{"backend", "frontend"}, nil},
		{"call --json", env, []string{"call", "list_projects", `{"organization":"acme"}`, "--json"}, 0, []string{`"projects": [`}, nil},
		{"call tool error exits 1", env, []string{"call", "resolve_issue", `{"issue":"1"}`}, 1, []string{"event:write"}, nil},
		{"call bad json", env, []string{"call", "whoami", `{`}, 1, nil, []string{"JSON object"}},
		{"call demo", nil, []string{"call", "--demo", "get_issue", `{"issue":"BACKEND-1","organization":"acme"}`}, 0, []string{"BACKEND-1", "Stack"}, nil},
		{"pinned org refuses others", append(env, "SENTRY_ORG=acme"), []string{"call", "list_projects", `{"organization":"acme-labs"}`}, 1, []string{"pinned"}, nil},
		{"missing token", []string{"SENTRY_URL=" + fake.URL}, []string{"call", "whoami"}, 1, nil, []string{"SENTRY_ACCESS_TOKEN", "sentry-mcp demo"}},
		{"plain http refused", []string{"SENTRY_ACCESS_TOKEN=x", "SENTRY_URL=http://sentry.example.com"}, []string{"tools"}, 1, nil, []string{"refusing plain http"}},
		{"bad scopes", env, []string{"tools", "--scopes", "org:reed"}, 1, nil, []string{"unknown scope"}},
		{"unknown command", nil, []string{"frobnicate"}, 2, nil, []string{"unknown command"}},
		{"bad timeout", append(env, "SENTRY_MCP_TIMEOUT=soon"), []string{"tools"}, 1, nil, []string{"SENTRY_MCP_TIMEOUT"}},
		{"timeout flag beats env", append(env, "SENTRY_MCP_TIMEOUT=soon"), []string{"tools", "--timeout", "5s"}, 0, []string{"list_issues"}, nil},
		{"bad refresh margin", append(env, "SENTRY_MCP_REFRESH_MARGIN=-1h"), []string{"tools"}, 1, nil, []string{"SENTRY_MCP_REFRESH_MARGIN"}},
		{"bad log level", append(env, "SENTRY_MCP_LOG_LEVEL=loud"), []string{"tools"}, 2, nil, []string{"SENTRY_MCP_LOG_LEVEL"}},
		{"bad read-only", append(env, "SENTRY_MCP_READ_ONLY=maybe"), []string{"tools"}, 1, nil, []string{"SENTRY_MCP_READ_ONLY"}},
		{"zero refresh margin flag", env, []string{"tools", "--refresh-margin", "0"}, 0, []string{"list_issues"}, nil},
		{"negative refresh margin flag", env, []string{"tools", "--refresh-margin", "-1h"}, 1, nil, []string{"--refresh-margin", "must not be negative"}},
		{"toolsets", env, []string{"tools", "--toolsets", "issues"}, 0, []string{"list_issues", "yes", "no: not selected"}, nil},
		{"exclude wins", append(env, "SENTRY_MCP_EXCLUDE_TOOLS=whoami,list_issues"), []string{"tools", "--tools", "list_issues"}, 0, []string{"no: not selected"}, nil},
		{"unknown toolset", env, []string{"tools", "--toolsets", "nope"}, 1, nil, []string{"unknown toolset \"nope\"", "orgs, issues, releases"}},
		{"unknown tool", append(env, "SENTRY_MCP_TOOLS=get_events"), []string{"tools"}, 1, nil, []string{"SENTRY_MCP_TOOLS", "unknown tool \"get_events\"", "whoami"}},
		{"call unknown tool", env, []string{"call", "list_isues"}, 1, nil, []string{"Unknown tool \"list_isues\"", "list_issues, get_issue"}},
		{"token with a control character", []string{"SENTRY_URL=" + fake.URL, "SENTRY_ACCESS_TOKEN=sntryu_ab\x01cd"}, []string{"tools"}, 1, nil, []string{"SENTRY_ACCESS_TOKEN holds blanks or control characters"}},
		{"blank token is unset", []string{"SENTRY_URL=" + fake.URL, "SENTRY_ACCESS_TOKEN=   ", "SENTRY_MCP_INSECURE_STORAGE=1"}, []string{"tools"}, 1, []string{"Not usable: not signed in"}, nil},
		{"padded token is trimmed", []string{"SENTRY_URL=" + fake.URL, "SENTRY_ACCESS_TOKEN= " + secretToken + "\n"}, []string{"call", "list_projects", `{"organization":"acme"}`}, 0, []string{"backend"}, nil},
		{"tools without credentials", []string{"SENTRY_URL=" + fake.URL, "SENTRY_MCP_INSECURE_STORAGE=1"}, []string{"tools"}, 1, []string{"whoami", "yes", "list_issues", "no: no credentials", "Not usable: not signed in"}, []string{"auth login"}},
		{"tools with a rejected token", []string{"SENTRY_URL=" + fake.URL, "SENTRY_ACCESS_TOKEN=sntryu_wrong"}, []string{"tools"}, 1, []string{"no: no credentials", "rejected"}, nil},
		{"serve --help", nil, []string{"serve", "--help"}, 0, nil, []string{"--toolsets LIST", "SENTRY_MCP_EXCLUDE_TOOLS"}},
		{"demo", nil, []string{"demo"}, 0, []string{"tools/list: 18 tools", "bytes", "Stack", "Breadcrumbs", "Headers: Accept", "Not shown: 2 other headers, cookies, environment.",
			"user: 5,310 events", "assigned to Sam Okafor, priority high", "Added comment", "is now resolved in the next release", "assigned the issue to sam@acme.example",
			"count_unique(user)", "p95(transaction.duration) (ms)", "! error: OperationalError", "Commits (13, newest first)", "(tool error) Invalid arguments"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := binCommand(ctx, tt.env, tt.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if strings.Contains(stdout.String()+stderr.String(), secretToken) {
				t.Error("the token appeared in the output")
			}
			// The tour's only tool error is the one it shows on purpose.
			if n := strings.Count(stdout.String(), "(tool error)"); tt.name == "demo" && n != 1 {
				t.Errorf("the demo has %d tool errors, want 1:\n%s", n, stdout.String())
			}
		})
	}
}

func TestServeDemo(t *testing.T) {
	p := startServe(t, nil, "--demo")
	p.request("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}})
	p.notify("notifications/initialized")
	call := p.request("tools/call", map[string]any{"name": "get_issue", "arguments": map[string]any{"issue": "FRONTEND-1", "organization": "acme"}})
	if r := call["result"].(map[string]any); r["isError"] == true || !strings.Contains(fmt.Sprint(r["content"]), "Checkout") {
		t.Errorf("get_issue on the demo = %v", call)
	}
	p.in.Close()
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("exit: %v\n%s", err, p.stderr)
	}
}

// gatedSentry is the demo fake behind a gate: issue-list requests block
// until the client gives up, so a call can be caught in flight.
func gatedSentry(t *testing.T) (url string, arrived chan struct{}, gone chan struct{}) {
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	fake.AddToken(secretToken, "org:read", "event:read")
	arrived, gone = make(chan struct{}, 10), make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/issues/") {
			arrived <- struct{}{}
			<-r.Context().Done()
			gone <- struct{}{}
			return
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, arrived, gone
}

func TestGracefulShutdownAnswersInFlightCalls(t *testing.T) {
	for _, how := range []string{"stdin EOF", "SIGINT", "SIGTERM"} {
		t.Run(how, func(t *testing.T) {
			url, arrived, gone := gatedSentry(t)
			p := startServe(t, []string{"SENTRY_URL=" + url, "SENTRY_ACCESS_TOKEN=" + secretToken})
			p.request("initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}})
			p.notify("notifications/initialized")
			msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 99, "method": "tools/call", "params": map[string]any{"name": "list_issues", "arguments": map[string]any{"organization": "acme"}}})
			p.in.Write(append(msg, '\n'))
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the call never reached Sentry")
			}
			start := time.Now()
			switch how {
			case "stdin EOF":
				p.in.Close()
			case "SIGINT":
				p.cmd.Process.Signal(os.Interrupt)
			case "SIGTERM":
				p.cmd.Process.Signal(syscall.SIGTERM)
			}
			var answered bool
			for p.out.Scan() {
				var resp map[string]any
				if err := json.Unmarshal(p.out.Bytes(), &resp); err != nil {
					t.Fatalf("non-protocol output: %q", p.out.Text())
				}
				if resp["id"] == float64(99) {
					answered = true
				}
			}
			err := p.cmd.Wait()
			elapsed := time.Since(start)
			if err != nil {
				t.Errorf("exit: %v\n%s", err, p.stderr)
			}
			// Signals cancel at once; stdin EOF first waits (bounded) for
			// in-flight calls, and this one never gets an answer from Sentry.
			limit := time.Second
			if how == "stdin EOF" {
				limit = eofGrace + time.Second
				if elapsed < eofGrace-time.Second {
					t.Errorf("stdin EOF exited after %s without waiting for the in-flight call", elapsed)
				}
			}
			if elapsed > limit {
				t.Errorf("took %s to exit", elapsed)
			}
			if !answered {
				t.Error("the in-flight call was not answered")
			}
			select {
			case <-gone:
			case <-time.After(2 * time.Second):
				t.Error("the upstream request was not cancelled")
			}
		})
	}
}

func TestToolsJSONIsTheOneList(t *testing.T) {
	r := runCmd(t, nil, "", "tools", "--demo", "--json")
	if r.code != 0 {
		t.Fatalf("tools --json: %+v", r)
	}
	var doc struct {
		Tools []struct {
			Name, Title, Toolset, Reason string
			Scopes                       []string
			ReadOnly                     bool `json:"read_only"`
			Enabled                      bool
		}
		Granted []string `json:"granted_scopes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	var names []string
	for _, tl := range doc.Tools {
		names = append(names, tl.Name)
		if tl.Title == "" || tl.Toolset == "" || !tl.Enabled || tl.Reason != "" {
			t.Errorf("demo row %+v", tl)
		}
	}
	var want []string // the inventory's order
	for _, tl := range tools.All() {
		want = append(want, tl.Name)
	}
	if strings.Join(names, ",") != strings.Join(want, ",") || len(doc.Granted) == 0 {
		t.Errorf("tools --json = %s", r.stdout)
	}
}

// TestServeWithoutCredentialsThenSignIn: serve starts with no sign-in,
// offers only whoami (which says how to sign in), and picks up a sign-in
// made later without a restart, announcing it with list_changed.
func TestServeWithoutCredentialsThenSignIn(t *testing.T) {
	fake := fakeSentry(t, "org:read", "event:read")
	config := t.TempDir()
	p := startServe(t, []string{"SENTRY_URL=" + fake.URL, "XDG_CONFIG_HOME=" + config, "SENTRY_MCP_INSECURE_STORAGE=1"})
	init := p.request("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}})
	caps, _ := init["result"].(map[string]any)["capabilities"].(map[string]any)
	if lc, _ := caps["tools"].(map[string]any)["listChanged"].(bool); !lc {
		t.Errorf("tools.listChanged not declared: %v", caps)
	}
	p.notify("notifications/initialized")
	if names := toolNames(p); strings.Join(names, ",") != "whoami" {
		t.Errorf("without credentials tools/list = %v, want only whoami", names)
	}
	who := p.request("tools/call", map[string]any{"name": "whoami", "arguments": map[string]any{}})
	if b, _ := json.Marshal(who); !strings.Contains(string(b), "auth login") || strings.Contains(string(b), `"isError":true`) {
		t.Errorf("whoami without credentials: %s", b)
	}
	refused := p.request("tools/call", map[string]any{"name": "list_issues", "arguments": map[string]any{"organization": "acme"}})
	if b, _ := json.Marshal(refused); !strings.Contains(string(b), `"isError":true`) || !strings.Contains(string(b), "not signed in") {
		t.Errorf("list_issues without credentials: %s", b)
	}
	if len(fake.Requests()) != 0 {
		t.Errorf("requests reached Sentry without credentials: %v", fake.Requests())
	}

	// Sign in from elsewhere: the credential appears in the store.
	store := auth.NewFileStore(filepath.Join(config, "sentry-mcp", "credentials.json"))
	if err := store.Save(&auth.Credential{Host: fake.URL, AccessToken: secretToken, Kind: auth.KindToken, Scopes: []string{"org:read", "event:read"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !p.sawNotification("notifications/tools/list_changed") {
		if time.Now().After(deadline) {
			t.Fatal("no notifications/tools/list_changed within 10 s of the sign-in")
		}
		p.request("ping", nil)
		time.Sleep(200 * time.Millisecond)
	}
	names := toolNames(p)
	if !slices.Contains(names, "list_issues") || slices.Contains(names, "resolve_issue") {
		t.Errorf("after sign-in tools/list = %v", names)
	}
	res := p.request("tools/call", map[string]any{"name": "list_issues", "arguments": map[string]any{"organization": "acme"}})
	if b, _ := json.Marshal(res); strings.Contains(string(b), `"isError":true`) {
		t.Errorf("list_issues after sign-in: %s", b)
	}
}

func toolNames(p *rpcPipe) []string {
	res := p.request("tools/list", map[string]any{})
	var names []string
	for _, tl := range res["result"].(map[string]any)["tools"].([]any) {
		names = append(names, tl.(map[string]any)["name"].(string))
	}
	return names
}

// TestStdinEOFAnswersQueuedCalls: a client that writes its requests and
// closes stdin gets every answer before the server exits.
func TestStdinEOFAnswersQueuedCalls(t *testing.T) {
	fake := fakeSentry(t, "org:read", "event:read")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := binCommand(ctx, []string{"SENTRY_URL=" + fake.URL, "SENTRY_ACCESS_TOKEN=" + secretToken}, "serve")
	var in bytes.Buffer
	in.WriteString(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n")
	for i := 2; i < 6; i++ {
		fmt.Fprintf(&in, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"list_issues","arguments":{"organization":"acme","limit":2}}}`+"\n", i)
	}
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	for i := 2; i < 6; i++ {
		if !strings.Contains(string(out), fmt.Sprintf(`"id":%d,"result":{"content"`, i)) {
			t.Errorf("call %d was not answered before exit:\n%s", i, out)
		}
	}
}

// TestOverlongLineIsRefused: one huge line gets a JSON-RPC error and the
// server keeps serving.
func TestOverlongLineIsRefused(t *testing.T) {
	p := startServe(t, nil, "--demo")
	p.request("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}})
	big := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami","arguments":{"x":"` + strings.Repeat("a", maxLine+10) + `"}}}` + "\n"
	go p.in.Write([]byte(big))
	if !p.out.Scan() {
		t.Fatal("no answer")
	}
	if line := p.out.Text(); !strings.Contains(line, "-32600") || !strings.Contains(line, "longer than") {
		t.Errorf("got %.300s", line)
	}
	if res := p.request("ping", nil); res["result"] == nil {
		t.Errorf("the server stopped serving: %v", res)
	}
}

// TestVersion: --version and serverInfo.version carry the build's
// version and commit: the -ldflags ones, else what the build info recorded.
func TestVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sentry-mcp")
	ldflags := "-X main.version=v9.8.7 -X main.commit=0123456789abcdef0123456789abcdef01234567"
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, "../..").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || string(out) != "sentry-mcp v9.8.7 (commit 0123456789ab)\n" {
		t.Errorf("--version = %q, %v", out, err)
	}
	cmd := exec.Command(bin, "serve", "--demo")
	cmd.Stdin = strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n")
	out, err = cmd.Output()
	if err != nil || !strings.Contains(string(out), `"serverInfo":{"name":"sentry-mcp"`) || !strings.Contains(string(out), `"version":"v9.8.7"`) {
		t.Errorf("initialize = %s, %v", out, err)
	}
	// Without -ldflags: the build info's module version, never a bare "dev".
	out, _ = exec.Command(binary, "--version").Output()
	if !strings.HasPrefix(string(out), "sentry-mcp (devel) ") && !strings.HasPrefix(string(out), "sentry-mcp v") {
		t.Errorf("--version without -ldflags = %q", out)
	}
}

// TestUnknownPinnedOrganizationIsReported: the server still starts, and
// stderr says the organization was not found.
func TestUnknownPinnedOrganizationIsReported(t *testing.T) {
	fake := fakeSentry(t, "org:read", "event:read")
	p := startServe(t, []string{"SENTRY_URL=" + fake.URL, "SENTRY_ACCESS_TOKEN=" + secretToken, "SENTRY_ORG=no-such-org"})
	p.request("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.stderrText(), "pinned organization was not found") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning on stderr:\n%s", p.stderrText())
		}
		p.request("ping", nil)
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStdinEOFWaitsForEscapedToolCalls: a method written with JSON escapes
// ("tools\/call", as PHP's json_encode does) is a tool call too, and is
// answered before exit.
func TestStdinEOFWaitsForEscapedToolCalls(t *testing.T) {
	fake := fakeSentry(t, "org:read", "event:read")
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/issues/") {
			time.Sleep(700 * time.Millisecond)
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(slow.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := binCommand(ctx, []string{"SENTRY_URL=" + slow.URL, "SENTRY_ACCESS_TOKEN=" + secretToken}, "serve")
	cmd.Stdin = strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n" +
		`{"jsonrpc":"2.0","id":"a","method":"tools\/call","params":{"name":"list_issues","arguments":{"organization":"acme","limit":1}}}` + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"id":"a","result":{"content"`) || strings.Contains(string(out), "cancelled") {
		t.Errorf("the escaped tool call was not answered:\n%s", out)
	}
}

// TestServeWithARejectedToken: only whoami, which says the token was
// rejected and what to do; a call elsewhere is refused naming the problem.
func TestServeWithARejectedToken(t *testing.T) {
	fake := fakeSentry(t, "org:read", "event:read")
	p := startServe(t, []string{"SENTRY_URL=" + fake.URL, "SENTRY_ACCESS_TOKEN=sntryu_not0a0known0token"})
	p.request("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}})
	if names := toolNames(p); strings.Join(names, ",") != "whoami" {
		t.Errorf("tools/list = %v, want only whoami", names)
	}
	who, _ := json.Marshal(p.request("tools/call", map[string]any{"name": "whoami", "arguments": map[string]any{}}))
	if !strings.Contains(string(who), "rejected the token in SENTRY_ACCESS_TOKEN") || !strings.Contains(string(who), "Auth Tokens") {
		t.Errorf("whoami: %s", who)
	}
	res, _ := json.Marshal(p.request("tools/call", map[string]any{"name": "list_issues", "arguments": map[string]any{"organization": "acme"}}))
	if !strings.Contains(string(res), `"isError":true`) || !strings.Contains(string(res), "rejected") {
		t.Errorf("list_issues: %s", res)
	}
}

// TestRejectedStoredSignInThenNewLogin: a stored token Sentry rejects
// leaves only whoami; a later sign-in is picked up without a restart and
// announced with list_changed.
func TestRejectedStoredSignInThenNewLogin(t *testing.T) {
	fake := fakeSentry(t, "org:read", "event:read")
	config := t.TempDir()
	store := auth.NewFileStore(filepath.Join(config, "sentry-mcp", "credentials.json"))
	save := func(token string) {
		t.Helper()
		if err := store.Save(&auth.Credential{Host: fake.URL, AccessToken: token, Kind: auth.KindToken, Scopes: []string{"org:read", "event:read"}}); err != nil {
			t.Fatal(err)
		}
	}
	save("sntryu_revoked0token")
	p := startServe(t, []string{"SENTRY_URL=" + fake.URL, "XDG_CONFIG_HOME=" + config, "SENTRY_MCP_INSECURE_STORAGE=1"})
	p.request("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}})
	p.notify("notifications/initialized")
	if names := toolNames(p); strings.Join(names, ",") != "whoami" {
		t.Fatalf("with a rejected stored token tools/list = %v, want only whoami", names)
	}
	save(secretToken)
	deadline := time.Now().Add(10 * time.Second)
	for !p.sawNotification("notifications/tools/list_changed") {
		if time.Now().After(deadline) {
			t.Fatalf("no list_changed within 10 s of the new sign-in; stderr:\n%s", p.stderrText())
		}
		p.request("ping", nil)
		time.Sleep(200 * time.Millisecond)
	}
	if names := toolNames(p); !slices.Contains(names, "list_issues") {
		t.Errorf("after the new sign-in tools/list = %v", names)
	}
}

// TestCallToAToolThisServerDoesNotOffer: over MCP, an excluded tool's call
// is a tool error that lists what can be called.
func TestCallToAToolThisServerDoesNotOffer(t *testing.T) {
	p := startServe(t, nil, "--demo", "--exclude-tools", "list_releases")
	p.request("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}})
	res, _ := json.Marshal(p.request("tools/call", map[string]any{"name": "list_releases", "arguments": map[string]any{"organization": "acme"}}))
	if !strings.Contains(string(res), `"isError":true`) || !strings.Contains(string(res), "Tools you can call here") || !strings.Contains(string(res), "list_issues") {
		t.Errorf("list_releases on a server without it: %s", res)
	}
}

// TestUnknownScopesListEveryTool: when Sentry cannot tell the token's
// scopes at start, every tool is listed and stderr says so.
func TestUnknownScopesListEveryTool(t *testing.T) {
	fake := fakeSentry(t, "org:read")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/0/" {
			http.Error(w, `{"detail":"Internal Error"}`, 500)
			return
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p := startServe(t, []string{"SENTRY_URL=" + srv.URL, "SENTRY_ACCESS_TOKEN=" + secretToken, "SENTRY_MCP_TIMEOUT=2s"})
	p.request("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}})
	if names := toolNames(p); len(names) != len(tools.All()) {
		t.Errorf("tools/list = %v, want every tool", names)
	}
	if !strings.Contains(p.stderrText(), "could not learn the token's scopes") {
		t.Errorf("stderr does not say so:\n%s", p.stderrText())
	}
	// Sentry's 403 then decides, worded as the missing scope.
	res, _ := json.Marshal(p.request("tools/call", map[string]any{"name": "list_issues", "arguments": map[string]any{"organization": "acme"}}))
	if !strings.Contains(string(res), `"isError":true`) || !strings.Contains(string(res), "event:read") {
		t.Errorf("list_issues without event:read: %s", res)
	}
}
