package sentry

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"golang.org/x/sync/semaphore"
)

// Bounds on what is read from Sentry. Data from Sentry is untrusted: a
// response may be huge by accident (an event with 100,000 frames) or on
// purpose (a gzip bomb), and the server must neither run out of memory nor
// pass it all on.
const (
	// DefaultMaxResponseBytes caps a response body (after decompression);
	// a larger one is a *TooLargeError. Config.MaxResponseBytes changes it.
	// Large answers are decoded as a stream that drops what no tool shows
	// (frames beyond MaxFrames, long strings), so a 9 MB event with
	// 100,000 frames is still shown, its frames nearest the crash kept,
	// in bounded memory.
	DefaultMaxResponseBytes = 32 << 20
	// maxErrorBody caps what is read of a non-2xx body: only its detail
	// is wanted.
	maxErrorBody = 64 << 10
	// MaxDetailLen caps Error.Detail, in bytes; longer details end in
	// detailClipped.
	MaxDetailLen = 2000
	// smallBody is how much of a body is read without the process-wide
	// budget: ordinary answers never wait.
	smallBody = 1 << 20
	// budgetSize bounds the bytes of large bodies being read and decoded
	// at once, across all clients of the process.
	budgetSize = 48 << 20
	// maxWeight is the most one body takes of the budget: what is decoded
	// of a large answer is bounded by the streaming caps, not by its size,
	// so six large answers (of any users) may be read at once and one slow
	// download cannot hold up everyone.
	maxWeight = budgetSize / 6
)

const detailClipped = "… (truncated)"

// budget is shared by every Client: the memory at risk is the process's.
var budget = semaphore.NewWeighted(budgetSize)

// TooLargeError is a response body larger than the client reads
// (Config.MaxResponseBytes). Nothing of it is used.
type TooLargeError struct {
	Method, Path string
	Limit        int64 // bytes
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("sentry: %s %s: the response is larger than %s, more than this client reads", e.Method, e.Path, humanBytes(e.Limit))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// bodyReader reads a response body up to limit bytes; one more byte is a
// *TooLargeError. Beyond smallBody bytes (or at once, when Content-Length
// says the body is larger) it first takes its weight from the process-wide
// budget, so that only so many large bodies are held and decoded at once.
// The weight is taken once, never in steps, so readers cannot deadlock
// each other.
type bodyReader struct {
	ctx      context.Context
	r        io.Reader
	n, limit int64
	weight   int64 // taken from budget when the body turns out large
	large    bool  // Content-Length says so: take the budget before reading
	held     bool
	tooLarge *TooLargeError
	err      error // a failure to read (not EOF, not too large)

	contentLength int64 // -1: unknown
}

func newBodyReader(ctx context.Context, resp *http.Response, limit int64) *bodyReader {
	b := &bodyReader{ctx: ctx, r: resp.Body, limit: limit, weight: min(limit, maxWeight), contentLength: resp.ContentLength}
	b.tooLarge = &TooLargeError{Method: resp.Request.Method, Path: resp.Request.URL.Path, Limit: limit}
	if cl := resp.ContentLength; cl > limit {
		b.n = limit + 1 // refused unread
	} else if cl > smallBody {
		b.weight, b.large = min(cl, maxWeight), true
	}
	return b
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.n > b.limit {
		return 0, b.tooLarge
	}
	if !b.held {
		if b.large || b.n >= smallBody {
			if err := budget.Acquire(b.ctx, b.weight); err != nil {
				return 0, err
			}
			b.held = true
		} else if room := smallBody - b.n; int64(len(p)) > room {
			p = p[:room] // stop at the threshold, to take the budget there
		}
	}
	if room := b.limit + 1 - b.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.limit {
		return 0, b.tooLarge
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// release returns the budget taken, if any.
func (b *bodyReader) release() {
	if b.held {
		budget.Release(b.weight)
		b.held = false
	}
}

// readHead reads the body up to smallBody bytes: all of it with io.EOF
// when it is no larger, else the first part with a nil error (the rest is
// for the caller to read). A body that Content-Length says is large is
// not read here.
func (b *bodyReader) readHead() ([]byte, error) { return b.readHeadN(smallBody) }

// readHeadN is readHead up to limit (at most smallBody) bytes.
func (b *bodyReader) readHeadN(limit int64) ([]byte, error) {
	limit = min(limit, smallBody)
	if b.large || b.contentLength > limit {
		return nil, nil
	}
	size := int64(4096)
	if cl := b.contentLength; cl >= 0 && cl < limit {
		size = cl + 1 // room for the EOF
	}
	buf := make([]byte, 0, size)
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := b.Read(buf[len(buf):min(int64(cap(buf)), limit)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// clipDetail shortens an error detail to MaxDetailLen bytes (at a rune
// boundary), visibly.
func clipDetail(s string) string {
	if len(s) <= MaxDetailLen {
		return s
	}
	cut := MaxDetailLen - len(detailClipped)
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + detailClipped
}
