#!/usr/bin/env bash
# Checks the release build without publishing anything (CI runs this).
# scripts/release.sh is what a maintainer runs to publish.
#
# What this does, each step timed:
#   1. installs GoReleaser v2.15.1 (newer ones need a newer Go) into
#      ~/.cache/sentry-mcp/goreleaser-v2.15.1, where later runs and clones
#      reuse it (SENTRY_MCP_TOOLS_CACHE moves it);
#   2. goreleaser check (the .goreleaser.yaml is valid);
#   3. goreleaser build --snapshot --single-target --clean: this machine's
#      binary in dist/, and (the post hook, scripts/mcpb.sh pack) its Claude
#      Desktop bundle, validated and packed;
#   4. runs the binary: --version must print the snapshot version and the
#      commit, demo must call resolve_issue;
#   5. starts that bundle as Claude Desktop would, against the fake Sentry;
#   6. cross-compiles the other five targets (linux, darwin, windows x amd64,
#      arm64) with a plain CGO_ENABLED=0 go build, checks each is an
#      executable for its OS and architecture, and packs its bundle;
#   7. writes dist/checksums.txt for the six bundles and generates
#      dist/server.json from it (packaging/registry/gen's TestSnapshot:
#      valid against the vendored registry schema, every hash checked);
#   8. go install . (the README's install from source), then --version and
#      tools --demo --json from the installed binary;
#   9. only with --archives: goreleaser release --snapshot --clean
#      --skip=publish (six builds, six bundles, six archives and
#      checksums.txt, as a release uploads them), checked the same way.
#
# Usage: scripts/release-check.sh [--archives | --prepare]
# --prepare does only the slow part ahead of time: it installs GoReleaser and
# compiles all six targets into Go's build cache, so that a later run only
# links (CI runs it in the background, at low priority, during the tests).
# The exit status is non-zero on the first failure, which is named.
# Each binary's format is checked with scripts/binformat.go (Go's debug/elf,
# debug/macho, debug/pe) and with file(1) unless RELEASE_CHECK_NO_FILE=1.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi

archives=false
prepare=false
case "${1:-}" in
"") ;;
--archives) archives=true ;;
--prepare) prepare=true ;;
*)
	echo "usage: $0 [--archives | --prepare]" >&2
	exit 2
	;;
esac

goreleaser=

# step NAME CMD...: runs one step and prints how long it took. The command
# runs under set -e (not in an if), so any failing command inside ends the
# script, and the EXIT trap names the step that failed.
current=
step() {
	local start=$SECONDS
	current=$1
	shift
	echo "== $current"
	"$@"
	echo "ok   $current ($((SECONDS - start)) s)"
	current=
}
trap 'rc=$?; if [ "$rc" -ne 0 ] && [ -n "$current" ]; then echo "FAIL $current" >&2; fi' EXIT

fail() {
	echo "release-check: $*" >&2
	return 1
}

install_goreleaser() {
	goreleaser=$(bash scripts/goreleaser.sh)
}

# The host binary from the last goreleaser build, from dist/artifacts.json.
host_binary() {
	jq -r --arg os "$(go env GOOS)" --arg arch "$(go env GOARCH)" \
		'[.[] | select(.type == "Binary" and .goos == $os and .goarch == $arch)][0].path' dist/artifacts.json
}

snapshot_version() {
	jq -r .version dist/metadata.json
}

run_host_binary() {
	local b v c out
	b=$(host_binary)
	v=$(snapshot_version)
	[ -x "$b" ] || fail "no host binary in dist/ ($b)"
	out=$("$b" --version)
	echo "$out"
	grep -qF -- "sentry-mcp $v " <<<"$out" || fail "$b --version does not print the snapshot version $v"
	# The commit is HEAD's (-X main.commit={{.FullCommit}}).
	c=$(git rev-parse HEAD | cut -c1-12)
	grep -qF -- "(commit $c)" <<<"$out" || fail "$b --version does not print the commit $c"
	out=$("$b" demo)
	grep -q resolve_issue <<<"$out" || fail "$b demo does not mention resolve_issue"
	echo "demo: $(grep -c . <<<"$out") lines, resolve_issue called"
}

# check_format GOOS GOARCH FILE: the file is an executable for GOOS/GOARCH.
# Both checks run: Go's reading of the headers, and file(1)'s where present.
check_format() {
	local os=$1 arch=$2 f=$3 desc want
	go run scripts/binformat.go "$os" "$arch" "$f"
	if [ -n "${RELEASE_CHECK_NO_FILE:-}" ] || ! command -v file >/dev/null 2>&1; then
		return
	fi
	desc=$(file -b "$f")
	echo "$f: $desc"
	case $os/$arch in
	linux/amd64) want='^ELF 64-bit .*executable.*x86-64' ;;
	linux/arm64) want='^ELF 64-bit .*executable.*(ARM aarch64|aarch64)' ;;
	darwin/amd64) want='^Mach-O 64-bit .*x86_64 executable' ;;
	darwin/arm64) want='^Mach-O 64-bit .*arm64 executable' ;;
	windows/amd64) want='^PE32\+ executable.*x86-64' ;;
	windows/arm64) want='^PE32\+ executable.*(Aarch64|ARM64)' ;;
	*) fail "no check for $os/$arch" ;;
	esac
	grep -Eq "$want" <<<"$desc" || fail "$f is not a $os/$arch executable: $desc"
}

host_bundle() {
	local b
	b=dist/sentry-mcp-$(snapshot_version)-$(go env GOOS)-$(go env GOARCH).mcpb
	[ -s "$b" ] || fail "the post hook packed no bundle for this machine ($b)"
	bash scripts/mcpb.sh smoke "$b"
}

# The other five targets: a plain go build each (as GoReleaser's, with
# -trimpath and the version), checked, then packed into a bundle in dist/.
cross_compile() {
	local host os arch out ext v start
	host=$(go env GOOS)/$(go env GOARCH)
	v=$(snapshot_version)
	mkdir -p dist/cross
	for os in linux darwin windows; do
		for arch in amd64 arm64; do
			[ "$os/$arch" = "$host" ] && continue
			start=$SECONDS
			ext=
			[ "$os" = windows ] && ext=.exe
			out=dist/cross/sentry-mcp_${os}_${arch}$ext
			CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
				-ldflags "-s -w -X main.version=$v -X main.commit=$(git rev-parse HEAD)" -o "$out" .
			[ -s "$out" ] || fail "$out was not built"
			check_format "$os" "$arch" "$out"
			bash scripts/mcpb.sh pack "$out" "$os" "$arch" "$v" dist
			echo "  $os/$arch: $((SECONDS - start)) s"
		done
	done
}

# Install from source as the README says (go install), then run it.
go_install() {
	local gobin out
	gobin=$PWD/dist/gobin # (in dist/: the next run's --clean removes it)
	mkdir -p "$gobin"
	GOBIN=$gobin go install .
	out=$("$gobin/sentry-mcp" --version)
	echo "$out"
	grep -q '^sentry-mcp ' <<<"$out" || fail "go install: --version printed $out"
	"$gobin/sentry-mcp" tools --demo --json | jq -e '.tools | length > 0' >/dev/null || fail "go install: tools --demo --json lists no tools"
}

# The six bundles' hashes, as GoReleaser's checksum step writes them in a
# release, then server.json from them (TestSnapshot checks it).
registry_entry() {
	local v
	v=$(snapshot_version)
	if [ ! -s dist/checksums.txt ]; then
		(cd dist && sha256sum -- *.mcpb >checksums.txt)
	fi
	cat dist/checksums.txt
	SENTRY_MCP_DIST=$PWD/dist SENTRY_MCP_VERSION=$v SENTRY_MCP_TOOLS_JSON=$PWD/.cache/mcpb/tools.json \
		SENTRY_MCP_SERVER_JSON=$PWD/dist/server.json go test -count=1 -run '^TestSnapshot$' ./packaging/registry/gen
	[ -s dist/server.json ] || fail "no dist/server.json"
	echo "dist/server.json: $(jq '.packages | length' dist/server.json) packages, $(stat -c %s dist/server.json) bytes"
}

check_archives() {
	local v os arch ext name
	v=$(snapshot_version)
	[ -s dist/checksums.txt ] || fail "no dist/checksums.txt"
	for os in linux darwin windows; do
		for arch in amd64 arm64; do
			ext=tar.gz
			[ "$os" = windows ] && ext=zip
			for name in "sentry-mcp_${v}_${os}_${arch}.$ext" "sentry-mcp-$v-$os-$arch.mcpb"; do
				[ -s "dist/$name" ] || fail "no dist/$name"
				grep -Eq "^[0-9a-f]{64}  $name\$" dist/checksums.txt || fail "dist/checksums.txt has no line for $name"
			done
		done
	done
	[ "$(grep -c . dist/checksums.txt)" -eq 12 ] || fail "dist/checksums.txt does not have exactly twelve lines (six archives, six bundles)"
	(cd dist && sha256sum -c --quiet checksums.txt) || fail "dist/checksums.txt does not match the files"
	cat dist/checksums.txt
}

# Compiles every target with the flags of the builds below, into the build
# cache only. This machine's target comes last: the tests (packaging/oci)
# build it too.
warm_cache() {
	local host target
	host=$(go env GOOS)/$(go env GOARCH)
	for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
		[ "$target" = "$host" ] || warm "$target"
	done
	warm "$host"
}

warm() {
	local start=$SECONDS
	CGO_ENABLED=0 GOOS=${1%/*} GOARCH=${1#*/} go build -trimpath -o /dev/null .
	echo "  $1: $((SECONDS - start)) s"
}

step "install GoReleaser" install_goreleaser
if $prepare; then
	step "compile the six targets into the build cache" warm_cache
	echo "release-check: prepared"
	exit 0
fi
step "goreleaser check" "$goreleaser" check
if $archives; then
	step "goreleaser release --snapshot --skip=publish (six binaries, bundles, archives, checksums)" \
		"$goreleaser" release --snapshot --clean --skip=publish
	step "check the archives, the bundles and dist/checksums.txt" check_archives
else
	step "goreleaser build --snapshot --single-target (and its bundle)" "$goreleaser" build --snapshot --single-target --clean
fi
step "run the host binary (--version, demo)" run_host_binary
step "start the host bundle as Claude Desktop would" host_bundle
if ! $archives; then
	step "cross-compile and pack the other five targets" cross_compile
fi
step "server.json for the MCP registry from the six bundles" registry_entry
step "go install from source" go_install
echo "release-check: ok"
