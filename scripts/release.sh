#!/usr/bin/env bash
# Publishes a release. The one command a maintainer runs, on Linux, from a
# clean checkout of the commit to release, after tagging it:
#
#   git tag v1.2.3 && git push origin v1.2.3
#   GITHUB_TOKEN=$(gh auth token) scripts/release.sh v1.2.3
#
# It needs, and checks before it publishes anything:
#   - GITHUB_TOKEN allowed to create releases on github.com/sentry-mcp/sentry-mcp;
#   - docker with a buildx builder for linux/amd64 and linux/arm64 (for
#     example `docker buildx create --use`), signed in to ghcr.io
#     (docker login ghcr.io) with permission to push ghcr.io/sentry-mcp/sentry-mcp;
#   - mcp-publisher (github.com/modelcontextprotocol/registry); it asks you to
#     sign in (mcp-publisher login github, as a member of the sentry-mcp
#     org) just before it publishes, since its token lasts minutes;
#   - node, npm, jq, unzip, git, sha256sum (what scripts/release-check.sh needs).
#
# Then, in this order (each later step refers to what the earlier ones put online):
#   0. scripts/release-check.sh: the whole release built and checked as a
#      snapshot, server.json validated, nothing published;
#   1. goreleaser release --clean: six static binaries, a Claude Desktop
#      bundle for each (.mcpb), six archives and checksums.txt, uploaded to
#      the GitHub release for the tag;
#   2. the container image for linux/amd64 and linux/arm64 from
#      deploy/Dockerfile, pushed as ghcr.io/sentry-mcp/sentry-mcp:<version>
#      (and :latest, unless the version is a pre-release); the MCP registry
#      pulls it anonymously, so the package must be public (once, in the
#      package's settings on GitHub);
#   3. dist/server.json from dist/checksums.txt (packaging/registry/gen),
#      published to the MCP registry with mcp-publisher.
#
# If a step fails after step 1, fix the cause and resume with
#   scripts/release.sh v1.2.3 --from image      (steps 2 and 3, reusing dist/)
#   scripts/release.sh v1.2.3 --from registry   (step 3 only)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
image=ghcr.io/sentry-mcp/sentry-mcp

fail() {
	echo "release: $*" >&2
	exit 1
}

tag=${1:-}
[[ $tag =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || fail "usage: $0 vX.Y.Z [--from image|registry]"
version=${tag#v}
from=github
case "${2:-} ${3:-}" in
" ") ;;
"--from image" | "--from registry") from=$3 ;;
*) fail "usage: $0 vX.Y.Z [--from image|registry]" ;;
esac

# Everything is checked before anything is published.
[ "$(uname -s)" = Linux ] || fail "releases are made on Linux (the scripts use GNU coreutils and bash 4)"
for tool in docker mcp-publisher node npm jq unzip git sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed"
done
[ -z "$(git status --porcelain)" ] || fail "the work tree is not clean"
[ "$(git rev-parse "$tag^{commit}" 2>/dev/null)" = "$(git rev-parse HEAD)" ] || fail "$tag does not point at HEAD (git tag $tag && git push origin $tag)"
git ls-remote --exit-code --tags origin "refs/tags/$tag" >/dev/null || fail "$tag is not pushed (git push origin $tag)"
[ -n "${GITHUB_TOKEN:-}" ] || fail "GITHUB_TOKEN is not set (GITHUB_TOKEN=\$(gh auth token) $0 $tag)"
# (Into a variable first: grep -q ending a pipe early would fail it under pipefail.)
builder=$(docker buildx inspect --bootstrap 2>/dev/null) || builder=
grep -q 'linux/arm64' <<<"$builder" ||
	fail "the docker buildx builder cannot build linux/arm64 (docker buildx create --use, then try again)"
if [ "$from" != github ]; then
	[ "$(jq -r .version dist/metadata.json 2>/dev/null)" = "$version" ] || fail "--from $from needs dist/ from the release of $tag"
fi

done_steps=()
trap 'rc=$?; if [ "$rc" -ne 0 ]; then echo "release: stopped. Published so far: ${done_steps[*]:-nothing}" >&2; fi' EXIT

if [ "$from" = github ]; then
	echo "== 0. the whole release as a snapshot (nothing is published)"
	bash scripts/release-check.sh

	echo "== 1. GitHub release $tag (binaries, bundles, archives, checksums)"
	"$(bash scripts/goreleaser.sh)" release --clean
	done_steps+=("the GitHub release $tag")
fi

if [ "$from" != registry ]; then
	echo "== 2. container image $image:$version"
	tags=(-t "$image:$version")
	[[ $version == *-* ]] || tags+=(-t "$image:latest")
	docker buildx build --platform linux/amd64,linux/arm64 \
		--build-arg "VERSION=$version" --build-arg "COMMIT=$(git rev-parse HEAD)" \
		-f deploy/Dockerfile "${tags[@]}" --push .
	done_steps+=("the image $image:$version")
	# The registry pulls it without credentials.
	anon=$(mktemp -d)
	DOCKER_CONFIG=$anon docker buildx imagetools inspect "$image:$version" >/dev/null 2>&1 ||
		fail "$image:$version cannot be pulled anonymously: make the package public (GitHub > sentry-mcp > Packages > sentry-mcp > Package settings), then: $0 $tag --from registry"
	rm -rf "$anon"
fi

echo "== 3. MCP registry"
[ -s .cache/mcpb/tools.json ] || bash scripts/mcpb.sh prepare
go run ./packaging/registry/gen -version "$version" -checksums dist/checksums.txt \
	-tools .cache/mcpb/tools.json -image "$image" -out dist/server.json
mcp-publisher login github
(cd dist && mcp-publisher publish)
done_steps+=("the MCP registry entry io.github.sentry-mcp/sentry-mcp $version")
echo "release: $tag published: ${done_steps[*]}"
