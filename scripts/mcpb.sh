#!/usr/bin/env bash
# Claude Desktop bundles (.mcpb), with the @anthropic-ai/mcpb CLI pinned in
# packaging/mcpb/package-lock.json.
#
#   scripts/mcpb.sh                                # this machine's bundle, packed and started (a developer's check)
#   scripts/mcpb.sh prepare                        # npm ci, tools.json and the manifest generator
#   scripts/mcpb.sh pack BINARY OS ARCH VERSION DIR
#   scripts/mcpb.sh smoke BUNDLE
#
# GoReleaser runs `prepare` as a before hook and `pack` as the post hook of
# each build (.goreleaser.yaml), so a release's dist/ holds one bundle per
# OS/arch, sentry-mcp-VERSION-OS-ARCH.mcpb, listed in checksums.txt.
#
# pack stages BINARY as server/sentry-mcp[.exe] beside a manifest.json that
# packaging/mcpb/gen writes from `sentry-mcp tools --demo --json`, runs
# `mcpb validate` and `mcpb pack`, then checks the packed file: the manifest,
# an executable binary for OS/ARCH built with CGO_ENABLED=0, VERSION linked in.
# smoke unpacks a bundle for this machine and starts it as Claude Desktop
# would (packaging/mcpb/smoke.mjs) against the fake Sentry (cmd/fakesentry).
# Needs node and npm; the npm cache is .cache/npm, the work files .cache/mcpb.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
root=$PWD
work=$root/.cache/mcpb
mcpb=$root/packaging/mcpb/node_modules/.bin/mcpb

fail() {
	echo "mcpb.sh: $*" >&2
	exit 1
}

prepare() {
	if [ ! -x "$mcpb" ] || [ packaging/mcpb/package-lock.json -nt packaging/mcpb/node_modules/.package-lock.json ]; then
		(cd packaging/mcpb && npm ci --include=dev --cache "$root/.cache/npm" --no-audit --no-fund --loglevel=error)
	fi
	echo "mcpb $("$mcpb" --version)" >&2
	mkdir -p "$work/bin"
	# The tool list comes from a binary for this machine (a target's may not run here).
	go build -o "$work/bin/sentry-mcp" .
	"$work/bin/sentry-mcp" tools --demo --json >"$work/tools.json.tmp"
	mv "$work/tools.json.tmp" "$work/tools.json"
	go build -o "$work/bin/mcpbgen" ./packaging/mcpb/gen
	go build -o "$work/bin/fakesentry" ./cmd/fakesentry
}

# pack BINARY OS ARCH VERSION DIR: writes DIR/sentry-mcp-VERSION-OS-ARCH.mcpb.
pack() {
	[ $# = 5 ] || fail "usage: $0 pack BINARY OS ARCH VERSION DIR"
	local bin=$1 goos=$2 goarch=$3 version=${4#v} dir=$5
	[ -s "$work/tools.json" ] && [ -x "$work/bin/mcpbgen" ] || fail "run $0 prepare first"
	[ -x "$bin" ] || fail "$bin: no executable"
	local exe=sentry-mcp
	[ "$goos" = windows ] && exe=sentry-mcp.exe
	local stage=$work/stage/$goos-$goarch check=$work/check/$goos-$goarch
	local bundle=$dir/sentry-mcp-$version-$goos-$goarch.mcpb
	rm -rf "$stage" "$check"
	mkdir -p "$stage/server" "$check" "$dir"
	cp "$bin" "$stage/server/$exe"
	chmod 0755 "$stage/server/$exe"
	"$work/bin/mcpbgen" -version "$version" -os "$goos" -tools "$work/tools.json" -o "$stage/manifest.json"
	"$mcpb" validate "$stage/manifest.json" >"$stage.validate.log" || { cat "$stage.validate.log" >&2; fail "$goos/$goarch: mcpb validate failed"; }
	"$mcpb" pack "$stage" "$bundle" >"$stage.pack.log" || { cat "$stage.pack.log" >&2; fail "$goos/$goarch: mcpb pack failed"; }

	# The packed file holds the manifest and an executable binary for this target.
	local listing built
	listing=$(zipinfo "$bundle")
	grep -q ' manifest.json$' <<<"$listing" || fail "$bundle: no manifest.json"
	grep -Eq "^.rwx.* server/$exe\$" <<<"$listing" || fail "$bundle: no executable server/$exe"$'\n'"$listing"
	unzip -q "$bundle" -d "$check"
	cmp -s "$check/manifest.json" "$stage/manifest.json" || fail "$bundle: manifest.json differs from the one validated"
	[ -x "$check/server/$exe" ] || fail "$bundle: server/$exe unpacks without the execute bit"
	built=$(go version -m "$check/server/$exe")
	grep -q "GOOS=$goos\$" <<<"$built" && grep -q "GOARCH=$goarch\$" <<<"$built" && grep -q "CGO_ENABLED=0\$" <<<"$built" ||
		fail "$bundle: server/$exe is not a static $goos/$goarch build:"$'\n'"$built"
	# (-trimpath keeps -ldflags out of the build info: look for the string itself)
	LC_ALL=C grep -aqF "$version" "$check/server/$exe" || fail "$bundle: version $version not linked in"
	echo "$bundle: $(stat -c %s "$bundle") bytes, $(jq '.tools | length' "$stage/manifest.json") tools, validated" >&2
}

# smoke BUNDLE: unpacks it and starts it as Claude Desktop would.
smoke() {
	[ $# = 1 ] || fail "usage: $0 smoke BUNDLE"
	local bundle=$1 dir=$work/smoke line url token status=0
	[ -x "$work/bin/fakesentry" ] || fail "run $0 prepare first"
	rm -rf "$dir" && mkdir -p "$dir"
	unzip -q "$bundle" -d "$dir"
	coproc FAKE { exec "$work/bin/fakesentry"; }
	read -r -t 30 line <&"${FAKE[0]}" || line=
	url=$(sed -n 's/^URL=\(http:\/\/127\.0\.0\.1:[0-9]*\) .*/\1/p' <<<"$line")
	token=$(sed -n 's/.* TOKEN=\(.*\)$/\1/p' <<<"$line")
	if [ -z "$url" ] || [ -z "$token" ]; then
		kill "$FAKE_PID" 2>/dev/null || true
		fail "the fake Sentry did not start (it printed: $line)"
	fi
	node packaging/mcpb/smoke.mjs "$dir" "$url" "$token" "$work/tools.json" || status=$?
	kill "$FAKE_PID" 2>/dev/null || true
	wait "$FAKE_PID" 2>/dev/null || true
	return "$status"
}

case "${1:-}" in
prepare) prepare ;;
pack)
	shift
	pack "$@"
	;;
smoke)
	shift
	smoke "$@"
	;;
"" | v*)
	version=${1:-0.0.0-snapshot}
	version=${version#v}
	goos=$(go env GOOS) goarch=$(go env GOARCH)
	prepare
	mkdir -p "$work/out"
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$work/out/sentry-mcp" .
	pack "$work/out/sentry-mcp" "$goos" "$goarch" "$version" "$work/out"
	smoke "$work/out/sentry-mcp-$version-$goos-$goarch.mcpb"
	;;
*) fail "usage: $0 [VERSION] | prepare | pack BINARY OS ARCH VERSION DIR | smoke BUNDLE" ;;
esac
