#!/usr/bin/env bash
# Builds the Claude Desktop bundles (.mcpb), one per OS/arch, with the
# @anthropic-ai/mcpb CLI pinned in packaging/mcpb/package-lock.json:
#
#   scripts/mcpb.sh                  # version 0.0.0-snapshot, the default targets
#   VERSION=v1.2.3 scripts/mcpb.sh   # a release
#   TARGETS="linux/arm64 darwin/amd64" scripts/mcpb.sh
#
# For each target: a static binary (CGO_ENABLED=0, -trimpath, -X main.version)
# in .cache/mcpb/stage/OS-ARCH/server/, manifest.json generated there by
# packaging/mcpb/gen from `sentry-mcp tools --demo --json`, `mcpb validate`,
# `mcpb pack` to .cache/mcpb/sentry-mcp-VERSION-OS-ARCH.mcpb, then checks of
# the packed file (manifest.json and the binary for that OS/arch inside).
# The bundle for this machine's OS/arch is also started as Claude Desktop
# would (packaging/mcpb/smoke.mjs) against the fake Sentry (cmd/fakesentry).
# Needs node and npm; the npm cache is .cache/npm.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
version="${VERSION:-0.0.0-snapshot}"
version="${version#v}"
targets="${TARGETS:-linux/amd64 darwin/arm64 windows/amd64}"
out=.cache/mcpb
root=$PWD

mcpb=packaging/mcpb/node_modules/.bin/mcpb
if [ ! -x "$mcpb" ] || [ packaging/mcpb/package-lock.json -nt packaging/mcpb/node_modules/.package-lock.json ]; then
	(cd packaging/mcpb && npm ci --cache "$root/.cache/npm" --no-audit --no-fund --loglevel=error)
fi
echo "mcpb $("$mcpb" --version)" >&2

rm -rf "$out/stage" "$out"/sentry-mcp-*.mcpb
mkdir -p "$out/stage" "$out/bin"
ldflags="-s -w -X main.version=v$version"
host="$(go env GOOS)/$(go env GOARCH)"

# The tool list comes from a binary for this machine (the targets' may not run here).
go build -trimpath -ldflags "$ldflags" -o "$out/bin/sentry-mcp" .
"$out/bin/sentry-mcp" tools --demo --json >"$out/tools.json"
go build -o "$out/bin/mcpbgen" ./packaging/mcpb/gen

for target in $targets; do
	goos=${target%/*} goarch=${target#*/}
	exe=sentry-mcp
	[ "$goos" = windows ] && exe=sentry-mcp.exe
	stage="$out/stage/$goos-$goarch"
	bundle="$out/sentry-mcp-$version-$goos-$goarch.mcpb"
	mkdir -p "$stage/server"
	echo "== $target" >&2
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags" -o "$stage/server/$exe" .
	"$out/bin/mcpbgen" -version "$version" -os "$goos" -tools "$out/tools.json" -o "$stage/manifest.json"
	"$mcpb" validate "$stage/manifest.json"
	"$mcpb" pack "$stage" "$bundle" >"$out/pack-$goos-$goarch.log"
	"$mcpb" info "$bundle"

	# The packed file holds the manifest and an executable binary for this target.
	listing=$(zipinfo "$bundle")
	grep -q ' manifest.json$' <<<"$listing" || { echo "$bundle: no manifest.json" >&2; exit 1; }
	grep -Eq "^.rwx.* server/$exe\$" <<<"$listing" || { echo "$bundle: no executable server/$exe" >&2; echo "$listing" >&2; exit 1; }
	check="$out/stage/check-$goos-$goarch"
	rm -rf "$check" && mkdir -p "$check"
	unzip -q "$bundle" -d "$check"
	cmp "$check/manifest.json" "$stage/manifest.json"
	[ -x "$check/server/$exe" ] || { echo "$bundle: server/$exe unpacks without the execute bit" >&2; exit 1; }
	built=$(go version -m "$check/server/$exe")
	grep -q "GOOS=$goos\$" <<<"$built" && grep -q "GOARCH=$goarch\$" <<<"$built" && grep -q "CGO_ENABLED=0\$" <<<"$built" ||
		{ echo "$bundle: server/$exe is not a static $target build:" >&2; echo "$built" >&2; exit 1; }
	# (-trimpath keeps -ldflags out of the build info: look for the string itself)
	LC_ALL=C grep -aqF "v$version" "$check/server/$exe" || { echo "$bundle: version v$version not linked in" >&2; exit 1; }

	if [ "$target" = "$host" ]; then
		# Start the unpacked bundle as Claude Desktop would, against the fake Sentry.
		go build -o "$out/bin/fakesentry" ./cmd/fakesentry
		coproc FAKE { exec "$out/bin/fakesentry"; }
		read -r line <&"${FAKE[0]}"
		url=$(sed -n 's/^URL=\([^ ]*\) .*/\1/p' <<<"$line") token=$(sed -n 's/.* TOKEN=\(.*\)$/\1/p' <<<"$line")
		status=0
		node packaging/mcpb/smoke.mjs "$root/$check" "$url" "$token" "$out/tools.json" || status=$?
		kill "$FAKE_PID" 2>/dev/null || true
		wait "$FAKE_PID" 2>/dev/null || true
		[ "$status" = 0 ] || exit "$status"
	fi
done
ls -l "$out"/sentry-mcp-*.mcpb
