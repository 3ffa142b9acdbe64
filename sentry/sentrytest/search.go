package sentrytest

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// searchFilter is one key:value term of an issue search.
type searchFilter struct {
	key    string
	op     string // "=", ">", "<", ">=", "<="
	values []string
	negate bool
}

type issueSearch struct {
	filters []searchFilter
	text    string // free text, joined
}

// isValues are the values "is:" accepts.
var isValues = []string{"archived", "assigned", "escalating", "for_review", "ignored", "linked", "new", "ongoing", "regressed", "reprocessing", "resolved", "unassigned", "unlinked", "unresolved"}

// splitSearch tokenizes on whitespace, keeping quoted runs together.
func splitSearch(q string) []string {
	var out []string
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(q):
			b.WriteByte(c)
			b.WriteByte(q[i+1])
			i++
		case c == '"':
			inQuote = !inQuote
			b.WriteByte(c)
		case (c == ' ' || c == '\t' || c == '\n') && !inQuote:
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
		default:
			b.WriteByte(c)
		}
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `\"`, `"`)
	}
	return s
}

var searchKeyRe = regexp.MustCompile(`^!?[a-zA-Z0-9_.\-\[\]@]+$`)

// parseIssueSearch parses Sentry's issue search syntax (the subset the fake
// understands). Errors carry Sentry's messages without the prefix.
func parseIssueSearch(q string) (issueSearch, error) {
	var s issueSearch
	var words []string
	for _, tok := range splitSearch(q) {
		if tok == "OR" || tok == "AND" {
			return s, fmt.Errorf("Boolean statements containing \"OR\" or \"AND\" are not supported in this search")
		}
		i := strings.IndexByte(tok, ':')
		if i <= 0 || i == len(tok)-1 || tok[0] == '"' || !searchKeyRe.MatchString(tok[:i]) {
			words = append(words, unquote(tok))
			continue
		}
		f := searchFilter{key: tok[:i], op: "="}
		if strings.HasPrefix(f.key, "!") {
			f.negate, f.key = true, f.key[1:]
		}
		val := tok[i+1:]
		for _, op := range []string{">=", "<=", ">", "<"} {
			if strings.HasPrefix(val, op) {
				f.op, val = op, val[len(op):]
				break
			}
		}
		if strings.HasPrefix(val, "[") && strings.HasSuffix(val, "]") {
			for _, part := range strings.Split(val[1:len(val)-1], ",") {
				if p := unquote(strings.TrimSpace(part)); p != "" {
					f.values = append(f.values, p)
				}
			}
		} else {
			f.values = []string{unquote(val)}
		}
		if len(f.values) == 0 || f.values[0] == "" {
			return s, fmt.Errorf("Empty string after '%s:'", tok[:i])
		}
		if f.key == "is" {
			for _, val := range f.values {
				if !slices.Contains(isValues, val) {
					return s, fmt.Errorf("Invalid value for \"is\" search, valid values are %s", pyList(isValues))
				}
			}
		}
		s.filters = append(s.filters, f)
	}
	s.text = strings.Join(words, " ")
	return s, nil
}

func pyList(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// parseRelative parses "-24h", "+7d", "24h" (relative ages).
func parseRelative(s string) (time.Duration, bool) {
	s = strings.TrimLeft(s, "+-")
	d, ok := parseStatsPeriod(s)
	return d, ok
}

// statsPeriodRe is parse_stats_period's pattern.
var statsPeriodRe = regexp.MustCompile(`^(\d+)([hdmsw]?)$`)

func parseStatsPeriod(s string) (time.Duration, bool) {
	m := statsPeriodRe.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, false
	}
	unit := map[string]time.Duration{"": time.Second, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	if n > int64(math.MaxInt64/unit) {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// pyRepr is Python's repr() of a str, as "Invalid statsPeriod: %r" shows it.
func pyRepr(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	var b strings.Builder
	b.WriteString(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case string(r) == q:
			b.WriteString(`\` + q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(q)
	return b.String()
}

// matches reports whether an issue satisfies the search.
func (v *view) matches(o *Org, is *Issue, s issueSearch) bool {
	for _, f := range s.filters {
		if v.matchFilter(o, is, f) == f.negate {
			return false
		}
	}
	if s.text != "" {
		t := strings.ToLower(s.text)
		hay := []string{is.Title, is.Culprit, is.ShortID}
		if mv, ok := is.Metadata["value"].(string); ok {
			hay = append(hay, mv)
		}
		found := false
		for _, h := range hay {
			if strings.Contains(strings.ToLower(h), t) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func wildMatch(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	ok, err := path.Match(strings.NewReplacer("[", `\[`, "]", `\]`, "?", `\?`, `\`, `\\`).Replace(pattern), s)
	return err == nil && ok
}

func anyValue(values []string, fn func(string) bool) bool {
	for _, v := range values {
		if fn(v) {
			return true
		}
	}
	return false
}

func (v *view) matchFilter(o *Org, is *Issue, f searchFilter) bool {
	status, sub, _ := v.status(is)
	subs, _ := sub.(string)
	switch f.key {
	case "is":
		// Several values of one is: term are alternatives.
		return anyValue(f.values, func(val string) bool {
			switch val {
			case "unresolved", "resolved", "ignored":
				return status == val
			case "archived":
				return status == "ignored"
			case "assigned":
				return is.AssignedTo != nil
			case "unassigned":
				return is.AssignedTo == nil
			case "for_review":
				_, ok := v.inboxReason(is)
				return ok
			case "new", "ongoing", "regressed", "escalating":
				return status == "unresolved" && subs == val
			case "linked", "reprocessing":
				return false
			case "unlinked":
				return true
			}
			return false
		})
	case "level":
		return anyValue(f.values, func(val string) bool { return strings.EqualFold(val, is.Level) })
	case "environment":
		return anyValue(f.values, func(val string) bool {
			return slices.ContainsFunc(is.Environments, func(e string) bool { return wildMatch(val, e) })
		})
	case "release":
		return anyValue(f.values, func(val string) bool {
			if val == "latest" {
				rels := o.projectReleases(is.Project)
				return len(rels) > 0 && (is.LastRelease == rels[0].Version || is.FirstRelease == rels[0].Version)
			}
			return wildMatch(val, is.LastRelease) || wildMatch(val, is.FirstRelease) || slices.ContainsFunc(v.tagValues(is)["release"], func(r string) bool { return wildMatch(val, r) })
		})
	case "firstRelease", "first-release", "firstrelease":
		return anyValue(f.values, func(val string) bool { return wildMatch(val, is.FirstRelease) })
	case "assigned", "assigned_or_suggested":
		return anyValue(f.values, func(val string) bool { return v.assignedTo(o, is, val) })
	case "bookmarks":
		return anyValue(f.values, func(val string) bool { return (val == "me" || val == v.d.User["email"]) && is.IsBookmarked })
	case "has":
		return anyValue(f.values, func(val string) bool {
			if val == "assignee" || val == "assigned" {
				return is.AssignedTo != nil
			}
			return len(v.tagValues(is)[val]) > 0
		})
	case "age", "firstSeen", "lastSeen":
		t := is.FirstSeen
		if f.key == "lastSeen" {
			t = is.LastSeen
		}
		return v.matchTime(t, f)
	case "timesSeen", "times_seen", "count":
		return matchNumber(is.Count, f)
	case "userCount", "user_count", "users":
		return matchNumber(is.UserCount, f)
	case "message", "title":
		return anyValue(f.values, func(val string) bool {
			if strings.Contains(val, "*") {
				return wildMatch(strings.ToLower(val), strings.ToLower(is.Title))
			}
			return strings.Contains(strings.ToLower(is.Title), strings.ToLower(val)) || strings.Contains(strings.ToLower(is.Culprit), strings.ToLower(val))
		})
	case "issue", "issue.id":
		return anyValue(f.values, func(val string) bool { return val == is.ID || strings.EqualFold(val, is.ShortID) })
	case "priority", "issue.priority":
		return anyValue(f.values, func(val string) bool { return val == is.Priority })
	case "issue.category", "issue.type":
		return anyValue(f.values, func(val string) bool { return val == "error" })
	case "user.email", "user.id", "user.username", "user.ip":
		field := map[string]string{"user.email": "email", "user.id": "id", "user.username": "username", "user.ip": "ip_address"}[f.key]
		return anyValue(f.values, func(val string) bool {
			for _, ev := range is.Events {
				if u, ok := ev["user"].(map[string]any); ok {
					if s, ok := u[field].(string); ok && wildMatch(val, s) {
						return true
					}
				}
			}
			return false
		})
	}
	// Anything else is a tag search.
	vals := v.tagValues(is)[f.key]
	return anyValue(f.values, func(val string) bool {
		return slices.ContainsFunc(vals, func(t string) bool { return wildMatch(val, t) })
	})
}

func (v *view) assignedTo(o *Org, is *Issue, val string) bool {
	a := is.AssignedTo
	switch {
	case val == "none":
		return a == nil
	case a == nil:
		return false
	case val == "me":
		return a["type"] == "user" && a["id"] == v.d.userID()
	case val == "my_teams":
		return a["type"] == "team"
	case strings.HasPrefix(val, "#"):
		return a["type"] == "team" && a["name"] == val[1:]
	}
	return a["type"] == "user" && (a["email"] == val || a["id"] == val)
}

// matchTime handles relative ages ("-24h": within the last day, "+24h":
// older than a day) and absolute times with operators.
func (v *view) matchTime(t time.Time, f searchFilter) bool {
	val := f.values[0]
	if strings.HasPrefix(val, "-") || strings.HasPrefix(val, "+") {
		d, ok := parseRelative(val)
		if !ok {
			return false
		}
		cut := v.now.Add(-d)
		if strings.HasPrefix(val, "-") {
			return !t.Before(cut)
		}
		return t.Before(cut)
	}
	at, err := time.Parse(time.RFC3339, val)
	if err != nil {
		if at, err = time.Parse("2006-01-02T15:04:05", val); err != nil {
			if at, err = time.Parse("2006-01-02", val); err != nil {
				return false
			}
		}
	}
	switch f.op {
	case ">":
		return t.After(at)
	case ">=":
		return !t.Before(at)
	case "<":
		return t.Before(at)
	case "<=":
		return !t.After(at)
	}
	return t.Equal(at)
}

func matchNumber(n int, f searchFilter) bool {
	want, err := strconv.Atoi(f.values[0])
	if err != nil {
		return false
	}
	switch f.op {
	case ">":
		return n > want
	case ">=":
		return n >= want
	case "<":
		return n < want
	case "<=":
		return n <= want
	}
	return n == want
}

// sortOptions are the issue search sorts.
var sortOptions = []string{"date", "new", "trends", "freq", "user", "inbox", "recommended"}

// sortIssues orders issues for a search sort (ties: newest id first).
func (v *view) sortIssues(list []*Issue, sort string) {
	key := func(is *Issue) float64 {
		switch sort {
		case "new":
			return float64(is.FirstSeen.Unix())
		case "freq":
			return float64(is.Count)
		case "user":
			return float64(is.UserCount)
		case "trends", "recommended":
			// Recent, frequent issues first: events per hour damped by
			// time since the issue was last seen.
			age := math.Max(v.now.Sub(is.LastSeen).Hours(), 0) + 2
			life := math.Max(is.LastSeen.Sub(is.FirstSeen).Hours(), 1)
			return float64(is.Count) / life / math.Pow(age, 1.5)
		case "inbox":
			if in, ok := v.inbox(is).(map[string]any); ok {
				t, _ := time.Parse(time.RFC3339Nano, in["date_added"].(string))
				return float64(t.Unix())
			}
			return 0
		}
		return float64(is.LastSeen.Unix())
	}
	slices.SortStableFunc(list, func(a, b *Issue) int {
		ka, kb := key(a), key(b)
		if ka != kb {
			if ka > kb {
				return -1
			}
			return 1
		}
		ia, _ := strconv.Atoi(a.ID)
		ib, _ := strconv.Atoi(b.ID)
		return ib - ia
	})
}
