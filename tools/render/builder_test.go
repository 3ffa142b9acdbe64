package render

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBuilderUnderCap(t *testing.T) {
	var b Builder
	fmt.Fprintf(&b, "%s: %s\n", "BACKEND-1", Line("title", 200))
	b.WriteString("done")
	if b.String() != "BACKEND-1: title\ndone" || b.Truncated() || b.Len() != 21 {
		t.Errorf("got %q, truncated %v", b.String(), b.Truncated())
	}
}

func TestBuilderDefaultCap(t *testing.T) {
	var b Builder
	for i := 0; i < 10_000; i++ {
		fmt.Fprintf(&b, "ISSUE-%d [unresolved, error] some title - 1 events\n", i)
	}
	got := b.String()
	note := "… output cut at 32 KB; narrow the request (limit, query) to see more"
	if !b.Truncated() || len(got) > DefaultMax || !strings.HasSuffix(got, "\n"+note) {
		t.Fatalf("len %d, truncated %v, ends %q", len(got), b.Truncated(), got[len(got)-80:])
	}
	for _, l := range strings.Split(strings.TrimSuffix(got, note), "\n") {
		if l != "" && !strings.HasSuffix(l, " events") {
			t.Fatalf("partial line %q", l)
		}
	}
	if strings.Count(got, note) != 1 {
		t.Error("note repeated")
	}
	b.WriteString("more")
	if b.String() != got {
		t.Error("write after the cut was kept")
	}
}

func TestBuilderOneLongLine(t *testing.T) {
	b := Builder{Max: 100, Hint: "use a smaller limit"}
	b.WriteString("start ")
	b.WriteString(strings.Repeat("日", 100))
	got := b.String()
	note := "… output cut at 100 bytes; use a smaller limit"
	if len(got) > 100 || !strings.HasSuffix(got, "\n"+note) || !utf8.ValidString(got) || !strings.HasPrefix(got, "start 日") {
		t.Errorf("got %q (%d bytes)", got, len(got))
	}
}

func TestBuilderExactFit(t *testing.T) {
	b := Builder{Max: 10}
	b.WriteString("0123456789")
	if b.Truncated() || b.String() != "0123456789" {
		t.Errorf("got %q, truncated %v", b.String(), b.Truncated())
	}
	b.Write([]byte("x"))
	if !b.Truncated() || !strings.HasPrefix(b.String(), "…") {
		t.Errorf("got %q", b.String())
	}
}

func TestBuilderTinyMax(t *testing.T) {
	b := Builder{Max: 5}
	b.WriteString("line one\nline two\n")
	if got := b.String(); got != "… output cut at 5 bytes; "+DefaultHint {
		t.Errorf("got %q", got)
	}
}

func TestBuilderKB(t *testing.T) {
	b := Builder{Max: 2048}
	b.WriteString(strings.Repeat("a\n", 2000))
	if got := b.String(); len(got) > 2048 || !strings.HasSuffix(got, "a\n… output cut at 2 KB; "+DefaultHint) {
		t.Errorf("ends %q", got[len(got)-60:])
	}
}
