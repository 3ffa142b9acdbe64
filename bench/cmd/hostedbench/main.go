// Command hostedbench is the load benchmark of hosted mode: several
// replicas of `sentry-mcp serve --http` sharing one database, behind a
// round-robin reverse proxy (no session affinity), in front of the fake
// Sentry (cmd/fakesentry), driven by many concurrent clients that call one
// tool over raw JSON-RPC POSTs with one MCP access token.
//
// Its ceiling is the same topology with the MCP servers replaced by bare
// httputil.ReverseProxy relays to the fake: each client request crosses the
// same hops (client, round-robin proxy, relay, fake) and asks the fake for
// the same endpoint the tool asks for, with no MCP, authorization or
// rendering work. The relays' transport to the fake is configured as
// sentry-mcp's own (Go's default, at most 16 idle connections per host).
//
// Run it with scripts/bench-hosted.sh (which builds the binaries and, when
// PostgreSQL is installed, starts a throwaway cluster), or by hand:
//
//	go build -o /tmp/sentry-mcp . && go build -o /tmp/fakesentry ./cmd/fakesentry
//	go run ./bench/cmd/hostedbench -bin /tmp/sentry-mcp -fake /tmp/fakesentry \
//	    -database postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
//
// Flags: -replicas (3), -clients (200), -duration (30s) per side, -warmup
// (2s, not counted), -tool (list_organizations), -database (a postgres://
// URL shared by the replicas; empty: one SQLite file, which suits a single
// replica), -json FILE (the figures as JSON too). It prints, for the MCP
// side and the ceiling: calls/s, p50/p99 latency, errors, and the RSS
// (VmRSS at the end and the peak VmHWM, from /proc/PID/status) of each
// replica or relay, then the ratio of the two throughputs (target >= 0.5).
// Not part of the test command; it takes a minute and both CPU cores.
//
// The token is minted as a user would get it: dynamic client registration,
// the consent page approved with its CSRF token and cookie, the fake
// Sentry's authorize step, the callback, and the code exchanged with PKCE.
//
// hostedbench also runs its own helpers, as child processes so that their
// work does not share the load generator's CPU accounting and GC:
// `hostedbench -role lb -listen ADDR -backends URL,URL,...` (the
// round-robin proxy; it keeps the client's Host header) and `hostedbench
// -role relay -listen ADDR -upstream URL` (a bare reverse proxy).
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("hostedbench: ")
	role := flag.String("role", "", "internal: lb or relay")
	listen := flag.String("listen", "127.0.0.1:0", "internal: the helper's address")
	backends := flag.String("backends", "", "internal (lb): comma-separated backend URLs")
	upstream := flag.String("upstream", "", "internal (relay): the URL requests go to")

	bin := flag.String("bin", "", "the sentry-mcp binary")
	fake := flag.String("fake", "", "the fakesentry binary")
	database := flag.String("database", "", "postgres:// URL shared by the replicas (empty: SQLite)")
	replicas := flag.Int("replicas", 3, "replicas of sentry-mcp (and relays of the ceiling)")
	clients := flag.Int("clients", 200, "concurrent clients")
	duration := flag.Duration("duration", 30*time.Second, "measured time per side")
	warmup := flag.Duration("warmup", 2*time.Second, "load before measuring, per side")
	tool := flag.String("tool", "list_organizations", "the tool each call runs")
	jsonOut := flag.String("json", "", "also write the figures to this file as JSON")
	flag.Parse()

	switch *role {
	case "lb":
		serveHelper(*listen, roundRobin(strings.Split(*backends, ",")))
		return
	case "relay":
		serveHelper(*listen, relay(*upstream))
		return
	case "":
	default:
		log.Fatalf("unknown -role %q", *role)
	}
	if *bin == "" || *fake == "" {
		log.Fatal("want -bin (sentry-mcp) and -fake (fakesentry); see the comment at the top of bench/cmd/hostedbench/main.go")
	}
	b := &bench{bin: *bin, fake: *fake, database: *database, replicas: *replicas, clients: *clients,
		duration: *duration, warmup: *warmup, tool: *tool}
	rep, err := b.run()
	b.stopAll()
	if err != nil {
		log.Fatal(err)
	}
	rep.print(os.Stdout)
	if *jsonOut != "" {
		out, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, append(out, '\n'), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// ---------------------------------------------------------------------------
// The helpers: a round-robin proxy and a bare relay.

// proxyTransport is the helpers' transport: sentry-mcp's own settings
// (internal/cli sentryTransport).
func proxyTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	return t
}

// roundRobin sends each request to the next backend, keeping its Host (the
// replicas check it against their public URL, as behind a real balancer).
func roundRobin(raw []string) http.Handler {
	var targets []*url.URL
	for _, r := range raw {
		u, err := url.Parse(r)
		if err != nil || u.Host == "" {
			log.Fatalf("-backends: %q is not a URL", r)
		}
		targets = append(targets, u)
	}
	var n atomic.Uint64
	t := proxyTransport()
	t.MaxIdleConnsPerHost = 512 // the balancer keeps a connection per client
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(targets[n.Add(1)%uint64(len(targets))])
			pr.Out.Host = pr.In.Host
		},
		Transport: t,
		ErrorLog:  log.New(io.Discard, "", 0),
	}
}

// relay is the ceiling's stand-in for a replica: a bare reverse proxy.
func relay(upstream string) http.Handler {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		log.Fatalf("-upstream: %q is not a URL", upstream)
	}
	return &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		Transport: proxyTransport(),
		ErrorLog:  log.New(io.Discard, "", 0),
	}
}

// serveHelper listens, prints ADDR=host:port, and serves until SIGTERM or
// until stdin closes (the parent died).
func serveHelper(addr string, h http.Handler) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ADDR=%s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = srv.Close()
	}()
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
		<-stop
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// ---------------------------------------------------------------------------
// The run.

type bench struct {
	bin, fake, database string
	replicas, clients   int
	duration, warmup    time.Duration
	tool                string

	dir      string
	children []*child
}

// child is one process this run started.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
}

// Report is what the benchmark measured.
type Report struct {
	Replicas int           `json:"replicas"`
	Clients  int           `json:"clients"`
	Duration time.Duration `json:"duration_ns"`
	Tool     string        `json:"tool"`
	Database string        `json:"database"` // postgres or sqlite
	Upstream []string      `json:"upstream"` // the fake's requests per tool call
	MCP      Side          `json:"mcp"`
	Ceiling  Side          `json:"ceiling"`
	Ratio    float64       `json:"ratio"` // MCP calls/s over the ceiling's
}

// Side is one side's figures.
type Side struct {
	Calls     int64         `json:"calls"`
	Errors    int64         `json:"errors"`
	PerSecond float64       `json:"calls_per_second"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	FirstErr  string        `json:"first_error,omitempty"`
	RSS       []Memory      `json:"rss"` // per replica or relay
}

// Memory is one process's resident set, in KiB.
type Memory struct {
	Process string `json:"process"`
	RSSKiB  int64  `json:"vmrss_kib"`
	PeakKiB int64  `json:"vmhwm_kib"`
}

func (b *bench) run() (*Report, error) {
	var err error
	if b.dir, err = os.MkdirTemp("", "hostedbench-"); err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.dir)
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	rep := &Report{Replicas: b.replicas, Clients: b.clients, Duration: b.duration, Tool: b.tool, Database: "sqlite"}

	// The balancer first: its address is the public URL the fake's OAuth
	// application redirects to and the replicas are told.
	replicaAddrs := make([]string, b.replicas)
	var backendURLs []string
	for i := range replicaAddrs {
		if replicaAddrs[i], err = freeAddr(); err != nil {
			return nil, err
		}
		backendURLs = append(backendURLs, "http://"+replicaAddrs[i])
	}
	lb, err := b.startHelper("lb", self, "-role", "lb", "-backends", strings.Join(backendURLs, ","))
	if err != nil {
		return nil, err
	}
	public := "http://" + lb

	clientID, secret := randomHex(16), randomHex(32)
	fakeURL, sentryToken, err := b.startFake("-oauth-app", clientID+":"+secret+":"+public+"/oauth/callback")
	if err != nil {
		return nil, err
	}

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + b.dir,
		"XDG_DATA_HOME=" + filepath.Join(b.dir, "data"),
		"SENTRY_CLIENT_ID=" + clientID,
		"SENTRY_CLIENT_SECRET=" + secret,
		"SENTRY_MCP_ENCRYPTION_KEY=" + base64.StdEncoding.EncodeToString(key),
	}
	dsn := b.database
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		rep.Database = "postgres"
	} else if dsn == "" {
		dsn = filepath.Join(b.dir, "grants.db")
	}
	var pids []int
	for i, addr := range replicaAddrs {
		c, err := b.start(fmt.Sprintf("replica%d", i+1), filepath.Join(b.dir, fmt.Sprintf("replica%d.log", i+1)), env, b.bin,
			"serve", "--http", addr, "--public-url", public, "--url", fakeURL, "--database", dsn)
		if err != nil {
			return nil, err
		}
		if err := waitReady("http://"+addr+"/readyz", c); err != nil {
			return nil, fmt.Errorf("replica %d: %w (log: %s)", i+1, err, tail(filepath.Join(b.dir, fmt.Sprintf("replica%d.log", i+1))))
		}
		pids = append(pids, c.cmd.Process.Pid)
	}

	ctx := context.Background()
	token, err := mintToken(ctx, public, "org:read project:read team:read event:read")
	if err != nil {
		return nil, fmt.Errorf("minting the MCP token: %w", err)
	}
	hc := loadClient(b.clients)
	call := mcpCall(hc, public+"/mcp", token, b.tool)

	// Which requests one tool call makes at the fake: the ceiling asks for
	// the same.
	before, err := fakeRequests(fakeURL)
	if err != nil {
		return nil, err
	}
	if err := call(ctx); err != nil {
		return nil, fmt.Errorf("first %s call: %w", b.tool, err)
	}
	after, err := fakeRequests(fakeURL)
	if err != nil {
		return nil, err
	}
	for _, r := range after[len(before):] {
		rep.Upstream = append(rep.Upstream, r.Method+" "+r.Path+query(r.Query))
	}
	if len(rep.Upstream) != 1 || !strings.HasPrefix(rep.Upstream[0], "GET ") {
		return nil, fmt.Errorf("one %s call made %d requests at the fake (%q); the ceiling wants a tool that makes one GET", b.tool, len(rep.Upstream), rep.Upstream)
	}

	log.Printf("MCP side: %d replicas (%s), %d clients, %v warm-up + %v ...", b.replicas, rep.Database, b.clients, b.warmup, b.duration)
	rep.MCP = drive(ctx, call, b.clients, b.warmup, b.duration)
	rep.MCP.RSS = memory("replica", pids)
	b.stopAll() // the ceiling gets the machine to itself, the fake aside
	b.children = nil

	// The ceiling: a new fake (its request log starts empty, as the first
	// one's did), relays in place of the replicas, the same balancer.
	fakeURL, sentryToken, err = b.startFake()
	if err != nil {
		return nil, err
	}
	var relayURLs []string
	pids = nil
	for i := 0; i < b.replicas; i++ {
		addr, err := b.startHelper(fmt.Sprintf("relay%d", i+1), self, "-role", "relay", "-upstream", fakeURL)
		if err != nil {
			return nil, err
		}
		relayURLs = append(relayURLs, "http://"+addr)
		pids = append(pids, b.children[len(b.children)-1].cmd.Process.Pid)
	}
	lb, err = b.startHelper("lb", self, "-role", "lb", "-backends", strings.Join(relayURLs, ","))
	if err != nil {
		return nil, err
	}
	path := strings.TrimPrefix(rep.Upstream[0], "GET ")
	get := plainCall(hc, "http://"+lb+path, sentryToken)
	if err := get(ctx); err != nil {
		return nil, fmt.Errorf("ceiling: first GET %s: %w", path, err)
	}
	log.Printf("ceiling: %d bare relays, %d clients, %v warm-up + %v ...", b.replicas, b.clients, b.warmup, b.duration)
	rep.Ceiling = drive(ctx, get, b.clients, b.warmup, b.duration)
	rep.Ceiling.RSS = memory("relay", pids)
	if rep.Ceiling.PerSecond > 0 {
		rep.Ratio = rep.MCP.PerSecond / rep.Ceiling.PerSecond
	}
	return rep, nil
}

func query(q string) string {
	if q == "" {
		return ""
	}
	return "?" + q
}

// start runs a child with its stdout and stderr in logFile ("" = discard)
// and its stdin kept open (helpers exit when it closes).
func (b *bench) start(name, logFile string, env []string, bin string, args ...string) (*child, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	if logFile != "" {
		f, err := os.Create(logFile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.done) }()
	b.children = append(b.children, c)
	return c, nil
}

// startHelper runs a child that prints ADDR=... and returns the address.
func (b *bench) startHelper(name, bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	b.children = append(b.children, c)
	line, err := bufio.NewReader(out).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, out); _ = cmd.Wait(); close(c.done) }()
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR=")
	if err != nil || !ok {
		return "", fmt.Errorf("%s: no ADDR= line (%q, %v)", name, line, err)
	}
	return addr, nil
}

// startFake runs cmd/fakesentry and returns its URL and token.
func (b *bench) startFake(args ...string) (string, string, error) {
	cmd := exec.Command(b.fake, append([]string{"-exit-on-eof"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", "", err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", "", err
	}
	if err := cmd.Start(); err != nil {
		return "", "", fmt.Errorf("fakesentry: %w", err)
	}
	c := &child{name: "fakesentry", cmd: cmd, stdin: stdin, done: make(chan struct{})}
	b.children = append(b.children, c)
	line, err := bufio.NewReader(out).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, out); _ = cmd.Wait(); close(c.done) }()
	m := regexp.MustCompile(`^URL=(\S+) TOKEN=(\S+)`).FindStringSubmatch(line)
	if err != nil || m == nil {
		return "", "", fmt.Errorf("fakesentry printed %q (%v), want URL=... TOKEN=...", line, err)
	}
	return m[1], m[2], nil
}

// stopAll ends every child this run started: SIGTERM, then SIGKILL after
// 25 s (a replica finishes in-flight calls first).
func (b *bench) stopAll() {
	for _, c := range b.children {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		_ = c.stdin.Close()
	}
	for _, c := range b.children {
		select {
		case <-c.done:
		case <-time.After(25 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls u until it answers 200, the child exits, or 20 s pass.
func waitReady(u string, c *child) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(u)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.done:
			return errors.New("exited before it was ready")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within 20s (last: %v)", u, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(file string) string {
	b, _ := os.ReadFile(file)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

type fakeRequest struct {
	Method, Path, Query string
}

func fakeRequests(fakeURL string) ([]fakeRequest, error) {
	resp, err := http.Get(fakeURL + "/__fakesentry/requests")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var rs []fakeRequest
	if err := json.NewDecoder(resp.Body).Decode(&rs); err != nil {
		return nil, fmt.Errorf("the fake's request log: %w", err)
	}
	return rs, nil
}

// memory reads VmRSS and VmHWM of each process.
func memory(kind string, pids []int) []Memory {
	var out []Memory
	for i, pid := range pids {
		m := Memory{Process: fmt.Sprintf("%s%d (pid %d)", kind, i+1, pid)}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				f := strings.Fields(line)
				if len(f) >= 2 && (f[0] == "VmRSS:" || f[0] == "VmHWM:") {
					n, _ := strconv.ParseInt(f[1], 10, 64)
					if f[0] == "VmRSS:" {
						m.RSSKiB = n
					} else {
						m.PeakKiB = n
					}
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// ---------------------------------------------------------------------------
// The load.

func loadClient(clients int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = clients * 2
	t.MaxIdleConnsPerHost = clients * 2
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// mcpCall returns one tools/call of tool, as a JSON-RPC POST; an error
// for anything but a 200 with a result that is not an error.
func mcpCall(hc *http.Client, endpoint, token, tool string) func(context.Context) error {
	var id atomic.Int64
	return func(ctx context.Context) error {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{}}}`, id.Add(1), tool)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2025-11-25")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
		}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			b = sseData(b)
		}
		var msg struct {
			Error  *struct{ Message string } `json:"error"`
			Result *struct {
				IsError bool `json:"isError"`
				Content []struct {
					Text string `json:"text"`
				} `json:"content"`
			} `json:"result"`
		}
		if err := json.Unmarshal(b, &msg); err != nil {
			return fmt.Errorf("response: %v: %.200s", err, b)
		}
		switch {
		case msg.Error != nil:
			return fmt.Errorf("JSON-RPC error: %s", msg.Error.Message)
		case msg.Result == nil:
			return fmt.Errorf("no result: %.200s", b)
		case msg.Result.IsError:
			text := ""
			if len(msg.Result.Content) > 0 {
				text = msg.Result.Content[0].Text
			}
			return fmt.Errorf("tool error: %.200s", text)
		}
		return nil
	}
}

// sseData is the data of the first event of an event stream.
func sseData(b []byte) []byte {
	for _, line := range bytes.Split(b, []byte("\n")) {
		if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			return bytes.TrimSpace(d)
		}
	}
	return b
}

// plainCall is the ceiling's call: GET u with the Sentry token, wanting 200.
func plainCall(hc *http.Client, u, token string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}

// drive runs call from clients goroutines: warmup uncounted, then
// duration counted.
func drive(ctx context.Context, call func(context.Context) error, clients int, warmup, duration time.Duration) Side {
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+duration)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		all      []time.Duration
		errs     atomic.Int64
		firstErr atomic.Value
	)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			for {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				err := call(ctx)
				d := time.Since(t0)
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat = append(lat, d)
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Calls that started before the end count; they finish a little after.
	elapsed := time.Since(measureFrom)
	slices.Sort(all)
	s := Side{Calls: int64(len(all)), Errors: errs.Load(), PerSecond: float64(len(all)) / elapsed.Seconds()}
	if len(all) > 0 {
		s.P50 = all[len(all)*50/100]
		s.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	if e, ok := firstErr.Load().(string); ok {
		s.FirstErr = e
	}
	return s
}

func (r *Report) print(w io.Writer) {
	fmt.Fprintf(w, "hosted mode under load: %d replicas sharing %s behind a round-robin proxy, %d clients, %v per side, tool %s (upstream: %s)\n\n",
		r.Replicas, r.Database, r.Clients, r.Duration, r.Tool, strings.Join(r.Upstream, ", "))
	fmt.Fprintf(w, "| | calls/s | p50 | p99 | calls | errors | RSS per process (now / peak) |\n|---|---:|---:|---:|---:|---:|---|\n")
	for _, s := range []struct {
		name string
		side Side
	}{{"sentry-mcp", r.MCP}, {"ceiling (bare ReverseProxy)", r.Ceiling}} {
		var mem []string
		for _, m := range s.side.RSS {
			mem = append(mem, fmt.Sprintf("%.1f / %.1f MiB", float64(m.RSSKiB)/1024, float64(m.PeakKiB)/1024))
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %d | %d | %s |\n", s.name, s.side.PerSecond, ms(s.side.P50), ms(s.side.P99),
			s.side.Calls, s.side.Errors, strings.Join(mem, ", "))
	}
	verdict := "meets"
	if r.Ratio < 0.5 {
		verdict = "MISSES"
	}
	fmt.Fprintf(w, "\nratio sentry-mcp / ceiling: %.2f (%s the target of 0.5)\n", r.Ratio, verdict)
	for _, s := range []struct {
		name string
		side Side
	}{{"sentry-mcp", r.MCP}, {"ceiling", r.Ceiling}} {
		if s.side.FirstErr != "" {
			fmt.Fprintf(w, "%s: first error: %s\n", s.name, s.side.FirstErr)
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// ---------------------------------------------------------------------------
// Signing in once.

// mintToken registers a client, walks the consent page, the fake Sentry's
// authorize step and the callback, and exchanges the code for an MCP
// access token for public/mcp.
func mintToken(ctx context.Context, public, scope string) (string, error) {
	const redirectURI = "http://127.0.0.1:9/callback" // never reached: the browser stops there
	jar := &hostJar{}
	br := &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	reg, _ := json.Marshal(map[string]any{"client_name": "hostedbench", "redirect_uris": []string{redirectURI},
		"token_endpoint_auth_method": "none", "grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"}})
	var client struct {
		ClientID string `json:"client_id"`
	}
	if err := postJSON(ctx, br, public+"/oauth/register", reg, &client); err != nil {
		return "", fmt.Errorf("registration: %w", err)
	}

	verifier := randomHex(32)
	sum := sha256.Sum256([]byte(verifier))
	state := randomHex(8)
	q := url.Values{"response_type": {"code"}, "client_id": {client.ClientID}, "redirect_uri": {redirectURI},
		"state": {state}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"resource": {public + "/mcp"}, "scope": {scope}}
	resp, page, err := get(ctx, br, public+"/oauth/authorize?"+q.Encode())
	if err != nil {
		return "", fmt.Errorf("consent page: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("consent page: status %d: %.300s", resp.StatusCode, page)
	}
	fields := url.Values{}
	for _, in := range regexp.MustCompile(`(?is)<input\b([^>]*)>`).FindAllStringSubmatch(page, -1) {
		a := attrs(in[1])
		if strings.EqualFold(a["type"], "hidden") && a["name"] != "" {
			fields.Add(a["name"], a["value"])
		}
	}
	if fields.Get("csrf_token") == "" {
		return "", errors.New("consent page: no hidden csrf_token")
	}
	fields.Set("decision", "approve")
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, public+"/oauth/authorize", strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", public)
	resp, body, err := do(br, req)
	if err != nil {
		return "", fmt.Errorf("consent POST: %w", err)
	}
	// Sentry's authorize (the fake approves at once), then our callback,
	// then the client's redirect URI.
	for step := 0; ; step++ {
		loc := resp.Header.Get("Location")
		if resp.StatusCode/100 != 3 || loc == "" {
			return "", fmt.Errorf("sign-in step %d: status %d, want a redirect: %.300s", step, resp.StatusCode, body)
		}
		next, err := resp.Request.URL.Parse(loc)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(next.String(), redirectURI) {
			if next.Query().Get("state") != state || next.Query().Get("code") == "" {
				return "", fmt.Errorf("the client's redirect carries no code for our state (error=%q)", next.Query().Get("error"))
			}
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			form := url.Values{"grant_type": {"authorization_code"}, "code": {next.Query().Get("code")}, "redirect_uri": {redirectURI},
				"client_id": {client.ClientID}, "code_verifier": {verifier}, "resource": {public + "/mcp"}}
			treq, _ := http.NewRequestWithContext(ctx, http.MethodPost, public+"/oauth/token", strings.NewReader(form.Encode()))
			treq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if err := doJSON(br, treq, &tok); err != nil {
				return "", fmt.Errorf("token: %w", err)
			}
			if tok.AccessToken == "" {
				return "", errors.New("token: no access_token")
			}
			return tok.AccessToken, nil
		}
		if step > 5 {
			return "", errors.New("sign-in: too many redirects")
		}
		if resp, body, err = get(ctx, br, next.String()); err != nil {
			return "", fmt.Errorf("sign-in step %d: %w", step, err)
		}
	}
}

var attrRE = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')`)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2] + a[3])
	}
	return m
}

func get(ctx context.Context, hc *http.Client, u string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	return do(hc, req)
}

func do(hc *http.Client, req *http.Request) (*http.Response, string, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b), err
}

func postJSON(ctx context.Context, hc *http.Client, u string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return doJSON(hc, req, out)
}

func doJSON(hc *http.Client, req *http.Request, out any) error {
	resp, body, err := do(hc, req)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d: %.300s", resp.StatusCode, body)
	}
	return json.Unmarshal([]byte(body), out)
}

// hostJar keeps cookies per host:port (net/http's cookiejar ignores ports,
// and the server and the fake share 127.0.0.1).
type hostJar struct {
	mu   sync.Mutex
	jars map[string]*cookiejar.Jar
}

func (j *hostJar) jar(u *url.URL) *cookiejar.Jar {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.jars == nil {
		j.jars = map[string]*cookiejar.Jar{}
	}
	if j.jars[u.Host] == nil {
		j.jars[u.Host], _ = cookiejar.New(nil)
	}
	return j.jars[u.Host]
}

func (j *hostJar) SetCookies(u *url.URL, c []*http.Cookie) { j.jar(u).SetCookies(u, c) }
func (j *hostJar) Cookies(u *url.URL) []*http.Cookie       { return j.jar(u).Cookies(u) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
