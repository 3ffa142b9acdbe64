package sentrytest

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// sameKeys fails unless m has exactly the keys of the example object want
// (plus extra, which only some rows carry).
func sameKeys(t *testing.T, what string, m, want map[string]any, extra ...string) {
	t.Helper()
	got, exp := keys(m), keys(want)
	got = slices.DeleteFunc(got, func(k string) bool { return slices.Contains(extra, k) })
	sort.Strings(got)
	sort.Strings(exp)
	if !slices.Equal(got, exp) {
		t.Errorf("%s keys %v, want those of the example %v", what, got, exp)
	}
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

// The tags list has the example's shape, the keys and totals of issue
// details, and counts that add up to each key's total, also per
// environment.
func TestIssueTagsAgreeWithIssueDetails(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:read")
	tpl := exampleJSON(t, "issue.tags.list.json").([]any)[0].(map[string]any)
	topTpl := tpl["topValues"].([]any)[0].(map[string]any)
	for _, id := range []string{"4504101", "4504111", "4504113", "4504124"} { // BACKEND-1 (two environments), BACKEND-B (no events), FRONTEND-1, PAYMENTS-1
		for _, env := range []string{"", "production", "staging"} {
			q := ""
			if env != "" {
				q = "?environment=" + env
			}
			det := get(t, s, "/api/0/issues/"+id+"/"+q).object(t)
			want := map[string]int{}
			for _, tg := range det["tags"].([]any) {
				m := tg.(map[string]any)
				want[m["key"].(string)] = num(m["totalValues"])
			}
			sep := "?"
			if q != "" {
				sep = "&"
			}
			list := get(t, s, "/api/0/issues/"+id+"/tags/"+q+sep+"limit=1000").list(t)
			got := map[string]int{}
			for _, tg := range list {
				m := tg.(map[string]any)
				sameKeys(t, "tag", m, tpl)
				key := m["key"].(string)
				got[key] = num(m["totalValues"])
				sum := 0
				prev := -1
				for _, v := range m["topValues"].([]any) {
					vm := v.(map[string]any)
					sameKeys(t, "top value", vm, topTpl, "query")
					if vm["key"] != key || num(vm["count"]) <= 0 || (prev >= 0 && num(vm["count"]) > prev) {
						t.Errorf("%s %s: value %v of %s", id, env, vm, key)
					}
					if env != "" && key == "environment" && vm["value"] != env {
						t.Errorf("%s: environment %s lists %v", id, env, vm["value"])
					}
					if vm["firstSeen"].(string) > vm["lastSeen"].(string) {
						t.Errorf("%s: first seen after last seen: %v", id, vm)
					}
					prev = num(vm["count"])
					sum += prev
				}
				if sum != got[key] || num(m["uniqueValues"]) != len(m["topValues"].([]any)) {
					t.Errorf("%s %s: %s counts add to %d of %d, unique %v of %d", id, env, key, sum, got[key], m["uniqueValues"], len(m["topValues"].([]any)))
				}
			}
			if count, _ := strconv.Atoi(det["count"].(string)); count == 0 && len(list) != 0 {
				t.Errorf("%s %s: tags %v for no events", id, env, list)
			} else if count > 0 && fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s %s: tags list totals %v, issue details %v", id, env, got, want)
			}
		}
	}
	// BACKEND-1: 85% of its 1243 events are in production.
	l := get(t, s, "/api/0/organizations/acme/issues/BACKEND-1/tags/?key=environment").list(t)
	if len(l) != 1 {
		t.Fatalf("key=environment: %v", l)
	}
	top := l[0].(map[string]any)["topValues"].([]any)
	if len(top) != 2 || top[0].(map[string]any)["value"] != "production" || num(top[0].(map[string]any)["count"]) != 1057 || num(top[1].(map[string]any)["count"]) != 186 {
		t.Errorf("environment distribution %v", top)
	}
}

func TestIssueTagsParameters(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:read")
	base := "/api/0/organizations/acme/issues/FRONTEND-1/tags/"
	topLen := func(path string) []int {
		var out []int
		for _, tg := range get(t, s, path).list(t) {
			out = append(out, len(tg.(map[string]any)["topValues"].([]any)))
		}
		return out
	}
	if n := topLen(base + "?limit=1"); slices.Max(n) != 1 {
		t.Errorf("limit=1: %v", n)
	}
	if n := topLen(base + "?limit=0"); slices.Max(n) != 0 {
		t.Errorf("limit=0: %v", n)
	}
	if n := topLen(base + "?key=browser&key=sentry:user"); len(n) != 2 {
		t.Errorf("two keys (one reserved, prefixed): %v", n)
	}
	if r := get(t, s, base+"?limit=abc"); r.status != 500 {
		t.Errorf("limit=abc: %d, want Sentry's unhandled 500", r.status)
	}
	wantDetail(t, get(t, s, base+"?environment=prod"), 404, msgNotFound)
	wantDetail(t, get(t, s, "/api/0/organizations/acme/issues/NOPE-1/tags/"), 404, msgNotFound)
	if r := get(t, s, base); r.header.Get("Link") != "" || r.header.Get("X-Sentry-Rate-Limit-Limit") != "10" {
		t.Errorf("tags list: Link %q, rate limit %q (not paginated, 10/1 s)", r.header.Get("Link"), r.header.Get("X-Sentry-Rate-Limit-Limit"))
	}
	// One key: the details endpoint, with its example's shape and 9 top values at most.
	k := get(t, s, base+"browser/").object(t)
	sameKeys(t, "tag key", k, exampleJSON(t, "issue.tag.get.json").(map[string]any))
	if k["key"] != "browser" || num(k["totalValues"]) != 2871 || len(k["topValues"].([]any)) > 9 {
		t.Errorf("tag key %v", k)
	}
	wantDetail(t, get(t, s, base+"nosuchkey/"), 404, msgNotFound)
	wantDetail(t, get(t, s, base+"nosuchkey/values/"), 404, msgNotFound)
	wantDetail(t, get(t, s, base+"browser/values/?environment=prod"), 404, msgNotFound)
	// Scopes: GroupPermission, event:* for GET.
	s.AddToken("proj", "project:read", "org:read")
	for _, p := range []string{base, base + "browser/", base + "browser/values/", "/api/0/issues/4504113/tags/"} {
		wantDetail(t, do(t, s, "GET", p, "proj", ""), 403, msgForbidden)
	}
}

func TestIssueTagValues(t *testing.T) {
	s := newTestServer(t, nil, Options{}, "event:read")
	base := "/api/0/issues/4504101/tags/"
	rowTpl := exampleJSON(t, "issue.tag.values.json").([]any)[0].(map[string]any)
	rows := func(path string) ([]map[string]any, resp) {
		r := get(t, s, path)
		var out []map[string]any
		for _, v := range r.list(t) {
			out = append(out, v.(map[string]any))
		}
		return out, r
	}
	all, r := rows(base + "release/values/?sort=count")
	if len(all) < 3 || r.header.Get("X-Sentry-Rate-Limit-Limit") != "150" {
		t.Fatalf("release values %v (rate limit %q)", all, r.header.Get("X-Sentry-Rate-Limit-Limit"))
	}
	for i, v := range all {
		sameKeys(t, "value row", v, rowTpl)
		if i > 0 && num(v["count"]) > num(all[i-1]["count"]) {
			t.Errorf("sort=count not most frequent first: %v", all)
		}
	}
	byDate, _ := rows(base + "release/values/?sort=date")
	for i := 1; i < len(byDate); i++ {
		if byDate[i]["lastSeen"].(string) > byDate[i-1]["lastSeen"].(string) {
			t.Errorf("sort=date not newest last seen first: %v", byDate)
		}
	}
	byAge, _ := rows(base + "release/values/?sort=age")
	for i := 1; i < len(byAge); i++ {
		if byAge[i]["firstSeen"].(string) > byAge[i-1]["firstSeen"].(string) {
			t.Errorf("sort=age not newest first seen first: %v", byAge)
		}
	}
	// Paging with per_page and the Link cursors.
	var paged []any
	next := base + "release/values/?sort=count&per_page=1"
	for i := 0; next != "" && i < 10; i++ {
		page, r := rows(next)
		for _, v := range page {
			paged = append(paged, v["value"])
		}
		next = ""
		for _, part := range strings.Split(r.header.Get("Link"), ", <") {
			if strings.Contains(part, `rel="next"; results="true"`) {
				u, _ := url.Parse(strings.TrimPrefix(strings.SplitN(part, ">", 2)[0], "<"))
				next = u.RequestURI()
			}
		}
	}
	var want []any
	for _, v := range all {
		want = append(want, v["value"])
	}
	if fmt.Sprint(paged) != fmt.Sprint(want) {
		t.Errorf("paged %v, all %v", paged, all)
	}
	wantDetail(t, get(t, s, base+"release/values/?per_page=0"), 400, "Invalid per_page value. Must be between 1 and 100.")
	wantDetail(t, get(t, s, base+"release/values/?cursor=x"), 400, msgInvalidCursor)
	// A user tag carries the search that finds the user; "sentry:user" is the same key.
	users, _ := rows(base + "user/values/")
	prefixed, _ := rows(base + "sentry:user/values/")
	if len(users) == 0 || fmt.Sprint(users) != fmt.Sprint(prefixed) {
		t.Fatalf("user %v, sentry:user %v", users, prefixed)
	}
	u := users[0]
	id := strings.TrimPrefix(u["value"].(string), "id:")
	if u["key"] != "user" || u["name"] != id || u["query"] != `user.id:"`+id+`"` {
		t.Errorf("user row %v", u)
	}
}
