package tools

import (
	"fmt"
	"strings"
)

// MarkdownTable is the README's tools table, generated from the tools
// themselves (a test keeps the README in step).
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| tool | toolset | what it does | needs (any of) | kind |\n|---|---|---|---|---|\n")
	for _, t := range All() {
		needs := "-"
		if len(t.Scopes) > 0 {
			needs = "`" + strings.Join(t.Scopes, "`, `") + "`"
		}
		kind := "read"
		switch {
		case !t.ReadOnly && t.Idempotent:
			kind = "write (idempotent)"
		case !t.ReadOnly:
			kind = "write"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", t.Name, t.Toolset, t.Description, needs, kind)
	}
	return b.String()
}
