package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// inflight counts tool calls read from stdin and not yet answered.
type inflight struct {
	mu sync.Mutex
	n  int
	ch chan struct{} // closed when n drops to 0
}

func (f *inflight) add() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
}

func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n > 0 {
		f.n--
	}
	if f.n == 0 && f.ch != nil {
		close(f.ch)
		f.ch = nil
	}
}

// wait returns when no call is in flight, or after d.
func (f *inflight) wait(d time.Duration) {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return
	}
	if f.ch == nil {
		f.ch = make(chan struct{})
	}
	ch := f.ch
	f.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(d):
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
				s.calls.wait(s.grace)
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

// count notes a tool call with an id (one that will be answered).
func (s *stdinReader) count(line []byte) {
	if !bytes.Contains(line, []byte(`tools/call`)) {
		return
	}
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(line, &m) == nil && m.Method == "tools/call" && len(m.ID) > 0 && string(m.ID) != "null" {
		s.calls.add()
	}
}
