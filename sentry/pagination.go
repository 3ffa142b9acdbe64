package sentry

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// cursorRE is what a cursor may look like. Sentry's are value:offset:is_prev
// (1735689600000:100:0, 0.5:1:0); the client treats them as opaque but
// never passes on, or sends, one with other characters (CR, LF, spaces,
// quotes, '&', '%', non-ASCII) or of unreasonable length.
var cursorRE = regexp.MustCompile(`^[A-Za-z0-9._:+/=-]{1,256}$`)

// ValidCursor reports whether s can be a pagination cursor.
func ValidCursor(s string) bool { return cursorRE.MatchString(s) }

// Page describes where a list sits among its pages. Sentry always sends
// both a previous and a next link; results="true" says whether that page
// has items, so a cursor is set only when there is something behind it.
type Page struct {
	NextCursor string
	PrevCursor string
	Hits       int // X-Hits, or -1 when absent
	MaxHits    int // X-Max-Hits, or -1 when absent
}

func parsePage(h http.Header) Page {
	p := Page{Hits: -1, MaxHits: -1}
	for _, l := range ParseLinkHeader(strings.Join(h.Values("Link"), ", ")) {
		if l.Results != "true" || !ValidCursor(l.Cursor) {
			continue // an odd cursor from Sentry is dropped: no page behind it
		}
		switch l.Rel {
		case "next":
			p.NextCursor = l.Cursor
		case "previous":
			p.PrevCursor = l.Cursor
		}
	}
	if v, err := strconv.Atoi(strings.TrimSpace(h.Get("X-Hits"))); err == nil && v >= 0 {
		p.Hits = v
	}
	if v, err := strconv.Atoi(strings.TrimSpace(h.Get("X-Max-Hits"))); err == nil && v >= 0 {
		p.MaxHits = v
	}
	return p
}

// Link is one entry of a Link header as Sentry writes it:
// <url>; rel="next"; results="true"; cursor="0:100:0".
type Link struct {
	URL, Rel, Results, Cursor string
}

// ParseLinkHeader parses an RFC 8288 Link header. It never fails: malformed
// parts are skipped.
func ParseLinkHeader(h string) []Link {
	var out []Link
	for {
		start := strings.IndexByte(h, '<')
		if start < 0 {
			return out
		}
		end := strings.IndexByte(h[start:], '>')
		if end < 0 {
			return out
		}
		end += start
		start = strings.LastIndexByte(h[:end], '<') // "<<a>" is the link <a>
		l := Link{URL: h[start+1 : end]}
		h = h[end+1:]
		// Parameters run until the next "," that is outside quotes.
		for {
			h = strings.TrimLeft(h, " \t")
			if !strings.HasPrefix(h, ";") {
				break
			}
			h = strings.TrimLeft(h[1:], " \t")
			eq := strings.IndexAny(h, "=;,")
			if eq < 0 || h[eq] != '=' {
				break
			}
			name := strings.ToLower(strings.TrimSpace(h[:eq]))
			h = strings.TrimLeft(h[eq+1:], " \t")
			var val string
			if strings.HasPrefix(h, `"`) {
				q := strings.IndexByte(h[1:], '"')
				if q < 0 {
					val, h = h[1:], ""
				} else {
					val, h = h[1:q+1], h[q+2:]
				}
			} else {
				n := strings.IndexAny(h, ";,")
				if n < 0 {
					n = len(h)
				}
				val, h = strings.TrimSpace(h[:n]), h[n:]
			}
			switch name {
			case "rel":
				l.Rel = val
			case "results":
				l.Results = val
			case "cursor":
				l.Cursor = val
			}
		}
		out = append(out, l)
		if i := strings.IndexByte(h, ','); i >= 0 {
			h = h[i+1:]
		} else {
			return out
		}
	}
}
