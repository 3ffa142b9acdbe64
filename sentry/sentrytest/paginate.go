package sentrytest

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// qparam is one query parameter, in request order.
type qparam struct{ k, v string }

// query is a parsed query string that keeps order and repeats, like
// Django's QueryDict.
type query []qparam

// parseQuery splits on "&" and decodes like urllib.parse.parse_qsl with
// keep_blank_values: malformed escapes are kept verbatim.
func parseQuery(raw string) query {
	var q query
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		q = append(q, qparam{unquotePlus(k), unquotePlus(v)})
	}
	return q
}

func unquotePlus(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	// Decode the valid escapes only, as Python's unquote does.
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(n))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func ishex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// get returns the last value of k, as QueryDict.get does.
func (q query) get(k string) (string, bool) {
	v, ok := "", false
	for _, p := range q {
		if p.k == k {
			v, ok = p.v, true
		}
	}
	return v, ok
}

func (q query) getlist(k string) []string {
	var out []string
	for _, p := range q {
		if p.k == k {
			out = append(out, p.v)
		}
	}
	return out
}

// encodeWithout re-encodes every parameter except skip like
// QueryDict.urlencode: keys in first-seen order, each key's values
// together, quote_plus escaping.
func (q query) encodeWithout(skip string) string {
	var keys []string
	seen := map[string]bool{}
	for _, p := range q {
		if p.k != skip && !seen[p.k] {
			seen[p.k] = true
			keys = append(keys, p.k)
		}
	}
	var parts []string
	for _, k := range keys {
		for _, v := range q.getlist(k) {
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

// cursor is sentry.utils.cursors.Cursor: value:offset:is_prev.
type cursor struct {
	value      float64
	isFloat    bool
	offset     int
	isPrev     bool
	hasResults bool
}

func (c cursor) String() string {
	v := strconv.FormatFloat(c.value, 'f', -1, 64)
	if c.isFloat && !strings.Contains(v, ".") {
		v += ".0"
	}
	p := 0
	if c.isPrev {
		p = 1
	}
	return fmt.Sprintf("%s:%d:%d", v, c.offset, p)
}

var errBadCursor = errors.New("bad cursor")

// parseCursor is Cursor.from_string.
func parseCursor(s string) (cursor, error) {
	bits := strings.Split(s, ":")
	if len(bits) != 3 {
		return cursor{}, errBadCursor
	}
	var c cursor
	if strings.Contains(bits[0], ".") {
		f, err := strconv.ParseFloat(strings.TrimSpace(bits[0]), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return cursor{}, errBadCursor
		}
		c.value, c.isFloat = f, true
	} else {
		n, err := strconv.ParseInt(strings.TrimSpace(bits[0]), 10, 64)
		if err != nil {
			return cursor{}, errBadCursor
		}
		c.value = float64(n)
	}
	off, err := strconv.Atoi(strings.TrimSpace(bits[1]))
	if err != nil {
		return cursor{}, errBadCursor
	}
	prev, err := strconv.Atoi(strings.TrimSpace(bits[2]))
	if err != nil {
		return cursor{}, errBadCursor
	}
	c.offset, c.isPrev = off, prev != 0
	return c, nil
}

// page is one page of a list: the slice bounds and both cursors.
type page struct {
	start, end int
	prev, next cursor
}

// offsetPage is OffsetPaginator.get_result: the cursor is
// {limit}:{page}:{is_prev}.
func offsetPage(n, limit int, c *cursor) (page, error) {
	if c == nil {
		c = &cursor{}
	}
	pageNo := c.offset
	value := int(c.value)
	if c.value > math.MaxInt32 || c.value < math.MinInt32 {
		value = int(math.Copysign(math.MaxInt32, c.value))
	}
	offset := satMul(pageNo, value)
	if offset < 0 {
		return page{}, errors.New("Pagination offset cannot be negative")
	}
	size := value
	if size == 0 {
		size = limit
	}
	stop := satAdd(satAdd(offset, size), 1)
	lo, hi := min(offset, n), min(max(stop, 0), n)
	if hi < lo {
		hi = lo
	}
	if value != limit && hi-lo > limit+1 {
		lo = hi - (limit + 1)
	}
	count := hi - lo
	p := page{
		start: lo,
		end:   lo + min(count, limit),
		next:  cursor{value: float64(limit), offset: satAdd(pageNo, 1), hasResults: count > limit},
		prev:  cursor{value: float64(limit), offset: pageNo - 1, isPrev: true, hasResults: pageNo > 0},
	}
	return p, nil
}

// seqPage pages by absolute offset, for the date- and score-ordered lists
// (organizations, issues). The cursor is 0:{offset}:{is_prev}; clients
// treat it as opaque.
func seqPage(n, limit int, c *cursor) (page, error) {
	start := 0
	if c != nil {
		start = c.offset
	}
	if start < 0 {
		return page{}, errors.New("Pagination offset cannot be negative")
	}
	limit = max(limit, 0)
	lo := min(start, n)
	hi := min(satAdd(start, limit), n)
	return page{
		start: lo,
		end:   hi,
		next:  cursor{offset: satAdd(start, limit), hasResults: satAdd(start, limit) < n},
		prev:  cursor{offset: max(start-limit, 0), isPrev: true, hasResults: start > 0},
	}, nil
}

func satAdd(a, b int) int {
	if b > 0 && a > math.MaxInt-b {
		return math.MaxInt
	}
	if b < 0 && a < math.MinInt-b {
		return math.MinInt
	}
	return a + b
}

func satMul(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	r := a * b
	if r/b != a || (a == -1 && b == math.MinInt) || (b == -1 && a == math.MinInt) {
		if (a < 0) != (b < 0) {
			return math.MinInt
		}
		return math.MaxInt
	}
	return r
}

// quotePath is urllib.parse.quote(path, safe="/").
func quotePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.-~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// linkHeader is Endpoint.add_cursor_headers' Link value.
func (c *call) linkHeader(p page) string {
	qs := c.q.encodeWithout("cursor")
	base := c.origin() + quotePath(c.r.URL.Path) + "?"
	if qs != "" {
		base += qs
	}
	one := func(name string, cur cursor) string {
		return fmt.Sprintf(`<%s&cursor=%s>; rel="%s"; results="%t"; cursor="%s"`, base, cur, name, cur.hasResults, cur)
	}
	return one("previous", p.prev) + ", " + one("next", p.next)
}

// perPage is Endpoint.get_per_page.
func (c *call) perPage() (int, bool) {
	raw, ok := c.q.get("per_page")
	if !ok {
		return 100, true
	}
	n, err := pyInt(raw)
	if err != nil {
		c.detail(400, "Invalid per_page parameter.")
		return 0, false
	}
	if n > 100 || n < 1 { // clamp_pagination_per_page
		c.detail(400, "Invalid per_page value. Must be between 1 and 100.")
		return 0, false
	}
	return n, true
}

// cursorParam is Endpoint.get_cursor_from_request: nil when absent/empty.
func (c *call) cursorParam() (*cursor, bool) {
	raw, _ := c.q.get("cursor")
	if raw == "" {
		return nil, true
	}
	cur, err := parseCursor(raw)
	if err != nil {
		c.detail(400, msgInvalidCursor)
		return nil, false
	}
	return &cur, true
}

// pyInt parses like Python's int(str): surrounding whitespace, a sign and
// underscores between digits are allowed.
func pyInt(s string) (int, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "__") || strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") {
		return 0, errors.New("invalid")
	}
	s = strings.ReplaceAll(s, "_", "")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt32 {
		n = math.MaxInt32
	}
	if n < math.MinInt32 {
		n = math.MinInt32
	}
	return int(n), nil
}

// serveSeqPage answers one page of a date-ordered list (DateTimePaginator)
// with per_page, cursor and Link, the cursor being the fake's 0:{offset}:{prev}.
func serveSeqPage[T any](c *call, items []T, render func(T) any) {
	servePage(c, items, seqPage, render)
}

// serveOffsetPage answers one OffsetPaginator page of items (projects,
// releases): per_page and cursor checked, the page rendered, Link set.
func serveOffsetPage[T any](c *call, items []T, render func(T) any) {
	servePage(c, items, offsetPage, render)
}

// servePage checks per_page and cursor, then writes the page pager cuts.
func servePage[T any](c *call, items []T, pager func(n, limit int, cur *cursor) (page, error), render func(T) any) {
	perPage, ok := c.perPage()
	if !ok {
		return
	}
	cur, ok := c.cursorParam()
	if !ok {
		return
	}
	writePage(c, items, pager, perPage, cur, render)
}

// writePage answers the page of items that pager cuts for per_page and
// cursor (both already checked): 400 for a cursor past the end, else the
// rendered page with its Link header.
func writePage[T any](c *call, items []T, pager func(n, limit int, cur *cursor) (page, error), perPage int, cur *cursor, render func(T) any) {
	p, err := pager(len(items), perPage, cur)
	if err != nil {
		c.detail(400, err.Error())
		return
	}
	out := make([]any, 0, p.end-p.start)
	for _, it := range items[p.start:p.end] {
		out = append(out, render(it))
	}
	c.w.Header().Set("Link", c.linkHeader(p))
	c.json(200, out)
}
