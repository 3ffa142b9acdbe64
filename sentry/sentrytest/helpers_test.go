package sentrytest

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "sntryu_test0token"

// newTestServer starts a fake with testToken holding scopes.
func newTestServer(t *testing.T, data *Data, opts Options, scopes ...string) *Server {
	t.Helper()
	if data == nil {
		data = DemoData()
	}
	s := NewServer(data, opts)
	t.Cleanup(s.Close)
	if scopes != nil {
		s.AddToken(testToken, scopes...)
	}
	return s
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body is not JSON (%v): %q", err, r.body)
	}
	return v
}

func (r resp) object(t *testing.T) map[string]any {
	t.Helper()
	m, ok := r.json(t).(map[string]any)
	if !ok {
		t.Fatalf("body is not an object: %s", r.body)
	}
	return m
}

func (r resp) list(t *testing.T) []any {
	t.Helper()
	l, ok := r.json(t).([]any)
	if !ok {
		t.Fatalf("body is not a list: %s", r.body)
	}
	return l
}

// do sends a request; auth "" sends no Authorization header, otherwise the
// header value is "Bearer <auth>" unless auth starts with "raw:".
func do(t *testing.T, s *Server, method, path, auth, body string, headers ...string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if raw, ok := strings.CutPrefix(auth, "raw:"); ok {
		req.Header.Set("Authorization", raw)
	} else if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

func get(t *testing.T, s *Server, path string) resp {
	t.Helper()
	return do(t, s, "GET", path, testToken, "")
}

// wantDetail checks status and a {"detail": msg} body.
func wantDetail(t *testing.T, r resp, status int, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	if got := r.object(t)["detail"]; got != msg {
		t.Fatalf("detail %q, want %q", got, msg)
	}
}

func wantJSON(t *testing.T, r resp, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if got := r.json(t); !reflect.DeepEqual(got, w) {
		t.Fatalf("body %s, want %s", r.body, want)
	}
}

var jsonCompact = json.Compact

// exampleJSON decodes one of the embedded examples.
func exampleJSON(t *testing.T, name string) any {
	t.Helper()
	return example(name)
}

// fixedClock is a settable clock for Options.Now.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
