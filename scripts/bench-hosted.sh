#!/usr/bin/env bash
# The load benchmark of hosted mode (bench/cmd/hostedbench): 3 replicas of
# `sentry-mcp serve --http` sharing PostgreSQL behind a round-robin proxy,
# 200 concurrent clients for 30 s calling list_organizations with one MCP
# token, against the fake Sentry; then the ceiling, bare
# httputil.ReverseProxy relays in the same places in front of the same fake
# endpoint. Prints calls/s, p50/p99, errors and RSS per process for both,
# and the ratio (target >= 0.5). Not part of the test command: it takes
# about a minute and both CPU cores, so run it on an otherwise idle machine.
#
#   scripts/bench-hosted.sh                       # the defaults above
#   scripts/bench-hosted.sh -clients 50 -duration 5s   # more flags: hostedbench's
#
# PostgreSQL: a throwaway cluster from scripts/postgres.sh (Debian's
# postgresql package must be installed), removed at the end; or set
# SENTRY_MCP_BENCH_DATABASE to a postgres:// URL whose database the replicas
# may migrate. Without either it falls back to SQLite with one replica.
# The figures are also written to .cache/bench/hosted.json.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
bin=.cache/bin
mkdir -p "$bin" .cache/bench

echo "building ..." >&2
go build -o "$bin/sentry-mcp" .
go build -o "$bin/fakesentry" ./cmd/fakesentry
go build -o "$bin/hostedbench" ./bench/cmd/hostedbench

db=${SENTRY_MCP_BENCH_DATABASE:-}
replicas=(-replicas 3)
pgdir=
cleanup() {
	if [ -n "$pgdir" ]; then
		scripts/postgres.sh stop "$pgdir"
	fi
}
trap cleanup EXIT
if [ -z "$db" ]; then
	if [ -x scripts/postgres.sh ] && out=$(scripts/postgres.sh 2>/dev/null); then
		eval "$out"
		pgdir=$SENTRY_MCP_POSTGRES_DIR
		db=$SENTRY_MCP_TEST_POSTGRES
	else
		echo "no PostgreSQL (scripts/postgres.sh could not start a cluster): one replica on SQLite" >&2
		replicas=(-replicas 1)
	fi
fi

"$bin/hostedbench" -bin "$bin/sentry-mcp" -fake "$bin/fakesentry" -database "$db" "${replicas[@]}" \
	-json .cache/bench/hosted.json "$@"
