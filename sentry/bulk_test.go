package sentry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestBulkUpdateNeverSentWithoutIDs: a bulk PUT without ids would change
// the issues of Sentry's default search; the client refuses it, and any
// id or project that is not a plain number, before any request.
func TestBulkUpdateNeverSentWithoutIDs(t *testing.T) {
	var hits atomic.Int64
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `{"status":"resolved"}`)
	})
	many := make([]string, MaxBulkIDs+1)
	for i := range many {
		many[i] = fmt.Sprint(i + 1)
	}
	tests := []struct {
		name     string
		project  string
		ids      []string
		sentinel error
	}{
		{"nil ids", "11", nil, ErrBulkWithoutIDs},
		{"empty ids", "11", []string{}, ErrBulkWithoutIDs},
		{"empty id", "11", []string{""}, nil},
		{"short id", "11", []string{"BACKEND-1"}, nil},
		{"id with a query", "11", []string{"1&id=2"}, nil},
		{"no project", "", []string{"1"}, nil},
		{"project slug", "backend", []string{"1"}, nil},
		{"too many", "11", many, nil},
	}
	for _, tt := range tests {
		_, _, err := c.BulkUpdateIssues(context.Background(), "acme", tt.project, tt.ids, IssueUpdate{Status: "resolved"})
		if err == nil || (tt.sentinel != nil && !errors.Is(err, tt.sentinel)) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}

func TestBulkUpdateRequest(t *testing.T) {
	var method, path, query, body string
	status := 200
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		method, path, query = r.Method, r.URL.Path, r.URL.RawQuery
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		if status == 204 {
			w.WriteHeader(204)
			return
		}
		fmt.Fprint(w, `{"status":"ignored","substatus":"archived_until_escalating","statusDetails":{"ignoreUntilEscalating":true},"inbox":null,"assignedTo":{"type":"team","id":"4","name":"platform"},"priority":"high"}`)
	})
	to := "team:4"
	res, _, err := c.BulkUpdateIssues(context.Background(), "acme", "11", []string{"4504103", "4504105"}, IssueUpdate{Status: "ignored", Substatus: "archived_until_escalating", AssignedTo: &to, Priority: "high"})
	if err != nil {
		t.Fatal(err)
	}
	if method != "PUT" || path != "/api/0/organizations/acme/issues/" || query != "id=4504103&id=4504105&project=11&query=issue.id%3A%5B4504103%2C4504105%5D" {
		t.Errorf("request %s %s?%s", method, path, query)
	}
	if body != `{"status":"ignored","substatus":"archived_until_escalating","assignedTo":"team:4","priority":"high"}` {
		t.Errorf("body %s", body)
	}
	if res.Status != "ignored" || res.Substatus != "archived_until_escalating" || res.StatusDetails["ignoreUntilEscalating"] != true || res.AssignedTo.Name != "platform" || res.Priority != "high" {
		t.Errorf("result %+v", res)
	}
	// Unassigning sends "" explicitly.
	none := ""
	if _, _, err := c.BulkUpdateIssues(context.Background(), "acme", "11", []string{"1"}, IssueUpdate{AssignedTo: &none}); err != nil || body != `{"assignedTo":""}` {
		t.Errorf("unassign body %s (%v)", body, err)
	}
	// 204: nothing matched; not a decoding error.
	status = 204
	if _, r, err := c.BulkUpdateIssues(context.Background(), "acme", "11", []string{"1"}, IssueUpdate{Status: "resolved"}); !errors.Is(err, ErrNoIssuesMatched) || r.StatusCode != 204 {
		t.Errorf("204: %v", err)
	}
}

func TestLookupIssueCollapses(t *testing.T) {
	var got string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path + "?" + r.URL.RawQuery
		fmt.Fprint(w, `{"id":"4504103","shortId":"BACKEND-3","project":{"id":"11","slug":"backend"}}`)
	})
	is, _, err := c.LookupIssue(context.Background(), "acme", "BACKEND-3")
	if err != nil || is.Project.ID != "11" {
		t.Fatalf("%+v %v", is, err)
	}
	if !strings.HasPrefix(got, "/api/0/organizations/acme/issues/BACKEND-3/?collapse=stats&collapse=tags&collapse=release") {
		t.Errorf("request %s", got)
	}
}
