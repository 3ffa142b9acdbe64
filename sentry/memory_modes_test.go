package sentry

import "fmt"

type memMode struct {
	name     string
	org      string // "chunked": the answer has no Content-Length
	issue    bool   // GetIssue of a 7.9 MB issue instead of LatestEvent
	config   func(*Config)
	describe func(ev *Event, frames int) string
	want     string // prefix of every call's result
	maxKB    int
}

func describeFrames(ev *Event, frames int) string {
	omitted := 0
	for _, x := range ev.Exceptions() {
		if x.Stacktrace != nil {
			omitted += x.Stacktrace.FramesOmitted
		}
	}
	return fmt.Sprintf("decoded %d frames, %d omitted", frames, omitted)
}

var memModes = []memMode{
	// Under the default cap the 9 MB event is decoded as a stream,
	// keeping the last MaxFrames frames.
	{name: "default", org: "acme", describe: describeFrames, want: "decoded 100 frames, 99900 omitted", maxKB: 100 << 10},
	{name: "default-chunked", org: "chunked", describe: describeFrames, want: "decoded 100 frames, 99900 omitted", maxKB: 100 << 10},
	// With the cap lowered below its size it is refused, unread.
	{name: "cap8MiB", org: "acme", config: func(c *Config) { c.MaxResponseBytes = 8 << 20 }, describe: describeFrames, want: "error: sentry: GET /api/0/organizations/acme/issues/1/events/latest/: the response is larger than 8 MiB", maxKB: 100 << 10},
	// Issue details just under the cap are decoded whole; the budget
	// bounds how many at once.
	{name: "issue-7.9MB", org: "acme", issue: true, want: "issue with 1000 tags", maxKB: 100 << 10},
	{name: "issue-7.9MB-chunked", org: "chunked", issue: true, want: "issue with 1000 tags", maxKB: 100 << 10},
	{name: "cap8MiB-chunked", org: "chunked", config: func(c *Config) { c.MaxResponseBytes = 8 << 20 }, describe: describeFrames, want: "error: sentry: GET /api/0/organizations/chunked/issues/1/events/latest/: the response is larger than 8 MiB", maxKB: 100 << 10},
}
