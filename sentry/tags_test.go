package sentry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func TestValidTagKey(t *testing.T) {
	for _, k := range []string{"browser", "browser.name", "sentry:user", "os-name", "a_b", strings.Repeat("k", MaxTagKeyLen)} {
		if !ValidTagKey(k) {
			t.Errorf("%q should be a valid tag key", k)
		}
	}
	for _, k := range []string{"", ".", "..", "...", ":", "-_", "a/b", "a b", "a%2Fb", "a?b", "a#b", "ä", "a\nb", strings.Repeat("k", MaxTagKeyLen+1)} {
		if ValidTagKey(k) {
			t.Errorf("%q should not be a valid tag key", k)
		}
	}
}

// A tag key goes into the path as one escaped segment, after validation;
// an invalid one sends nothing. The limiter's endpoint is the route, not
// the key.
func TestTagKeyPath(t *testing.T) {
	var n atomic.Int32
	var got []string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		got = append(got, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		w.Write([]byte(`[]`))
	})
	ctx := context.Background()
	if _, _, err := c.IssueTagValues(ctx, "acme", "BACKEND-1", "sentry:user", TagValuesOptions{Sort: "count", PerPage: 50, Cursor: "0:50:0", Environment: "prod uction"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.IssueTags(ctx, "", "42", IssueTagsOptions{Limit: 3}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/api/0/organizations/acme/issues/BACKEND-1/tags/sentry:user/values/?cursor=0%3A50%3A0&environment=prod+uction&per_page=50&sort=count",
		"/api/0/issues/42/tags/?limit=3",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, bad := range []string{"..", "a/b", "x/../../../organizations"} {
		_, _, err := c.IssueTag(ctx, "acme", "1", bad, "")
		var ia *InvalidArgumentError
		if !errors.As(err, &ia) || ia.What != "tag key" || !strings.Contains(err.Error(), "tag key") {
			t.Errorf("key %q: %v", bad, err)
		}
	}
	if n.Load() != 2 {
		t.Errorf("%d requests, want 2: invalid keys must send nothing", n.Load())
	}
}
