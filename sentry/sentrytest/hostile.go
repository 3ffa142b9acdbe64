package sentrytest

import (
	"bytes"
	"fmt"
)

// HugeEvent is an event as anyone with a project's DSN can make Sentry
// store: one exception of the given number of stack frames (100,000 make
// about 9 MB), for tests that bound what is read and shown.
func HugeEvent(frames int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":"e1","eventID":"e1","groupID":"1","title":"RecursionError","entries":[{"type":"exception","data":{"values":[{"type":"RecursionError","value":"maximum recursion depth exceeded","stacktrace":{"frames":[`)
	for i := range frames {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"filename":"app/m%06d.py","function":"recurse_%06d","lineNo":%d,"colNo":%d,"inApp":true}`, i, i, i%1000+1, i%10)
	}
	b.WriteString(`]}}]}}],"tags":[{"key":"level","value":"error"}]}`)
	return b.Bytes()
}
