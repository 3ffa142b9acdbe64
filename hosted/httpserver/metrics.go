package httpserver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the server's Prometheus collectors; the other pieces of the
// hosted server report into them.
type Metrics struct {
	requests  *prometheus.CounterVec
	http      *prometheus.CounterVec
	upstream  *prometheus.HistogramVec
	refreshes *prometheus.CounterVec
	lockWaits *prometheus.HistogramVec
}

// refreshOutcomes are the outcomes Refresh counts; anything else is "other".
var refreshOutcomes = []string{"ok", "failed", "refused"}

// newMetrics registers the collectors; replica labels what each replica
// does for grants every replica shares (refreshes, lock waits).
func newMetrics(reg prometheus.Registerer, replica string) (*Metrics, error) {
	byReplica := prometheus.Labels{"replica": replica}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sentry_mcp_requests_total",
			Help: "MCP requests by JSON-RPC method, tool (tools/call only) and outcome (ok, tool_error, error, unauthorized, refused).",
		}, []string{"method", "tool", "outcome"}),
		http: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sentry_mcp_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sentry_mcp_upstream_request_duration_seconds",
			Help:    "Latency of requests to Sentry until the response headers, by status code (\"error\": no response).",
			Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"status"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "sentry_mcp_refreshes_total",
			Help:        "Refreshes of users' Sentry grants sent by this replica, by outcome (ok, failed, refused).",
			ConstLabels: byReplica,
		}, []string{"outcome"}),
		lockWaits: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "sentry_mcp_refresh_lock_wait_seconds",
			Help:        "How long this replica waited for a grant's refresh lock, by outcome (acquired, failed).",
			ConstLabels: byReplica,
			Buckets:     []float64{0.001, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.http, m.upstream, m.refreshes, m.lockWaits} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, o := range refreshOutcomes {
		m.refreshes.WithLabelValues(o)
	}
	return m, nil
}

// LockWait observes one wait for a grant's refresh lock (err: it was not
// acquired).
func (m *Metrics) LockWait(wait time.Duration, err error) {
	outcome := "acquired"
	if err != nil {
		outcome = "failed"
	}
	m.lockWaits.WithLabelValues(outcome).Observe(wait.Seconds())
}

// Upstream returns rt (nil: http.DefaultTransport) observing the latency
// and status of every request it sends.
func (m *Metrics) Upstream(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &observedTransport{rt: rt, m: m}
}

// Refresh counts one refresh of a user's Sentry grant: "ok", "failed" or
// "refused" (anything else is counted as "other").
func (m *Metrics) Refresh(outcome string) {
	m.refreshes.WithLabelValues(oneOf(outcome, refreshOutcomes)).Inc()
}

func (m *Metrics) request(method, tool, outcome string) {
	m.requests.WithLabelValues(method, tool, outcome).Inc()
}

func (m *Metrics) httpRequest(route string, code int) {
	m.http.WithLabelValues(route, statusLabel(code)).Inc()
}

type observedTransport struct {
	rt http.RoundTripper
	m  *Metrics
}

func (t *observedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.rt.RoundTrip(req)
	status := "error"
	if err == nil {
		status = statusLabel(resp.StatusCode)
	}
	t.m.upstream.WithLabelValues(status).Observe(time.Since(start).Seconds())
	return resp, err
}

// statusLabel is code as a label, bounded to the valid range.
func statusLabel(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}

// oneOf is s if it is in set, else "other": label values stay bounded.
func oneOf(s string, set []string) string {
	for _, v := range set {
		if s == v {
			return s
		}
	}
	return "other"
}
