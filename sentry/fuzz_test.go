package sentry

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func FuzzParseIssueRef(f *testing.F) {
	for _, s := range []string{
		"123", "BACKEND-1A", "backend-1a", "PUMP-STATION-1",
		"https://sentry.io/organizations/acme/issues/123/",
		"https://acme.sentry.io/issues/123/?project=1#frag",
		"https://sentry.io/acme/backend/issues/1/",
		"https://sentry.io@evil.example/organizations/acme/issues/1/",
		"https://sentry.io/organizations/%2e%2e/issues/1/",
		"https://sentry.io/organizations/acme/issues/1%2F..%2F/",
		"http://[::1]:80/organizations/a/issues/1/", "https://ｓentry.io/organizations/a/issues/1/",
		"../../api-tokens", "1?x=1", "", "\x00", "https://", "https://sentry.io/organizations//issues//",
	} {
		f.Add(s)
	}
	c, _ := NewClient(Config{BaseURL: "https://sentry.io"})
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := c.ParseIssueRef(s)
		if err != nil {
			if len(err.Error()) > 400 {
				t.Fatalf("error echoes too much input: %d bytes", len(err.Error()))
			}
			return
		}
		// Whatever is accepted can only address an issue endpoint.
		if ref.Org != "" && !ValidSlug(ref.Org) {
			t.Fatalf("accepted org %q", ref.Org)
		}
		if !ValidSlug(ref.ID) {
			t.Fatalf("accepted id %q", ref.ID)
		}
		if ref.Org == "" && !numericRE.MatchString(ref.ID) && !IsShortID(ref.ID) {
			t.Fatalf("accepted id %q", ref.ID)
		}
		if strings.Contains(s, "://") {
			u, err := url.Parse(strings.TrimSpace(s))
			if err != nil || !c.IsSentryURL(u) {
				t.Fatalf("accepted a URL off the configured host: %q", s)
			}
		}
	})
}

func FuzzParseLinkHeader(f *testing.F) {
	for _, s := range []string{
		`<https://sentry.io/api/0/organizations/acme/issues/?&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", <https://sentry.io/api/0/organizations/acme/issues/?&cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0"`,
		`<a>; rel=next; results=true; cursor=0:1:0`, `<`, `<>`, `<a>;`, `<a>; rel="`, `,,,`, `<a>; cursor="x,y"; rel="next"; results="true"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range ParseLinkHeader(s) {
			if strings.ContainsAny(l.URL, "<>") {
				t.Fatalf("URL %q holds a bracket", l.URL)
			}
		}
		p := parsePage(http.Header{"Link": {s}})
		for _, cur := range []string{p.NextCursor, p.PrevCursor} {
			if cur != "" && !ValidCursor(cur) {
				t.Fatalf("cursor %q passed on", cur)
			}
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{
		`{"eventID":"e","entries":[{"type":"exception","data":{"values":[{"type":"E","stacktrace":{"frames":[{"function":"f","lineNo":1}]}}]}}]}`,
		`{"entries":[{"data":{"values":[1,"x",null,[],{}]},"type":"breadcrumbs"}],"tags":[{"key":"k","value":"v"}],"release":{"version":"1"}}`,
		`{"sentry-mcp:framesOmitted":1,"entries":[{"data":{"sentry-mcp:valuesOmitted":3,"values":[]}}]}`,
		`{"contexts":{"a":[[[[]]]]},"message":"m"}`, `[]`, `{`, `{"entries":[`, `{} {}`, `{"a":1}x`, `null`, `"s"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var ev Event
		if decodeEvent(strings.NewReader(s), &ev) != nil {
			return
		}
		for _, x := range ev.Exceptions() {
			if x.Stacktrace != nil && (len(x.Stacktrace.Frames) > MaxFrames || x.Stacktrace.FramesOmitted < 0) {
				t.Fatalf("%d frames, %d omitted", len(x.Stacktrace.Frames), x.Stacktrace.FramesOmitted)
			}
		}
		if len(ev.Entries) > maxArray {
			t.Fatalf("%d entries", len(ev.Entries))
		}
	})
}
