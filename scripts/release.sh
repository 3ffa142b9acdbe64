#!/usr/bin/env bash
# Publishes a release. The one command a maintainer runs, from a clean
# checkout of the commit to release, after tagging it:
#
#   git tag v1.2.3 && git push origin v1.2.3
#   GITHUB_TOKEN=... scripts/release.sh v1.2.3
#
# It needs, and checks before it starts:
#   - GITHUB_TOKEN allowed to create releases on github.com/sentry-mcp/sentry-mcp;
#   - docker with buildx, signed in to ghcr.io (docker login ghcr.io) with
#     permission to push ghcr.io/sentry-mcp/sentry-mcp;
#   - mcp-publisher (github.com/modelcontextprotocol/registry), signed in
#     with `mcp-publisher login github` as a member of the sentry-mcp org;
#   - node and npm (the Claude Desktop bundles), jq, unzip.
#
# Then, in this order (each later step refers to what the earlier ones put online):
#   1. goreleaser release --clean: six static binaries, a Claude Desktop
#      bundle for each (.mcpb), six archives and checksums.txt, uploaded to
#      the GitHub release for the tag;
#   2. the container image for linux/amd64 and linux/arm64 from
#      deploy/Dockerfile, pushed as ghcr.io/sentry-mcp/sentry-mcp:<version>
#      and :latest (the MCP registry checks its io.modelcontextprotocol.server.name label);
#   3. dist/server.json from dist/checksums.txt (packaging/registry/gen),
#      published to the MCP registry with mcp-publisher.
#
# scripts/release-check.sh (CI) runs steps 1 and 3 as a snapshot, without publishing.
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
[[ $tag =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || fail "usage: $0 vX.Y.Z (the tag to release)"
version=${tag#v}

# Everything is checked before anything is published.
[ -z "$(git status --porcelain)" ] || fail "the work tree is not clean"
[ "$(git rev-parse "$tag^{commit}" 2>/dev/null)" = "$(git rev-parse HEAD)" ] || fail "$tag does not point at HEAD (git tag $tag && git push origin $tag)"
git ls-remote --exit-code --tags origin "refs/tags/$tag" >/dev/null || fail "$tag is not pushed (git push origin $tag)"
[ -n "${GITHUB_TOKEN:-}" ] || fail "GITHUB_TOKEN is not set"
for tool in docker mcp-publisher node npm jq unzip; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed"
done
docker buildx version >/dev/null 2>&1 || fail "docker buildx is not available"

goreleaser=$(bash scripts/goreleaser.sh)

echo "== 1. GitHub release $tag (binaries, bundles, archives, checksums)"
"$goreleaser" release --clean
[ "$(jq -r .version dist/metadata.json)" = "$version" ] || fail "GoReleaser released $(jq -r .version dist/metadata.json), not $version"

echo "== 2. container image $image:$version"
docker buildx build --platform linux/amd64,linux/arm64 --build-arg "VERSION=$version" \
	-f deploy/Dockerfile -t "$image:$version" -t "$image:latest" --push .

echo "== 3. MCP registry"
go run ./packaging/registry/gen -version "$version" -checksums dist/checksums.txt \
	-tools .cache/mcpb/tools.json -image "$image" -out dist/server.json
(cd dist && mcp-publisher publish)
echo "release: $tag published"
