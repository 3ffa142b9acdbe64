package sentrytest

import (
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// frameSpec is one stack frame of demo_frames.txt.
type frameSpec struct {
	kind, file, abs, fn, module string
	line, col                   int // col 0 = null (Python and Go send no columns)
	inApp                       bool
	pre, post                   []string
	cur                         string
}

//go:embed demo_frames.txt
var demoFramesText string

var demoFrames, demoRuns = parseFrames(demoFramesText)

func parseFrames(text string) (map[string]frameSpec, map[string][]string) {
	frames := map[string]frameSpec{}
	runs := map[string][]string{}
	var key string
	var f *frameSpec
	flush := func() {
		if f != nil {
			frames[key] = *f
			f = nil
		}
	}
	for n, line := range strings.Split(text, "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "="):
			fields := strings.Fields(line[1:])
			runs[fields[0]] = fields[1:]
		case strings.HasPrefix(line, "@"):
			flush()
			fields := strings.Fields(line[1:])
			if len(fields) != 5 {
				panic(fmt.Sprintf("sentrytest: demo_frames.txt:%d: bad frame header", n+1))
			}
			key = fields[0]
			f = &frameSpec{kind: fields[1], file: fields[2], fn: fields[3]}
			lc := strings.SplitN(fields[4], ":", 2)
			f.line, _ = strconv.Atoi(lc[0])
			if len(lc) == 2 {
				f.col, _ = strconv.Atoi(lc[1])
			}
			f.deriveLocation()
		case f != nil && (line == "|" || strings.HasPrefix(line, "| ")):
			code := strings.TrimPrefix(strings.TrimPrefix(line, "|"), " ")
			if f.cur == "" && f.post == nil {
				f.pre = append(f.pre, code)
			} else {
				f.post = append(f.post, code)
			}
		case f != nil && (line == ">" || strings.HasPrefix(line, "> ")):
			f.cur = strings.TrimPrefix(strings.TrimPrefix(line, ">"), " ")
			f.post = []string{}
		default:
			panic(fmt.Sprintf("sentrytest: demo_frames.txt:%d: cannot parse %q", n+1, line))
		}
	}
	flush()
	for name, keys := range runs {
		for _, k := range keys {
			if _, ok := frames[k]; !ok {
				panic("sentrytest: demo_frames.txt: run " + name + " names unknown frame " + k)
			}
		}
	}
	return frames, runs
}

func stripExt(p string) string {
	return strings.TrimSuffix(p, path.Ext(p))
}

// deriveLocation fills absPath, module and inApp from the kind and path.
func (f *frameSpec) deriveLocation() {
	pyModule := func(p string) string {
		return strings.ReplaceAll(strings.TrimSuffix(stripExt(p), "/__init__"), "/", ".")
	}
	switch f.kind {
	case "pyapp":
		f.abs, f.module, f.inApp = "/srv/app/"+f.file, pyModule(f.file), true
	case "pylib":
		f.abs, f.module = "/usr/local/lib/python3.12/site-packages/"+f.file, pyModule(f.file)
	case "pystd":
		f.abs, f.module = "/usr/local/lib/python3.12/"+f.file, pyModule(f.file)
	case "jsapp":
		f.abs, f.module, f.inApp = "webpack://acme-frontend/"+f.file, stripExt(f.file), true
	case "jslib":
		f.abs, f.module = "webpack://acme-frontend/"+f.file, strings.TrimPrefix(stripExt(f.file), "node_modules/")
	case "goapp":
		f.abs, f.module, f.inApp = "/build/payments/"+f.file, "acme.dev/payments/"+path.Dir(f.file), true
	case "gostd":
		f.abs, f.module = "/usr/local/go/src/"+f.file, path.Dir(f.file)
	case "golib":
		f.abs, f.module = "/go/pkg/mod/"+f.file, path.Dir(f.file)
	case "nodeapp":
		f.abs, f.module, f.inApp = "/app/"+f.file, stripExt(f.file), true
	case "nodelib":
		if strings.HasPrefix(f.file, "node:") {
			f.abs, f.module = f.file, f.file
		} else {
			f.abs, f.module = "/app/"+f.file, strings.TrimPrefix(stripExt(f.file), "node_modules/")
		}
	default:
		panic("sentrytest: demo_frames.txt: unknown frame kind " + f.kind)
	}
}

// stack expands a space-separated list of frame keys and run names.
func stack(keys string) []frameSpec {
	var out []frameSpec
	for _, k := range strings.Fields(keys) {
		if run, ok := demoRuns[k]; ok {
			for _, rk := range run {
				out = append(out, demoFrames[rk])
			}
			continue
		}
		f, ok := demoFrames[k]
		if !ok {
			panic("sentrytest: unknown demo frame " + k)
		}
		out = append(out, f)
	}
	return out
}

// genericFrames builds a small stack for AddIssues: two library frames and
// two in-app frames in the project's language.
func genericFrames(platform, fn string, k int) []frameSpec {
	lib := func(file, fn string, line int, code string) frameSpec {
		return frameSpec{kind: "lib", file: file, abs: "/usr/lib/" + file, fn: fn, module: stripExt(file), line: line, cur: code}
	}
	app := func(file, fn string, line int, code string) frameSpec {
		return frameSpec{kind: "app", file: file, abs: "/srv/app/" + file, fn: fn, module: stripExt(file), line: line, inApp: true,
			pre: []string{"", "def " + fn + "(item):"}, cur: code, post: []string{"    return result", ""}}
	}
	switch {
	case strings.HasPrefix(platform, "javascript"), strings.HasPrefix(platform, "node"):
		f := []frameSpec{
			lib("node_modules/scheduler/cjs/scheduler.production.js", "performWorkUntilDeadline", 151, "hasMoreWork = scheduledCallback(hasTimeRemaining, currentTime);"),
			lib("node_modules/react-dom/cjs/react-dom-client.production.js", "renderWithHooks", 4480, "var children = Component(props, secondArg);"),
			app("src/components/Item"+strconv.Itoa(k)+".tsx", "Item"+strconv.Itoa(k), 12, "  const result = "+fn+"(item);"),
			app("src/lib/items.ts", fn, 30+k%40, "  throw new Error(\"unexpected item\");"),
		}
		for i := range f {
			f[i].col = 5 + i
		}
		return f
	case platform == "go":
		return []frameSpec{
			lib("net/http/server.go", "(*conn).serve", 2092, "serverHandler{c.server}.ServeHTTP(w, w.req)"),
			lib("net/http/server.go", "HandlerFunc.ServeHTTP", 2171, "f(w, r)"),
			app("internal/items/handler.go", "(*Handler).Item"+strconv.Itoa(k), 40, "result, err := h."+fn+"(r.Context(), item)"),
			app("internal/items/"+fn+".go", fn, 30+k%40, "return nil, errUnexpected"),
		}
	default:
		return []frameSpec{
			lib("django/core/handlers/exception.py", "inner", 55, "response = get_response(request)"),
			lib("django/core/handlers/base.py", "_get_response", 197, "response = wrapped_callback(request, *callback_args, **callback_kwargs)"),
			app("app/views/items.py", "item_"+strconv.Itoa(k), 12, "    result = "+fn+"(item)"),
			app("app/services/items.py", fn, 30+k%40, "    raise RuntimeError(\"unexpected item\")"),
		}
	}
}

// culpritFor is "module in function" of the innermost in-app frame, the
// culprit Sentry generates when an event names no transaction.
func culpritFor(platform string, frames []frameSpec) string {
	for i := len(frames) - 1; i >= 0; i-- {
		if frames[i].inApp {
			return frames[i].module + " in " + frames[i].fn
		}
	}
	if len(frames) > 0 {
		f := frames[len(frames)-1]
		return f.module + " in " + f.fn
	}
	return ""
}

// hexID is a deterministic 32-hex id.
func hexID(parts ...string) string {
	sum := sha1.Sum([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])[:32]
}

// hashInt is a deterministic small number derived from parts.
func hashInt(n int, parts ...string) int {
	sum := sha1.Sum([]byte(strings.Join(parts, "\x00")))
	v := int(sum[0])<<16 | int(sum[1])<<8 | int(sum[2])
	return v % n
}

// eventSpec is what varies between events.
type eventSpec struct {
	excType, excValue, excModule string
	handled                      bool
	mechanism                    string
	frames                       []frameSpec
	env                          string
	when                         time.Time
	release                      string
	seq                          int    // 0 = latest event of the issue
	total                        int    // events stored for the issue; 0 = 1
	method, url                  string // request, "" when none
	task                         string // background task / transaction name
}

var demoEndUsers = []struct{ id, email, ip string }{
	{"48213", "maria.gonzalez@example.com", "203.0.113.24"},
	{"51877", "kenji.watanabe@example.com", "198.51.100.73"},
	{"39402", "amara.okafor@example.com", "192.0.2.145"},
	{"60115", "lucas.moreau@example.com", "203.0.113.201"},
	{"27788", "sofia.rossi@example.com", "198.51.100.9"},
	{"55301", "noah.fischer@example.com", "192.0.2.77"},
}

var demoBrowsers = []struct{ browser, browserName, browserVersion, os, osName, osVersion, ua string }{
	{"Chrome 126.0.0", "Chrome", "126.0.0", "Windows 10", "Windows", "10", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"},
	{"Safari 17.5", "Safari", "17.5", "Mac OS X 10.15.7", "Mac OS X", "10.15.7", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"},
	{"Firefox 127.0", "Firefox", "127.0", "Ubuntu", "Ubuntu", "", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"},
	{"Mobile Safari 17.5", "Mobile Safari", "17.5", "iOS 17.5.1", "iOS", "17.5.1", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"},
}

func family(platform string) string {
	switch {
	case strings.HasPrefix(platform, "python"):
		return "python"
	case strings.HasPrefix(platform, "javascript"):
		return "javascript"
	case strings.HasPrefix(platform, "node"):
		return "node"
	case strings.HasPrefix(platform, "go"):
		return "go"
	}
	return "other"
}

// eventTemplate is event.latest.json without what buildEvent replaces
// anyway (all frames but the first, context lines, the raw stack trace,
// the breadcrumbs, the extra context, the release), so that copying it for each of the demo's events is cheap.
var eventTemplate = sync.OnceValue(func() any {
	ev := exampleObject("event.latest.json")
	entries := ev["entries"].([]any)
	exc := entries[0].(map[string]any)["data"].(map[string]any)["values"].([]any)[0].(map[string]any)
	st := exc["stacktrace"].(map[string]any)
	frame := st["frames"].([]any)[0].(map[string]any)
	frame["context"] = nil
	st["frames"] = []any{frame}
	exc["rawStacktrace"] = nil
	entries[1].(map[string]any)["data"] = map[string]any{"values": []any{}}
	ev["context"], ev["release"], ev["contexts"] = map[string]any{}, nil, map[string]any{}
	return ev
})

// buildEvent makes a full event (examples/event.latest.json shape) of an
// issue from the published template.
func buildEvent(o *Org, p *Project, is *Issue, sp eventSpec) map[string]any {
	ev := deepCopy(eventTemplate()).(map[string]any)
	entries, _ := ev["entries"].([]any)
	excEntry := entries[0].(map[string]any)
	crumbEntry := entries[1].(map[string]any)
	reqEntry := entries[2].(map[string]any)
	excValue := excEntry["data"].(map[string]any)["values"].([]any)[0].(map[string]any)
	frameTpl := excValue["stacktrace"].(map[string]any)["frames"].([]any)[0].(map[string]any)

	fam := family(p.Platform)
	id := hexID("event", is.ID, strconv.Itoa(sp.seq))
	ev["id"], ev["eventID"] = id, id
	ev["groupID"], ev["projectID"] = is.ID, p.ID
	ev["title"] = is.Title
	ev["message"] = ""
	ev["culprit"] = is.Culprit
	ev["platform"] = eventPlatform(fam)
	ev["type"] = "error"
	ev["dist"] = nil
	ev["userReport"] = nil
	ev["errors"] = []any{}
	ev["context"] = map[string]any{}
	ev["packages"] = map[string]any{}
	ev["fingerprints"] = []any{hexID("fingerprint", is.ID)}
	ev["groupingConfig"] = map[string]any{"enhancements": "KLUv_SAYwQAAkwKRs25ld3N0eWxlOjIwMjMtMDEtMTGQ", "id": "newstyle:2023-01-11"}
	ev["dateCreated"] = isoTime(sp.when)
	ev["dateReceived"] = isoTime(sp.when.Add(time.Duration(150+hashInt(600, id)) * time.Millisecond))
	ev["nextEventID"] = nil
	if sp.seq > 0 {
		ev["nextEventID"] = hexID("event", is.ID, strconv.Itoa(sp.seq-1))
	}
	ev["previousEventID"] = nil
	if sp.seq+1 < max(sp.total, 1) {
		ev["previousEventID"] = hexID("event", is.ID, strconv.Itoa(sp.seq+1))
	}

	// The exception and its stack trace.
	var frames []any
	location := ""
	for _, f := range sp.frames {
		fr := make(map[string]any, len(frameTpl)) // its values are scalars: a shallow copy
		for k, v := range frameTpl {
			fr[k] = v
		}
		fr["function"] = f.fn
		fr["filename"] = f.file
		fr["absPath"] = f.abs
		fr["module"] = f.module
		fr["lineNo"] = f.line
		fr["colNo"] = nil
		if f.col > 0 {
			fr["colNo"] = f.col
		}
		fr["inApp"] = f.inApp
		fr["platform"] = nil
		fr["vars"] = nil
		if f.inApp && fam == "python" {
			fr["vars"] = pythonVars(f, sp, is)
		}
		var ctx []any
		first := f.line - len(f.pre)
		for i, l := range f.pre {
			ctx = append(ctx, []any{first + i, l})
		}
		ctx = append(ctx, []any{f.line, f.cur})
		for i, l := range f.post {
			ctx = append(ctx, []any{f.line + 1 + i, l})
		}
		fr["context"] = ctx
		frames = append(frames, fr)
		if f.inApp {
			location = f.file
		}
	}
	excValue["type"] = sp.excType
	excValue["value"] = sp.excValue
	excValue["module"] = nil
	if sp.excModule != "" {
		excValue["module"] = sp.excModule
	}
	excValue["mechanism"] = map[string]any{"type": sp.mechanism, "handled": sp.handled}
	excValue["rawStacktrace"] = nil
	excValue["threadId"] = nil
	if len(frames) > 0 {
		excValue["stacktrace"] = map[string]any{"frames": frames, "framesOmitted": nil, "registers": nil, "hasSystemFrames": slices.ContainsFunc(sp.frames, func(f frameSpec) bool { return f.inApp })}
	} else {
		excValue["stacktrace"] = nil
	}
	excEntry["data"].(map[string]any)["hasSystemFrames"] = len(frames) > 0
	ev["location"] = nil
	if location != "" {
		ev["location"] = location
	}
	meta := map[string]any{"type": sp.excType, "value": sp.excValue}
	if n := len(sp.frames); n > 0 {
		meta["filename"], meta["function"] = sp.frames[n-1].file, sp.frames[n-1].fn
		for i := n - 1; i >= 0; i-- {
			if sp.frames[i].inApp {
				meta["filename"], meta["function"] = sp.frames[i].file, sp.frames[i].fn
				break
			}
		}
	}
	ev["metadata"] = meta

	// Who, where, with what.
	var user map[string]any
	if sp.url != "" && is.UserCount > 0 {
		u := demoEndUsers[hashInt(len(demoEndUsers), is.ID, strconv.Itoa(sp.seq))]
		user = map[string]any{"id": u.id, "email": u.email, "username": nil, "ip_address": u.ip, "name": nil, "data": nil}
	}
	ev["user"] = nil
	if user != nil {
		ev["user"] = user
	}
	trace := map[string]any{"trace_id": hexID("trace", id), "span_id": hexID("span", id)[:16], "op": "http.server", "status": "internal_error", "type": "trace"}
	tags := map[string]string{
		"environment": sp.env,
		"level":       is.Level,
		"handled":     map[bool]string{true: "yes", false: "no"}[sp.handled],
		"mechanism":   sp.mechanism,
	}
	if sp.release != "" {
		tags["release"] = sp.release
	}
	if user != nil {
		tags["user"] = "id:" + user["id"].(string)
	}
	contexts := map[string]any{"trace": trace}
	var sdk map[string]any
	var crumbs []any
	crumb := func(dt time.Duration, category, typ, level, msg string, data map[string]any) {
		var m any
		if msg != "" {
			m = msg
		}
		var d any
		if data != nil {
			d = data
		}
		crumbs = append(crumbs, map[string]any{"category": category, "level": level, "event_id": nil, "timestamp": isoTime(sp.when.Add(-dt)), "data": d, "message": m, "type": typ})
	}
	host := "api.acme.example"
	switch fam {
	case "python":
		sdk = map[string]any{"name": "sentry.python.django", "version": "2.8.0"}
		server := "web-7d9f8c6b5-x2kqp"
		if sp.url == "" {
			sdk["name"] = "sentry.python.celery"
			server = "worker-5c8d7b9f4-q7m2n"
			trace["op"] = "queue.task.celery"
		}
		tags["runtime"], tags["runtime.name"], tags["server_name"] = "CPython 3.12.3", "CPython", server
		contexts["runtime"] = map[string]any{"name": "CPython", "version": "3.12.3", "build": "3.12.3 (main, Jun 13 2024, 08:44:35) [GCC 12.2.0]", "type": "runtime"}
		contexts["os"] = map[string]any{"name": "Linux", "version": "6.1.0-21-cloud-amd64", "type": "os"}
		tags["os.name"] = "Linux"
		if sp.seq%2 == 1 {
			crumb(3100*time.Millisecond, "django.request", "default", "warning", "Slow request: "+urlPath(sp.url)+" took 1.8s", nil)
		}
		crumb(2400*time.Millisecond, "query", "default", "info", `SELECT "accounts_user"."id", "accounts_user"."email" FROM "accounts_user" WHERE "accounts_user"."id" = %s`, nil)
		crumb(1600*time.Millisecond, "query", "default", "info", `SELECT COUNT(*) AS "__count" FROM "billing_invoice" WHERE "billing_invoice"."account_id" = %s`, nil)
		crumb(900*time.Millisecond, "redis", "default", "info", "GET session:"+hexID("session", id)[:4], nil)
		crumb(300*time.Millisecond, "httplib", "http", "info", "", map[string]any{"method": "GET", "url": "http://internal-auth.acme.svc/v1/introspect", "status_code": 200})
	case "go":
		sdk = map[string]any{"name": "sentry.go", "version": "0.28.1"}
		host = "payments.acme.example"
		tags["runtime"], tags["runtime.name"], tags["server_name"], tags["os.name"] = "go go1.22.5", "go", "payments-api-6f7d9c8b7-k4w2p", "linux"
		contexts["runtime"] = map[string]any{"name": "go", "version": "go1.22.5", "type": "runtime"}
		contexts["os"] = map[string]any{"name": "linux", "type": "os"}
		contexts["device"] = map[string]any{"arch": "amd64", "num_cpu": 4, "type": "device"}
		if sp.url == "" {
			trace["op"] = "function"
			tags["server_name"] = "payments-worker-84c6d5f9b-7tz5m"
		}
		crumb(2100*time.Millisecond, "sql", "query", "info", "SELECT id, status FROM payments WHERE idempotency_key = $1", nil)
		crumb(1300*time.Millisecond, "http", "http", "info", "", map[string]any{"method": "POST", "url": "https://api.stripe.com/v1/payment_intents", "status_code": 200 + 302*(sp.seq%2)})
		if sp.seq%2 == 1 {
			crumb(600*time.Millisecond, "retry", "default", "warning", "gateway: retrying after 502 (attempt 2 of 3)", nil)
		}
	case "javascript":
		sdk = map[string]any{"name": "sentry.javascript.react", "version": "8.13.0"}
		host = "app.acme.example"
		b := demoBrowsers[hashInt(len(demoBrowsers), is.ID, "browser", strconv.Itoa(sp.seq))]
		tags["browser"], tags["browser.name"], tags["os"], tags["os.name"] = b.browser, b.browserName, b.os, b.osName
		contexts["browser"] = map[string]any{"name": b.browserName, "version": b.browserVersion, "type": "browser"}
		contexts["os"] = map[string]any{"name": b.osName, "version": b.osVersion, "type": "os"}
		trace["op"] = "navigation"
		trace["status"] = "unknown"
		crumb(5200*time.Millisecond, "navigation", "navigation", "info", "", map[string]any{"from": "/", "to": urlPath(sp.url)})
		crumb(3900*time.Millisecond, "console", "console", "warning", "Warning: Each child in a list should have a unique \"key\" prop.", nil)
		crumb(1800*time.Millisecond, "ui.click", "default", "info", "button.btn.btn-primary", nil)
		crumb(700*time.Millisecond, "fetch", "http", "info", "", map[string]any{"method": "GET", "url": "/api/v2/me/", "status_code": 200})
		if sp.seq%2 == 0 {
			crumb(200*time.Millisecond, "xhr", "http", "error", "", map[string]any{"method": "POST", "url": "/api/v2/events/", "status_code": 502})
		}
	case "node":
		sdk = map[string]any{"name": "sentry.javascript.node", "version": "8.13.0"}
		host = "labs.acme.example"
		tags["runtime"], tags["runtime.name"], tags["server_name"] = "node v20.15.0", "node", "prototype-1"
		contexts["runtime"] = map[string]any{"name": "node", "version": "v20.15.0", "type": "runtime"}
		crumb(900*time.Millisecond, "console", "default", "log", "loading experiments config", nil)
		crumb(400*time.Millisecond, "http", "http", "info", "", map[string]any{"method": "GET", "url": "https://flags.acme.example/v1/experiments", "status_code": 0})
	default:
		sdk = map[string]any{"name": "sentry.python", "version": "2.8.0"}
	}
	var reqURL string
	if sp.url != "" {
		reqURL = "https://" + host + urlPath(sp.url)
		tags["url"] = reqURL
		tags["transaction"] = urlPath(sp.url)
	} else if sp.task != "" {
		tags["transaction"] = sp.task
	}
	ev["sdk"] = sdk
	ev["contexts"] = contexts
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var tagList []any
	for _, k := range keys {
		tagList = append(tagList, map[string]any{"key": k, "value": tags[k]})
	}
	ev["tags"] = tagList
	crumbEntry["data"] = map[string]any{"values": crumbs}
	newEntries := []any{excEntry}
	if len(crumbs) > 0 {
		newEntries = append(newEntries, crumbEntry)
	}
	if sp.url != "" {
		method := sp.method
		if method == "" {
			method = "GET"
		}
		ua := "python-requests/2.32.3"
		if fam == "javascript" {
			ua = demoBrowsers[hashInt(len(demoBrowsers), is.ID, "browser", strconv.Itoa(sp.seq))].ua
			method = "GET"
		}
		query := []any{}
		if method == "GET" && sp.seq%2 == 1 {
			query = append(query, []any{"page", strconv.Itoa(2 + sp.seq/2)})
		}
		headers := []any{[]any{"User-Agent", ua}}
		var cookies, env any = []any{}, nil
		if fam == "javascript" {
			headers = append(headers, []any{"Referer", "https://" + host + "/"})
		} else {
			// What a backend SDK may capture with send_default_pii: the
			// tools must never show the credentials among it.
			session := hexID("session", id)
			headers = []any{
				[]any{"Accept", "application/json"},
				[]any{"Authorization", "Bearer demo_" + hexID("bearer", id)},
				[]any{"Content-Type", "application/json"},
				[]any{"Cookie", "sessionid=" + session + "; csrftoken=" + hexID("csrf", id)},
				[]any{"Host", host},
				[]any{"User-Agent", ua},
				[]any{"X-Request-Id", hexID("request", id)[:16]},
			}
			cookies = []any{[]any{"csrftoken", hexID("csrf", id)}, []any{"sessionid", session}}
			env = map[string]any{"REMOTE_ADDR": "10.0.3." + strconv.Itoa(10+hashInt(200, id)), "SERVER_NAME": host, "SERVER_PORT": "443"}
		}
		reqEntry["data"] = map[string]any{
			"fragment": nil, "cookies": cookies, "inferredContentType": nil, "env": env,
			"headers": headers,
			"url":     reqURL, "query": query, "data": nil, "method": method,
		}
		newEntries = append(newEntries, reqEntry)
	}
	ev["entries"] = newEntries

	ev["release"] = nil
	if r := o.release(sp.release, p.Slug); r != nil {
		ev["release"] = map[string]any{
			"dateReleased": nullableTime(r.DateReleased), "commitCount": 0, "url": nil, "data": map[string]any{},
			"lastDeploy": nil, "deployCount": 0, "dateCreated": isoTime(r.DateCreated), "version": r.Version,
			"lastCommit": nil, "ref": nil,
		}
	}
	ev["size"] = 2000 + 900*len(frames)
	ev["occurrence"] = nil
	ev["resolvedWith"] = []any{}
	ev["sdkUpdates"] = []any{}
	ev["crashFile"] = nil
	return ev
}

func eventPlatform(fam string) string {
	if fam == "other" {
		return "python"
	}
	return fam
}

// urlPath strips a leading HTTP method from "POST /api/v1/x/".
func urlPath(u string) string {
	if i := strings.IndexByte(u, ' '); i >= 0 {
		return u[i+1:]
	}
	return u
}

// isoTime formats like Sentry's JSON encoder: UTC, microseconds when the
// time has any.
func isoTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000000Z")
}

func nullableTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return isoTime(t)
}

func firstSeenActivity(is *Issue) map[string]any {
	return map[string]any{"data": map[string]any{}, "dateCreated": isoTime(is.FirstSeen), "id": "0", "type": "first_seen", "user": nil}
}

// pythonVars are the local variables the Python SDK sends with an in-app
// frame (its reprs, as strings).
func pythonVars(f frameSpec, sp eventSpec, is *Issue) map[string]any {
	vars := map[string]any{
		"args":     "()",
		"kwargs":   "{}",
		"attempt":  1 + sp.seq%3,
		"settings": "<LazySettings \"app.settings.production\">",
		"started":  "datetime.datetime(" + sp.when.Add(-time.Duration(200+hashInt(900, f.fn, is.ID))*time.Millisecond).Format("2006, 1, 2, 15, 4, 5") + ")",
	}
	if sp.url != "" {
		m := sp.method
		if m == "" {
			m = "GET"
		}
		vars["request"] = "<WSGIRequest: " + m + " '" + urlPath(sp.url) + "'>"
	}
	if sp.task != "" {
		vars["task_id"] = "'" + hexID("task", is.ID, strconv.Itoa(sp.seq))[:8] + "-" + hexID("task2", is.ID)[:4] + "'"
	}
	return vars
}
