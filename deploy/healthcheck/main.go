// Command healthcheck is the container's health check: the image is FROM
// scratch, with no shell, curl or wget, so this small static program asks
// the server in the same container for /healthz.
//
//	healthcheck [URL]    (default http://127.0.0.1:8080/healthz)
//
// The server answers only requests whose Host is its public URL's host
// (it sits behind a load balancer), so the request carries the host of
// SENTRY_MCP_PUBLIC_URL when that is set. It exits 0 on a 200 within 5 s,
// else 1 with the reason on stderr.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

const defaultURL = "http://127.0.0.1:8080/healthz"

func main() {
	target := defaultURL
	if len(os.Args) > 2 || (len(os.Args) == 2 && (os.Args[1] == "-h" || os.Args[1] == "--help")) {
		fmt.Fprintf(os.Stderr, "usage: healthcheck [URL] (default %s)\n", defaultURL)
		os.Exit(2)
	}
	if len(os.Args) == 2 {
		target = os.Args[1]
	}
	if err := check(target, os.Getenv("SENTRY_MCP_PUBLIC_URL")); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

// check GETs target with the Host of publicURL (when not empty) and wants
// 200.
func check(target, publicURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || u.Host == "" {
			return fmt.Errorf("SENTRY_MCP_PUBLIC_URL %q: want an origin like https://mcp.example.com", publicURL)
		}
		req.Host = u.Host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", target, resp.Status)
	}
	return nil
}
