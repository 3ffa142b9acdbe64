package sentrytest

import (
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// Tags of an issue (BEHAVIOUR.md 4.13): GroupTagsEndpoint,
// GroupTagKeyDetailsEndpoint and GroupTagKeyValuesEndpoint, on the
// organization and the top-level issue paths.
func init() {
	tags := map[string]func(*call){http.MethodGet: listIssueTags}
	tag := map[string]func(*call){http.MethodGet: getIssueTag}
	values := map[string]func(*call){http.MethodGet: listIssueTagValues}
	for _, prefix := range []string{"organizations/{org}/issues", "issues", "groups"} {
		addRoute("GroupTagsEndpoint", prefix+"/{issue}/tags", permEvent, tags, map[string][2]int{"GET": {10, 1}})
		addRoute("GroupTagKeyDetailsEndpoint", prefix+"/{issue}/tags/{key}", permEvent, tag, nil)
		addRoute("GroupTagKeyValuesEndpoint", prefix+"/{issue}/tags/{key}/values", permEvent, values, map[string][2]int{"GET": {150, 60}})
	}
}

// tagValueDist is one value of a tag key with its share of the issue's
// events.
type tagValueDist struct {
	value       string
	count       int
	first, last time.Time
}

// tagKeyDist is a tag key of an issue with its values, most frequent first.
type tagKeyDist struct {
	key    string
	total  int
	values []tagValueDist
}

// tagDistribution derives an issue's tag distribution from its sample of
// events, deterministically: each stored event stands for a share of the
// issue's events (its environment's share, envShare, split between the
// events of that environment), and each key's values split the issue's
// count (scaled to envs) in proportion to those shares. The keys are those
// of tagValues, and every key's total is the count issue details report as
// its totalValues; a value no stored event carries (the first release)
// still counts at least one event. A value was last seen with the last
// stored event carrying it; the most frequent value was first seen with
// the issue, the others later the rarer they are (see valueFirstSeen). The
// fake's model is that every event of an issue carries each of its keys.
func (v *view) tagDistribution(o *Org, is *Issue, envs []string) []tagKeyDist {
	total := scale(is.Count, envShare(is, envs))
	all := v.tagValues(is)
	if total <= 0 || len(all) == 0 {
		return nil
	}
	type sample struct {
		tags map[string]string
		when time.Time
		w    float64
	}
	var evs []sample
	for _, ev := range is.Events {
		s := sample{tags: map[string]string{}}
		for _, t := range asList(ev["tags"]) {
			tm, _ := t.(map[string]any)
			k, _ := tm["key"].(string)
			val, _ := tm["value"].(string)
			if k != "" && val != "" {
				s.tags[k] = val
			}
		}
		s.when, _ = parseISO(asString(ev["dateCreated"]))
		if s.when.IsZero() {
			s.when = is.LastSeen
		}
		evs = append(evs, s)
	}
	if len(envs) > 0 {
		in := slices.DeleteFunc(slices.Clone(evs), func(s sample) bool { return !slices.Contains(envs, s.tags["environment"]) })
		if len(in) > 0 {
			evs = in
		}
	}
	perEnv := map[string]int{}
	for _, s := range evs {
		perEnv[s.tags["environment"]]++
	}
	sum := 0.0
	for i := range evs {
		env := evs[i].tags["environment"]
		w := envShare(is, []string{env}) / float64(perEnv[env])
		if !slices.Contains(is.Environments, env) || w <= 0 {
			w = 1 / float64(len(evs))
		}
		evs[i].w = w
		sum += w
	}
	oldest := is.LastSeen
	for i := range evs {
		evs[i].w /= sum
		if evs[i].when.Before(oldest) {
			oldest = evs[i].when
		}
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []tagKeyDist
	for _, k := range keys {
		type acc struct {
			w           float64
			first, last time.Time
			seen        bool
		}
		vals := map[string]*acc{}
		var order []string
		put := func(val string, w float64, when time.Time) {
			a := vals[val]
			if a == nil {
				a = &acc{}
				vals[val] = a
				order = append(order, val)
			}
			a.w += w
			if !when.IsZero() {
				if !a.seen || when.Before(a.first) {
					a.first = when
				}
				if !a.seen || when.After(a.last) {
					a.last = when
				}
				a.seen = true
			}
		}
		if k == "environment" {
			for _, e := range is.Environments {
				if len(envs) > 0 && !slices.Contains(envs, e) {
					continue
				}
				put(e, envShare(is, []string{e}), time.Time{})
				for _, s := range evs {
					if s.tags["environment"] == e {
						put(e, 0, s.when)
					}
				}
			}
		} else {
			for _, s := range evs {
				if val, ok := s.tags[k]; ok {
					put(val, s.w, s.when)
				}
			}
			// Values no event carries at all (tagValues adds the
			// issue's first release).
			for _, val := range all[k] {
				if !slices.ContainsFunc(is.Events, func(ev map[string]any) bool { return eventTag(ev, k) == val }) {
					put(val, 0, time.Time{})
				}
			}
		}
		if len(order) == 0 {
			continue
		}
		weights := make([]float64, len(order))
		for i, val := range order {
			weights[i] = vals[val].w
		}
		counts := apportion(total, weights)
		kd := tagKeyDist{key: k, total: total}
		for i, val := range order {
			a := vals[val]
			if counts[i] == 0 {
				continue
			}
			d := tagValueDist{value: val, count: counts[i], first: a.first, last: a.last}
			if !a.seen {
				d.first, d.last = oldest, oldest
				if k == "environment" {
					d.first, d.last = is.LastSeen, is.LastSeen
				}
			}
			kd.values = append(kd.values, d)
		}
		sortTagValues(kd.values, "count")
		for i := range kd.values {
			kd.values[i].first = v.valueFirstSeen(o, is, k, kd.values[i], total, i == 0)
		}
		out = append(out, kd)
	}
	// The keys with the most events first (get_group_tag_keys orders by
	// -count), then by key.
	sort.SliceStable(out, func(i, j int) bool { return out[i].total > out[j].total })
	return out
}

// valueFirstSeen is when a value was first seen: with the issue for the
// most frequent value and the issue's first release; for the others a
// deterministic point between the issue's first seen and the value's first
// stored event, later the rarer the value, and never before its release
// was created.
func (v *view) valueFirstSeen(o *Org, is *Issue, key string, d tagValueDist, total int, top bool) time.Time {
	first := is.FirstSeen
	if span := d.first.Sub(is.FirstSeen); !top && span > 0 && !(key == "release" && d.value == is.FirstRelease) {
		share := float64(d.count) / float64(total)
		h := 0.5 + float64(hashInt(50, is.ID, key, d.value))/100
		first = is.FirstSeen.Add(time.Duration(float64(span) * (1 - share) * h)).Truncate(time.Second)
	}
	if key == "release" {
		if r := o.release(d.value, is.Project); r != nil && first.Before(r.DateCreated) && !r.DateCreated.After(d.last) {
			first = r.DateCreated
		}
	}
	return first
}

// sortTagValues orders values as GroupTagKeyValuesEndpoint's sort does:
// date = -last_seen, age = -first_seen, count = -times_seen, anything else
// -id (here: the newest value first).
func sortTagValues(vals []tagValueDist, sortBy string) {
	slices.SortStableFunc(vals, func(a, b tagValueDist) int {
		var c int
		switch sortBy {
		case "date":
			c = b.last.Compare(a.last)
		case "age":
			c = b.first.Compare(a.first)
		case "count":
			c = b.count - a.count
			if c == 0 {
				c = b.last.Compare(a.last)
			}
		default:
			c = b.first.Compare(a.first)
		}
		if c == 0 {
			c = strings.Compare(a.value, b.value)
		}
		return c
	})
}

// apportion splits total in proportion to weights (largest remainder),
// giving each weight at least one when total allows, taken from the
// largest share.
func apportion(total int, weights []float64) []int {
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	n := len(weights)
	counts := make([]int, n)
	if n == 0 || total <= 0 {
		return counts
	}
	if sum <= 0 {
		weights = slices.Repeat([]float64{1}, n)
		sum = float64(n)
	}
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, n)
	used := 0
	for i, w := range weights {
		exact := float64(total) * w / sum
		counts[i] = int(math.Floor(exact))
		used += counts[i]
		rems[i] = rem{i, exact - float64(counts[i])}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; used < total; k = (k + 1) % n {
		counts[rems[k].i]++
		used++
	}
	for i := range counts {
		if counts[i] > 0 {
			continue
		}
		big := 0
		for j := range counts {
			if counts[j] > counts[big] {
				big = j
			}
		}
		if counts[big] > 1 {
			counts[big]--
			counts[i]++
		}
	}
	return counts
}

func eventTag(ev map[string]any, key string) string {
	for _, t := range asList(ev["tags"]) {
		if tm, ok := t.(map[string]any); ok && tm["key"] == key {
			s, _ := tm["value"].(string)
			return s
		}
	}
	return ""
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

// reservedTagKeys are the keys tagstore prefixes with "sentry:" inside
// and standardises back on output.
var reservedTagKeys = []string{"user", "release", "dist", "environment"}

// standardKey is get_standardized_key: "sentry:user" is "user".
func standardKey(k string) string {
	if rest, ok := strings.CutPrefix(k, "sentry:"); ok && slices.Contains(reservedTagKeys, rest) {
		return rest
	}
	return k
}

// tagValueLabel is get_tag_value_label: a user tag shows its identifier
// without the "id:" (email:, username:, ip:) prefix.
func tagValueLabel(key, value string) string {
	if key == "user" {
		for _, p := range []string{"id:", "email:", "username:", "ip:"} {
			if rest, ok := strings.CutPrefix(value, p); ok {
				return rest
			}
		}
	}
	return value
}

// tagValueRow is TagValueSerializer's output; user tags add the search
// query that finds the user (convert_user_tag_to_query).
func (v *view) tagValueRow(key string, d tagValueDist) map[string]any {
	m := map[string]any{"key": key, "name": tagValueLabel(key, d.value), "value": d.value, "count": d.count, "lastSeen": isoTime(d.last), "firstSeen": isoTime(d.first)}
	if key == "user" {
		if sub, rest, ok := strings.Cut(d.value, ":"); ok && slices.Contains([]string{"id", "email", "username", "ip"}, sub) {
			m["query"] = "user." + sub + `:"` + strings.ReplaceAll(rest, `"`, `\"`) + `"`
		}
	}
	return m
}

// tagKeyObject is TagKeySerializer's output with the first limit values.
func (v *view) tagKeyObject(kd tagKeyDist, limit int) map[string]any {
	top := []any{}
	for i, d := range kd.values {
		if i == limit {
			break
		}
		top = append(top, v.tagValueRow(kd.key, d))
	}
	return map[string]any{"key": kd.key, "name": tagLabel(kd.key), "uniqueValues": len(kd.values), "totalValues": kd.total, "topValues": top}
}

// GET .../issues/{id}/tags/: not paginated; ?key= (repeatable) keeps those
// keys, ?limit= is int() of the value (anything else is an unhandled
// error, a 500), top values default 10, 9 with key.
func listIssueTags(c *call) {
	o, is := c.issueFromPath()
	if is == nil {
		return
	}
	var keys []string
	for _, k := range c.q.getlist("key") {
		if k != "" {
			keys = append(keys, standardKey(k))
		}
	}
	limit := 10
	if len(keys) > 0 {
		limit = 9
	}
	if raw, ok := c.q.get("limit"); ok {
		n, err := pyInt(raw)
		if err != nil {
			c.internalError()
			return
		}
		limit = max(n, 0)
	}
	envs, ok := c.environments(o)
	if !ok {
		return
	}
	out := []any{}
	for _, kd := range c.v.tagDistribution(o, is, envs) {
		if keys == nil || slices.Contains(keys, kd.key) {
			out = append(out, c.v.tagKeyObject(kd, limit))
		}
	}
	c.json(200, out)
}

// issueTagKey finds the path's {key} among the issue's tags (404 when
// unknown), with the ?environment= filter.
func (c *call) issueTagKey() (tagKeyDist, bool) {
	o, is := c.issueFromPath()
	if is == nil {
		return tagKeyDist{}, false
	}
	envs, ok := c.environments(o)
	if !ok {
		return tagKeyDist{}, false
	}
	key := standardKey(c.p["key"])
	for _, kd := range c.v.tagDistribution(o, is, envs) {
		if kd.key == key {
			return kd, true
		}
	}
	c.notFound()
	return tagKeyDist{}, false
}

// GET .../issues/{id}/tags/{key}/: the key with its 9 top values.
func getIssueTag(c *call) {
	kd, ok := c.issueTagKey()
	if !ok {
		return
	}
	c.json(200, c.v.tagKeyObject(kd, 9))
}

// maxTagValues is the most values the tag values paginator reaches.
const maxTagValues = 1000

// GET .../issues/{id}/tags/{key}/values/: every value, paginated
// (per_page, cursor); ?sort= date, age, count or else -id.
func listIssueTagValues(c *call) {
	kd, ok := c.issueTagKey()
	if !ok {
		return
	}
	vals := slices.Clone(kd.values)
	sortBy, _ := c.q.get("sort")
	sortTagValues(vals, sortBy)
	vals = vals[:min(len(vals), maxTagValues)]
	serveSeqPage(c, vals, func(d tagValueDist) any { return c.v.tagValueRow(kd.key, d) })
}
