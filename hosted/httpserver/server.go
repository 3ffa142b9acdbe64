// Package httpserver serves the hosted mode over HTTP: MCP Streamable HTTP
// at /mcp and /mcp/{org} for authenticated users, the protected resource
// metadata (RFC 9728) and 401 challenge that lead clients to sign-in, the
// OAuth authorization server's routes, health, readiness and metrics. It
// checks Host and Origin, bounds bodies and time, logs one line per
// request and shuts down gracefully.
package httpserver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sentry-mcp/sentry-mcp/hosted/ratelimit"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

// Authenticator verifies the bearer token of a request to resource ("/mcp" or "/mcp/{org}").
// An error means 401 with the challenge, unless it has a method
// Unavailable() bool that reports true (or is a context error): then the
// check could not be made, and the request gets 503.
type Authenticator interface {
	// Authenticate returns the caller. Any error means 401 with the WWW-Authenticate challenge
	// (the error text is logged at debug level only; it never contains secrets).
	Authenticate(r *http.Request, resource string) (*tools.Principal, error)
}

// Config is what a Server is built from.
type Config struct {
	PublicURL       *url.URL                        // origin clients use; every URL we issue is built from it
	Loopback        bool                            // listening on a loopback address: Host may also be a loopback host:port
	Inventory       *tools.Inventory                // the tools, compiled once
	Version         string                          // server version in initialize
	Auth            Authenticator                   // bearer token -> principal
	OAuth           http.Handler                    // mounted at /.well-known/oauth-authorization-server and /oauth/
	DefaultScopes   []string                        // scope= of the 401 challenge
	ScopesSupported []string                        // of the protected resource metadata
	Ready           func(ctx context.Context) error // /readyz
	Registry        *prometheus.Registry            // nil: a new one
	MaxBody         int64                           // 0: 4 MiB
	RequestTimeout  time.Duration                   // 0: 2 minutes
	Logger          *slog.Logger                    // nil: slog.Default()
	TrustedProxies  []netip.Prefix                  // whose X-Forwarded-For names the client in the access log
	Replica         string                          // this replica's name in the metrics ("": the host name)
}

const (
	defaultMaxBody = 4 << 20
	defaultTimeout = 2 * time.Minute
	// maxPins bounds the MCP servers kept for /mcp/{org}; the least
	// recently used one is dropped (and rebuilt when needed again).
	maxPins = 1000
	// writeSlack is how much longer than the request deadline a response
	// may take to write, so the deadline's own answer still gets out.
	writeSlack = 10 * time.Second
	// readyTimeout bounds one readiness check.
	readyTimeout = 5 * time.Second
)

// Server is the hosted mode's HTTP server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	reg     *prometheus.Registry
	timeout time.Duration
	maxBody int64

	scheme  string // "http" or "https"
	public  string // scheme://host[:port] of PublicURL, no trailing slash
	pubHost string // lowercase host of PublicURL (IPv6 without brackets)
	pubPort string // port of PublicURL, the scheme's default when absent

	listenPorts sync.Map // port string -> struct{}: ports Serve listens on

	root *pinnedMCP // /mcp
	pins *pinCache  // /mcp/{org}

	drainCtx context.Context // done when Serve starts shutting down
	drain    context.CancelFunc

	mux     *http.ServeMux
	handler http.Handler
}

// scopeToken is an RFC 6749 scope-token: safe inside a quoted string.
var scopeToken = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)

// New checks cfg and builds the server.
func New(cfg Config) (*Server, error) {
	pub := cfg.PublicURL
	if pub == nil {
		return nil, errors.New("httpserver: the public URL is required")
	}
	scheme := strings.ToLower(pub.Scheme)
	if (scheme != "http" && scheme != "https") || pub.Host == "" || pub.User != nil || pub.Opaque != "" ||
		(pub.Path != "" && pub.Path != "/") || pub.RawQuery != "" || pub.ForceQuery || pub.Fragment != "" {
		return nil, fmt.Errorf("httpserver: the public URL must be an origin such as https://mcp.example.com (http or https, no path, query or user info), got %q", pub.Redacted())
	}
	if cfg.Inventory == nil {
		return nil, errors.New("httpserver: an inventory is required")
	}
	if cfg.Auth == nil {
		return nil, errors.New("httpserver: an authenticator is required")
	}
	for _, sc := range append(append([]string{}, cfg.DefaultScopes...), cfg.ScopesSupported...) {
		if !scopeToken.MatchString(sc) {
			return nil, fmt.Errorf("httpserver: %q is not a valid OAuth scope", sc)
		}
	}
	s := &Server{cfg: cfg, log: cfg.Logger, reg: cfg.Registry, timeout: cfg.RequestTimeout, maxBody: cfg.MaxBody, scheme: scheme}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.timeout <= 0 {
		s.timeout = defaultTimeout
	}
	if s.maxBody <= 0 {
		s.maxBody = defaultMaxBody
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
		s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	var err error
	replica := cfg.Replica
	if replica == "" {
		replica, _ = os.Hostname()
	}
	if s.metrics, err = newMetrics(s.reg, cmp.Or(replica, "unknown")); err != nil {
		return nil, fmt.Errorf("httpserver: registering metrics: %w", err)
	}
	host, port := splitHost(pub.Host)
	s.pubHost, s.pubPort = strings.ToLower(host), cmp.Or(port, defaultPort(scheme))
	s.public = scheme + "://" + strings.ToLower(pub.Host)
	s.drainCtx, s.drain = context.WithCancel(context.Background())
	s.root = s.buildMCP("")
	s.pins = newPinCache(maxPins, s.buildMCP)
	s.mux = s.buildMux()
	s.handler = http.HandlerFunc(s.serve)
	return s, nil
}

// Handler returns the server's root handler (every route, every check).
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics the other pieces report into.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Serve serves on ln until ctx ends, then stops accepting and waits up to grace for in-flight requests.
// Requests still running after grace are cut off (logged as a warning). Serve returns nil after a
// shutdown, or the error that stopped serving before ctx ended.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		s.listenPorts.Store(fmt.Sprint(a.Port), struct{}{})
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving HTTP on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: no new connections; waiting for in-flight requests", "grace", grace.String())
	s.drain() // listening streams end now; calls run to completion
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		s.log.Warn("requests still running after the shutdown grace period were cut off", "grace", grace.String())
		_ = hs.Close()
	}
	<-errc // http.ErrServerClosed
	return nil
}

// serve is the root handler: security headers, deadline, Host check,
// routing, access log and HTTP metrics.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st := &reqState{route: "other"}
	rec := &recorder{ResponseWriter: w}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(start.Add(s.timeout)) // not every ResponseWriter supports deadlines
	_ = rc.SetWriteDeadline(start.Add(s.timeout + writeSlack))
	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()
	r = r.WithContext(context.WithValue(ctx, stateKey{}, st))

	defer func() {
		p := recover()
		status := rec.status
		if status == 0 {
			status = http.StatusOK
			if p != nil {
				status = http.StatusInternalServerError
			}
		}
		route, method, tool := st.labels()
		s.metrics.httpRequest(route, status)
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path), // never the query: /oauth/callback carries codes
			slog.String("route", route),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int64("bytes", rec.bytes),
			slog.String("client", ratelimit.ClientIP(r, s.cfg.TrustedProxies).String()),
		}
		if method != "" {
			attrs = append(attrs, slog.String("rpc_method", method))
		}
		if tool != "" {
			attrs = append(attrs, slog.String("tool", tool))
		}
		s.log.LogAttrs(context.WithoutCancel(ctx), slog.LevelInfo, "http request", attrs...)
		if p != nil {
			panic(p) // net/http's own recovery and logging
		}
	}()

	if !s.hostAllowed(r.Host) {
		if isMCPPath(r.URL.Path) {
			s.metrics.request("", "", "refused")
		}
		http.Error(rec, "421 misdirected request: the Host header does not name this server", http.StatusMisdirectedRequest)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

func (s *Server) buildMux() *http.ServeMux {
	m := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) {
		m.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			stateFrom(r.Context()).setRoute(pattern)
			h(w, r)
		}))
	}
	handle("/mcp", func(w http.ResponseWriter, r *http.Request) { s.serveMCP(w, r, "/mcp", "") })
	handle("/mcp/{org}", func(w http.ResponseWriter, r *http.Request) {
		org := r.PathValue("org")
		if !validSlug(org) {
			notFound(w, r)
			return
		}
		s.serveMCP(w, r, "/mcp/"+org, org)
	})
	const prm = "/.well-known/oauth-protected-resource"
	handle(prm, func(w http.ResponseWriter, r *http.Request) { s.serveResourceMetadata(w, r, "/mcp") })
	handle(prm+"/mcp", func(w http.ResponseWriter, r *http.Request) { s.serveResourceMetadata(w, r, "/mcp") })
	handle(prm+"/mcp/{org}", func(w http.ResponseWriter, r *http.Request) {
		org := r.PathValue("org")
		if !validSlug(org) {
			notFound(w, r)
			return
		}
		s.serveResourceMetadata(w, r, "/mcp/"+org)
	})
	oauth := s.cfg.OAuth
	if oauth == nil {
		oauth = http.HandlerFunc(notFound)
	}
	handle("/.well-known/oauth-authorization-server", oauth.ServeHTTP)
	handle("/oauth/", oauth.ServeHTTP)
	handle("/.well-known/openid-configuration", notFound) // we are not an OpenID provider
	handle("/healthz", getOnly(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok\n"))
	}))
	handle("/readyz", getOnly(s.serveReady))
	metrics := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
	handle("/metrics", getOnly(metrics.ServeHTTP))
	m.Handle("/", http.HandlerFunc(notFound))
	return m
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			// The reason (it may name the database) goes to the log only.
			s.log.Warn("not ready", "error", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}

// hostAllowed reports whether a request's Host names this server: the
// public URL's host, or when listening on loopback a loopback host with
// the public URL's port or a port Serve listens on.
func (s *Server) hostAllowed(hostHeader string) bool {
	if hostHeader == "" {
		return false
	}
	host, port := splitHost(hostHeader)
	host, port = strings.ToLower(host), cmp.Or(port, defaultPort(s.scheme))
	if host == s.pubHost && port == s.pubPort {
		return true
	}
	if !s.cfg.Loopback || (host != "127.0.0.1" && host != "::1" && host != "localhost") {
		return false
	}
	if port == s.pubPort {
		return true
	}
	_, ok := s.listenPorts.Load(port)
	return ok
}

// originAllowed reports whether an Origin header is the public URL's origin.
func (s *Server) originAllowed(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := splitHost(u.Host)
	return scheme == s.scheme && strings.ToLower(host) == s.pubHost && cmp.Or(port, defaultPort(scheme)) == s.pubPort
}

// splitHost splits host[:port] (IPv6 in brackets) into host and port ("" when absent).
func splitHost(hp string) (host, port string) {
	if h, p, err := net.SplitHostPort(hp); err == nil {
		return h, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(hp, "["), "]"), ""
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

func isMCPPath(p string) bool { return p == "/mcp" || strings.HasPrefix(p, "/mcp/") }

func notFound(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "404 not found", http.StatusNotFound)
}

func getOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h(w, r)
	}
}

// recorder notes the status and size of a response. On MCP routes it
// keeps the cache headers private whatever the transport sets.
type recorder struct {
	http.ResponseWriter
	status  int
	bytes   int64
	private bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
		if r.private {
			r.Header().Set("Cache-Control", "private, no-store")
			r.Header().Set("Vary", "Authorization")
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Flush lets Server-Sent Events through.
func (r *recorder) Flush() {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap is for http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// reqState is what the handlers and the MCP hooks learn about a request,
// for its log line and metrics.
type reqState struct {
	mu        sync.Mutex
	route     string
	rpcMethod string
	tool      string
	outcome   string // set by the MCP hooks
}

type stateKey struct{}

// stateFrom returns the request's state; a detached one if there is none
// (so callers need not check).
func stateFrom(ctx context.Context) *reqState {
	if st, ok := ctx.Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

func (st *reqState) setRoute(r string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.route = r
}

func (st *reqState) setRPC(method, tool string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.rpcMethod, st.tool = method, tool
}

func (st *reqState) setOutcome(o string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.outcome = o
}

func (st *reqState) labels() (route, method, tool string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.route, st.rpcMethod, st.tool
}

func (st *reqState) rpcLabels() (method, tool string) {
	_, method, tool = st.labels()
	return method, tool
}

func (st *reqState) result() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.outcome
}
