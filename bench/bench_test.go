package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

// Go benchmarks of sentry-mcp alone (scripts/bench.sh compares it with
// @sentry/mcp-server). Run with:
//
//	go test -run '^$' -bench . ./bench
//
// The process benchmarks spawn the built binary; BenchmarkInProcess runs
// the same stdio server inside the test, so that
//
//	go test -run '^$' -bench InProcess -cpuprofile cpu.out ./bench
//	go tool pprof -top bench.test cpu.out
//
// profiles the server's own code path.

var (
	buildOnce         sync.Once
	binPath, fakePath string
	buildErr          error
)

// build builds sentry-mcp and cmd/fakesentry once per test binary.
func build(b *testing.B) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sentry-mcp-bench")
		if err != nil {
			buildErr = err
			return
		}
		binPath, fakePath = filepath.Join(dir, "sentry-mcp"), filepath.Join(dir, "fakesentry")
		for out, pkg := range map[string]string{binPath: "github.com/sentry-mcp/sentry-mcp", fakePath: "github.com/sentry-mcp/sentry-mcp/cmd/fakesentry"} {
			if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
				return
			}
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
}

func binary(b *testing.B) string {
	build(b)
	return binPath
}

// fake runs cmd/fakesentry in its own process, as scripts/bench.sh does.
func fake(b *testing.B) *Fake {
	build(b)
	f, err := StartFake(fakePath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(f.Close)
	return f
}

// BenchmarkColdStart: exec to the initialize response.
func BenchmarkColdStart(b *testing.B) {
	srv, f := Ours(binary(b)), fake(b)
	ctx := context.Background()
	var ds []time.Duration
	for b.Loop() {
		d, err := ColdStart(ctx, srv, f, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		ds = append(ds, d)
	}
	b.ReportMetric(float64(Quantile(ds, 0.5))/1e6, "median-ms")
}

func session(b *testing.B, f *Fake) (*Session, Server) {
	srv := Ours(binary(b))
	s, err := Start(srv, f, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	if _, err := s.Initialize(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s, srv
}

// BenchmarkListIssues: one list_issues through MCP over stdio, the same
// upstream request made directly, and both with 16 in flight.
func BenchmarkListIssues(b *testing.B) {
	ctx := context.Background()
	f := fake(b)
	s, srv := session(b, f)
	call := func() error { _, err := s.Call(ctx, srv.Calls.ListIssues); return err }
	if err := call(); err != nil {
		b.Fatal(err)
	}
	d, err := Direct(f, srv.Calls.IssuesPath)
	if err != nil {
		b.Fatal(err)
	}
	direct := func() error { return d.Do(ctx) }
	for _, bc := range []struct {
		name string
		fn   func() error
	}{{"mcp", call}, {"direct", direct}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := bc.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"-16-inflight", func(b *testing.B) {
			b.SetParallelism(8) // 2 CPUs x 8 = 16 goroutines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := bc.fn(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkInProcess runs sentry-mcp's stdio server in this process over
// pipes (what `serve` does, minus the exec), for profiling.
func BenchmarkInProcess(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := NewFake() // in this process too: the profile shows both sides
	b.Cleanup(f.Close)
	client, err := sentry.NewClient(sentry.Config{BaseURL: f.URL, UserAgent: "sentry-mcp/bench"})
	if err != nil {
		b.Fatal(err)
	}
	inv, err := tools.New(tools.Config{Client: client})
	if err != nil {
		b.Fatal(err)
	}
	pr := &tools.Principal{Key: "bench", Token: sentry.StaticToken(Token), Grant: auth.NewGrant(Scopes, nil, false)}
	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	ss := server.NewStdioServer(inv.MCPServer(tools.ServerOptions{Version: "bench", Bind: func(ctx context.Context) context.Context { return tools.WithPrincipal(ctx, pr) }}))
	server.WithWorkerPoolSize(16)(ss)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ss.Listen(ctx, stdinR, stdoutW)
		stdoutW.Close()
	}()
	s := &Session{in: stdinW, pending: map[int64]chan reply{}, done: make(chan struct{}), stderr: &tailBuffer{max: 1024}}
	go s.read(stdoutR)
	b.Cleanup(func() {
		stdinW.Close()
		cancel()
		<-done
	})
	if _, err := s.Initialize(ctx); err != nil {
		b.Fatal(err)
	}
	srv := Ours("")
	for _, c := range []struct {
		name string
		call Call
	}{{"list_issues", srv.Calls.ListIssues}, {"get_issue", srv.Calls.GetIssue}, {"list_organizations", srv.Calls.ListOrgs}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Call(ctx, c.call); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("tools_list", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Request(ctx, "tools/list", map[string]any{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct_list_issues", func(b *testing.B) {
		d, err := Direct(f, srv.Calls.IssuesPath)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := d.Do(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
