package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// inflight holds the ids of tool calls read from stdin and not yet
// answered. Only an id that was read is removed, so another message's
// answer cannot stand in for it.
type inflight struct {
	mu  sync.Mutex
	ids map[string]int
	ch  chan struct{} // closed when ids becomes empty
}

// idKey is the key of a JSON-RPC id as encoding/json decodes it into any
// (float64 or string), for both the reader and mcp-go's hooks.
func idKey(id any) string { return fmt.Sprintf("%T:%v", id, id) }

func (f *inflight) add(id any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ids == nil {
		f.ids = map[string]int{}
	}
	f.ids[idKey(id)]++
}

func (f *inflight) done(id any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := idKey(id)
	if f.ids[k] == 0 {
		return
	}
	if f.ids[k]--; f.ids[k] == 0 {
		delete(f.ids, k)
	}
	if len(f.ids) == 0 && f.ch != nil {
		close(f.ch)
		f.ch = nil
	}
}

// wait returns when no call is in flight, after d, or when ctx ends. A
// call that mcp-go refuses before its hooks run is never marked done;
// then d bounds the wait.
func (f *inflight) wait(ctx context.Context, d time.Duration) {
	f.mu.Lock()
	if len(f.ids) == 0 {
		f.mu.Unlock()
		return
	}
	if f.ch == nil {
		f.ch = make(chan struct{})
	}
	ch := f.ch
	f.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

// lockedWriter makes each Write to stdout whole, so that lines written
// by the server and by stdinReader never interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// stdinReader feeds the stdio server line by line. It bounds each line
// (a longer one is skipped and answered with a JSON-RPC error, so memory
// stays bounded), counts the tool calls it passes on, and at EOF waits up
// to grace for them to be answered, so that a client that writes its
// requests and closes stdin still gets every answer. Signals still cancel
// at once (through ctx).
type stdinReader struct {
	ctx    context.Context
	r      io.Reader
	br     *bufio.Reader
	out    io.Writer
	calls  *inflight
	grace  time.Duration
	max    int
	logger *slog.Logger
	buf    []byte // the rest of the current line
}

func (s *stdinReader) Read(p []byte) (int, error) {
	if s.br == nil {
		s.br = bufio.NewReaderSize(s.r, 64<<10)
	}
	for len(s.buf) == 0 {
		line, err := s.line()
		if len(line) > 0 {
			s.count(line)
			s.buf = line
			break
		}
		if err != nil {
			if err == io.EOF {
				s.calls.wait(s.ctx, s.grace)
			}
			return 0, err
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// line reads one line, or skips one longer than max and says so.
func (s *stdinReader) line() ([]byte, error) {
	var line []byte
	for {
		chunk, err := s.br.ReadSlice('\n')
		if len(line)+len(chunk) > s.max {
			n := len(line) + len(chunk)
			for err == bufio.ErrBufferFull {
				chunk, err = s.br.ReadSlice('\n')
				n += len(chunk)
			}
			s.logger.Warn("skipped an input line longer than the limit", "bytes", n, "limit", s.max)
			fmt.Fprintf(s.out, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: a message of %d bytes is longer than the %d bytes this server reads; it was skipped"}}`+"\n", n, s.max)
			if err != nil && err != bufio.ErrBufferFull {
				return nil, err
			}
			line = line[:0]
			continue
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return line, err
	}
}

// count notes a tool call with an id (one that will be answered). Every
// line is decoded: a method may be written with JSON escapes.
func (s *stdinReader) count(line []byte) {
	var m struct {
		ID     any    `json:"id"`
		Method string `json:"method"`
	}
	if json.Unmarshal(line, &m) == nil && m.Method == "tools/call" && m.ID != nil {
		s.calls.add(m.ID)
	}
}
