#!/usr/bin/env bash
# Checks the release build without publishing anything (CI runs this).
#
# To publish a release (maintainer, not CI; needs a GitHub token allowed to
# create releases on github.com/sentry-mcp/sentry-mcp):
#
#   git tag v1.2.3 && git push origin v1.2.3 && GITHUB_TOKEN=... .cache/bin/goreleaser release --clean
#
# What this does:
#   1. installs GoReleaser v2.15.1 into .cache/bin (reused when that version is
#      already there; newer GoReleaser releases need a newer Go);
#   2. goreleaser check (the .goreleaser.yaml is valid);
#   3. goreleaser build --snapshot --single-target --clean (the host's binary
#      in dist/), then runs it: --version must print the snapshot version and
#      demo must call resolve_issue;
#   4. cross-compiles the other five targets (linux, darwin, windows x amd64,
#      arm64) with a plain CGO_ENABLED=0 go build into .cache/cross and checks
#      each is an executable for its OS and architecture;
#   5. only with --archives: goreleaser release --snapshot --clean
#      --skip=publish, the six archives and dist/checksums.txt, as a release
#      would upload them (slow: six builds).
#
# Usage: scripts/release-check.sh [--archives]
# Each step prints its time; the exit status is non-zero on the first failure.
# RELEASE_CHECK_NO_FILE=1 checks the binaries with scripts/binformat.go (Go's
# debug/elf, debug/macho, debug/pe) even where the file command exists.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi

archives=false
case "${1:-}" in
"") ;;
--archives) archives=true ;;
*)
	echo "usage: $0 [--archives]" >&2
	exit 2
	;;
esac

goreleaser_version=2.15.1
bin=$PWD/.cache/bin
goreleaser=$bin/goreleaser

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

has_version() {
	local out
	out=$("$goreleaser" --version 2>&1) || return 1
	grep -Eq "GitVersion:[[:space:]]+v?$goreleaser_version\$" <<<"$out"
}

install_goreleaser() {
	if [ -x "$goreleaser" ] && has_version; then
		echo "reusing $goreleaser ($goreleaser_version)"
		return
	fi
	mkdir -p "$bin"
	GOBIN=$bin go install "github.com/goreleaser/goreleaser/v2@v$goreleaser_version"
	has_version || fail "$goreleaser is not version $goreleaser_version"
}

# The host binary from the last goreleaser build, from dist/artifacts.json.
host_binary() {
	jq -r '[.[] | select(.type == "Binary")][0].path' dist/artifacts.json
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
	# In a git clone (not a worktree, where Go records no VCS information),
	# the commit is HEAD's, from the build info.
	if [ -d .git ]; then
		c=$(git rev-parse --short=12 HEAD)
		grep -qF -- "(commit $c)" <<<"$out" || fail "$b --version does not print the commit $c"
	fi
	out=$("$b" demo)
	grep -q resolve_issue <<<"$out" || fail "$b demo does not mention resolve_issue"
	echo "demo: $(grep -c . <<<"$out") lines, resolve_issue called"
}

# check_format GOOS GOARCH FILE: the file is an executable for GOOS/GOARCH.
check_format() {
	local os=$1 arch=$2 f=$3 desc want
	if [ -n "${RELEASE_CHECK_NO_FILE:-}" ] || ! command -v file >/dev/null 2>&1; then
		go run scripts/binformat.go "$os" "$arch" "$f"
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

cross_compile() {
	local host os arch out ext
	host=$(go env GOOS)/$(go env GOARCH)
	rm -rf .cache/cross
	mkdir -p .cache/cross
	for os in linux darwin windows; do
		for arch in amd64 arm64; do
			[ "$os/$arch" = "$host" ] && continue
			ext=
			[ "$os" = windows ] && ext=.exe
			out=.cache/cross/sentry-mcp_${os}_${arch}$ext
			local start=$SECONDS
			CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
				-ldflags "-s -w -X main.version=cross-check" -o "$out" .
			[ -s "$out" ] || fail "$out was not built"
			check_format "$os" "$arch" "$out"
			echo "  $os/$arch: $((SECONDS - start)) s"
		done
	done
}

check_archives() {
	local v os arch ext name
	v=$(snapshot_version)
	[ -s dist/checksums.txt ] || fail "no dist/checksums.txt"
	for os in linux darwin windows; do
		for arch in amd64 arm64; do
			ext=tar.gz
			[ "$os" = windows ] && ext=zip
			name=sentry-mcp_${v}_${os}_${arch}.$ext
			[ -s "dist/$name" ] || fail "no dist/$name"
			grep -Eq "^[0-9a-f]{64}  $name\$" dist/checksums.txt || fail "dist/checksums.txt has no line for $name"
		done
	done
	[ "$(grep -c . dist/checksums.txt)" -eq 6 ] || fail "dist/checksums.txt does not have exactly six lines"
	(cd dist && sha256sum -c --quiet checksums.txt) || fail "dist/checksums.txt does not match the archives"
	cat dist/checksums.txt
}

step "install GoReleaser $goreleaser_version" install_goreleaser
step "goreleaser check" "$goreleaser" check
step "goreleaser build --snapshot --single-target" "$goreleaser" build --snapshot --single-target --clean
step "run the host binary (--version, demo)" run_host_binary
step "cross-compile the other five targets" cross_compile
if $archives; then
	step "goreleaser release --snapshot --skip=publish (six archives, checksums)" \
		"$goreleaser" release --snapshot --clean --skip=publish
	step "check the archives and dist/checksums.txt" check_archives
fi
echo "release-check: ok"
