package sentry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestProxyFromEnvironment checks that the client's default transport goes
// through HTTPS_PROXY and honours NO_PROXY, as corporate networks need.
// net/http reads the proxy variables once per process, so each case runs
// in a child process with its own environment; the Sentry host is not a
// loopback one (ProxyFromEnvironment never proxies those), and the proxy
// records the CONNECT it is asked for, then refuses it.
func TestProxyFromEnvironment(t *testing.T) {
	if os.Getenv("SENTRY_PROXYTEST") != "" {
		t.Skip("in the child")
	}
	var (
		mu       sync.Mutex
		connects []string
	)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		connects = append(connects, r.Method+" "+r.Host)
		mu.Unlock()
		http.Error(w, "no", http.StatusBadGateway)
	}))
	defer proxy.Close()
	tests := []struct {
		name      string
		env       []string
		wantProxy bool
	}{
		{"HTTPS_PROXY", []string{"HTTPS_PROXY=" + proxy.URL}, true},
		{"https_proxy", []string{"https_proxy=" + proxy.URL}, true},
		{"NO_PROXY names the host", []string{"HTTPS_PROXY=" + proxy.URL, "NO_PROXY=localhost,sentry.invalid"}, false},
		{"NO_PROXY names the domain", []string{"HTTPS_PROXY=" + proxy.URL, "no_proxy=.invalid"}, false},
		{"NO_PROXY=*", []string{"HTTPS_PROXY=" + proxy.URL, "NO_PROXY=*"}, false},
		{"HTTP_PROXY is for http URLs only", []string{"HTTP_PROXY=" + proxy.URL}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			connects = nil
			mu.Unlock()
			cmd := exec.Command(os.Args[0], "-test.run=^TestProxyChild$", "-test.v")
			env := []string{"SENTRY_PROXYTEST=1"}
			for _, kv := range os.Environ() {
				k, _, _ := strings.Cut(kv, "=")
				switch strings.ToUpper(k) {
				case "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "REQUEST_METHOD":
					continue
				}
				env = append(env, kv)
			}
			cmd.Env = append(env, tt.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			mu.Lock()
			got := append([]string(nil), connects...)
			mu.Unlock()
			if tt.wantProxy && (len(got) != 1 || got[0] != "CONNECT sentry.invalid:443") {
				t.Errorf("proxy saw %q, want one CONNECT sentry.invalid:443\n%s", got, out)
			}
			if !tt.wantProxy && len(got) != 0 {
				t.Errorf("proxy saw %q, want nothing\n%s", got, out)
			}
		})
	}
}

// TestProxyChild is the child of TestProxyFromEnvironment.
func TestProxyChild(t *testing.T) {
	if os.Getenv("SENTRY_PROXYTEST") == "" {
		t.Skip("only as the child of TestProxyFromEnvironment")
	}
	c, err := NewClient(Config{BaseURL: "https://sentry.invalid", Token: StaticToken("tok"), Retries: -1, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Whoami(context.Background())
	fmt.Println("child error:", err)
}
