package sentry

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// gzipped compresses b.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestResponsesAreBounded(t *testing.T) {
	big := []byte(`[` + strings.Repeat(`{"id":"1","slug":"acme","name":"`+strings.Repeat("n", 200)+`"},`, 40_000) + `{"id":"2"}]`) // 10 MB, over the 8 MiB cap set below
	bomb := gzipped([]byte(`[` + strings.Repeat(" ", 20<<20) + `]`))                                                               // 20 MB of spaces, 20 KB sent
	tests := []struct {
		name  string
		serve func(w http.ResponseWriter)
	}{
		{"Content-Length beyond the cap", func(w http.ResponseWriter) { w.Write(big) }},
		{"chunked beyond the cap", func(w http.ResponseWriter) {
			for b := big; len(b) > 0; b = b[min(len(b), 1<<16):] {
				w.Write(b[:min(len(b), 1<<16)])
				w.(http.Flusher).Flush()
			}
		}},
		{"gzip bomb", func(w http.ResponseWriter) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := faultClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				tt.serve(w)
			})
			c.timeout = 30 * time.Second
			c.maxBody = 8 << 20
			_, _, err := c.ListOrganizations(context.Background(), ListOptions{})
			var tl *TooLargeError
			if !errors.As(err, &tl) {
				t.Fatalf("err = %v, want a *TooLargeError", err)
			}
			if tl.Method != "GET" || tl.Path != "/api/0/organizations/" || tl.Limit != 8<<20 {
				t.Errorf("got %+v", tl)
			}
			if !strings.Contains(err.Error(), "larger than 8 MiB") {
				t.Errorf("message %q", err)
			}
		})
	}
}

func TestErrorBodiesAreBounded(t *testing.T) {
	huge := strings.Repeat("é", 7<<20) // 14 MB of detail
	tests := []struct {
		name, body string
		wantPrefix string
	}{
		{"15 MB detail", `{"detail": "` + huge + `"}`, "éééé"},
		{"15 MB detail with escapes", `{"detail": "` + strings.Repeat(`\u00e9`, 3<<20) + `"}`, "éééé"},
		{"long plain text", strings.Repeat("x", 1<<20), "xxxx"},
		{"long field errors", `{"status": ["` + strings.Repeat("y", 50_000) + `"]}`, "status: yyy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := faultClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(400)
				fmt.Fprint(w, tt.body)
			})
			c.timeout = 30 * time.Second // the race detector is slow
			_, _, err := c.GetIssue(context.Background(), "acme", "1")
			var se *Error
			if !errors.As(err, &se) || se.StatusCode != 400 {
				t.Fatalf("err = %v", err)
			}
			if len(se.Detail) > MaxDetailLen || !utf8.ValidString(se.Detail) || !strings.HasPrefix(se.Detail, tt.wantPrefix) {
				t.Errorf("detail of %d bytes: %.80q...", len(se.Detail), se.Detail)
			}
			if !strings.HasSuffix(se.Detail, "…") && !strings.HasSuffix(se.Detail, detailClipped) && !strings.HasSuffix(se.Detail, "...") {
				t.Errorf("a clipped detail does not say so: ...%q", se.Detail[max(0, len(se.Detail)-40):])
			}
			if len(err.Error()) > MaxDetailLen+200 {
				t.Errorf("error message of %d bytes", len(err.Error()))
			}
		})
	}
}

func TestEventDecodingDropsWhatNoToolShows(t *testing.T) {
	frames := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"function":"f%d","lineNo":%d,"inApp":true}`, i, i)
		}
		return b.String()
	}
	crumbs := strings.TrimSuffix(strings.Repeat(`{"message":"m","category":"c"},`, 500), ",")
	body := `{"eventID":"e1","contexts":{"huge":"` + strings.Repeat("z", 1<<20) + `"},` +
		`"message":"` + strings.Repeat("m", 100_000) + `",` +
		`"entries":[{"type":"exception","data":{"values":[{"type":"E","value":"v","stacktrace":{"sentry-mcp:framesOmitted":7,"frames":[` + frames(1000) + `]}},` +
		`{"type":"F","stacktrace":{"frames":[` + frames(3) + `],"sentry-mcp:framesOmitted":5}}]}},` +
		`{"data":{"values":[` + crumbs + `]},"type":"breadcrumbs"}]}`
	c := faultClient(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) })
	c.timeout = 30 * time.Second
	ev, _, err := c.LatestEvent(context.Background(), "acme", "1")
	if err != nil {
		t.Fatal(err)
	}
	ex := ev.Exceptions()
	if len(ex) != 2 || ex[0].Stacktrace == nil || ex[1].Stacktrace == nil {
		t.Fatalf("exceptions %+v", ex)
	}
	fr := ex[0].Stacktrace.Frames
	if len(fr) != MaxFrames || fr[0].Function != "f900" || fr[MaxFrames-1].Function != "f999" || ex[0].Stacktrace.FramesOmitted != 900 {
		t.Errorf("kept %d frames %s..%s, omitted %d; want the last %d and 900", len(fr), fr[0].Function, fr[len(fr)-1].Function, ex[0].Stacktrace.FramesOmitted, MaxFrames)
	}
	if len(ex[1].Stacktrace.Frames) != 3 || ex[1].Stacktrace.FramesOmitted != 0 {
		t.Errorf("a forged omitted count was believed: %+v", ex[1].Stacktrace)
	}
	if n := ev.ValuesOmitted("breadcrumbs"); n != 400 {
		t.Errorf("breadcrumbs omitted %d, want 400", n)
	}
	if len(ev.Message) > 40<<10 || !strings.HasSuffix(ev.Message, "…") {
		t.Errorf("message of %d bytes", len(ev.Message))
	}
}

func TestOnlyLargeBodiesWaitForTheBudget(t *testing.T) {
	large := `[` + strings.Repeat(`{"id":"1","slug":"acme"},`, 100_000) + `{"id":"2"}]` // 2.5 MB
	c := faultClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/0/organizations/" {
			fmt.Fprint(w, large)
			return
		}
		fmt.Fprint(w, `{"id":"1"}`)
	})
	c.timeout = 10 * time.Second
	if err := budget.Acquire(context.Background(), budgetSize); err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			budget.Release(budgetSize)
		}
	}()
	if _, _, err := c.GetIssue(context.Background(), "acme", "1"); err != nil {
		t.Fatalf("a small answer waited for the budget: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, _, err := c.ListOrganizations(ctx, ListOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a large answer did not wait for the budget: %v", err)
	}
	budget.Release(budgetSize)
	released = true
	orgs, _, err := c.ListOrganizations(context.Background(), ListOptions{})
	if err != nil || len(orgs) != maxArray { // a large answer keeps the first maxArray
		t.Fatalf("%d orgs, %v", len(orgs), err)
	}
}

// A large value nested deep under a member read whole must not be copied
// once per level.
func TestNestedLargeValueIsNotCopiedPerLevel(t *testing.T) {
	const depth = 50
	inner := `"` + strings.Repeat("x", 2<<20) + `"`
	body := `{"eventID":"e1","tags":` + strings.Repeat("[", depth) + inner + strings.Repeat("]", depth) +
		`,"release":` + strings.Repeat(`{"a":`, depth) + inner + strings.Repeat("}", depth) + `}`
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var ev Event
	if err := decodeEvent(strings.NewReader(body), &ev); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if ev.EventID != "e1" {
		t.Errorf("event %+v", ev)
	}
	// About 2 MB per copy of the body's two values; per level would be 200 MB.
	if mb := float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20); mb > 60 {
		t.Errorf("decoding allocated %.0f MB", mb)
	}
}

func TestSqueezerKeepsJSONMeaning(t *testing.T) {
	for _, in := range []string{
		`{ "a" :  [1,   2 ,"x  y"] ,"b\"  c":"d\\"  , "e":"\u00e9  \" "}`,
		" \t\r\n[\n\n1\n]\n ",
		`[1 2]`, `["a\\\\"   ,  "b"]`, `{"k": "v\" ]  }"}`, `"unterminated   `, `tr  ue`,
		"[" + strings.Repeat(" ", 100_000) + "]",
	} {
		var sq strings.Builder
		buf := make([]byte, 7) // small reads: state crosses Read calls
		r := &squeezer{r: strings.NewReader(in)}
		for {
			n, err := r.Read(buf)
			sq.Write(buf[:n])
			if err != nil {
				break
			}
		}
		var a, b any
		errA, errB := json.Unmarshal([]byte(in), &a), json.Unmarshal([]byte(sq.String()), &b)
		if (errA == nil) != (errB == nil) || !reflect.DeepEqual(a, b) {
			t.Errorf("%.40q: %v %v -> %.40q: %v %v", in, a, errA, sq.String(), b, errB)
		}
		if strings.Contains(sq.String(), "  ") && !strings.Contains(in, `"`) {
			t.Errorf("%.40q: a run of spaces left: %.40q", in, sq.String())
		}
	}
}
