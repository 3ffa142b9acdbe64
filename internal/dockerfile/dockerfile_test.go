package dockerfile

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	f := Parse(`# syntax=docker/dockerfile:1
ARG GO_VERSION=1.26.8
FROM --platform=$BUILDPLATFORM docker.io/library/golang:${GO_VERSION} AS build
RUN go build \
 -o /out/x .
  # an indented comment
FROM scratch
ENV A=1 B=2
ENV A=3
USER 1:1
USER 2:2
`)
	if len(f.Stages) != 2 {
		t.Fatalf("%d stages, want 2", len(f.Stages))
	}
	if got := f.Stages[0].From; got != "docker.io/library/golang:1.26.8" {
		t.Errorf("FROM %q: the ARG before the first FROM is not substituted", got)
	}
	if got := f.Stages[0].Platform; got != "$BUILDPLATFORM" {
		t.Errorf("FROM --platform: %q", got)
	}
	if got := f.Stages[0].All("RUN"); !reflect.DeepEqual(got, []string{"go build  -o /out/x ."}) {
		t.Errorf("RUN %q: the continuation line is not joined", got)
	}
	final := f.Final()
	if final.From != "scratch" || final.Last("USER") != "2:2" || final.Last("CMD") != "" {
		t.Errorf("final stage %+v", final)
	}
	if got := final.Env(); !reflect.DeepEqual(got, map[string]string{"A": "3", "B": "2"}) {
		t.Errorf("Env = %v", got)
	}
	if (&File{}).Final() != nil {
		t.Error("Final of no stages is not nil")
	}
}

func TestJSONArgs(t *testing.T) {
	if got, err := JSONArgs(`["/sentry-mcp", "serve"]`); err != nil || !reflect.DeepEqual(got, []string{"/sentry-mcp", "serve"}) {
		t.Errorf("JSONArgs = %q, %v", got, err)
	}
	if _, err := JSONArgs(`/sentry-mcp serve`); err == nil {
		t.Error("the shell form is accepted")
	}
}

func TestLabels(t *testing.T) {
	got, err := Labels(`a="x y" b=c  d=""`)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, map[string]string{"a": "x y", "b": "c", "d": ""}) {
		t.Errorf("Labels = %q", got)
	}
	for _, bad := range []string{`a`, `=b`, `a="b`, `"a"=b`} {
		if got, err := Labels(bad); err == nil {
			t.Errorf("Labels(%s) = %q, want an error", bad, got)
		}
	}
}
