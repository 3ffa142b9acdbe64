#!/usr/bin/env bash
# Prints the path of a GoReleaser v2.15.1 binary, installing it with go
# install first if it is not there yet (about 7 minutes on two cores: it is
# a large program). v2.15.1 is the newest that builds with this project's Go.
#
# It lives in ${SENTRY_MCP_TOOLS_CACHE:-~/.cache/sentry-mcp}/goreleaser-v2.15.1,
# outside the clone, so later runs and fresh clones on the machine reuse it.
# Progress goes to stderr; only the path goes to stdout.
set -euo pipefail
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
version=2.15.1
dir=${SENTRY_MCP_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sentry-mcp}/goreleaser-v$version
bin=$dir/goreleaser

has_version() {
	local out
	out=$("$bin" --version 2>&1) || return 1
	grep -Eq "GitVersion:[[:space:]]+v?$version\$" <<<"$out"
}

if [ -x "$bin" ] && has_version; then
	echo "goreleaser: reusing $bin" >&2
else
	echo "goreleaser: go install github.com/goreleaser/goreleaser/v2@v$version into $dir" >&2
	mkdir -p "$dir"
	start=$SECONDS
	# Into a temporary name first: an interrupted install leaves nothing that looks usable.
	tmp=$(mktemp -d "$dir/install.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	GOBIN=$tmp GOFLAGS=-buildvcs=false go install -ldflags "-s -w" "github.com/goreleaser/goreleaser/v2@v$version"
	mv "$tmp/goreleaser" "$bin"
	has_version || { echo "goreleaser: $bin is not version $version" >&2; exit 1; }
	echo "goreleaser: installed in $((SECONDS - start)) s" >&2
fi
echo "$bin"
