"""What the rendered chart must contain: contract environment, pod security, RBAC, NetworkPolicies, Secrets."""

from __future__ import annotations

import base64
import io
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from prreview_api import CRD_NAME, LABEL_COMPONENT, REVIEW_JOB_COMPONENT
from tests.chart.conftest import CHART, NAMESPACE, RELEASE, ROOT, Manifest, Render, container_env, find, helm_template

PREFIX = RELEASE  # the release name contains the chart name, so it is the whole name prefix
RECEIVER = f"{PREFIX}-receiver"
OPERATOR = f"{PREFIX}-operator"
REVIEW_JOBS_POLICY = f"{PREFIX}-review-jobs"
REVIEWER_ENV = f"{PREFIX}-reviewer-env"
INLINE_SECRETS = (
    "inline-webhook-secret-value",
    "inline-app-private-key-value",
    "inline-llm-api-key-value",
)


def kinds_and_names(manifests: list[Manifest]) -> list[tuple[str, str]]:
    return sorted((m["kind"], m["metadata"]["name"]) for m in manifests)


def pod_spec(manifest: Manifest) -> Manifest:
    spec: Manifest = manifest["spec"]["template"]["spec"] if manifest["kind"] == "Deployment" else manifest["spec"]
    return spec


def role_rules(role: Manifest) -> set[tuple[str, str, str]]:
    """Flatten a Role's rules into (apiGroup, resource, verb) triples."""
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def egress_ports(policy: Manifest) -> set[tuple[str, int]]:
    return {(port["protocol"], port["port"]) for rule in policy["spec"]["egress"] for port in rule.get("ports", [])}


def names_a_credential(variable: str) -> bool:
    """Tell whether an environment variable contains a credential (GITHUB_SECRET_NAME only names a Secret)."""
    words = ("SECRET", "TOKEN", "KEY", "PASSWORD")
    return any(word in variable for word in words) and not variable.endswith("_NAME")


def decoded_secret_values(manifests: list[Manifest]) -> dict[str, str]:
    return {
        f"{m['metadata']['name']}/{key}": base64.b64decode(value).decode()
        for m in manifests
        if m["kind"] == "Secret"
        for key, value in m["data"].items()
    }


def test_default_render_has_expected_objects(render: Render) -> None:
    assert kinds_and_names(render()) == [
        ("ClusterRole", f"{NAMESPACE}-{OPERATOR}"),
        ("ClusterRoleBinding", f"{NAMESPACE}-{OPERATOR}"),
        ("ConfigMap", REVIEWER_ENV),
        ("Deployment", OPERATOR),
        ("Deployment", RECEIVER),
        ("NetworkPolicy", OPERATOR),
        ("NetworkPolicy", RECEIVER),
        ("NetworkPolicy", REVIEW_JOBS_POLICY),
        ("Pod", f"{PREFIX}-receiver-test"),
        ("PodDisruptionBudget", RECEIVER),
        ("Role", OPERATOR),
        ("Role", RECEIVER),
        ("RoleBinding", OPERATOR),
        ("RoleBinding", RECEIVER),
        ("Secret", f"{PREFIX}-github"),
        ("Secret", f"{PREFIX}-llm"),
        ("Secret", f"{PREFIX}-webhook"),
        ("Service", RECEIVER),
        ("ServiceAccount", OPERATOR),
        ("ServiceAccount", RECEIVER),
    ]


def test_operator_runs_one_replica_with_recreate(render: Render) -> None:
    for values in ((), ("values-production.yaml",)):
        operator = find(render(*values), "Deployment", OPERATOR)

        assert operator["spec"]["replicas"] == 1
        assert operator["spec"]["strategy"] == {"type": "Recreate"}


def test_operator_env_matches_contract(render: Render) -> None:
    env = container_env(find(render(), "Deployment", OPERATOR))

    assert {name: variable.get("value") for name, variable in env.items()} == {
        "REVIEW_NAMESPACE": NAMESPACE,
        "MAX_ACTIVE_REVIEWS": "3",
        "MAX_ACTIVE_REVIEWS_PER_REPOSITORY": "0",
        "REVIEWER_IMAGE": "pr-reviewer/reviewer:0.1.0",
        "REVIEWER_IMAGE_PULL_POLICY": "IfNotPresent",
        "REVIEW_ACTIVE_DEADLINE_SECONDS": "1800",
        "REVIEW_BACKOFF_LIMIT": "2",
        "REVIEW_TTL_SECONDS_AFTER_FINISHED": "3600",
        "REVIEW_RETENTION_SECONDS": "604800",
        "REVIEWER_CPU_REQUEST": "1",
        "REVIEWER_CPU_LIMIT": "2",
        "REVIEWER_MEMORY_REQUEST": "2Gi",
        "REVIEWER_MEMORY_LIMIT": "4Gi",
        "GITHUB_SECRET_NAME": f"{PREFIX}-github",
        "LLM_SECRET_NAME": f"{PREFIX}-llm",
        "REVIEWER_ENV_CONFIGMAP": REVIEWER_ENV,
        "RECONCILE_INTERVAL_SECONDS": "30",
        "OPERATOR_LIVENESS_ENDPOINT": "http://0.0.0.0:8080/healthz",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def test_operator_verbose_adds_flag(render: Render) -> None:
    default = pod_spec(find(render(), "Deployment", OPERATOR))["containers"][0]
    verbose = pod_spec(find(render(sets=("operator.verbose=true",)), "Deployment", OPERATOR))["containers"][0]

    assert "args" not in default
    assert verbose["args"] == ["--verbose"]


def test_operator_env_follows_production_values(render: Render) -> None:
    env = container_env(find(render("values-production.yaml"), "Deployment", OPERATOR))

    assert env["MAX_ACTIVE_REVIEWS"]["value"] == "8"
    assert env["MAX_ACTIVE_REVIEWS_PER_REPOSITORY"]["value"] == "2"
    assert env["REVIEWER_IMAGE"]["value"] == "pr-reviewer/reviewer:1.2.3"
    assert env["REVIEWER_IMAGE_PULL_POLICY"]["value"] == "Always"
    assert env["REVIEW_ACTIVE_DEADLINE_SECONDS"]["value"] == "900"
    assert env["REVIEW_BACKOFF_LIMIT"]["value"] == "1"
    assert env["REVIEWER_CPU_REQUEST"]["value"] == "500m"
    assert env["REVIEWER_MEMORY_LIMIT"]["value"] == "2Gi"
    assert env["GITHUB_SECRET_NAME"]["value"] == "pr-reviewer-github-app"
    assert env["LLM_SECRET_NAME"]["value"] == "pr-reviewer-llm-key"


def test_receiver_env_matches_contract(render: Render) -> None:
    env = container_env(find(render(), "Deployment", RECEIVER))

    assert env.pop("WEBHOOK_SECRET") == {
        "name": "WEBHOOK_SECRET",
        "valueFrom": {"secretKeyRef": {"name": f"{PREFIX}-webhook", "key": "webhook-secret"}},
    }
    assert {name: variable["value"] for name, variable in env.items()} == {
        "REVIEW_NAMESPACE": NAMESPACE,
        "ALLOWED_REPOSITORIES": "",
        "REVIEW_ACTIONS": "opened,synchronize,reopened,ready_for_review",
        "REVIEW_DRAFTS": "false",
        "MAX_BODY_BYTES": "26214400",
        "KUBE_API_TIMEOUT_SECONDS": "3",
        "MAX_ACTIVE_REVIEWS": "3",
        "RECEIVER_THREADS": "8",
        "LOG_LEVEL": "INFO",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def test_receiver_env_lists_allowed_repositories(render: Render) -> None:
    env = container_env(find(render("values-production.yaml"), "Deployment", RECEIVER))

    assert env["ALLOWED_REPOSITORIES"]["value"] == "octo-org/service-a,octo-org/service-b"
    assert env["WEBHOOK_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "pr-reviewer-webhook"


def test_receiver_probes_health_and_ready(render: Render) -> None:
    container = pod_spec(find(render(), "Deployment", RECEIVER))["containers"][0]

    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}


@pytest.mark.parametrize(
    ("kind", "name"),
    [("Deployment", RECEIVER), ("Deployment", OPERATOR), ("Pod", f"{PREFIX}-receiver-test")],
)
def test_pods_meet_restricted_security(render: Render, kind: str, name: str) -> None:
    spec = pod_spec(find(render(), kind, name))
    container = spec["containers"][0]

    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 10001
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["limits"]["memory"]


def test_review_job_policy_allows_only_dns_and_https(render: Render) -> None:
    policy = find(render(), "NetworkPolicy", REVIEW_JOBS_POLICY)

    assert policy["spec"]["podSelector"] == {"matchLabels": {LABEL_COMPONENT: REVIEW_JOB_COMPONENT}}
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["ingress"] == []
    assert egress_ports(policy) == {("UDP", 53), ("TCP", 53), ("TCP", 443)}
    assert all("to" not in rule for rule in policy["spec"]["egress"])


def test_review_job_policy_adds_extra_egress_rules(render: Render) -> None:
    policy = find(render("values-production.yaml"), "NetworkPolicy", REVIEW_JOBS_POLICY)

    assert egress_ports(policy) == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 8000)}
    assert policy["spec"]["egress"][-1]["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "llm"}}}
    ]


def test_receiver_policy_admits_only_its_port(render: Render) -> None:
    policy = find(render(), "NetworkPolicy", RECEIVER)

    assert policy["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8080}]}]
    assert egress_ports(policy) == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 6443)}


def test_network_policies_can_be_disabled(render: Render) -> None:
    kinds = {manifest["kind"] for manifest in render("values-inline-secrets.yaml")}

    assert "NetworkPolicy" not in kinds


def test_receiver_role_grants_only_its_calls(render: Render) -> None:
    assert role_rules(find(render(), "Role", RECEIVER)) == {
        ("prreviewer.io", "prreviews", "create"),
        ("prreviewer.io", "prreviews", "delete"),
        ("prreviewer.io", "prreviews", "get"),
        ("prreviewer.io", "prreviews", "list"),
        ("prreviewer.io", "prreviews/status", "patch"),
        ("batch", "jobs", "list"),
    }


def test_operator_cluster_role_only_watches(render: Render) -> None:
    cluster_role = find(render(), "ClusterRole", f"{NAMESPACE}-{OPERATOR}")

    assert role_rules(cluster_role) == {
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
        ("", "namespaces", "list"),
        ("", "namespaces", "watch"),
    }


def test_role_bindings_name_the_release_namespace(render: Render) -> None:
    manifests = render()
    bindings = (
        ("RoleBinding", RECEIVER, RECEIVER),
        ("RoleBinding", OPERATOR, OPERATOR),
        ("ClusterRoleBinding", f"{NAMESPACE}-{OPERATOR}", OPERATOR),
    )
    for kind, name, service_account in bindings:
        binding = find(manifests, kind, name)

        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": service_account, "namespace": NAMESPACE}]
        assert binding["roleRef"]["name"] == name


def test_reviewer_configmap_has_job_settings(render: Render) -> None:
    assert find(render(), "ConfigMap", REVIEWER_ENV)["data"] == {
        "PR_REVIEW_LANGUAGE": "en",
        "PR_REVIEW_TOP_N": "50",
        "PR_REVIEW_BATCH_SIZE": "5",
        "PR_REVIEW_GITHUB_API_URL": "https://api.github.com",
        "PR_REVIEW_LLM_BASE_URL": "",
        "PR_REVIEW_LLM_MODEL": "",
        "PR_REVIEW_ANALYZERS": "secrets,ruff,bandit,shellcheck",
        "PR_REVIEW_MIN_SEVERITY": "low",
        "PR_REVIEW_FILTER_MODE": "added",
        "PR_REVIEW_DRY_RUN": "false",
        "PR_REVIEW_LOG_LEVEL": "INFO",
    }


def test_reviewer_configmap_follows_production_values(render: Render) -> None:
    data = find(render("values-production.yaml"), "ConfigMap", REVIEWER_ENV)["data"]

    assert data["PR_REVIEW_LANGUAGE"] == "zh-CN"
    assert data["PR_REVIEW_TOP_N"] == "20"
    assert data["PR_REVIEW_GITHUB_API_URL"] == "https://github.example.com/api/v3"
    assert data["PR_REVIEW_LLM_BASE_URL"] == "https://llm.example.com/v1"
    assert data["PR_REVIEW_LLM_MODEL"] == "review-model"
    assert data["PR_REVIEW_ANALYZERS"] == "secrets,ruff,bandit,shellcheck,llm"
    assert data["PR_REVIEW_MIN_SEVERITY"] == "medium"


def test_inline_secrets_appear_only_in_secrets(render: Render) -> None:
    manifests = render("values-inline-secrets.yaml")
    others = yaml.safe_dump_all([m for m in manifests if m["kind"] != "Secret"])

    for value in INLINE_SECRETS:
        assert value not in others
        assert base64.b64encode(value.encode()).decode() not in others
    values = decoded_secret_values(manifests)
    assert values[f"{PREFIX}-webhook/webhook-secret"] == "inline-webhook-secret-value"
    assert values[f"{PREFIX}-github/app-id"] == "123456"
    assert "inline-app-private-key-value" in values[f"{PREFIX}-github/private-key"]
    assert values[f"{PREFIX}-github/token"] == ""
    assert values[f"{PREFIX}-llm/api-key"] == "inline-llm-api-key-value"


@pytest.mark.parametrize("values", [(), ("values-production.yaml",), ("values-inline-secrets.yaml",)])
def test_deployments_read_secrets_only_by_reference(render: Render, values: tuple[str, ...]) -> None:
    for name in (RECEIVER, OPERATOR):
        for variable in container_env(find(render(*values), "Deployment", name)).values():
            if names_a_credential(variable["name"]):
                assert "value" not in variable, f"{name} sets {variable['name']} to a literal value"
                assert "secretKeyRef" in variable["valueFrom"]


def test_existing_secrets_are_not_created(render: Render) -> None:
    secrets = [m["metadata"]["name"] for m in render("values-production.yaml") if m["kind"] == "Secret"]

    assert secrets == []


def test_generated_webhook_secret_is_random(render: Render, helm: str) -> None:
    first = decoded_secret_values(render())[f"{PREFIX}-webhook/webhook-secret"]
    second_render = helm_template(helm, "--show-only", "templates/secrets.yaml")
    second = decoded_secret_values([d for d in yaml.safe_load_all(second_render.stdout) if d])

    assert len(first) == 40
    assert first.isalnum()
    assert second[f"{PREFIX}-webhook/webhook-secret"] != first


def test_token_auth_stores_the_token(render: Render) -> None:
    values = decoded_secret_values(render(sets=("github.token=ghp-test-token",)))

    assert values[f"{PREFIX}-github/token"] == "ghp-test-token"
    assert values[f"{PREFIX}-github/app-id"] == ""
    assert values[f"{PREFIX}-github/private-key"] == ""


def test_ingress_is_off_by_default(render: Render) -> None:
    assert "Ingress" not in {manifest["kind"] for manifest in render()}


def test_ingress_routes_only_the_webhook(render: Render) -> None:
    ingress = find(render("values-production.yaml"), "Ingress", RECEIVER)

    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["reviews.example.com"], "secretName": "reviews-example-com-tls"}]
    assert ingress["spec"]["rules"] == [
        {
            "host": "reviews.example.com",
            "http": {
                "paths": [
                    {
                        "path": "/webhook",
                        "pathType": "Exact",
                        "backend": {"service": {"name": RECEIVER, "port": {"name": "http"}}},
                    }
                ]
            },
        }
    ]


def test_ingress_without_host_matches_every_host(render: Render) -> None:
    ingress = find(render("values-inline-secrets.yaml"), "Ingress", RECEIVER)

    assert "host" not in ingress["spec"]["rules"][0]
    assert "tls" not in ingress["spec"]
    assert "ingressClassName" not in ingress["spec"]


def test_image_references_follow_tag_and_digest(render: Render) -> None:
    manifests = render("values-production.yaml")

    receiver = pod_spec(find(manifests, "Deployment", RECEIVER))["containers"][0]
    operator = pod_spec(find(manifests, "Deployment", OPERATOR))["containers"][0]
    assert receiver["image"] == "pr-reviewer/receiver@sha256:" + "0123456789abcdef" * 4
    assert operator["image"] == "pr-reviewer/operator:1.2.3"
    assert operator["imagePullPolicy"] == "Always"
    assert pod_spec(find(manifests, "Deployment", RECEIVER))["imagePullSecrets"] == [{"name": "registry-credentials"}]


def test_pod_disruption_budget_keeps_one_receiver(render: Render) -> None:
    budget = find(render(), "PodDisruptionBudget", RECEIVER)

    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"] == find(render(), "Deployment", RECEIVER)["spec"]["selector"]


def test_helm_test_pod_checks_receiver_health(render: Render) -> None:
    pod = find(render(), "Pod", f"{PREFIX}-receiver-test")

    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["containers"][0]["command"][-1] == f"http://{RECEIVER}.{NAMESPACE}.svc:80/health"


def test_crd_comes_from_the_project_crd(helm: str) -> None:
    chart_crd = CHART / "crds" / "prreviews.yaml"
    project_crd = ROOT / "crds" / "prreviews.yaml"

    assert chart_crd.resolve() == project_crd.resolve(), (
        "deploy/helm/pr-reviewer/crds/prreviews.yaml must be a symlink to ../../../../crds/prreviews.yaml"
    )
    rendered = helm_template(helm, "--include-crds")
    crds = [d for d in yaml.safe_load_all(rendered.stdout) if d and d["kind"] == "CustomResourceDefinition"]
    assert [crd["metadata"]["name"] for crd in crds] == [CRD_NAME]
    assert crds[0] == yaml.safe_load(project_crd.read_text())


def test_packaged_chart_contains_the_crd(helm: str, tmp_path: Path) -> None:
    subprocess.run([helm, "package", str(CHART), "-d", str(tmp_path)], check=True, capture_output=True, timeout=60)
    (archive,) = tmp_path.glob("pr-reviewer-*.tgz")

    with tarfile.open(archive) as bundle:
        member = bundle.extractfile("pr-reviewer/crds/prreviews.yaml")
        assert member is not None
        packaged = io.TextIOWrapper(member, encoding="utf-8").read()
    assert packaged == (ROOT / "crds" / "prreviews.yaml").read_text()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("maxActiveReviews=-1", "at '/maxActiveReviews': minimum: got -1, want 1"),
        ("maxActiveReviews=three", "at '/maxActiveReviews': got string, want integer"),
        ("maxActiveReviewsPerRepository=-1", "at '/maxActiveReviewsPerRepository': minimum: got -1, want 0"),
        ("review.language=fr", "at '/review/language': value must be one of 'en', 'zh-CN'"),
        ("review.minSeverity=severe", "at '/review/minSeverity': value must be one of 'info', 'low', 'medium'"),
        ("review.analyzers[0]=pylint", "at '/review/analyzers/0': value must be one of 'secrets', 'ruff'"),
        ("github.auth=oauth", "at '/github/auth': value must be one of 'token', 'app'"),
        ("github.apiUrl=ftp://example", "at '/github/apiUrl': 'ftp://example' does not match pattern"),
        ("image.pullPolicy=Sometimes", "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent'"),
        ("reviewJob.backoffLimit=-1", "at '/reviewJob/backoffLimit': minimum: got -1, want 0"),
        ("reviewJob.activeDeadlineSeconds=0", "at '/reviewJob/activeDeadlineSeconds': minimum: got 0, want 1"),
        ("reviewJob.resources.requests.cpu=null", "at '/reviewJob/resources/requests': missing property 'cpu'"),
        ("receiver.replicas=3", "at '/receiver': additional properties 'replicas' not allowed"),
        ("receiver.replicaCount=0", "at '/receiver/replicaCount': minimum: got 0, want 1"),
        ("allowedRepositories[0]=not-a-repo", "at '/allowedRepositories/0': 'not-a-repo' does not match pattern"),
        ("receiver.ingress.host=Bad_Host", "at '/receiver/ingress/host': 'Bad_Host' does not match pattern"),
    ],
)
def test_schema_rejects_invalid_value(helm: str, setting: str, message: str) -> None:
    result = helm_template(helm, "--set", setting)

    assert result.returncode == 1
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr


def test_schema_rejects_invalid_values_file(helm: str) -> None:
    result = helm_template(helm, "-f", str(Path(__file__).parent / "invalid-values.yaml"))

    assert result.returncode == 1
    assert "at '/maxActiveReviews': minimum: got -1, want 1" in result.stderr


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            ("github.auth=app", "github.appId=42"),
            "github.auth=app needs both github.appId and github.privateKey",
        ),
        (
            ("receiver.ingress.enabled=true", "receiver.ingress.tls.enabled=true", "receiver.ingress.tls.secretName=x"),
            "receiver.ingress.tls.enabled needs receiver.ingress.host",
        ),
        (
            ("receiver.ingress.enabled=true", "receiver.ingress.tls.enabled=true", "receiver.ingress.host=a.example"),
            "receiver.ingress.tls.enabled needs receiver.ingress.tls.secretName",
        ),
        (
            ("receiver.replicaCount=1",),
            "receiver.podDisruptionBudget.minAvailable (1) must be lower than receiver.replicaCount (1)",
        ),
    ],
)
def test_template_rejects_inconsistent_values(helm: str, settings: tuple[str, ...], message: str) -> None:
    args = [arg for setting in settings for arg in ("--set", setting)]
    result = helm_template(helm, *args)

    assert result.returncode == 1
    assert message in result.stderr


def install_notes(helm: str, *values_files: str) -> str:
    """Return the NOTES a client-side dry-run install prints; no cluster is contacted."""
    args = [arg for name in values_files for arg in ("-f", str(Path(__file__).parent / name))]
    command = [helm, "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.partition("NOTES:")[2]


def test_notes_never_print_secrets(helm: str) -> None:
    notes = install_notes(helm, "values-inline-secrets.yaml")

    for value in INLINE_SECRETS:
        assert value not in notes
    assert f"kubectl get secret {PREFIX}-webhook -n {NAMESPACE} -o jsonpath='{{.data.webhook-secret}}'" in notes
    assert f"kubectl get prreviews -n {NAMESPACE} -w" in notes


def test_notes_give_webhook_url(helm: str) -> None:
    notes = install_notes(helm, "values-production.yaml")

    assert "https://reviews.example.com/webhook" in notes
    assert "At most 8 review Jobs run at once, and at most 2 per repository." in notes
    assert "WARNING" not in notes


def test_notes_warn_without_github_credentials(helm: str) -> None:
    notes = install_notes(helm)

    assert "WARNING: no GitHub credentials are set, so every review will fail when it posts." in notes
    assert "The Ingress is off (receiver.ingress.enabled=false)" in notes
