package e2e

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
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

const token = "sntryu_e2e0token0abcdef0123456789abcdef0123456789abcdef0123456789"

// demoScopes is the demo token's grant: every tool is enabled.
var demoScopes = []string{"org:read", "project:read", "project:releases", "team:read", "member:read", "event:write"}

var binary string

// allTools is every tool sentry-mcp has, sorted, from `sentry-mcp tools
// --json` (the one list); a listed tool missing there fails.
var allTools []string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sentry-mcp-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "sentry-mcp")
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/sentry-mcp/sentry-mcp").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	out, err := exec.Command(binary, "tools", "--demo", "--json").Output()
	var list struct{ Tools []struct{ Name string } }
	if err == nil {
		err = json.Unmarshal(out, &list)
	}
	if err != nil || len(list.Tools) == 0 {
		fmt.Fprintf(os.Stderr, "sentry-mcp tools --demo --json: %v\n%s", err, out)
		os.Exit(1)
	}
	for _, t := range list.Tools {
		allTools = append(allTools, t.Name)
	}
	slices.Sort(allTools)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// upstream is a fake Sentry behind a gate: a list_issues call whose query
// starts with "gate" is held until its request context ends (the client
// went away) or release is closed.
type upstream struct {
	*sentrytest.Server
	URL string

	mu       sync.Mutex
	started  chan string // query of each gated request, when it arrives
	ended    chan string // query of each gated request whose context ended
	release  chan struct{}
	released bool
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	t.Cleanup(fake.Close)
	fake.AddToken(token, demoScopes...)
	u := &upstream{Server: fake, started: make(chan string, 16), ended: make(chan string, 16), release: make(chan struct{})}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query().Get("query"); strings.HasPrefix(q, "gate") {
			u.started <- q
			select {
			case <-r.Context().Done():
				u.ended <- q
				return
			case <-u.release:
			case <-time.After(20 * time.Second):
			}
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		u.open()
		ts.Close()
	})
	u.URL = ts.URL
	return u
}

// open lets every held request through.
func (u *upstream) open() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.released {
		close(u.release)
		u.released = true
	}
}

func (u *upstream) env() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "SENTRY_URL=" + u.URL, "SENTRY_ACCESS_TOKEN=" + token}
}

func waitFor[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
	var zero T
	return zero
}

// message is one JSON-RPC 2.0 message as the server wrote it.
type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
	raw string
}

// toolResult is the part of a tools/call result the tests look at.
type toolResult struct {
	IsError           bool            `json:"isError"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	Content           []struct {
		Type, Text string
	} `json:"content"`
}

func (m message) tool(t *testing.T) toolResult {
	t.Helper()
	var r toolResult
	if m.Error != nil || json.Unmarshal(m.Result, &r) != nil {
		t.Fatalf("not a tools/call result: %s", m.raw)
	}
	return r
}

// pipe drives `sentry-mcp serve` over real stdio pipes with raw JSON-RPC
// lines. Every line the server writes is checked to be a JSON-RPC 2.0
// message; anything else fails the test.
type pipe struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	stderr *bytes.Buffer
	msgs   chan message
	done   chan struct{} // closed when stdout ends
	exited chan struct{} // closed when the process has exited
	err    error         // its Wait result, once exited is closed

	mu  sync.Mutex
	bad []string // stdout lines that were not JSON-RPC
}

func startPipe(t *testing.T, env []string) *pipe {
	t.Helper()
	cmd := exec.Command(binary, "serve")
	cmd.Env = env
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &pipe{t: t, cmd: cmd, in: in, stderr: &bytes.Buffer{}, msgs: make(chan message, 256), done: make(chan struct{}), exited: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: p.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			line := sc.Text()
			var m message
			if err := json.Unmarshal([]byte(line), &m); err != nil || !validMessage(m) {
				p.mu.Lock()
				p.bad = append(p.bad, line)
				p.mu.Unlock()
				continue
			}
			m.raw = line
			p.msgs <- m
		}
	}()
	go func() {
		<-p.done
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.in.Close()
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			t.Errorf("the server did not exit within 5s of stdin closing")
			cmd.Process.Kill()
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.bad) > 0 {
			t.Errorf("stdout carried %d line(s) that are not JSON-RPC 2.0 messages: %q", len(p.bad), p.bad)
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", p.stderr)
		}
	})
	return p
}

// validMessage: jsonrpc "2.0" and either a request/notification (method)
// or a response (id, with exactly one of result and error).
func validMessage(m message) bool {
	if m.JSONRPC != "2.0" {
		return false
	}
	if m.Method != "" {
		return m.Result == nil && m.Error == nil
	}
	return m.ID != nil && (m.Result != nil) != (m.Error != nil)
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// send writes one raw line.
func (p *pipe) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		p.t.Fatalf("write %q: %v", line, err)
	}
}

// sendJSON writes one message.
func (p *pipe) sendJSON(v any) {
	p.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		p.t.Fatal(err)
	}
	p.send(string(b))
}

func (p *pipe) request(id any, method string, params any) {
	p.t.Helper()
	m := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		m["params"] = params
	}
	p.sendJSON(m)
}

func (p *pipe) callTool(id any, name string, args any) {
	p.t.Helper()
	p.request(id, "tools/call", map[string]any{"name": name, "arguments": args})
}

// next returns the next message the server wrote.
func (p *pipe) next(d time.Duration) message {
	p.t.Helper()
	select {
	case m := <-p.msgs:
		return m
	case <-p.done:
		select {
		case m := <-p.msgs:
			return m
		default:
		}
		p.t.Fatalf("stdout closed while waiting for a message; stderr:\n%s", p.stderr)
	case <-time.After(d):
		p.t.Fatalf("no message within %v", d)
	}
	return message{}
}

// none asserts the server writes nothing for d.
func (p *pipe) none(d time.Duration) {
	p.t.Helper()
	select {
	case m := <-p.msgs:
		p.t.Fatalf("unexpected message: %s", m.raw)
	case <-time.After(d):
	}
}

// initialize performs the handshake at version.
func (p *pipe) initialize(version string) message {
	p.t.Helper()
	p.request("init", "initialize", map[string]any{
		"protocolVersion": version,
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "e2e-raw", "version": "1"},
	})
	m := p.next(10 * time.Second)
	if string(m.ID) != `"init"` || m.Error != nil {
		p.t.Fatalf("initialize: %s", m.raw)
	}
	p.sendJSON(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
	return m
}

// ping checks the server still answers.
func (p *pipe) ping(id string) {
	p.t.Helper()
	p.request(id, "ping", nil)
	m := p.next(5 * time.Second)
	if string(m.ID) != fmt.Sprintf("%q", id) || m.Error != nil {
		p.t.Fatalf("ping %s answered %s", id, m.raw)
	}
}

// wait waits up to d for the process to exit and returns its Wait result.
func (p *pipe) wait(d time.Duration) error {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(d):
		p.t.Fatalf("the process did not exit within %v", d)
	}
	return nil
}

func idOf(m message) string { return strings.Trim(string(m.ID), `"`) }

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
