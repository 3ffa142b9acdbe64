// Command fakesentry serves the fake Sentry of sentry/sentrytest (the demo
// data) on a loopback port until it is killed or its stdin closes, for
// clients and benchmarks that run sentry-mcp (or another Sentry MCP server)
// as a separate process.
//
// It prints one line on stdout, then serves:
//
//	URL=http://127.0.0.1:PORT TOKEN=...
//
// The token holds the demo scopes (org:read, project:read, project:releases,
// team:read, member:read, event:write) unless -scopes says otherwise.
// GET /__fakesentry/requests answers the requests received so far as JSON,
// [{"method", "path", "query", "status"}], for a harness that replays them
// or reports which endpoints a server used (and which the fake lacks: 404).
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

func main() {
	scopes := flag.String("scopes", "org:read,project:read,project:releases,team:read,member:read,event:write", "comma-separated scopes of the printed token")
	token := flag.String("token", "", "the token to register (default: random)")
	selfHosted := flag.Bool("self-hosted", false, "no rate-limit headers, as self-hosted Sentry")
	logRequests := flag.Bool("log", false, "print each request on stderr")
	exitOnEOF := flag.Bool("exit-on-eof", false, "exit when stdin closes (for a parent that may die without killing us)")
	flag.Parse()

	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{SelfHosted: *selfHosted})
	tok := *token
	if tok == "" {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		tok = "sntryu_" + hex.EncodeToString(b)
	}
	fake.AddToken(tok, strings.Split(*scopes, ",")...)

	// The fake's own listener stays as it is; this one adds the request log
	// endpoint in front of the same handler.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakesentry:", err)
		os.Exit(1)
	}
	var (
		mu  sync.Mutex
		log = []logged{}
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /__fakesentry/requests", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		b, _ := json.Marshal(log)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	h := fake.Handler()
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: 200}
		h.ServeHTTP(sw, r)
		mu.Lock()
		log = append(log, logged{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: sw.status})
		mu.Unlock()
		if *logRequests {
			fmt.Fprintf(os.Stderr, "%d %s %s\n", sw.status, r.Method, r.URL.RequestURI())
		}
	}))
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)

	fmt.Printf("URL=http://%s TOKEN=%s\n", ln.Addr(), tok)
	os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	if *exitOnEOF {
		go func() {
			io.Copy(io.Discard, os.Stdin)
			stop <- syscall.SIGTERM
		}()
	}
	<-stop
	srv.Close()
	fake.Close()
}

type logged struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query"`
	Status int    `json:"status"`
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
