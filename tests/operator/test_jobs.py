import json

from pr_operator.config import OperatorConfig
from pr_operator.jobs import build_job, job_name, repository_label

SECRET_VALUES = ("ghp_realtoken123", "sk-llm-key-456", "-----BEGIN PRIVATE KEY-----")

RESOURCE = {
    "apiVersion": "prreviewer.io/v1alpha1",
    "kind": "PullRequestReview",
    "metadata": {"name": "octo-app-7-abc1234", "namespace": "reviews", "uid": "uid-123"},
    "spec": {
        "repository": "octo/app",
        "prNumber": 7,
        "headSha": "a" * 40,
        "baseRef": "main",
        "baseSha": "b" * 40,
        "cloneUrl": "https://github.example/octo/app.git",
        "installationId": 99,
        "deliveryId": "d-1",
        "action": "opened",
    },
}

CONFIG = OperatorConfig(
    namespace="reviews",
    reviewer_image="registry.example/pr-reviewer:1.2",
    reviewer_image_pull_policy="Always",
    active_deadline_seconds=900,
    backoff_limit=2,
    ttl_seconds_after_finished=600,
    github_secret_name="gh-secret",
    llm_secret_name="llm-secret",
    reviewer_env_configmap="reviewer-env",
)


def container(job):
    return job["spec"]["template"]["spec"]["containers"][0]


def env_of(job):
    return {item["name"]: item for item in container(job)["env"]}


def test_job_name_is_resource_and_attempt():
    assert job_name("octo-app-7-abc1234", 2) == "octo-app-7-abc1234-2"


def test_long_job_name_is_hashed_to_63_characters():
    first = job_name("r" * 100 + "-one", 1)
    second = job_name("r" * 100 + "-two", 1)

    assert len(first) == 63
    assert first.endswith("-1")
    assert first != second


def test_repository_label_replaces_slash():
    assert repository_label("octo/app.js") == "octo.app.js"


def test_job_metadata_links_the_review():
    job = build_job(RESOURCE, 1, CONFIG)
    metadata = job["metadata"]

    assert metadata["name"] == "octo-app-7-abc1234-1"
    assert metadata["namespace"] == "reviews"
    assert metadata["ownerReferences"] == [{
        "apiVersion": "prreviewer.io/v1alpha1",
        "kind": "PullRequestReview",
        "name": "octo-app-7-abc1234",
        "uid": "uid-123",
        "controller": True,
        "blockOwnerDeletion": True,
    }]
    assert metadata["labels"]["prreviewer.io/repository"] == "octo.app"
    assert metadata["labels"]["prreviewer.io/pr"] == "7"
    assert metadata["labels"]["prreviewer.io/review"] == "octo-app-7-abc1234"
    assert metadata["labels"]["app.kubernetes.io/component"] == "review-job"
    assert job["spec"]["template"]["metadata"]["labels"] == metadata["labels"]


def test_job_spec_limits_and_retries():
    spec = build_job(RESOURCE, 1, CONFIG)["spec"]

    assert spec["activeDeadlineSeconds"] == 900
    assert spec["backoffLimit"] == 2
    assert spec["ttlSecondsAfterFinished"] == 600
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["podFailurePolicy"]["rules"] == [
        {"action": "FailJob", "onExitCodes": {"containerName": "reviewer", "operator": "In", "values": [64]}},
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
    ]


def test_container_runs_the_reviewer_image():
    job = build_job(RESOURCE, 1, CONFIG)

    assert container(job)["image"] == "registry.example/pr-reviewer:1.2"
    assert container(job)["imagePullPolicy"] == "Always"
    assert container(job)["command"] == ["pr-review-job"]
    assert container(job)["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert container(job)["envFrom"] == [{"configMapRef": {"name": "reviewer-env", "optional": True}}]


def test_environment_comes_from_the_spec():
    env = env_of(build_job(RESOURCE, 1, CONFIG))

    assert env["PR_REVIEW_REPOSITORY"] == {"name": "PR_REVIEW_REPOSITORY", "value": "octo/app"}
    assert env["PR_REVIEW_PR_NUMBER"]["value"] == "7"
    assert env["PR_REVIEW_HEAD_SHA"]["value"] == "a" * 40
    assert env["PR_REVIEW_BASE_REF"]["value"] == "main"
    assert env["PR_REVIEW_BASE_SHA"]["value"] == "b" * 40
    assert env["PR_REVIEW_CLONE_URL"]["value"] == "https://github.example/octo/app.git"
    assert env["PR_REVIEW_INSTALLATION_ID"]["value"] == "99"
    assert env["PR_REVIEW_WORKDIR"]["value"] == "/work"
    assert env["PR_REVIEW_TERMINATION_LOG"]["value"] == "/dev/termination-log"


def test_absent_spec_fields_are_left_out():
    resource = {**RESOURCE, "spec": {k: v for k, v in RESOURCE["spec"].items() if k != "installationId"}}

    assert "PR_REVIEW_INSTALLATION_ID" not in env_of(build_job(resource, 1, CONFIG))


def test_secrets_come_only_from_secret_refs():
    env = env_of(build_job(RESOURCE, 1, CONFIG))

    expected = {
        "GITHUB_TOKEN": ("gh-secret", "token"),
        "GITHUB_APP_ID": ("gh-secret", "app-id"),
        "GITHUB_APP_PRIVATE_KEY": ("gh-secret", "private-key"),
        "PR_REVIEW_LLM_API_KEY": ("llm-secret", "api-key"),
    }
    for variable, (secret, key) in expected.items():
        assert "value" not in env[variable]
        assert env[variable]["valueFrom"] == {"secretKeyRef": {"name": secret, "key": key, "optional": True}}


def test_manifest_holds_no_secret_value(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", SECRET_VALUES[0])
    monkeypatch.setenv("PR_REVIEW_LLM_API_KEY", SECRET_VALUES[1])
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY", SECRET_VALUES[2])

    text = json.dumps(build_job(RESOURCE, 1, OperatorConfig.from_env({"REVIEW_NAMESPACE": "reviews"})))

    for value in SECRET_VALUES:
        assert value not in text


def test_pod_is_locked_down():
    pod = build_job(RESOURCE, 1, CONFIG)["spec"]["template"]["spec"]
    security = container({"spec": {"template": {"spec": pod}}})["securityContext"]

    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}


def test_work_and_tmp_are_empty_dirs():
    job = build_job(RESOURCE, 1, CONFIG)
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container(job)["volumeMounts"]}

    assert mounts == {"/work": "work", "/tmp": "tmp"}
    assert volumes["work"] == {"name": "work", "emptyDir": {}}
    assert volumes["tmp"] == {"name": "tmp", "emptyDir": {}}


def test_default_resources_are_requested():
    resources = container(build_job(RESOURCE, 1, OperatorConfig()))["resources"]

    assert resources == {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}


def test_configured_resources_are_requested():
    config = OperatorConfig.from_env({
        "REVIEWER_CPU_REQUEST": "250m", "REVIEWER_CPU_LIMIT": "500m",
        "REVIEWER_MEMORY_REQUEST": "512Mi", "REVIEWER_MEMORY_LIMIT": "1Gi",
    })

    resources = container(build_job(RESOURCE, 1, config))["resources"]

    assert resources == {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "500m", "memory": "1Gi"}}
