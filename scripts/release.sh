#!/usr/bin/env bash
# Publishes a release. The one command a maintainer runs, on Linux, from a
# clean checkout of the commit to release, after tagging it:
#
#   git tag v1.2.3 && git push origin v1.2.3
#   GITHUB_TOKEN=$(gh auth token) scripts/release.sh v1.2.3
#
# It needs, and checks before it publishes anything:
#   - the tag at HEAD, here and on origin, and a clean work tree;
#   - GITHUB_TOKEN allowed to create releases on github.com/sentry-mcp/sentry-mcp;
#   - docker with a buildx builder that can build and push linux/amd64 and
#     linux/arm64 together (for example `docker buildx create --use`): the
#     image is built once here without pushing, so a broken Dockerfile or
#     builder shows before anything is public; the push itself needs
#     `docker login ghcr.io` with permission to push ghcr.io/sentry-mcp/sentry-mcp;
#   - mcp-publisher (github.com/modelcontextprotocol/registry); it asks you to
#     sign in (mcp-publisher login github, as a member of the sentry-mcp
#     org) just before it publishes, since its token lasts minutes;
#   - curl, node, npm, jq, unzip, git, sha256sum.
#
# Then, in this order (each later step refers to what the earlier ones put online):
#   0. scripts/release-check.sh --archives: the release GoReleaser will make,
#      as a snapshot (six binaries, bundles, archives, checksums), checked,
#      with its server.json validated; nothing published;
#   1. goreleaser release --clean: the same, uploaded to the GitHub release
#      for the tag;
#   2. the container image for linux/amd64 and linux/arm64 from
#      deploy/Dockerfile, pushed as ghcr.io/sentry-mcp/sentry-mcp:<version>
#      (and :latest, unless the version is a pre-release);
#   3. dist/server.json from dist/checksums.txt (packaging/registry/gen),
#      published to the MCP registry with mcp-publisher. The registry pulls
#      the image without credentials, so the package must be public (once,
#      in its settings on GitHub); this step checks that first. A
#      pre-release is not published to the registry.
#
# If step 2 or 3 fails, fix the cause and resume with
#   scripts/release.sh v1.2.3 --from image      (steps 2 and 3, reusing dist/)
#   scripts/release.sh v1.2.3 --from registry   (step 3 only)
# If step 1 fails, GoReleaser may have made a partial GitHub release: delete
# that release (not the tag), then run the script again.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
repo=sentry-mcp/sentry-mcp
image=ghcr.io/$repo
usage="usage: $0 vX.Y.Z [--from image|registry]"

fail() {
	echo "release: $*" >&2
	exit 1
}

[ $# = 1 ] || [ $# = 3 ] || fail "$usage"
tag=$1
[[ $tag =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || fail "$usage"
version=${tag#v}
prerelease=false
[[ $version == *-* ]] && prerelease=true
from=github
if [ $# = 3 ]; then
	[ "$2" = --from ] && { [ "$3" = image ] || [ "$3" = registry ]; } || fail "$usage"
	from=$3
fi

# Everything is checked before anything is published.
[ "$(uname -s)" = Linux ] || fail "releases are made on Linux (the scripts use GNU coreutils and bash 4)"
for tool in docker mcp-publisher curl node npm jq unzip git sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed"
done
[ -z "$(git status --porcelain)" ] || fail "the work tree is not clean"
head=$(git rev-parse HEAD)
[ "$(git rev-parse "$tag^{commit}" 2>/dev/null)" = "$head" ] || fail "$tag does not point at HEAD (git tag $tag && git push origin $tag)"
# On origin: the commit an annotated tag points at (^{}), else the lightweight tag's.
remote=$(git ls-remote origin "refs/tags/$tag" "refs/tags/$tag^{}" | awk '{ c[$2] = $1 } END { print (c[r "^{}"] != "" ? c[r "^{}"] : c[r]) }' r="refs/tags/$tag")
[ -n "$remote" ] || fail "$tag is not on origin (git push origin $tag)"
[ "$remote" = "$head" ] || fail "$tag on origin points at $remote, not at HEAD $head"
if [ "$from" = github ]; then
	[ -n "${GITHUB_TOKEN:-}" ] || fail "GITHUB_TOKEN is not set (GITHUB_TOKEN=\$(gh auth token) $0 $tag)"
	goreleaser=$(bash scripts/goreleaser.sh) || fail "could not install GoReleaser"
else
	[ "$(jq -r .version dist/metadata.json 2>/dev/null)" = "$version" ] || fail "--from $from needs dist/ from the release of $tag"
fi

build_image() { # build_image [--push]: both platforms, one build
	local tags=(-t "$image:$version")
	$prerelease || tags+=(-t "$image:latest")
	docker buildx build --platform linux/amd64,linux/arm64 \
		--build-arg "VERSION=$version" --build-arg "COMMIT=$head" \
		-f deploy/Dockerfile "${tags[@]}" "$@" .
}
if [ "$from" != registry ]; then
	echo "== the image, built without pushing (the Dockerfile and the builder work)"
	build_image || fail "the multi-platform image does not build here: fix the Dockerfile, or use a builder that can build and push several platforms (docker buildx create --use)"
fi

# anonymous_pull: can the registry, without credentials, see the image?
anonymous_pull() {
	local token
	token=$(curl -fsS "https://ghcr.io/token?scope=repository:$repo:pull" | jq -r .token) && [ -n "$token" ] && [ "$token" != null ] &&
		curl -fsS -o /dev/null -H "Authorization: Bearer $token" \
			-H "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json" \
			"https://ghcr.io/v2/$repo/manifests/$version"
}

published=()
trap 'rc=$?; if [ "$rc" -ne 0 ]; then echo "release: stopped. Published so far: $(IFS=";"; echo "${published[*]:-nothing}")" >&2; fi' EXIT

if [ "$from" = github ]; then
	echo "== 0. the release as a snapshot (nothing is published)"
	bash scripts/release-check.sh --archives

	echo "== 1. GitHub release $tag (binaries, bundles, archives, checksums)"
	published+=("the GitHub release $tag (possibly partial, if this step failed)")
	"$goreleaser" release --clean
	published[${#published[@]}-1]="the GitHub release $tag"
fi

if [ "$from" != registry ]; then
	echo "== 2. container image $image:$version"
	build_image --push
	published+=("the image $image:$version")
fi

echo "== 3. MCP registry"
if $prerelease; then
	echo "release: $version is a pre-release; the MCP registry entry stays at the last release"
	echo "release: $tag published: $(IFS=";"; echo "${published[*]:-nothing}")"
	exit 0
fi
anonymous_pull || fail "$image:$version cannot be pulled without credentials: make the package public (GitHub > sentry-mcp > Packages > sentry-mcp > Package settings), then: $0 $tag --from registry"
bash scripts/mcpb.sh prepare # tools.json of this commit
go run ./packaging/registry/gen -version "$version" -checksums dist/checksums.txt \
	-tools .cache/mcpb/tools.json -image "$image" -out dist/server.json
mcp-publisher login github
(cd dist && mcp-publisher publish)
published+=("the MCP registry entry io.github.$repo $version")
echo "release: $tag published: $(IFS=";"; echo "${published[*]}")"
