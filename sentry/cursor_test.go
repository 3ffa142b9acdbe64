package sentry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// rawServer answers every request with the raw response head, then body:
// what a hostile server can put in a header, byte for byte.
func rawServer(t *testing.T, head string, body string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n%s", len(body), head, body)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestCursorsFromSentryAreValidated(t *testing.T) {
	link := func(cursor string) string {
		return `Link: <http://x/api/0/organizations/?&cursor=a>; rel="previous"; results="false"; cursor="0:0:1", <http://x/api/0/organizations/?&cursor=b>; rel="next"; results="true"; cursor="` + cursor + `"` + "\r\n"
	}
	tests := []struct {
		name, head, want string
	}{
		{"Sentry's own", link("1735689600000:100:0"), "1735689600000:100:0"},
		{"float value", link("0.5:1:0"), "0.5:1:0"},
		{"space", link("0:100:0 x"), ""},
		{"percent-encoded CRLF", link("0:100:0%0d%0aX-Evil:%201"), ""},
		{"ampersand", link("0:100:0&project=1"), ""},
		{"non-ASCII", link("0:100:0\u00e9"), ""},
		{"tab", link("0:100:0\tx"), ""},
		{"too long", link(strings.Repeat("1", 300) + ":0:0"), ""},
		{"empty", link(""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(Config{BaseURL: rawServer(t, tt.head, orgsJSON), Token: StaticToken("tok")})
			if err != nil {
				t.Fatal(err)
			}
			_, resp, err := c.ListOrganizations(context.Background(), ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Page.NextCursor != tt.want {
				t.Errorf("NextCursor %q, want %q", resp.Page.NextCursor, tt.want)
			}
		})
	}
	// Header values that Go's server would never send, as parsed.
	for _, bad := range []string{"0:1:0\r\nX-Evil: 1", "0:1:0\n", "0:1:0\x01", "\"0:1:0"} {
		p := parsePage(http.Header{"Link": {`<u>; rel="next"; results="true"; cursor="` + bad + `"`}})
		if p.NextCursor != "" {
			t.Errorf("cursor %q passed", p.NextCursor)
		}
	}
}

func TestOddCursorsAreNeverSent(t *testing.T) {
	var hits atomic.Int64
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `[]`)
	})
	ctx := context.Background()
	for _, cur := range []string{"0:100:0\r\nX-Evil: 1", "0:100:0&query=is:resolved", "0:100:0 ", "\x00", "é:1:0", strings.Repeat("9", 257)} {
		_, _, err1 := c.ListOrganizations(ctx, ListOptions{Cursor: cur})
		_, _, err2 := c.ListIssues(ctx, "acme", IssueListOptions{Cursor: cur})
		_, _, err3 := c.ListReleases(ctx, "acme", ReleaseListOptions{ListOptions: ListOptions{Cursor: cur}})
		for _, err := range []error{err1, err2, err3} {
			var ia *InvalidArgumentError
			if !errors.As(err, &ia) || ia.What != "cursor" || !strings.Contains(err.Error(), "cursor") {
				t.Errorf("cursor %q: err = %v", cur, err)
			}
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests sent with an odd cursor", hits.Load())
	}
	if _, _, err := c.ListIssues(ctx, "acme", IssueListOptions{Cursor: "1735689600000:100:0"}); err != nil || hits.Load() != 1 {
		t.Errorf("a good cursor: %v", err)
	}
}
