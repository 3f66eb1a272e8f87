#!/usr/bin/env bash
# A local kind cluster for the end-to-end suite: `make kind-up kind-load deploy e2e kind-down`.
#
#   kind-up    create the cluster with an ingress-nginx controller on 127.0.0.1:$KIND_HTTP_PORT
#   kind-load  load the three images built by `make images` (same TAG) into the cluster's node
#   deploy     helm upgrade --install the chart with tests/e2e/values-kind.yaml
#   kind-down  delete the cluster
#
#   KIND_CLUSTER          cluster name (default: pr-reviewer)
#   KIND_HTTP_PORT        host port of the ingress controller (default: 8080)
#   KIND_NODE_IMAGE       node image, such as kindest/node:v1.33.1 (default: kind's own default)
#   INGRESS_NGINX_MANIFEST  ingress-nginx manifest for kind (default: the controller-v1.12.1 one)
#   REVIEW_NAMESPACE      namespace of the release (default: pr-reviewer)
#   TAG, IMAGE_PREFIX     as for scripts/images.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

cluster="${KIND_CLUSTER:-pr-reviewer}"
http_port="${KIND_HTTP_PORT:-8080}"
namespace="${REVIEW_NAMESPACE:-pr-reviewer}"
release="pr-reviewer"
ingress_manifest="${INGRESS_NGINX_MANIFEST:-https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.12.1/deploy/static/provider/kind/deploy.yaml}"
context="kind-$cluster"
export PATH="$root/.tools/bin:$PATH"

require() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || {
            echo "kind.sh: $tool not found: install it (kind: https://kind.sigs.k8s.io) or put it on PATH" >&2
            exit 1
        }
    done
}

kind_up() {
    require docker kind kubectl
    if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
        echo "kind.sh: cluster $cluster exists already"
    else
        local node_image=()
        if [[ -n "${KIND_NODE_IMAGE:-}" ]]; then
            node_image=(--image "$KIND_NODE_IMAGE")
        fi
        # ingress-nginx's kind manifest runs the controller on the node labelled ingress-ready
        # with hostPort 80, which extraPortMappings publishes on the host's loopback only.
        kind create cluster --name "$cluster" "${node_image[@]}" --wait 120s --config - <<KIND
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    kubeadmConfigPatches:
      - |
        kind: InitConfiguration
        nodeRegistration:
          kubeletExtraArgs:
            node-labels: "ingress-ready=true"
    extraPortMappings:
      - containerPort: 80
        hostPort: $http_port
        listenAddress: 127.0.0.1
        protocol: TCP
KIND
    fi

    echo "kind.sh: installing ingress-nginx from $ingress_manifest"
    kubectl --context "$context" apply -f "$ingress_manifest"
    kubectl --context "$context" wait --namespace ingress-nginx --for=condition=Ready pod \
        --selector=app.kubernetes.io/component=controller --timeout=300s
    echo "kind.sh: cluster $cluster is up; the ingress answers on http://127.0.0.1:$http_port"
}

kind_load() {
    require docker kind
    local tag
    tag="$(image_tag)"
    for component in "${COMPONENTS[@]}"; do
        echo "kind.sh: loading $IMAGE_PREFIX/$component:$tag into $cluster"
        kind load docker-image --name "$cluster" "$IMAGE_PREFIX/$component:$tag"
    done
}

deploy() {
    require kubectl
    bash "$root/scripts/fetch-tools.sh"
    local tag
    tag="$(image_tag)"
    echo "kind.sh: installing release $release (images $IMAGE_PREFIX/*:$tag) into namespace $namespace"
    helm upgrade --install "$release" "$root/deploy/helm/pr-reviewer" \
        --kube-context "$context" \
        --namespace "$namespace" --create-namespace \
        --values "$root/tests/e2e/values-kind.yaml" \
        --set "image.tag=$tag" \
        --set "receiver.image.repository=$IMAGE_PREFIX/receiver" \
        --set "operator.image.repository=$IMAGE_PREFIX/operator" \
        --set "reviewer.image.repository=$IMAGE_PREFIX/reviewer" \
        --set "github.apiUrl=http://e2e-fake-github.$namespace.svc:8080" \
        --wait --timeout 5m
    helm test "$release" --kube-context "$context" --namespace "$namespace" --timeout 2m
}

kind_down() {
    require kind
    kind delete cluster --name "$cluster"
}

case "${1:-}" in
    kind-up) kind_up ;;
    kind-load) kind_load ;;
    deploy) deploy ;;
    kind-down) kind_down ;;
    *)
        echo "usage: $0 kind-up|kind-load|deploy|kind-down" >&2
        exit 2
        ;;
esac
