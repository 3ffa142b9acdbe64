// Package bench measures an MCP server for Sentry as an agent's host sees
// it: a process spoken to in JSON-RPC lines over stdio, in front of the fake
// Sentry of sentry/sentrytest. The same harness measures sentry-mcp and
// Sentry's own @sentry/mcp-server, so the two are compared on the same fake,
// the same machine and the same client.
//
// The client here is deliberately thin (one write and one line read per
// call, responses matched by id), so what is measured is the server.
//
// Entry points: the Go benchmarks in bench_test.go (`go test -bench . ./bench`)
// and the report in cmd/mcpbench, which scripts/bench.sh runs.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

// Token is the bearer token the fake accepts.
const Token = "sntryu_bench0token0abcdef0123456789abcdef0123456789abcdef01234567"

// Scopes is the token's grant: every tool of either server is enabled.
var Scopes = []string{"org:read", "project:read", "project:releases", "team:read", "member:read", "event:write"}

// Fake is a fresh fake Sentry on demo data: in this process (NewFake) or
// in its own (StartFake, cmd/fakesentry), so that its work does not share
// the measuring client's CPU time and garbage collector.
type Fake struct {
	URL   string // http://127.0.0.1:PORT
	Host  string // 127.0.0.1:PORT
	Token string

	requests func() ([]Upstream, error)
	close    func()
}

// Upstream is one request a fake received.
type Upstream struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query"`
	Status int    `json:"status"` // 0 when not known (in-process fake)
}

// NewFake starts a fake Sentry in this process. Rate limits are reported
// in headers, as sentry.io does, but not enforced.
func NewFake() *Fake {
	s := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	s.AddToken(Token, Scopes...)
	return &Fake{
		URL: s.URL, Host: strings.TrimPrefix(s.URL, "http://"), Token: Token,
		requests: func() ([]Upstream, error) {
			var out []Upstream
			for _, r := range s.Requests() {
				out = append(out, Upstream{Method: r.Method, Path: r.Path, Query: r.RawQuery})
			}
			return out, nil
		},
		close: s.Close,
	}
}

// StartFake runs cmd/fakesentry (built at bin) as its own process.
func StartFake(bin string) (*Fake, error) {
	cmd := exec.Command(bin, "-token", Token, "-scopes", strings.Join(Scopes, ","), "-exit-on-eof")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return nil, fmt.Errorf("fakesentry: %v", err)
	}
	var u, tok string
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "URL="); ok {
			u = v
		} else if v, ok := strings.CutPrefix(f, "TOKEN="); ok {
			tok = v
		}
	}
	if u == "" || tok != Token {
		stop()
		return nil, fmt.Errorf("fakesentry printed %q", line)
	}
	f := &Fake{URL: u, Host: strings.TrimPrefix(u, "http://"), Token: tok, close: stop}
	f.requests = func() ([]Upstream, error) {
		resp, err := http.Get(u + "/__fakesentry/requests")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var reqs []Upstream
		return reqs, json.NewDecoder(resp.Body).Decode(&reqs)
	}
	return f, nil
}

// Requests are the requests the fake received so far.
func (f *Fake) Requests() ([]Upstream, error) { return f.requests() }

// Close stops the fake.
func (f *Fake) Close() { f.close() }

// Server is how to start one MCP server. In Argv and Env, {URL}, {HOST}
// and {TOKEN} are replaced by the fake's base URL, host:port and token.
type Server struct {
	Name string
	Argv []string
	Env  []string
	// Calls are the server's equivalents of the measured operations.
	Calls Calls
}

// Call is one tool call.
type Call struct {
	Tool string
	Args map[string]any
}

// Calls are one server's tools for what both servers can do. A zero Call
// means the server has no equivalent.
type Calls struct {
	Whoami, ListOrgs, ListProjects, ListIssues, GetIssue, ListReleases, Resolve Call
	// IssuesPath is the upstream path ListIssues requests (for the direct
	// baseline: the same request, made to the fake without MCP).
	IssuesPath string
	// GetEvent reads one issue's latest event with one upstream request,
	// EventPath (zero for a server without such a tool).
	GetEvent  Call
	EventPath string
}

// Ours is sentry-mcp at bin.
func Ours(bin string) Server {
	return Server{
		Name: "sentry-mcp",
		Argv: []string{bin, "serve"},
		Env:  []string{"SENTRY_URL={URL}", "SENTRY_ACCESS_TOKEN={TOKEN}"},
		Calls: Calls{
			Whoami:       Call{"whoami", map[string]any{}},
			ListOrgs:     Call{"list_organizations", map[string]any{}},
			ListProjects: Call{"list_projects", map[string]any{"organization": "acme"}},
			ListIssues:   Call{"list_issues", map[string]any{"organization": "acme", "query": "is:unresolved", "limit": 25}},
			GetIssue:     Call{"get_issue", map[string]any{"issue": "BACKEND-1", "organization": "acme"}},
			ListReleases: Call{"list_releases", map[string]any{"organization": "acme"}},
			Resolve:      Call{"resolve_issue", map[string]any{"issue": "BACKEND-2", "organization": "acme"}},
			IssuesPath:   "/api/0/organizations/acme/issues/",
			GetEvent:     Call{"get_event", map[string]any{"issue": "4504102"}},
			EventPath:    "/api/0/issues/4504102/events/latest/",
		},
	}
}

// Peer is Sentry's @sentry/mcp-server: node running its dist/index.js.
// whoami and find_releases are not among its listed tools; it reaches them
// through its execute_sentry_tool meta-tool, which is what is called here.
func Peer(node, indexJS string) Server {
	return Server{
		Name: "@sentry/mcp-server",
		Argv: []string{node, indexJS, "--host", "{HOST}", "--insecure-http"},
		Env:  []string{"SENTRY_ACCESS_TOKEN={TOKEN}"},
		Calls: Calls{
			Whoami:       Call{"execute_sentry_tool", map[string]any{"name": "whoami", "arguments": map[string]any{}}},
			ListOrgs:     Call{"find_organizations", map[string]any{}},
			ListProjects: Call{"find_projects", map[string]any{"organizationSlug": "acme"}},
			ListIssues:   Call{"search_issues", map[string]any{"organizationSlug": "acme", "query": "is:unresolved", "limit": 25}},
			GetIssue:     Call{"get_sentry_resource", map[string]any{"resourceType": "issue", "resourceId": "BACKEND-1", "organizationSlug": "acme"}},
			ListReleases: Call{"execute_sentry_tool", map[string]any{"name": "find_releases", "arguments": map[string]any{"organizationSlug": "acme"}}},
			Resolve:      Call{"update_issue", map[string]any{"organizationSlug": "acme", "issueId": "BACKEND-2", "status": "resolved"}},
			IssuesPath:   "/api/0/organizations/acme/issues/",
		},
	}
}

// Command is the server's process, not yet started, with a minimal
// environment (PATH, a scratch HOME) plus the server's own.
func (s Server) Command(f *Fake, home string) *exec.Cmd {
	r := strings.NewReplacer("{URL}", f.URL, "{HOST}", f.Host, "{TOKEN}", Token)
	argv := make([]string, len(s.Argv))
	for i, a := range s.Argv {
		argv[i] = r.Replace(a)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
	for _, e := range s.Env {
		cmd.Env = append(cmd.Env, r.Replace(e))
	}
	return cmd
}

// Session is a running server spoken to over stdio.
type Session struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	wmu    sync.Mutex
	nextID atomic.Int64

	mu      sync.Mutex
	pending map[int64]chan reply
	err     error // why stdout ended
	done    chan struct{}
	stderr  *tailBuffer
}

// reply is one response line, decoded once (by the reader).
type reply struct {
	line []byte
	err  error // a JSON-RPC error, or a tool result with isError
}

// envelope is what the client needs of a response: its id, whether it is
// an error, and whether a tool result says isError. Everything else is
// skipped by the decoder.
type envelope struct {
	ID    json.RawMessage `json:"id"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Result struct {
		IsError bool `json:"isError"`
	} `json:"result"`
}

// Start starts the server. It is not initialized yet.
func Start(s Server, f *Fake, home string) (*Session, error) {
	cmd := s.Command(f, home)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	sess := &Session{cmd: cmd, in: in, pending: map[int64]chan reply{}, done: make(chan struct{}), stderr: &tailBuffer{max: 8 << 10}}
	cmd.Stderr = sess.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go sess.read(out)
	return sess, nil
}

func (s *Session) read(out io.Reader) {
	defer close(s.done)
	r := bufio.NewReaderSize(out, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var m envelope
			if json.Unmarshal(line, &m) == nil {
				if id, err := strconv.ParseInt(string(m.ID), 10, 64); err == nil {
					s.mu.Lock()
					ch := s.pending[id]
					delete(s.pending, id)
					s.mu.Unlock()
					if ch != nil {
						r := reply{line: bytes.TrimRight(line, "\r\n")}
						switch {
						case m.Error != nil:
							r.err = fmt.Errorf("JSON-RPC error %d: %s", m.Error.Code, m.Error.Message)
						case m.Result.IsError:
							r.err = fmt.Errorf("tool error: %.300s", r.line)
						}
						ch <- r
					}
				}
			}
		}
		if err != nil {
			s.mu.Lock()
			s.err = err
			for id, ch := range s.pending {
				close(ch)
				delete(s.pending, id)
			}
			s.mu.Unlock()
			return
		}
	}
}

// PID is the server's process id.
func (s *Session) PID() int { return s.cmd.Process.Pid }

// Stderr is the end of what the server logged.
func (s *Session) Stderr() string { return s.stderr.String() }

// Request sends a request and returns the raw response line; a JSON-RPC
// error (or a tool result with isError) is returned as the error, with the line.
func (s *Session) Request(ctx context.Context, method string, params any) ([]byte, error) {
	id := s.nextID.Add(1)
	msg, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	ch := make(chan reply, 1)
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("server stdout closed: %v; stderr: %s", s.err, s.Stderr())
	}
	s.pending[id] = ch
	s.mu.Unlock()
	s.wmu.Lock()
	_, err = s.in.Write(append(msg, '\n'))
	s.wmu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: server stdout closed; stderr: %s", method, s.Stderr())
		}
		return r.line, r.err
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// Notify sends a notification.
func (s *Session) Notify(method string) error {
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method})
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.in.Write(append(msg, '\n'))
	return err
}

// Initialize performs the handshake and returns the initialize response.
func (s *Session) Initialize(ctx context.Context) ([]byte, error) {
	line, err := s.Request(ctx, "initialize", map[string]any{
		"protocolVersion": "2025-06-18",
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "sentry-mcp-bench", "version": "1"},
	})
	if err != nil {
		return nil, err
	}
	return line, s.Notify("notifications/initialized")
}

// Call calls a tool and returns the raw response line; a JSON-RPC error or
// a result with isError is an error.
func (s *Session) Call(ctx context.Context, c Call) ([]byte, error) {
	line, err := s.Request(ctx, "tools/call", map[string]any{"name": c.Tool, "arguments": c.Args})
	if err != nil {
		return line, fmt.Errorf("%s: %w", c.Tool, err)
	}
	return line, nil
}

// Close ends the session: stdin closed, then SIGKILL if the server has not
// exited within a second.
func (s *Session) Close() {
	s.in.Close()
	exited := make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(time.Second):
		s.cmd.Process.Kill()
		<-exited
	}
}

// Memory is a process tree's memory from /proc, in KiB.
type Memory struct {
	PeakRSS  int64 // VmHWM summed over the process and its descendants
	RSS      int64 // VmRSS, likewise
	Children int   // descendant processes found
}

// MemoryOf reads /proc/PID/status of pid and every descendant.
func MemoryOf(pid int) (Memory, error) {
	var m Memory
	var walk func(pid int, depth int) error
	walk = func(pid int, depth int) error {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			n, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "VmHWM:":
				m.PeakRSS += n
			case "VmRSS:":
				m.RSS += n
			}
		}
		if depth > 0 {
			m.Children++
		}
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, t := range tasks {
			b, _ := os.ReadFile(t)
			for _, c := range strings.Fields(string(b)) {
				if cp, err := strconv.Atoi(c); err == nil {
					walk(cp, depth+1)
				}
			}
		}
		return nil
	}
	return m, walk(pid, 0)
}

// ColdStart spawns the server and measures the time from exec to the
// initialize response (the initialize request is written at once; the pipe
// holds it until the server reads).
func ColdStart(ctx context.Context, s Server, f *Fake, home string) (time.Duration, error) {
	start := time.Now()
	sess, err := Start(s, f, home)
	if err != nil {
		return 0, err
	}
	defer func() {
		sess.cmd.Process.Kill()
		sess.Close()
	}()
	if _, err := sess.Initialize(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// DirectClient makes the upstream request without MCP: the same method,
// path and query the server sent, with the same bearer token, on a
// keep-alive client.
type DirectClient struct {
	c   *http.Client
	url string
}

// Direct finds the last request the server made to path and replays it.
func Direct(f *Fake, path string) (*DirectClient, error) {
	reqs, err := f.Requests()
	if err != nil {
		return nil, err
	}
	for i := len(reqs) - 1; i >= 0; i-- {
		if r := reqs[i]; r.Path == path && r.Method == http.MethodGet {
			u := f.URL + r.Path
			if r.Query != "" {
				u += "?" + r.Query
			}
			tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}
			return &DirectClient{c: &http.Client{Transport: tr}, url: u}, nil
		}
	}
	return nil, fmt.Errorf("the server made no GET %s", path)
}

// URL is the replayed request's URL.
func (d *DirectClient) URL() string { return d.url }

// Do makes the request once and reads the whole body.
func (d *DirectClient) Do(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+Token)
	resp, err := d.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", d.url, resp.Status)
	}
	return nil
}

// Latencies runs fn n times in a row and returns each duration.
func Latencies(n int, fn func() error) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for range n {
		t := time.Now()
		if err := fn(); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t))
	}
	return out, nil
}

// Interleaved runs a then b, n times, and returns the durations of each.
func Interleaved(n int, a, b func() error) (da, db []time.Duration, err error) {
	da, db = make([]time.Duration, 0, n), make([]time.Duration, 0, n)
	for range n {
		t := time.Now()
		if err := a(); err != nil {
			return nil, nil, err
		}
		t2 := time.Now()
		if err := b(); err != nil {
			return nil, nil, err
		}
		da, db = append(da, t2.Sub(t)), append(db, time.Since(t2))
	}
	return da, db, nil
}

// Throughput runs fn n times with inflight calls at once and returns calls
// per second.
func Throughput(n, inflight int, fn func() error) (float64, error) {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	start := time.Now()
	for range inflight {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := fn(); err != nil {
					errMu.Lock()
					first = errors.Join(first, err)
					errMu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return 0, first
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// Quantile is the q-quantile (0..1, nearest rank) of ds.
func Quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
