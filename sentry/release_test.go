package sentry

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A version is one percent-encoded path segment, as encodeURIComponent
// writes it, and reaches Sentry decoded as it was.
func TestReleaseVersionIsOneEncodedSegment(t *testing.T) {
	var uris, paths []string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		uris = append(uris, r.RequestURI)
		paths = append(paths, r.URL.Path)
		w.Write([]byte(`[]`))
	})
	for _, tt := range []struct{ version, raw string }{
		{"backend@2.14.0", "backend%402.14.0"},
		{"1.0.0+build.7", "1.0.0%2Bbuild.7"},
		{"a b?c#d%e&f=g", "a%20b%3Fc%23d%25e%26f%3Dg"},
		{"é:~*'()!", "%C3%A9%3A~*'()!"},
		{"latest", "latest"},
	} {
		uris, paths = nil, nil
		if _, _, err := c.ListReleaseCommits(context.Background(), "acme", tt.version, ListOptions{Cursor: "10:1:0"}); err != nil {
			t.Fatalf("%q: %v", tt.version, err)
		}
		want := "/api/0/organizations/acme/releases/" + tt.raw + "/commits/?cursor=10%3A1%3A0"
		if uris[0] != want || paths[0] != "/api/0/organizations/acme/releases/"+tt.version+"/commits/" {
			t.Errorf("%q: sent %s (path %q), want %s", tt.version, uris[0], paths[0], want)
		}
	}
	uris = nil
	c.GetRelease(context.Background(), "acme", "x@1", "11")
	c.ListReleaseDeploys(context.Background(), "acme", "x@1", ListOptions{PerPage: 10})
	if strings.Join(uris, " ") != "/api/0/organizations/acme/releases/x%401/?project=11 /api/0/organizations/acme/releases/x%401/deploys/?per_page=10" {
		t.Errorf("sent %v", uris)
	}
}

// A version Sentry cannot have is refused before any request.
func TestImpossibleVersionsAreRefused(t *testing.T) {
	sent := 0
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { sent++ })
	for _, v := range []string{"", " ", "a/b", "a/commits", `a\b`, "a\tb", "a\nb", "a\rb", "a\fb", "a\x00b", "a\x7fb", "a\u0085b", ".", "..", "\xff", strings.Repeat("v", 251)} {
		_, _, err := c.GetRelease(context.Background(), "acme", v, "")
		var ia *InvalidArgumentError
		if !errors.As(err, &ia) || ia.What != "release version" || VersionProblem(v) == "" || !strings.Contains(err.Error(), VersionProblem(v)) {
			t.Errorf("%q: %v", v, err)
		}
	}
	if sent != 0 {
		t.Errorf("%d requests sent", sent)
	}
	if p := VersionProblem(strings.Repeat("é", 250)); p != "" {
		t.Errorf("250 runes refused: %s", p)
	}
}

// A base URL with a path keeps it, encoded, in front of the version.
func TestReleaseVersionUnderABasePath(t *testing.T) {
	var uri string
	_, srv := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		uri = r.RequestURI
		w.Write([]byte(`{}`))
	})
	u, _ := url.Parse(srv.URL + "/sentry")
	c2, err := NewClient(Config{BaseURL: u.String(), Token: StaticToken("tok"), UserAgent: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c2.GetRelease(context.Background(), "acme", "a+b", ""); err != nil {
		t.Fatal(err)
	}
	if uri != "/sentry/api/0/organizations/acme/releases/a%2Bb/" {
		t.Errorf("sent %s", uri)
	}
}
