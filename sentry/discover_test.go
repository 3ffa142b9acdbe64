package sentry

import (
	"encoding/json"
	"testing"
)

func TestEventsQueryParameters(t *testing.T) {
	q := EventsQuery{Fields: []string{"title", "count()", "title"}, Dataset: "errors", Sort: "-count()", StatsPeriod: "24h", Environment: "production", Projects: []string{"11"}, PerPage: 25}
	want := "dataset=errors&environment=production&field=title&field=count%28%29&field=title&per_page=25&project=11&sort=-count%28%29&statsPeriod=24h"
	if got := q.values().Encode(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	q = EventsQuery{Fields: []string{"id"}, Dataset: "transactions", Start: "2026-05-01T00:00:00", End: "2026-05-02T00:00:00", Query: "a:b"}
	if got := q.values().Encode(); got != "dataset=transactions&end=2026-05-02T00%3A00%3A00&field=id&query=a%3Ab&start=2026-05-01T00%3A00%3A00" {
		t.Errorf("start/end: %s", got)
	}
}

// The trace shape is version-dependent (BEHAVIOUR.md 4.18): the current
// list, an older object, unknown fields and odd types all decode.
func TestTraceDecodesEveryShape(t *testing.T) {
	tests := []struct {
		name, body string
		items      int
		orphans    int
		check      func(t *testing.T, tr *Trace)
	}{
		{"list", `[{"op":"http.server","is_transaction":true,"transaction":"GET /","duration":250,"children":[{"op":"db","description":"SELECT 1","duration":"1.5","errors":[{"title":"E","event_id":"e1","issue_id":7}]}],"new_field":{"x":1}}]`, 1, 0,
			func(t *testing.T, tr *Trace) {
				c := tr.Items[0].Children[0]
				if !tr.Items[0].IsTransaction || c.Duration != 1.5 || c.Errors[0].IssueID != "7" || c.Errors[0].Title != "E" {
					t.Errorf("%+v", tr.Items[0])
				}
			}},
		{"legacy object", `{"transactions":[{"transaction":"GET /","transaction.op":"http.server","transaction.duration":12,"project_slug":"p","performance_issues":[{"title":"N+1"}]}],"orphan_errors":[{"title":"lost","event_id":"e2"}]}`, 1, 1,
			func(t *testing.T, tr *Trace) {
				it := tr.Items[0]
				if it.LegacyOp != "http.server" || it.LegacyDuration != 12 || it.PerformanceIssues[0].Title != "N+1" || tr.OrphanErrors[0].EventID != "e2" {
					t.Errorf("%+v", tr)
				}
			}},
		{"wrong types", `[{"op":5,"duration":null,"children":{"not":"a list"},"errors":"x"}]`, 1, 0, nil},
		{"empty", `[]`, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr Trace
			if err := decodeLenient([]byte(tt.body), &tr); err != nil {
				t.Fatal(err)
			}
			if len(tr.Items) != tt.items || len(tr.OrphanErrors) != tt.orphans {
				t.Fatalf("items %d orphans %d", len(tr.Items), len(tr.OrphanErrors))
			}
			if tt.check != nil {
				tt.check(t, &tr)
			}
		})
	}
	var tr Trace
	if err := json.Unmarshal([]byte(`"a string"`), &tr); err == nil {
		t.Error("a string is not a trace")
	}
}

func TestTraceIDIsChecked(t *testing.T) {
	if !ValidTraceID("0123456789abcdefABCDEF0123456789") || ValidTraceID("0123") || ValidTraceID("../../../../../../../../../../../") {
		t.Error("ValidTraceID")
	}
	c, err := NewClient(Config{BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.GetTrace(t.Context(), "acme", "nope/../x"); err == nil || err.Error() != `"nope/../x" is not a valid trace id` {
		t.Errorf("GetTrace: %v", err)
	}
}
