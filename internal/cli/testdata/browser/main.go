// Command browser stands in for a web browser in sign-in tests: run as
// $BROWSER with the authorize URL, it follows it (and Sentry's redirect to
// the loopback callback) exactly as a browser would, and logs where it went.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: browser URL")
		os.Exit(2)
	}
	resp, err := http.Get(os.Args[1])
	if err != nil {
		// The sign-in may already have ended (an error in the callback
		// closes the loopback server): like a browser tab, say nothing on
		// the terminal the CLI shares with us.
		if log := os.Getenv("TEST_BROWSER_LOG"); log != "" {
			if f, ferr := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); ferr == nil {
				fmt.Fprintf(f, "error %v\n", err)
				f.Close()
			}
		}
		os.Exit(1)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if log := os.Getenv("TEST_BROWSER_LOG"); log != "" {
		f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err == nil {
			fmt.Fprintf(f, "%d %s\n%s\n", resp.StatusCode, resp.Request.URL.Path, body)
			f.Close()
		}
	}
}
