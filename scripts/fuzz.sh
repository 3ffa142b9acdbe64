#!/usr/bin/env bash
# Runs every fuzzer for a bounded time (FUZZTIME, default 10s each). The
# seed corpora live in */testdata/fuzz and run with every `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
t="${FUZZTIME:-10s}"
for target in \
	"./sentry FuzzParseIssueRef" \
	"./sentry FuzzParseLinkHeader" \
	"./sentry FuzzDecodeEvent" \
	"./auth FuzzScopes" \
	"./tools FuzzToolArguments" \
	"./tools FuzzSentryDataIsInert" \
	"./tools/render FuzzLine" \
	"./tools/render FuzzBlock" \
	"./tools/render FuzzLink"; do
	set -- $target
	echo "fuzz: $2 ($1) for $t"
	go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$t" 2>&1 | grep -v '^fuzz: elapsed' 
done
