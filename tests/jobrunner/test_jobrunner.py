import base64
import json
import os

from tests.jobrunner.conftest import NAMESPACE, Api, condition_of, wait_for

WRITE_RESULT = (
    "import json, os\n"
    "open(os.environ['PR_REVIEW_TERMINATION_LOG'], 'w').write(json.dumps({'phase': 'Succeeded', 'total': 2}))\n"
)


def finished(api: Api, name: str, kind: str, timeout: float = 15.0) -> dict:
    return wait_for(lambda: condition_of(api.job(name), kind) and api.job(name), timeout, f"Job {name} {kind}")


def process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running_pid(api: Api, job_name: str) -> int:
    def pid():
        for pod in api.pods(job_name):
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                if "running" in status["state"]:
                    return int(status["containerID"].removeprefix("kubesim://"))
        return None

    return wait_for(pid, what=f"a running pod of Job {job_name}")


def test_successful_job_completes(api, runner):
    api.create_job("ok", WRITE_RESULT)

    job = finished(api, "ok", "Complete")

    assert job["status"]["succeeded"] == 1
    assert job["status"]["active"] == 0
    assert job["status"]["startTime"]
    assert job["status"]["completionTime"]
    pods = api.pods("ok")
    assert len(pods) == 1
    pod = pods[0]
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["metadata"]["labels"]["job-name"] == "ok"
    assert pod["metadata"]["labels"]["controller-uid"] == job["metadata"]["uid"]
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0
    assert terminated["reason"] == "Completed"
    assert json.loads(terminated["message"]) == {"phase": "Succeeded", "total": 2}


def test_permanent_exit_fails_job_without_retry(api, runner):
    rule = {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [64]}}
    policy = {"rules": [rule]}
    api.create_job("permanent", "raise SystemExit(64)", backoffLimit=3, podFailurePolicy=policy)

    job = finished(api, "permanent", "Failed")

    assert condition_of(job, "Failed")["reason"] == "PodFailurePolicy"
    assert job["status"]["failed"] == 1
    assert len(api.pods("permanent")) == 1


def test_transient_exit_is_retried_up_to_backoff_limit(api, runner):
    api.create_job("transient", "raise SystemExit(75)", backoffLimit=2)

    job = finished(api, "transient", "Failed")

    assert condition_of(job, "Failed")["reason"] == "BackoffLimitExceeded"
    assert job["status"]["failed"] == 3
    pods = api.pods("transient")
    assert len(pods) == 3
    codes = [p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] for p in pods]
    assert codes == [75, 75, 75]


def test_ignored_exit_does_not_count(api, runner, tmp_path):
    marker = tmp_path / "first-run"
    script = (
        "import os, sys\n"
        f"m = {str(marker)!r}\n"
        "if not os.path.exists(m):\n"
        "    open(m, 'w').close(); sys.exit(3)\n"
    )
    policy = {"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [3]}}]}
    api.create_job("ignored", script, backoffLimit=0, podFailurePolicy=policy)

    job = finished(api, "ignored", "Complete")

    assert job["status"]["failed"] == 0
    assert len(api.pods("ignored")) == 2


def test_active_deadline_kills_the_process(api, runner):
    api.create_job("slow", "import time; time.sleep(60)", activeDeadlineSeconds=1)
    pid = running_pid(api, "slow")

    job = finished(api, "slow", "Failed")

    assert condition_of(job, "Failed")["reason"] == "DeadlineExceeded"
    assert not process_is_alive(pid)
    terminated = api.pods("slow")[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["reason"] == "DeadlineExceeded"


def test_finished_job_is_deleted_after_ttl(api, runner):
    api.create_job("short-lived", "pass", ttlSecondsAfterFinished=0)

    wait_for(lambda: api.job("short-lived") is None, what="the Job's deletion after its TTL")

    assert api.pods("short-lived") == []


def test_deleting_job_kills_the_process(api, runner):
    api.create_job("doomed", "import time; time.sleep(60)")
    pid = running_pid(api, "doomed")

    api.delete(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs/doomed")

    wait_for(lambda: not process_is_alive(pid), what=f"process {pid} to end")
    wait_for(lambda: api.pods("doomed") == [], what="the pods of the deleted Job to go")


def test_secret_and_configmap_environment_is_resolved(api, runner):
    api.create(f"/api/v1/namespaces/{NAMESPACE}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "gh"},
        "data": {"token": base64.b64encode(b"ghp_from_secret").decode()},
    })
    api.create(f"/api/v1/namespaces/{NAMESPACE}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
        "data": {"PR_REVIEW_LANGUAGE": "zh-CN", "PR_REVIEW_TOP_N": "5"},
    })
    script = (
        "import json, os\n"
        "keys = ['GITHUB_TOKEN', 'PR_REVIEW_LANGUAGE', 'PR_REVIEW_TOP_N', 'LITERAL', 'MISSING_OPTIONAL']\n"
        "values = {k: os.environ.get(k) for k in keys}\n"
        "values['workdir_is_writable'] = os.access(os.environ['PR_REVIEW_WORKDIR'], os.W_OK)\n"
        "values['workdir'] = os.environ['PR_REVIEW_WORKDIR']\n"
        "open(os.environ['PR_REVIEW_TERMINATION_LOG'], 'w').write(json.dumps(values))\n"
    )
    env = [
        {"name": "GITHUB_TOKEN", "valueFrom": {"secretKeyRef": {"name": "gh", "key": "token"}}},
        {"name": "MISSING_OPTIONAL", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k", "optional": True}}},
        {"name": "LITERAL", "value": "plain"},
        {"name": "PR_REVIEW_TOP_N", "value": "9"},
        {"name": "PR_REVIEW_WORKDIR", "value": "/work"},
    ]
    api.create_job("env", script, env=env, env_from=[{"configMapRef": {"name": "settings"}}])

    finished(api, "env", "Complete")

    message = api.pods("env")[0]["status"]["containerStatuses"][0]["state"]["terminated"]["message"]
    values = json.loads(message)
    assert values["GITHUB_TOKEN"] == "ghp_from_secret"
    assert values["PR_REVIEW_LANGUAGE"] == "zh-CN"
    assert values["PR_REVIEW_TOP_N"] == "9"  # env wins over envFrom
    assert values["LITERAL"] == "plain"
    assert values["MISSING_OPTIONAL"] is None
    assert values["workdir_is_writable"] is True
    assert values["workdir"] != "/work"


def test_missing_secret_keeps_pod_waiting(api, runner):
    env = [{"name": "GITHUB_TOKEN", "valueFrom": {"secretKeyRef": {"name": "nowhere", "key": "token"}}}]
    api.create_job("no-secret", "pass", env=env, activeDeadlineSeconds=2)

    def waiting_reason():
        for pod in api.pods("no-secret"):
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                if "waiting" in status["state"]:
                    return status["state"]["waiting"]
        return None

    waiting = wait_for(waiting_reason, what="the pod to wait for its Secret")
    assert waiting == {"reason": "CreateContainerConfigError", "message": 'secret "nowhere" not found'}
    job = finished(api, "no-secret", "Failed")
    assert condition_of(job, "Failed")["reason"] == "DeadlineExceeded"


def test_log_tail_replaces_empty_message_on_error(api, runner):
    api.create_job("crash", "print('first line'); print('boom: database on fire'); raise SystemExit(1)",
                   backoffLimit=0, message_policy="FallbackToLogsOnError")

    finished(api, "crash", "Failed")

    terminated = api.pods("crash")[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 1
    assert terminated["reason"] == "Error"
    assert terminated["message"] == "first line\nboom: database on fire"


def test_missing_command_fails_the_pod(api, runner):
    api.create_job("no-command", "", command=["no-such-command-on-path"], backoffLimit=0)

    job = finished(api, "no-command", "Failed")

    assert condition_of(job, "Failed")["reason"] == "BackoffLimitExceeded"
    terminated = api.pods("no-command")[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 128
    assert terminated["reason"] == "StartError"
    assert "no-such-command-on-path" in terminated["message"]


def test_pod_output_is_kept_in_log_dir(api, runner):
    api.create_job("logged", "print('hello from the pod'); raise SystemExit(1)", backoffLimit=0)

    finished(api, "logged", "Failed")

    logs = wait_for(lambda: [p for p in runner.glob("*.log") if "logged" in p.name], what="the pod's log file")
    assert logs[0].read_text() == "hello from the pod\n"
