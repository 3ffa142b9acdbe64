package sentry

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseLinkHeader(t *testing.T) {
	// The exact shape Sentry sends (BEHAVIOUR.md s5, docs/api/pagination.mdx).
	h := `<https://sentry.io/api/0/organizations/acme/issues/?&cursor=1735689600000:0:1>; rel="previous"; results="false"; cursor="1735689600000:0:1", ` +
		`<https://sentry.io/api/0/organizations/acme/issues/?&cursor=1735689600000:100:0>; rel="next"; results="true"; cursor="1735689600000:100:0"`
	got := ParseLinkHeader(h)
	want := []Link{
		{URL: "https://sentry.io/api/0/organizations/acme/issues/?&cursor=1735689600000:0:1", Rel: "previous", Results: "false", Cursor: "1735689600000:0:1"},
		{URL: "https://sentry.io/api/0/organizations/acme/issues/?&cursor=1735689600000:100:0", Rel: "next", Results: "true", Cursor: "1735689600000:100:0"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	for _, bad := range []string{"", "<", "<x", `<a>; rel`, `<a>; rel="next; results=true`, `garbage, <b>;;; rel=next , ,`} {
		_ = ParseLinkHeader(bad) // must not panic
	}
	if l := ParseLinkHeader(`<a>; rel=next; results=true; cursor=0:1:0`); len(l) != 1 || l[0].Cursor != "0:1:0" || l[0].Results != "true" {
		t.Errorf("unquoted params: %#v", l)
	}
}

func TestParseBaseURL(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"https://sentry.io", "https://sentry.io", ""},
		{"https://sentry.example.com:443/", "https://sentry.example.com", ""},
		{"http://127.0.0.1:80", "http://127.0.0.1", ""},
		{"https://sentry.example.com:8443", "https://sentry.example.com:8443", ""},
		{"https://Sentry.Example.com/", "https://sentry.example.com", ""},
		{"https://example.com/sentry/", "https://example.com/sentry", ""},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000", ""},
		{"http://localhost:9000", "http://localhost:9000", ""},
		{"http://[::1]:9000", "http://[::1]:9000", ""},
		{"http://sentry.example.com", "", "refusing plain http"},
		{"http://10.0.0.1", "", "refusing plain http"},
		{"https://user:pw@sentry.io", "", "credentials"},
		{"https://sentry.io/?x=1", "", "query"},
		{"https://sentry.io?", "", "query"},
		{"https://sentry.io/?", "", "query"},
		{"https://sentry.io/#", "", "fragment"},
		{"https://sentry.io/#top", "", "fragment"},
		{"https://example.com/sentry/..", "", "dot segments"},
		{"https://example.com/sentry/../", "", "dot segments"},
		{"https://example.com/%2e%2e/oauth", "", "dot segments"},
		{"https://example.com/sentry/%2E%2e", "", "dot segments"},
		{"https://example.com/sentry/.%2e/", "", "dot segments"},
		{"https://example.com/./sentry", "", "dot segments"},
		{"https://example.com/a%2fb", "", "encoded slashes"},
		{"https://example.com/a%5Cb", "", "encoded slashes"},
		{"https://example.com//sentry", "", "empty segments"},
		{"https://sentry.example.com//", "https://sentry.example.com", ""},
		{"https://example.com/sentry%0a", "", "control"},
		{"https://example.com/sentry.io/x..y", "https://example.com/sentry.io/x..y", ""},
		{"ftp://sentry.io", "", "invalid"},
		{"sentry.io", "", "invalid"},
	}
	for _, tt := range tests {
		u, err := ParseBaseURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseBaseURL(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || u.String() != tt.want {
			t.Errorf("ParseBaseURL(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
		}
	}
}

func TestParseIssueRef(t *testing.T) {
	saas, _ := NewClient(Config{BaseURL: "https://sentry.io"})
	self, _ := NewClient(Config{BaseURL: "https://sentry.example.com:443/prefix"})
	tests := []struct {
		c       *Client
		in      string
		want    IssueRef
		wantErr string
	}{
		{saas, "123", IssueRef{ID: "123"}, ""},
		{saas, " backend-1a ", IssueRef{ID: "BACKEND-1A"}, ""},
		{saas, "PUMP-STATION-1", IssueRef{ID: "PUMP-STATION-1"}, ""},
		{saas, "https://sentry.io/organizations/acme/issues/123/", IssueRef{Org: "acme", ID: "123"}, ""},
		{saas, "https://sentry.io/organizations/acme/issues/123/events/abc/?project=1#x", IssueRef{Org: "acme", ID: "123"}, ""},
		{saas, "https://acme.sentry.io/issues/123/", IssueRef{Org: "acme", ID: "123"}, ""},
		{saas, "https://acme.sentry.io/issues/123", IssueRef{Org: "acme", ID: "123"}, ""},
		{saas, "https://us.sentry.io/organizations/acme/issues/9/", IssueRef{Org: "acme", ID: "9"}, ""},
		{saas, "https://sentry.io/the-interstellar-jurisdiction/pump-station/issues/1/", IssueRef{Org: "the-interstellar-jurisdiction", ID: "1"}, ""},
		{self, "https://sentry.example.com/prefix/organizations/acme/issues/7/", IssueRef{Org: "acme", ID: "7"}, ""},
		{self, "https://sentry.example.com:443/prefix/organizations/acme/issues/7/", IssueRef{Org: "acme", ID: "7"}, ""},
		{self, "http://sentry.example.com/prefix/organizations/acme/issues/7/", IssueRef{}, "refusing"},
		{self, "https://sentry.example.com/organizations/acme/issues/7/", IssueRef{}, "outside"},
		{saas, "https://evil.example/organizations/acme/issues/1/", IssueRef{}, "refusing"},
		{saas, "https://sentry.io@evil.example/organizations/acme/issues/1/", IssueRef{}, "refusing"},
		{saas, "https://evil.example/?https://sentry.io/organizations/acme/issues/1/", IssueRef{}, "refusing"},
		{saas, "https://sentry.io.evil.example/organizations/acme/issues/1/", IssueRef{}, "refusing"},
		{saas, "http://sentry.io/organizations/acme/issues/1/", IssueRef{}, "refusing"},
		{saas, "https://sentry.io:8443/organizations/acme/issues/1/", IssueRef{}, "refusing"},
		{self, "https://acme.sentry.io/issues/1/", IssueRef{}, "refusing"},
		{saas, "https://sentry.io/organizations/%2e%2e/issues/1/", IssueRef{}, "invalid"},
		{saas, "https://sentry.io/organizations/acme/issues/..%2F..%2Fapi-tokens/", IssueRef{}, "invalid"},
		{saas, "https://sentry.io/issues/1/", IssueRef{}, "names no organization"},
		{saas, "https://sentry.io/api/0/issues/1/", IssueRef{}, "not an issue URL"},
		{saas, "../../api-tokens", IssueRef{}, "not an issue id"},
		{saas, "1?x=1", IssueRef{}, "not an issue id"},
		{saas, "", IssueRef{}, "not an issue id"},
	}
	for _, tt := range tests {
		got, err := tt.c.ParseIssueRef(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseIssueRef(%q) = %v, %v; want error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseIssueRef(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestAPIPathRejectsHostileSegments(t *testing.T) {
	for _, bad := range []string{"", "..", "../../api-tokens", "%2e%2e", "a/b", "a?b", "a#b", "a b", "a\x00", "ａcme", strings.Repeat("a", 129)} {
		if _, err := apiPath("/api/0/organizations/%s/issues/", bad); err == nil {
			t.Errorf("apiPath accepted %q", bad)
		}
	}
	p, err := apiPath("/api/0/organizations/%s/issues/%s/", "acme", "BACKEND-1A")
	if err != nil || p != "/api/0/organizations/acme/issues/BACKEND-1A/" {
		t.Errorf("got %q, %v", p, err)
	}
}

func TestLenientDecoding(t *testing.T) {
	var is Issue
	body := `{"id": 42, "count": "150", "userCount": "7", "project": null, "assignedTo": null, "tags": [{"key": null, "totalValues": "3"}], "firstRelease": null, "unknown": {"x": [1]}, "statusDetails": null}`
	if err := json.Unmarshal([]byte(body), &is); err != nil {
		t.Fatal(err)
	}
	if is.ID != "42" || is.Count != 150 || is.UserCount != 7 || is.Tags[0].TotalValues != 3 {
		t.Errorf("decoded %+v", is)
	}
	var f Frame
	if err := json.Unmarshal([]byte(`{"lineNo": null, "context": [[1, "a"], "odd", [2], null]}`), &f); err != nil {
		t.Fatal(err)
	}
	if f.Context[0].Code != "a" {
		t.Errorf("context %+v", f.Context)
	}
}

func TestRegionHostsAreNotOrganizations(t *testing.T) {
	c, _ := NewClient(Config{BaseURL: "https://sentry.io"})
	// A region this client learned from an organization's regionUrl.
	c.rememberRegions([]Organization{{Slug: "acme", Links: struct {
		OrganizationURL string `json:"organizationUrl"`
		RegionURL       string `json:"regionUrl"`
	}{RegionURL: "https://eu2.sentry.io"}}})
	tests := []struct {
		in      string
		want    IssueRef
		wantErr string
	}{
		{"https://us.sentry.io/issues/123/", IssueRef{}, "names no organization"},
		{"https://de.sentry.io/issues/123/", IssueRef{}, "names no organization"},
		{"https://US.Sentry.io/issues/123/", IssueRef{}, "names no organization"},
		{"https://us.sentry.io:443/issues/123/", IssueRef{}, "names no organization"},
		{"https://eu2.sentry.io/issues/123/", IssueRef{}, "names no organization"},
		{"https://us.sentry.io/organizations/acme/issues/123/", IssueRef{Org: "acme", ID: "123"}, ""},
		{"https://de.sentry.io/acme/backend/issues/7/", IssueRef{Org: "acme", ID: "7"}, ""},
		{"https://acme.sentry.io/issues/123/", IssueRef{Org: "acme", ID: "123"}, ""},
		{"https://usa.sentry.io/issues/5/", IssueRef{Org: "usa", ID: "5"}, ""},
	}
	for _, tt := range tests {
		got, err := c.ParseIssueRef(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseIssueRef(%q) = %+v, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseIssueRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestBaseURLErrorsNeverShowUserinfo(t *testing.T) {
	for _, raw := range []string{
		"https://alice:s3cret@sentry.io",
		"https://alice:s3cret@sentry.io/?x",
		"https://alice:s3cret@sentry.example.com/..",
		"http://alice:s3cret@10.0.0.1",
		"ftp://alice:s3cret@sentry.io",
		"alice:s3cret@sentry.io",
		"https://alice:s3c/ret@sentry.io",
		"https://alice:s3c#ret@sentry.io",
		"https://alice:s3c?ret@sentry.io/x",
		"https://alice:s3cret@sentry.io:99999",
		"https://alice:s3cret@[::1",
		" https://alice:s3cret@sentry.io%zz",
	} {
		_, err := ParseBaseURL(raw)
		if err == nil {
			t.Errorf("ParseBaseURL(%q) accepted", raw)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "s3c") || strings.Contains(msg, "alice") {
			t.Errorf("ParseBaseURL(%q): %s", raw, msg)
		}
	}
	c, _ := NewClient(Config{BaseURL: "https://sentry.io"})
	if _, err := c.ParseIssueRef("https://alice:s3cret@sentry.io/organizations/a/issues/1/"); err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "alice") {
		t.Errorf("ParseIssueRef: %v", err)
	}
}
