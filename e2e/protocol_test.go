package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What no well-behaved client sends, and what the server answers. Every
// test also checks (in startPipe's cleanup) that stdout carried nothing but
// JSON-RPC 2.0 messages.

func TestMalformedInput(t *testing.T) {
	up := newUpstream(t)
	p := startPipe(t, up.env())
	p.initialize("2025-11-25")

	for _, line := range []string{
		`not json`,
		`{"jsonrpc":"2.0","id":1,"method":"ping"`, // truncated
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}}`,
		"\x00\x01garbage",
	} {
		p.send(line)
		m := p.next(5 * time.Second)
		t.Logf("%q -> %s", line, m.raw)
		if m.Error == nil || m.Error.Code != -32700 || string(m.ID) != "null" {
			t.Errorf("%q answered %s, want a parse error (-32700) with id null", line, m.raw)
		}
	}
	// The server keeps serving after each.
	p.ping("after-garbage")

	// A JSON value that is not a request object: JSON-RPC calls this an
	// invalid request (-32600); mcp-go answers -32700 for arrays (MCP has
	// had no batches since 2025-06-18). Either way: an error with id null.
	for _, line := range []string{`[{"jsonrpc":"2.0","id":3,"method":"ping"}]`, `[]`, `42`} {
		p.send(line)
		m := p.next(5 * time.Second)
		t.Logf("%q -> %s", line, m.raw)
		if m.Error == nil || (m.Error.Code != -32700 && m.Error.Code != -32600) || string(m.ID) != "null" {
			t.Errorf("%q answered %s, want a -32700/-32600 error with id null", line, m.raw)
		}
	}
	// Wrong jsonrpc version: invalid request, answered with the request's id.
	p.send(`{"jsonrpc":"1.0","id":"v1","method":"ping"}`)
	if m := p.next(5 * time.Second); m.Error == nil || m.Error.Code != -32600 || idOf(m) != "v1" {
		t.Errorf("jsonrpc 1.0 answered %s, want -32600", m.raw)
	}
	// tools/call whose params are not an object.
	p.request("bad-params", "tools/call", "list_issues")
	if m := p.next(5 * time.Second); m.Error == nil || m.Error.Code != -32600 && m.Error.Code != -32602 || idOf(m) != "bad-params" {
		t.Errorf("tools/call with string params answered %s, want -32600/-32602", m.raw)
	}
	// A notification of an unknown method gets no answer.
	p.sendJSON(map[string]any{"jsonrpc": "2.0", "method": "notifications/no_such_thing"})
	p.ping("after-notification")
}

func TestUnknownMethod(t *testing.T) {
	up := newUpstream(t)
	p := startPipe(t, up.env())
	p.initialize("2025-11-25")
	for _, method := range []string{"foo/bar", "resources/list", "prompts/list", "tools/delete"} {
		p.request(method, method, map[string]any{})
		m := p.next(5 * time.Second)
		if m.Error == nil || m.Error.Code != -32601 || idOf(m) != method {
			t.Errorf("%s answered %s, want method not found (-32601)", method, m.raw)
		}
	}
	p.ping("still-here")
}

func TestWrongArgumentTypes(t *testing.T) {
	up := newUpstream(t)
	p := startPipe(t, up.env())
	p.initialize("2025-11-25")
	cases := []struct {
		tool string
		args any
		want string
	}{
		{"list_issues", map[string]any{"organization": "acme", "limit": "three"}, `"limit": got string, want integer`},
		{"list_issues", map[string]any{"organization": 42}, `"organization": got number, want string`},
		{"list_issues", map[string]any{"organization": "acme", "limit": 1000}, `"limit"`},
		{"list_issues", map[string]any{"organization": "acme", "bogus": true}, `bogus`},
		{"list_issues", map[string]any{}, `organization`},
		{"list_issues", "acme", `want object`},
		{"list_issues", []any{"acme"}, `want object`},
		{"get_issue", map[string]any{"issue": []any{1}}, `"issue": got array, want string`},
		{"resolve_issue", map[string]any{"issue": "1", "resolution": "later"}, `resolution`},
	}
	for i, c := range cases {
		id := fmt.Sprint("args-", i)
		p.callTool(id, c.tool, c.args)
		m := p.next(5 * time.Second)
		if idOf(m) != id {
			t.Fatalf("answer for %s: %s", id, m.raw)
		}
		r := m.tool(t)
		if !r.IsError || len(r.Content) == 0 || !strings.Contains(r.Content[0].Text, c.want) || r.StructuredContent != nil {
			t.Errorf("%s(%v) = %s, want isError naming %q", c.tool, c.args, m.raw, c.want)
		}
	}
	// None of them reached Sentry (beyond the scope lookup at start).
	for _, r := range up.Requests() {
		if r.Path != "/api/0/" {
			t.Errorf("an invalid call reached Sentry: %s %s?%s", r.Method, r.Path, r.RawQuery)
		}
	}
}

// TestCallBeforeInitialize documents what mcp-go does with requests sent
// before the initialize handshake: it serves them (tools/list, tools/call
// and ping all answer normally), and a later initialize still works.
func TestCallBeforeInitialize(t *testing.T) {
	up := newUpstream(t)
	p := startPipe(t, up.env())

	p.request(1, "tools/list", nil)
	m := p.next(10 * time.Second)
	t.Logf("tools/list before initialize -> %.120s...", m.raw)
	var list struct{ Tools []struct{ Name string } }
	if m.Error == nil {
		if err := json.Unmarshal(m.Result, &list); err != nil || len(list.Tools) != len(allTools) {
			t.Errorf("tools/list before initialize: %s", m.raw)
		}
	} else if m.Error.Code >= 0 {
		t.Errorf("tools/list before initialize: %s", m.raw)
	}
	p.callTool(2, "list_organizations", map[string]any{})
	m = p.next(10 * time.Second)
	if m.Error == nil {
		if r := m.tool(t); r.IsError || r.StructuredContent == nil {
			t.Errorf("tools/call before initialize: %s", m.raw)
		}
	}
	p.ping("p")
	init := p.initialize("2025-06-18")
	var res struct{ ProtocolVersion string }
	json.Unmarshal(init.Result, &res)
	if res.ProtocolVersion != "2025-06-18" {
		t.Errorf("initialize after calls = %s", init.raw)
	}
	p.callTool(3, "whoami", nil)
	if r := p.next(10 * time.Second).tool(t); r.IsError {
		t.Errorf("whoami after late initialize failed: %v", r.Content)
	}
}

// TestCancelInFlightCall sends notifications/cancelled for a call whose
// upstream request is held: the upstream request's context must end, and
// the server must answer that id with nothing or an error (the spec says
// SHOULD NOT answer; mcp-go answers with the tool's result, which is
// isError "The request was cancelled."), then keep serving.
func TestCancelInFlightCall(t *testing.T) {
	up := newUpstream(t)
	p := startPipe(t, up.env())
	p.initialize("2025-11-25")

	p.callTool("slow", "list_issues", map[string]any{"organization": "acme", "query": "gate-cancel"})
	waitFor(t, up.started, 10*time.Second, "the upstream request")
	start := time.Now()
	p.sendJSON(map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled",
		"params": map[string]any{"requestId": "slow", "reason": "user pressed stop"}})
	if q := waitFor(t, up.ended, 5*time.Second, "the upstream request to be cancelled"); q != "gate-cancel" {
		t.Fatalf("ended %q", q)
	}
	t.Logf("upstream request cancelled %v after notifications/cancelled", time.Since(start).Round(time.Millisecond))

	// Until a ping is answered, and for a moment after, the only other
	// message allowed is an error answer for "slow".
	p.request("after-cancel", "ping", nil)
	slowAnswers := 0
	check := func(m message) {
		switch {
		case idOf(m) != "slow":
			t.Errorf("unexpected message: %s", m.raw)
		case m.Error == nil && !m.tool(t).IsError:
			t.Errorf("the cancelled call was answered with a result: %s", m.raw)
		default:
			slowAnswers++
			t.Logf("cancelled call answered: %s", m.raw)
		}
	}
	for {
		m := p.next(5 * time.Second)
		if idOf(m) == "after-cancel" {
			break
		}
		check(m)
	}
	select {
	case m := <-p.msgs:
		check(m)
	case <-time.After(300 * time.Millisecond):
	}
	if slowAnswers > 1 {
		t.Errorf("the cancelled call was answered %d times", slowAnswers)
	}

	p.callTool("fresh", "list_issues", map[string]any{"organization": "acme", "limit": 1})
	m := p.next(10 * time.Second)
	if idOf(m) != "fresh" || m.tool(t).IsError {
		t.Fatalf("call after cancel: %s", m.raw)
	}
}

// TestOutOfOrderConcurrentRequests sends a slow call then several fast
// requests without waiting: the fast ones are answered first (stdio
// requests are served concurrently), each id exactly once and with its own
// result.
func TestOutOfOrderConcurrentRequests(t *testing.T) {
	up := newUpstream(t)
	p := startPipe(t, up.env())
	p.initialize("2025-11-25")

	p.callTool("slow", "list_issues", map[string]any{"organization": "acme", "query": "gate-order", "limit": 1})
	waitFor(t, up.started, 10*time.Second, "the held request")
	want := map[string]int{}
	for i := 1; i <= 8; i++ {
		id := fmt.Sprint("fast-", i)
		want[id] = i
		p.callTool(id, "list_issues", map[string]any{"organization": "acme", "limit": i, "query": ""})
	}
	p.request("ping", "ping", nil)
	p.request("list", "tools/list", nil)

	got := map[string]bool{}
	for len(got) < len(want)+2 {
		m := p.next(10 * time.Second)
		id := idOf(m)
		if got[id] {
			t.Fatalf("id %s answered twice", id)
		}
		got[id] = true
		if n, ok := want[id]; ok {
			var out struct{ Issues []json.RawMessage }
			r := m.tool(t)
			if r.IsError || json.Unmarshal(r.StructuredContent, &out) != nil || len(out.Issues) != n {
				t.Errorf("%s (limit %d) answered %s", id, n, m.raw)
			}
		} else if id != "ping" && id != "list" {
			t.Fatalf("unexpected answer before the held call was released: %s", m.raw)
		}
	}
	up.open()
	m := p.next(10 * time.Second)
	if idOf(m) != "slow" {
		t.Fatalf("want the held call's answer, got %s", m.raw)
	}
	var out struct{ Issues []json.RawMessage }
	if r := m.tool(t); r.IsError || json.Unmarshal(r.StructuredContent, &out) != nil || out.Issues == nil {
		t.Errorf("held call answered %s", m.raw)
	}
	p.none(200 * time.Millisecond)
}

// TestStdinClosedMidCall closes stdin while a call waits on a Sentry that
// never answers: the server waits a bounded grace (5 s) for the call, then
// cancels the upstream request and exits 0, having written only protocol
// messages.
func TestStdinClosedMidCall(t *testing.T) {
	up := newUpstream(t)
	p := startPipe(t, up.env())
	p.initialize("2025-11-25")
	p.callTool("held", "list_issues", map[string]any{"organization": "acme", "query": "gate-eof"})
	waitFor(t, up.started, 10*time.Second, "the held request")
	start := time.Now()
	p.in.Close()
	waitFor(t, up.ended, 8*time.Second, "the upstream request to be cancelled")
	if waited := time.Since(start); waited < 4*time.Second {
		t.Errorf("the upstream request was cancelled %v after stdin closed, before the grace for in-flight calls", waited)
	}
	if err := p.wait(3 * time.Second); err != nil {
		t.Fatalf("exit: %v; stderr:\n%s", err, p.stderr)
	}
	t.Logf("exited %v after stdin closed", time.Since(start).Round(time.Millisecond))
	// Whatever it wrote for the held call is a message (checked in cleanup),
	// and if it is an answer, it is an error for that id.
	for {
		select {
		case m := <-p.msgs:
			t.Logf("written after stdin closed: %s", m.raw)
			if idOf(m) != "held" || (m.Error == nil && !m.tool(t).IsError) {
				t.Errorf("after stdin closed the server wrote %s", m.raw)
			}
			continue
		default:
		}
		break
	}
}

// TestSIGTERMMidCall: a signal (an MCP host shutting down) also ends the
// process cleanly.
func TestSIGTERMMidCall(t *testing.T) {
	up := newUpstream(t)
	p := startPipe(t, up.env())
	p.initialize("2025-11-25")
	p.callTool("held", "list_issues", map[string]any{"organization": "acme", "query": "gate-term"})
	waitFor(t, up.started, 10*time.Second, "the held request")
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, up.ended, 3*time.Second, "the upstream request to be cancelled")
	if err := p.wait(3 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, p.stderr)
	}
}
