#!/usr/bin/env bash
# Check the Helm chart: lint it, render it with the default values and with every
# tests/chart/values-*.yaml, validate each rendered manifest against the Kubernetes API schemas
# in strict mode, and make sure values.schema.json rejects an invalid values file.
# `make helm-check` runs it with .tools/bin and the virtualenv's bin first on PATH.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart="$root/deploy/helm/pr-reviewer"
kubernetes_version="${KUBERNETES_VERSION:-1.33}"
python="${PYTHON:-python}"

bash "$root/scripts/fetch-tools.sh"
export PATH="$root/.tools/bin:$PATH"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# The kind suite's values are checked too, because users run that suite on their machines.
values_files=("$root"/tests/chart/values-*.yaml "$root/tests/e2e/values-kind.yaml")

echo "helm-check: helm lint (default values)"
helm lint --strict "$chart"
for values in "${values_files[@]}"; do
    echo "helm-check: helm lint -f ${values#"$root"/}"
    helm lint --strict "$chart" -f "$values"
done

echo "helm-check: helm template (default values)"
helm template pr-reviewer "$chart" --namespace pr-reviewer --include-crds >"$out/default.yaml"
rendered=("$out/default.yaml")
for values in "${values_files[@]}"; do
    name="$(basename "$values" .yaml)"
    echo "helm-check: helm template -f ${values#"$root"/}"
    helm template pr-reviewer "$chart" --namespace pr-reviewer --include-crds -f "$values" >"$out/$name.yaml"
    rendered+=("$out/$name.yaml")
done

echo "helm-check: validating rendered manifests against Kubernetes $kubernetes_version (strict)"
"$python" "$root/scripts/validate_manifests.py" --kubernetes-version "$kubernetes_version" "${rendered[@]}"

# The schema must stop a wrong value at install time and name the offending key.
invalid="$root/tests/chart/invalid-values.yaml"
echo "helm-check: helm template -f ${invalid#"$root"/} must fail"
if helm template pr-reviewer "$chart" -f "$invalid" >"$out/invalid.yaml" 2>"$out/invalid.err"; then
    echo "helm-check: FAILED: values.schema.json accepted $invalid" >&2
    exit 1
fi
if ! grep -q "at '/maxActiveReviews': minimum: got -1, want 1" "$out/invalid.err"; then
    echo "helm-check: FAILED: the error for $invalid does not name maxActiveReviews and its minimum:" >&2
    cat "$out/invalid.err" >&2
    exit 1
fi
echo "helm-check: $(grep "maxActiveReviews" "$out/invalid.err")"
echo "helm-check: all chart checks passed"
