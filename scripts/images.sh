#!/usr/bin/env bash
# Build the receiver, operator and reviewer images with one tag (`make images`).
#
#   TAG           image tag (default: git describe --tags --always --dirty)
#   IMAGE_PREFIX  repository prefix (default: pr-reviewer, giving pr-reviewer/receiver:TAG, ...)
#   PUSH=true     push the images after building them
#   DOCKER        container CLI (default: docker)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

docker_cli="${DOCKER:-docker}"
tag="$(image_tag)"

command -v "$docker_cli" >/dev/null 2>&1 || {
    echo "images: $docker_cli not found: install Docker (or set DOCKER to a compatible CLI such as podman)" >&2
    exit 1
}

# Every image installs the one distribution described by pyproject.toml, so the context is the root.
for component in "${COMPONENTS[@]}"; do
    image="$IMAGE_PREFIX/$component:$tag"
    echo "images: building $image from $(dockerfile_of "$component")"
    DOCKER_BUILDKIT=1 "$docker_cli" build \
        --file "$root/$(dockerfile_of "$component")" \
        --tag "$image" \
        --label "org.opencontainers.image.revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)" \
        --label "org.opencontainers.image.version=$tag" \
        "$root"
done

if [[ "${PUSH:-false}" == "true" ]]; then
    for component in "${COMPONENTS[@]}"; do
        "$docker_cli" push "$IMAGE_PREFIX/$component:$tag"
    done
fi

echo "images: built ${COMPONENTS[*]} as $IMAGE_PREFIX/<component>:$tag"
