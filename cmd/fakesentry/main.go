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
// -oauth-app id:secret:redirect_uri (repeatable) registers an OAuth
// application, so a server in hosted mode can sign users in through the
// fake's /oauth/ endpoints.
// GET /__fakesentry/requests answers the requests received so far as JSON,
// [{"method", "path", "query", "status"}], for a harness that replays them
// or reports which endpoints a server used (and which the fake lacks: 404).
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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
	var apps []sentrytest.OAuthApp
	flag.Func("oauth-app", "register an OAuth application `id:secret:redirect_uri` (repeatable)", func(v string) error {
		app, err := parseOAuthApp(v)
		if err != nil {
			return err
		}
		for _, a := range apps {
			if a.ClientID == app.ClientID {
				return fmt.Errorf("client id %q given twice", app.ClientID)
			}
		}
		apps = append(apps, app)
		return nil
	})
	flag.Parse()

	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{SelfHosted: *selfHosted})
	for _, app := range apps {
		fake.AddOAuthApp(app)
	}
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

// parseOAuthApp parses id:secret:redirect_uri. The id and the secret must
// not contain ':'; the redirect URI is an absolute http(s) URL. Errors
// never echo the secret.
func parseOAuthApp(v string) (sentrytest.OAuthApp, error) {
	id, rest, ok1 := strings.Cut(v, ":")
	secret, redirect, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || id == "" || secret == "" || redirect == "" {
		return sentrytest.OAuthApp{}, errors.New("want id:secret:redirect_uri, each part non-empty")
	}
	u, err := url.Parse(redirect)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return sentrytest.OAuthApp{}, fmt.Errorf("redirect URI of %q: want an absolute http or https URL", id)
	}
	return sentrytest.OAuthApp{ClientID: id, ClientSecret: secret, RedirectURIs: []string{redirect}}, nil
}
