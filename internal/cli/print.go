package cli

import (
	"strings"
	"unicode/utf16"

	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// What the CLI prints from tool results and from Sentry is untrusted (see
// tools/render): text goes through render.Terminal, JSON through
// terminalJSON, so neither can drive the terminal.

// terminalJSON makes a document written by encoding/json safe to print:
// every rune render.Terminal would escape (DEL, C1, bidi, zero-width, tag
// characters...; encoding/json already escapes the C0 controls in strings)
// becomes a JSON \u escape, so the output is still valid JSON with the same
// value.
func terminalJSON(b []byte) string {
	s := string(b)
	if render.Terminal(s) == s {
		return s
	}
	var out strings.Builder
	out.Grow(len(s) + 64)
	for _, r := range s {
		if r == '\n' || (r >= 0x20 && r < 0x7f) || (r >= 0x80 && render.Terminal(string(r)) == string(r)) {
			out.WriteRune(r)
			continue
		}
		if r > 0xffff {
			hi, lo := utf16.EncodeRune(r)
			writeU(&out, hi)
			writeU(&out, lo)
		} else {
			writeU(&out, r)
		}
	}
	return out.String()
}

func writeU(b *strings.Builder, r rune) {
	const hex = "0123456789abcdef"
	b.WriteString(`\u`)
	for shift := 12; shift >= 0; shift -= 4 {
		b.WriteByte(hex[(r>>uint(shift))&0xf])
	}
}
