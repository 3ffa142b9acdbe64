package render

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultMax is the cap of a [Builder] whose Max is 0: 32 KB.
const DefaultMax = 32 << 10

// DefaultHint ends the cut note of a [Builder] whose Hint is "".
const DefaultHint = "narrow the request (limit, query) to see more"

// Builder builds a whole text result under a total byte cap. It is an
// io.Writer, so fmt.Fprintf(&b, …) works; it does not escape anything, so
// untrusted values still go through [Line] or [Block].
//
// Once a write would take the result past Max, the Builder keeps what fits
// as whole lines (it cuts back to the last line break; a result of one long
// line is cut at a rune boundary), appends one note on its own line,
//
//	… output cut at 32 KB; narrow the request (limit, query) to see more
//
// and ignores every later write. The result, note included, is at most Max
// bytes (unless Max is shorter than the note, which is then the result).
// [Builder.Truncated] tells a structured result to set its truncated field.
//
// The zero value is ready to use. Set Max and Hint before the first write.
// Do not copy a Builder after writing to it.
type Builder struct {
	// Max caps the length of the result in bytes; 0 means DefaultMax.
	Max int
	// Hint ends the cut note, after "… output cut at 32 KB; "; "" means
	// DefaultHint.
	Hint string

	b   strings.Builder
	cut bool
}

func (b *Builder) max() int {
	if b.Max <= 0 {
		return DefaultMax
	}
	return b.Max
}

// Write appends p, or what fits of it. It never fails.
func (b *Builder) Write(p []byte) (int, error) {
	if !b.cut {
		if b.b.Len()+len(p) <= b.max() {
			b.b.Write(p)
		} else {
			b.overflow(string(p))
		}
	}
	return len(p), nil
}

// WriteString appends s, or what fits of it. It never fails.
func (b *Builder) WriteString(s string) (int, error) {
	if !b.cut {
		if b.b.Len()+len(s) <= b.max() {
			b.b.WriteString(s)
		} else {
			b.overflow(s)
		}
	}
	return len(s), nil
}

func (b *Builder) overflow(s string) {
	note := b.note()
	room := b.max() - len(note)
	head := b.b.String()
	if room <= 0 {
		head = ""
	} else if len(head) >= room {
		head = head[:room]
	} else {
		head += s[:room-len(head)]
	}
	if i := strings.LastIndexByte(head, '\n'); i >= 0 {
		head = head[:i+1]
	} else if n := len(head) - 1; n > 0 {
		// One long line: keep what fits before a line break and the note,
		// cut at a rune boundary.
		for n > 0 && !utf8.RuneStart(head[n]) {
			n--
		}
		head = head[:n] + "\n"
		if n == 0 {
			head = ""
		}
	} else {
		head = ""
	}
	b.b.Reset() // head still holds the old buffer; the writes below copy it
	b.b.Grow(len(head) + len(note))
	b.b.WriteString(head)
	b.b.WriteString(note)
	b.cut = true
}

func (b *Builder) note() string {
	max := b.max()
	size := Count(max) + " bytes"
	if max%1024 == 0 {
		size = strconv.Itoa(max/1024) + " KB"
	}
	hint := b.Hint
	if hint == "" {
		hint = DefaultHint
	}
	return Ellipsis + " output cut at " + size + "; " + hint
}

// String returns the result so far.
func (b *Builder) String() string { return b.b.String() }

// Len returns the length of the result so far in bytes.
func (b *Builder) Len() int { return b.b.Len() }

// Truncated reports whether anything written was left out.
func (b *Builder) Truncated() bool { return b.cut }
