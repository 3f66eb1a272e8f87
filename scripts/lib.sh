# Shared by images.sh and kind.sh: the names and tag of the three images.
# shellcheck shell=bash

repository_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE_PREFIX="${IMAGE_PREFIX:-pr-reviewer}"
# shellcheck disable=SC2034  # read by the scripts that source this file
COMPONENTS=(receiver operator reviewer)

# The tag of this build: $TAG if set, else `git describe` (a release tag, or the commit, plus -dirty).
image_tag() {
    if [[ -n "${TAG:-}" ]]; then
        echo "$TAG"
    else
        git -C "$repository_root" describe --tags --always --dirty 2>/dev/null || echo dev
    fi
}

# The Dockerfile of a component, relative to the repository root.
dockerfile_of() {
    case "$1" in
        receiver) echo receiver/Dockerfile ;;
        operator) echo operator/Dockerfile ;;
        reviewer) echo reviewer-image/Dockerfile ;;
        *) echo "unknown component $1" >&2; return 1 ;;
    esac
}
