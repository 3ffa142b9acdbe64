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
	"./tools/render FuzzLink" \
	"./hosted/redirecturi FuzzRedirectURI"; do
	set -- $target
	echo "fuzz: $2 ($1) for $t"
	out=$(go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$t" 2>&1) && status=0 || status=$?
	# Go's fuzzing coordinator sometimes ends a run on a loaded machine with
	# "context deadline exceeded" and no failing input; that run is tried
	# once more. A real failure names its input (testdata/fuzz/...).
	if [ "$status" -ne 0 ] && grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
		echo "fuzz: $2: the fuzzing engine timed out without a failing input; once more"
		out=$(go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$t" 2>&1) && status=0 || status=$?
	fi
	grep -v '^fuzz: elapsed' <<<"$out"
	[ "$status" -eq 0 ] || exit "$status"
done
