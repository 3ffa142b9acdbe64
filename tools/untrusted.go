package tools

import (
	"encoding/json"
	"strings"

	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// Everything Sentry sends about events is attacker-controlled (anyone with
// a project's public DSN can send events), so each field has a cap. Text
// goes through render.Line (runes) or render.Block (bytes); structured
// output is cut to the same caps (clip, clipBytes) without escaping, since
// JSON keeps structure on its own.
const (
	capText   = 500     // titles, culprits, exception types (runes)
	capName   = 200     // names, emails, release versions, files, functions, tag values
	capSlug   = 100     // slugs, ids, statuses, levels, platforms, tag keys, environments, dates
	capCode   = 160     // the line of code of a frame
	capBlock  = 4 << 10 // multi-line values: exception values, messages (bytes)
	capDetail = 300     // Sentry's error detail quoted in a tool error
	capCursor = 256     // a pagination cursor

	// get_issue's text: the whole tags line, a frame's file, function and
	// code (runes). The raised exception gets the most room (value, stack
	// in bytes), the earlier ones of a chain less, so that the frames
	// nearest the crash stay within render.DefaultMax.
	capTags          = 800
	capFrame         = 120
	lastStackText    = 10 << 10
	chainedStackText = 1 << 10
	chainedValueText = 512

	blockLines    = 40 // lines of a multi-line value shown
	maxFrames     = 50 // frame entries kept per exception, those nearest the crash
	maxExceptions = 5  // chained exceptions kept, the last (raised) ones
	// get_event: the in-app frames nearest the crash shown with their
	// context lines, and how many lines before and after (Sentry sends 5).
	contextFrames   = 3
	maxContextLines = 5
	maxProjects     = 20 // projects listed per release

	// structuredMax bounds a structured result, as JSON; textJSONMax bounds
	// the text as JSON (render.DefaultMax bounds its bytes, but JSON turns
	// each <, > and & into six bytes and doubles backslashes). Together the
	// whole result stays under 64 KB.
	structuredMax = 28 << 10
	textJSONMax   = 34 << 10
)

// moreResults starts the line finishList ends a list's text with.
const moreResults = "More results: call again with cursor="

// fitTextJSON cuts text again, with a render.Builder and its note, when its
// JSON encoding is over textJSONMax; a last moreResults line is kept. It
// reports whether it cut.
func fitTextJSON(text string) (string, bool) {
	n := jsonSize(text)
	if n <= textJSONMax {
		return text, false
	}
	body, tail := text, ""
	if i := strings.LastIndexByte(text, '\n'); i >= 0 && strings.HasPrefix(text[i+1:], moreResults) {
		body, tail = text[:i], text[i:]
	}
	for size := len(body); n > textJSONMax && size > 1; {
		size = int(int64(size) * textJSONMax / int64(n) * 9 / 10)
		if size >= 1<<10 {
			size &^= 1<<10 - 1 // whole KB, so the note reads "cut at 5 KB"
		}
		size = max(size, 1) // Max 0 would mean the default
		b := render.Builder{Max: size}
		b.WriteString(body)
		text = strings.TrimRight(b.String(), "\n") + tail
		n = jsonSize(text)
	}
	return text, true
}

// line renders one untrusted single-line field for text.
func line(s string, max int) string { return render.Line(s, max) }

// clip cuts s to max runes for structured output, ending it with "…", and
// records the cut in *cut.
func clip(s string, max int, cut *bool) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			*cut = true
			return s[:i] + render.Ellipsis
		}
		n++
	}
	return s
}

// clipBytes cuts s to at most max bytes (at a rune boundary) for structured
// output, ending it with "…", and records the cut in *cut.
func clipBytes(s string, max int, cut *bool) string {
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	*cut = true
	return s[:i] + render.Ellipsis
}

// jsonSize is the size of v encoded as the structured result is.
func jsonSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

// fitList clips every item with clip at the largest per-field cap, from hi
// down to 32, for which size(items) stays within structuredMax, then drops
// trailing items if even that is too much. It reports whether anything was
// cut.
func fitList[T any](items []T, hi int, clipItem func(item T, max int, cut *bool) T, size func([]T) int) ([]T, bool) {
	try := func(max int) ([]T, bool) {
		cut := false
		out := make([]T, len(items))
		for i := range items {
			out[i] = clipItem(items[i], max, &cut)
		}
		return out, cut
	}
	out, cut := try(hi)
	if size(out) <= structuredMax {
		return out, cut
	}
	const lo = 32
	best := lo
	for l, h := lo, hi-1; l <= h; {
		m := (l + h) / 2
		if r, _ := try(m); size(r) <= structuredMax {
			best, l = m, m+1
		} else {
			h = m - 1
		}
	}
	out, _ = try(best)
	for n := len(out); n > 0 && size(out) > structuredMax; n = len(out) {
		out = out[:n-n/8-1] // drop the last eighth, at least one
	}
	return out, true
}

// sentryLink returns raw if it is a link into the configured Sentry
// (render.Link with the client's own rule, IsSentryURL), else "".
func (d *Deps) sentryLink(raw string) string {
	if raw == "" || d.Client == nil {
		return ""
	}
	link, ok := render.Link(raw, d.Client.IsSentryURL)
	if !ok {
		return ""
	}
	return link
}
