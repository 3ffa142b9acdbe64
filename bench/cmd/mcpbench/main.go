// Command mcpbench measures sentry-mcp and, side by side, Sentry's own
// @sentry/mcp-server on the same fake Sentry, the same machine and the same
// client, and prints a Markdown report. scripts/bench.sh builds and installs
// what it needs and runs it.
//
//	mcpbench -ours ./sentry-mcp [-peer-node node -peer-js .../dist/index.js]
//
// Each measurement gets a fresh fake Sentry (demo data) so that no server
// sees the other's writes:
//
//  1. cold start: exec to the initialize response, median of -cold runs
//     (after one unmeasured run that warms the page cache);
//  2. context cost: bytes of the initialize and tools/list responses and of
//     each tool's result on the demo data;
//  3. per-call overhead: -calls sequential list_issues (the peer's
//     search_issues) through MCP, against the very request the server sent
//     upstream made directly to the fake; then throughput with -inflight
//     calls in flight, both ways;
//  4. peak RSS (VmHWM, process tree) after -rss-calls tool calls in one
//     session, round-robin over the read tools both servers have.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sentry-mcp/sentry-mcp/bench"
)

type result struct {
	Name         string
	Cold         []time.Duration
	ColdMedian   time.Duration
	InitBytes    int
	ListBytes    int
	ToolCount    int
	ToolBytes    map[string]toolBytes
	MCP          []time.Duration
	Ping         []time.Duration
	Direct       []time.Duration
	EventMCP     []time.Duration // get_event, when the server has it
	EventDirect  []time.Duration
	DirectURL    string
	MCPRate      float64
	DirectRate   float64
	Memory       bench.Memory
	MemoryAtInit bench.Memory
	Errors       []string
	Notes        []string
}

type toolBytes struct {
	Tool       string
	Total      int // the JSON-RPC response line
	Text       int // the text content
	Structured int // structuredContent, as JSON
	Error      bool
	Upstream   []bench.Upstream // the requests the call made to the fake
}

var operations = []struct {
	name string
	pick func(bench.Calls) bench.Call
}{
	{"whoami", func(c bench.Calls) bench.Call { return c.Whoami }},
	{"list organizations", func(c bench.Calls) bench.Call { return c.ListOrgs }},
	{"list projects", func(c bench.Calls) bench.Call { return c.ListProjects }},
	{"list issues (25)", func(c bench.Calls) bench.Call { return c.ListIssues }},
	{"get issue BACKEND-1", func(c bench.Calls) bench.Call { return c.GetIssue }},
	{"list releases", func(c bench.Calls) bench.Call { return c.ListReleases }},
	{"resolve issue", func(c bench.Calls) bench.Call { return c.Resolve }},
}

func main() {
	ours := flag.String("ours", "", "path of the sentry-mcp binary")
	fakeBin := flag.String("fake", "", "path of the cmd/fakesentry binary (empty: run the fake inside mcpbench)")
	peerNode := flag.String("peer-node", "", "node (>= 22.13) to run @sentry/mcp-server with")
	peerJS := flag.String("peer-js", "", "path of @sentry/mcp-server's dist/index.js (empty: measure sentry-mcp only)")
	cold := flag.Int("cold", 20, "cold starts per server")
	calls := flag.Int("calls", 1000, "sequential list_issues calls (and direct requests)")
	inflight := flag.Int("inflight", 16, "calls in flight for the throughput test")
	rssCalls := flag.Int("rss-calls", 1000, "tool calls before reading peak RSS")
	warmup := flag.Int("warmup", 50, "unmeasured calls before each latency series")
	jsonOut := flag.String("json", "", "also write the raw figures here")
	oursEnv := flag.String("ours-env", "", "extra environment for sentry-mcp, comma-separated (experiments, e.g. GOGC=200)")
	flag.Parse()
	if *ours == "" {
		fmt.Fprintln(os.Stderr, "usage: mcpbench -ours ./sentry-mcp [-peer-node node -peer-js dist/index.js]")
		os.Exit(2)
	}
	o1 := bench.Ours(*ours)
	if *oursEnv != "" {
		o1.Env = append(o1.Env, strings.Split(*oursEnv, ",")...)
	}
	servers := []bench.Server{o1}
	if *peerJS != "" {
		servers = append(servers, bench.Peer(*peerNode, *peerJS))
	}
	home, err := os.MkdirTemp("", "mcpbench-home")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(home)

	o := opts{fake: *fakeBin, cold: *cold, calls: *calls, inflight: *inflight, rssCalls: *rssCalls, warmup: *warmup, home: home}
	var results []*result
	for _, s := range servers {
		fmt.Fprintf(os.Stderr, "measuring %s ...\n", s.Name)
		r := measure(s, o, s.Name != servers[0].Name)
		for _, e := range r.Errors {
			fmt.Fprintf(os.Stderr, "  %s: %s\n", s.Name, e)
		}
		results = append(results, r)
	}
	report(os.Stdout, results, o)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			fatal(err)
		}
	}
	for _, r := range results {
		if len(r.Errors) > 0 {
			os.Exit(1)
		}
	}
}

type opts struct {
	cold, calls, inflight, rssCalls, warmup int
	home, fake                              string
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mcpbench:", err)
	os.Exit(1)
}

// measure measures one server. peer: a tool error in the context-cost step
// is reported as a note (the fake lacks some endpoints the peer uses), not
// a failure.
func measure(s bench.Server, o opts, peer bool) *result {
	r := &result{Name: s.Name, ToolBytes: map[string]toolBytes{}}
	fail := func(what string, err error) { r.Errors = append(r.Errors, what+": "+err.Error()) }
	ctx := context.Background()
	newFake := func() *bench.Fake {
		if o.fake == "" {
			return bench.NewFake()
		}
		f, err := bench.StartFake(o.fake)
		if err != nil {
			fatal(err)
		}
		return f
	}

	// session starts a fresh fake and an initialized session with the
	// server; on failure it records why and cleans up.
	session := func() (*bench.Fake, *bench.Session, []byte, bool) {
		f := newFake()
		sess, err := bench.Start(s, f, o.home)
		if err != nil {
			f.Close()
			fail("start", err)
			return nil, nil, nil, false
		}
		init, err := sess.Initialize(ctx)
		if err != nil {
			sess.Close()
			f.Close()
			fail("initialize", err)
			return nil, nil, nil, false
		}
		return f, sess, init, true
	}

	// 1. Cold start.
	func() {
		f := newFake()
		defer f.Close()
		if _, err := bench.ColdStart(ctx, s, f, o.home); err != nil {
			fail("cold start", err)
			return
		}
		for range o.cold {
			d, err := bench.ColdStart(ctx, s, f, o.home)
			if err != nil {
				fail("cold start", err)
				return
			}
			r.Cold = append(r.Cold, d)
		}
		r.ColdMedian = bench.Quantile(r.Cold, 0.5)
	}()

	// 2. Context cost.
	func() {
		f, sess, init, ok := session()
		if !ok {
			return
		}
		defer f.Close()
		defer sess.Close()
		r.InitBytes = len(init)
		var cursor any
		for page := 0; page < 20; page++ {
			params := map[string]any{}
			if cursor != nil {
				params["cursor"] = cursor
			}
			line, err := sess.Request(ctx, "tools/list", params)
			if err != nil {
				fail("tools/list", err)
				return
			}
			r.ListBytes += len(line)
			var lr struct {
				Result struct {
					Tools      []json.RawMessage `json:"tools"`
					NextCursor any               `json:"nextCursor"`
				} `json:"result"`
			}
			json.Unmarshal(line, &lr)
			r.ToolCount += len(lr.Result.Tools)
			if cursor = lr.Result.NextCursor; cursor == nil || cursor == "" {
				break
			}
		}
		for _, op := range operations {
			c := op.pick(s.Calls)
			if c.Tool == "" {
				continue
			}
			before, _ := f.Requests()
			line, err := sess.Call(ctx, c)
			after, _ := f.Requests()
			var up []bench.Upstream
			if len(after) >= len(before) {
				up = after[len(before):]
			}
			if err != nil && (!peer || line == nil) {
				fail(op.name, err)
				continue
			}
			tb := measureResult(c.Tool, line)
			tb.Upstream, tb.Error = up, err != nil
			r.ToolBytes[op.name] = tb
			if err != nil {
				var paths []string
				for _, u := range up {
					paths = append(paths, fmt.Sprintf("%s %s -> %d", u.Method, u.Path, u.Status))
				}
				r.Notes = append(r.Notes, fmt.Sprintf("%s (`%s`) answered a tool error on the fake: %s", op.name, c.Tool, strings.Join(paths, ", ")))
			}
		}
	}()

	// 3. Per-call overhead and throughput.
	func() {
		f, sess, _, ok := session()
		if !ok {
			return
		}
		defer f.Close()
		defer sess.Close()
		c := s.Calls.ListIssues
		mcpCall := func() error { _, err := sess.Call(ctx, c); return err }
		if _, err := bench.Latencies(o.warmup, mcpCall); err != nil {
			fail("list issues", err)
			return
		}
		d, err := bench.Direct(f, s.Calls.IssuesPath)
		if err != nil {
			fail("direct", err)
			return
		}
		r.DirectURL = d.URL()
		direct := func() error { return d.Do(ctx) }
		bench.Latencies(o.warmup, direct)
		// Interleaved, so that both series see the same machine over time.
		if r.MCP, r.Direct, err = bench.Interleaved(o.calls, mcpCall, direct); err != nil {
			fail("list issues", err)
			return
		}
		if ev := s.Calls.GetEvent; ev.Tool != "" {
			evCall := func() error { _, err := sess.Call(ctx, ev); return err }
			bench.Latencies(o.warmup, evCall)
			de, err := bench.Direct(f, s.Calls.EventPath)
			if err != nil {
				fail("direct event", err)
				return
			}
			evDirect := func() error { return de.Do(ctx) }
			bench.Latencies(o.warmup, evDirect)
			if r.EventMCP, r.EventDirect, err = bench.Interleaved(o.calls, evCall, evDirect); err != nil {
				fail("get event", err)
				return
			}
		}
		ping := func() error { _, err := sess.Request(ctx, "ping", map[string]any{}); return err }
		bench.Latencies(o.warmup, ping)
		if r.Ping, err = bench.Latencies(o.calls, ping); err != nil {
			fail("ping", err)
			return
		}
		if r.MCPRate, err = bench.Throughput(o.calls, o.inflight, mcpCall); err != nil {
			fail("throughput", err)
		}
		if r.DirectRate, err = bench.Throughput(o.calls, o.inflight, direct); err != nil {
			fail("direct throughput", err)
		}
	}()

	// 4. Peak RSS after many calls in one session.
	func() {
		f, sess, _, ok := session()
		if !ok {
			return
		}
		defer f.Close()
		defer sess.Close()
		r.MemoryAtInit, _ = bench.MemoryOf(sess.PID())
		mix := []bench.Call{s.Calls.ListOrgs, s.Calls.ListProjects, s.Calls.ListIssues, s.Calls.GetIssue}
		for i := range o.rssCalls {
			if _, err := sess.Call(ctx, mix[i%len(mix)]); err != nil {
				fail("rss calls", err)
				return
			}
		}
		var err error
		if r.Memory, err = bench.MemoryOf(sess.PID()); err != nil {
			fail("memory", err)
		}
	}()
	return r
}

func measureResult(tool string, line []byte) toolBytes {
	tb := toolBytes{Tool: tool, Total: len(line)}
	var m struct {
		Result struct {
			Content           []struct{ Type, Text string } `json:"content"`
			StructuredContent json.RawMessage               `json:"structuredContent"`
		} `json:"result"`
	}
	json.Unmarshal(line, &m)
	for _, c := range m.Result.Content {
		tb.Text += len(c.Text)
	}
	tb.Structured = len(m.Result.StructuredContent)
	return tb
}

func ms(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func kb(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%d", n)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func report(w io.Writer, rs []*result, o opts) {
	fmt.Fprintf(w, "Machine: %s, %d CPUs, %s/%s, %s.\n\n", cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
	ours := rs[0]
	var peer *result
	if len(rs) > 1 {
		peer = rs[1]
	}
	col := func(f func(*result) string) string {
		if peer == nil {
			return f(ours) + " | -"
		}
		return f(ours) + " | " + f(peer)
	}
	ratio := func(f func(*result) float64) string {
		if peer == nil || f(ours) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1fx", f(peer)/f(ours))
	}
	overhead := func(r *result, q float64) time.Duration {
		return bench.Quantile(r.MCP, q) - bench.Quantile(r.Direct, q)
	}

	fmt.Fprintf(w, "| metric | sentry-mcp | @sentry/mcp-server | sentry-mcp's advantage | target | |\n|---|---|---|---|---|---|\n")
	coldOK := peer != nil && ours.ColdMedian > 0 && float64(peer.ColdMedian)/float64(ours.ColdMedian) >= 30
	fmt.Fprintf(w, "| cold start: exec to initialize response (median of %d) | %s | %s | 30x faster | %s |\n",
		o.cold, col(func(r *result) string { return ms(r.ColdMedian) }), ratio(func(r *result) float64 { return float64(r.ColdMedian) }), verdict(coldOK))
	rssOK := peer != nil && ours.Memory.PeakRSS > 0 && float64(ours.Memory.PeakRSS) <= float64(peer.Memory.PeakRSS)/5
	fmt.Fprintf(w, "| peak RSS (VmHWM) after %d tool calls in one session | %s | %s | at most 1/5 | %s |\n",
		o.rssCalls, col(func(r *result) string { return mib(r.Memory.PeakRSS) }), ratio(func(r *result) float64 { return float64(r.Memory.PeakRSS) }), verdict(rssOK))
	// Per tool: the servers offer different numbers of tools.
	perTool := func(r *result) float64 { return float64(r.ListBytes) / float64(max(r.ToolCount, 1)) }
	listOK := peer != nil && ours.ListBytes > 0 && perTool(ours) <= perTool(peer)/2.5
	fmt.Fprintf(w, "| `tools/list` response, bytes (tools; per tool) | %s | %s | at most 1/2.5 per tool | %s |\n",
		col(func(r *result) string { return fmt.Sprintf("%d (%d; %.0f)", r.ListBytes, r.ToolCount, perTool(r)) }), ratio(perTool), verdict(listOK))
	ovOK := len(ours.MCP) > 0 && overhead(ours, 0.5) < time.Millisecond
	fmt.Fprintf(w, "| per-call overhead, list issues: MCP minus direct HTTP, median | %s | - | under 1 ms | %s |\n",
		col(func(r *result) string { return ms(overhead(r, 0.5)) }), verdict(ovOK))
	fmt.Fprintf(w, "| per-call overhead, p99 (p99 through MCP minus p99 direct) | %s | - | | |\n", col(func(r *result) string { return ms(overhead(r, 0.99)) }))
	if len(ours.EventMCP) > 0 {
		evOverhead := bench.Quantile(ours.EventMCP, 0.5) - bench.Quantile(ours.EventDirect, 0.5)
		fmt.Fprintf(w, "| per-call overhead, get_event: MCP minus direct HTTP, median | %s | - | - | under 1 ms | %s |\n", ms(evOverhead), verdict(evOverhead < time.Millisecond))
	}
	fmt.Fprintf(w, "| list issues through MCP, median / p99 (%d calls) | %s | | | |\n", o.calls,
		col(func(r *result) string {
			return ms(bench.Quantile(r.MCP, 0.5)) + " / " + ms(bench.Quantile(r.MCP, 0.99))
		}))
	fmt.Fprintf(w, "| the same request direct to the fake, median / p99 | %s | | | |\n",
		col(func(r *result) string {
			return ms(bench.Quantile(r.Direct, 0.5)) + " / " + ms(bench.Quantile(r.Direct, 0.99))
		}))
	fmt.Fprintf(w, "| JSON-RPC `ping` round trip over stdio, median / p99 | %s | | | |\n",
		col(func(r *result) string {
			return ms(bench.Quantile(r.Ping, 0.5)) + " / " + ms(bench.Quantile(r.Ping, 0.99))
		}))
	fmt.Fprintf(w, "| throughput, %d calls in flight (direct HTTP) | %s | %s | | |\n", o.inflight,
		col(func(r *result) string { return fmt.Sprintf("%.0f/s (%.0f/s)", r.MCPRate, r.DirectRate) }), ratio(func(r *result) float64 { return 1 / r.MCPRate }))
	fmt.Fprintf(w, "| RSS right after initialize | %s | %s | | |\n",
		col(func(r *result) string { return mib(r.MemoryAtInit.RSS) }), ratio(func(r *result) float64 { return float64(r.MemoryAtInit.RSS) }))
	fmt.Fprintf(w, "| `initialize` response, bytes | %s | | | |\n", col(func(r *result) string { return fmt.Sprint(r.InitBytes) }))

	fmt.Fprintf(w, "\nResult sizes on the demo data: bytes of the JSON-RPC response (of which text content / structuredContent), and the requests the call made to the fake (how many answered 404: endpoints the fake does not have):\n\n")
	fmt.Fprintf(w, "| operation | sentry-mcp | @sentry/mcp-server |\n|---|---|---|\n")
	for _, op := range operations {
		cell := func(r *result) string {
			if r == nil {
				return "-"
			}
			tb, ok := r.ToolBytes[op.name]
			if !ok {
				return "n/a"
			}
			up := fmt.Sprintf("%d req", len(tb.Upstream))
			if n := count404(tb.Upstream); n > 0 {
				up += fmt.Sprintf(", %d x 404", n)
			}
			if tb.Error {
				return fmt.Sprintf("`%s` tool error (%s)", tb.Tool, up)
			}
			return fmt.Sprintf("`%s` %d (%d / %s), %s", tb.Tool, tb.Total, tb.Text, kb(tb.Structured), up)
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", op.name, cell(ours), cell(peer))
	}
	fmt.Fprintln(w)
	for _, r := range rs {
		if r.DirectURL != "" {
			fmt.Fprintf(w, "- %s list issues upstream request: `GET %s`\n", r.Name, strings.SplitN(r.DirectURL, "/api/0/", 2)[1])
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s: %s\n", r.Name, n)
		}
		var missing []string
		for _, op := range operations {
			for _, u := range r.ToolBytes[op.name].Upstream {
				if u.Status == 404 && !slices.Contains(missing, u.Path) {
					missing = append(missing, u.Path)
				}
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(w, "- %s requested endpoints the fake answers 404: `%s`\n", r.Name, strings.Join(missing, "`, `"))
		}
		if r.Memory.Children > 0 {
			fmt.Fprintf(w, "- %s ran %d child process(es); their memory is included.\n", r.Name, r.Memory.Children)
		}
	}
}

func count404(us []bench.Upstream) int {
	n := 0
	for _, u := range us {
		if u.Status == 404 {
			n++
		}
	}
	return n
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
