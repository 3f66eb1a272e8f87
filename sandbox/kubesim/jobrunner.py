"""Run batch/v1 Jobs as local processes, acting as the Job controller, scheduler and kubelet of a sandbox.

The runner watches Jobs through the API and, for each one, runs the first container's ``command`` +
``args`` as a local process, one pod object per attempt. It writes pod and Job status the way the
Job controller does: ``active``, ``startTime``, ``succeeded``/``failed``, ``completionTime`` and the
``Complete``/``Failed`` conditions with reasons ``BackoffLimitExceeded``, ``DeadlineExceeded`` and
``PodFailurePolicy``. It honours ``activeDeadlineSeconds``, ``backoffLimit``, the exit-code and
condition rules of ``podFailurePolicy`` and ``ttlSecondsAfterFinished``, and it kills the process
when the Job is deleted. It has no concurrency limit of its own, so whatever creates Jobs decides
how many run.

Pod processes run in their own session and outlive a runner killed with SIGKILL, as containers
outlive a kubelet. A restarted runner adopts a pod whose process still runs, and takes the recorded
exit status of one that ended meanwhile (see ``kubesim.podprocess``). A pod whose process is gone
without a status is marked Failed with reason ContainerStatusUnknown, and the Job's backoff decides.

Stand-ins for the container runtime: every ``emptyDir`` mount gets a temp dir, and env values equal
to (or below) a mount path are rewritten to it; ``terminationMessagePath`` and
``PR_REVIEW_TERMINATION_LOG`` point to a temp file. The process gets ``PATH`` from the runner, so
the command resolves to the project's virtualenv when the runner runs from it. No other variable
of the runner's environment reaches the process.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import errno
import logging
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubesim.podprocess import (
    AdoptedProcess,
    ProcessIdentity,
    identity_of,
    is_running,
    kill_group,
    recorded_exit_code,
    recorded_identity,
    wrapped_argv,
)
from pr_operator.kube import TRANSPORT_ERRORS, ApiError, Gone, KubeClient, NotFound

logger = logging.getLogger(__name__)

DEFAULT_TERMINATION_PATH = "/dev/termination-log"
MAX_MESSAGE_BYTES = 4096  # the kubelet's limit on a termination message
FALLBACK_LOG_BYTES = 2048  # FallbackToLogsOnError: the log tail, at most 2048 bytes or 80 lines
FALLBACK_LOG_LINES = 80
NODE_NAME = "kubesim-node"
# Pod annotations through which a restarted runner finds the process and the files of a running pod.
SANDBOX_ANNOTATION = "kubesim.io/sandbox"
PID_ANNOTATION = "kubesim.io/pid"
START_TICKS_ANNOTATION = "kubesim.io/process-start-ticks"

Object = dict[str, Any]
PodProcess = asyncio.subprocess.Process | AdoptedProcess


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- decisions -------------------------------------------------------------------------------------------


class PodConfigError(Exception):
    """The pod's environment cannot be built: a referenced Secret, ConfigMap or key is missing."""


def pod_failure_action(job: Object, exit_code: int, container_name: str, pod_conditions: list[Object]) -> str:
    """Return ``FailJob``, ``Ignore`` or ``Count`` for a failed pod, by the Job's ``podFailurePolicy`` rules.

    Rules are tried in order and the first match wins; without a match the failure counts toward backoffLimit.
    """
    rules = ((job.get("spec") or {}).get("podFailurePolicy") or {}).get("rules") or []
    for rule in rules:
        if _rule_matches(rule, exit_code, container_name, pod_conditions):
            return str(rule.get("action", "Count"))
    return "Count"


def _rule_matches(rule: Object, exit_code: int, container_name: str, pod_conditions: list[Object]) -> bool:
    on_codes = rule.get("onExitCodes")
    if on_codes:
        if on_codes.get("containerName") not in (None, container_name):
            return False
        values = set(on_codes.get("values") or [])
        inside = exit_code in values
        return inside if on_codes.get("operator", "In") == "In" else (not inside and exit_code != 0)

    for pattern in rule.get("onPodConditions") or []:
        for condition in pod_conditions:
            same_status = condition.get("status") == pattern.get("status", "True")
            if condition.get("type") == pattern.get("type") and same_status:
                return True
    return False


def termination_message(message_file: Path, log_file: Path, exit_code: int, policy: str) -> str:
    """Return what the kubelet would put in ``state.terminated.message``."""
    message = ""
    with contextlib.suppress(OSError):
        message = message_file.read_bytes()[:MAX_MESSAGE_BYTES].decode("utf-8", "replace")

    if message or exit_code == 0 or policy != "FallbackToLogsOnError":
        return message

    try:
        data = log_file.read_bytes()
    except OSError:
        return ""
    lines = data.splitlines()[-FALLBACK_LOG_LINES:]
    return b"\n".join(lines)[-FALLBACK_LOG_BYTES:].decode("utf-8", "replace")


def rewrite_mount_paths(value: str, mounts: Mapping[str, Path]) -> str:
    """Rewrite a container path inside an emptyDir mount to the temp dir that replaces the mount."""
    for mount_path, local in mounts.items():
        if value == mount_path:
            return str(local)
        if value.startswith(mount_path.rstrip("/") + "/"):
            return str(local) + value[len(mount_path.rstrip("/")):]
    return value


# -- the runner ------------------------------------------------------------------------------------------


@dataclass
class RunnerSettings:
    retry_delay_seconds: float = 0.2  # the Job controller backs off 10 s, doubling; a sandbox needs no wait
    max_grace_seconds: float = 5.0
    log_dir: Path | None = None  # keep each pod's output here; by default it goes with the pod's temp dir


class JobRunner:
    """Watch the Jobs of one namespace (all namespaces if ``namespace`` is empty) and run each one."""

    def __init__(self, client: KubeClient, namespace: str = "", settings: RunnerSettings | None = None) -> None:
        self.client = client
        self.namespace = namespace
        self.settings = settings or RunnerSettings()
        self._executions: dict[str, asyncio.Task[None]] = {}

    def _jobs_path(self) -> str:
        if self.namespace:
            return f"/apis/batch/v1/namespaces/{self.namespace}/jobs"
        return "/apis/batch/v1/jobs"

    async def run(self) -> None:
        """List and watch Jobs until cancelled; on cancellation, kill every process it started."""
        try:
            while True:
                try:
                    await self._list_and_watch()
                except Gone:
                    continue
                except (ApiError, *TRANSPORT_ERRORS) as error:
                    logger.warning("Watching Jobs failed, retrying in 1 s: %s", error)
                    await asyncio.sleep(1.0)
        finally:
            await self.stop_all()

    async def stop_all(self) -> None:
        tasks = list(self._executions.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._executions.clear()

    async def _list_and_watch(self) -> None:
        jobs, version = await self.client.list_with_version(self._jobs_path())
        for job in jobs:
            self._job_seen(job)
        async for event in self.client.watch(self._jobs_path(), version, timeout_seconds=300):
            job = event.get("object") or {}
            if job.get("kind") != "Job":
                continue  # a BOOKMARK, or an object of another kind that a faulty server sent on this watch
            if event.get("type") == "DELETED":
                self._job_gone(job)
            elif event.get("type") in ("ADDED", "MODIFIED"):
                self._job_seen(job)

    def _job_seen(self, job: Object) -> None:
        uid = job["metadata"].get("uid", "")
        if job["metadata"].get("deletionTimestamp"):
            self._job_gone(job)
            return
        if uid in self._executions or _job_is_finished(job):
            return

        execution = JobExecution(self.client, job, self.settings)
        task = asyncio.create_task(execution.run(), name=f"job {job['metadata']['name']}")
        self._executions[uid] = task

    def _job_gone(self, job: Object) -> None:
        task = self._executions.get(job["metadata"].get("uid", ""))
        if task is not None and not task.done():
            logger.info("Job %s was deleted; stopping its pod.", _qualified(job))
            task.cancel()


def _job_is_finished(job: Object) -> bool:
    return any(
        condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True"
        for condition in (job.get("status") or {}).get("conditions") or []
    )


def _qualified(obj: Object) -> str:
    return f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"


@dataclass
class PodResult:
    exit_code: int
    message: str
    deadline_exceeded: bool = False
    conditions: tuple[Object, ...] = ()


class JobExecution:
    """Run one Job to its end: pods one after another until success, a FailJob rule, backoffLimit or the deadline."""

    def __init__(self, client: KubeClient, job: Object, settings: RunnerSettings) -> None:
        self.client = client
        self.job = job
        self.settings = settings
        self.name = job["metadata"]["name"]
        self.namespace = job["metadata"]["namespace"]
        self.spec = job.get("spec") or {}
        self._pods: list[str] = []

    @property
    def _job_path(self) -> str:
        return f"/apis/batch/v1/namespaces/{self.namespace}/jobs/{self.name}"

    @property
    def _pods_path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/pods"

    async def run(self) -> None:
        try:
            await self._run_to_end()
        except asyncio.CancelledError:
            await self._delete_pods()
            raise
        except NotFound:
            logger.info("Job %s/%s is gone; its execution ends.", self.namespace, self.name)
        except (ApiError, *TRANSPORT_ERRORS) as error:
            logger.error("Job %s/%s stopped: an API call failed: %s", self.namespace, self.name, error)

    async def _run_to_end(self) -> None:
        loop = asyncio.get_running_loop()
        status = self.job.get("status") or {}
        deadline = self._deadline(status.get("startTime"))
        backoff_limit = int(self.spec.get("backoffLimit", 6))
        failed = int(status.get("failed") or 0)
        deadline_text = "Job was active longer than specified deadline"
        if not status.get("startTime"):
            await self._patch_job_status({"startTime": now_text(), "active": 0, "failed": 0, "succeeded": 0})

        # A runner that restarts finds the pods of the runner before it, as a kubelet keeps its containers.
        resumed = await self._resume_last_pod(deadline)
        while True:
            result = resumed or await self._run_pod(deadline)
            resumed = None
            if result.deadline_exceeded:
                await self._finish(False, "DeadlineExceeded", deadline_text, failed + 1)
                break
            if result.exit_code == 0:
                await self._finish(True, "", "", failed)
                break

            action = pod_failure_action(self.job, result.exit_code, self._container["name"], list(result.conditions))
            if action == "FailJob":
                message = (
                    f"Container {self._container['name']} for pod {self.namespace}/{self._pods[-1]} failed with "
                    f"exit code {result.exit_code} matching FailJob rule"
                )
                await self._finish(False, "PodFailurePolicy", message, failed + 1)
                break
            if action != "Ignore":
                failed += 1
            if failed > backoff_limit:
                await self._finish(False, "BackoffLimitExceeded", "Job has reached the specified backoff limit", failed)
                break

            await self._patch_job_status({"active": 0, "failed": failed})
            await asyncio.sleep(self.settings.retry_delay_seconds)
            if deadline is not None and loop.time() >= deadline:
                await self._finish(False, "DeadlineExceeded", deadline_text, failed)
                break

        await self._expire_after_ttl()

    @property
    def _container(self) -> Object:
        return self.spec["template"]["spec"]["containers"][0]

    def _deadline(self, start_time: str | None) -> float | None:
        """Return the loop time of activeDeadlineSeconds, counted from the Job's startTime if it has one."""
        deadline_seconds = self.spec.get("activeDeadlineSeconds")
        if not deadline_seconds:
            return None
        elapsed = 0.0
        if start_time:
            started = datetime.strptime(start_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            elapsed = max(0.0, (datetime.now(UTC) - started).total_seconds())
        return asyncio.get_running_loop().time() + float(deadline_seconds) - elapsed

    # -- after a restart -----------------------------------------------------------------------------------

    async def _resume_last_pod(self, deadline: float | None) -> PodResult | None:
        """Adopt or reap the pod an earlier runner left for this Job; return its result, or None to start a pod.

        Pods run one after another, so at most one is not yet Succeeded or Failed. Failed pods were
        already counted in the Job's ``failed``, so without an unfinished or Succeeded pod the Job
        goes on with a new pod.
        """
        uid = self.job["metadata"].get("uid", "")
        pods = await self.client.list(self._pods_path, label_selector=f"controller-uid={uid}")
        self._pods.extend(pod["metadata"]["name"] for pod in pods)

        phases = {pod["metadata"]["name"]: (pod.get("status") or {}).get("phase") for pod in pods}
        unfinished = [pod for pod in pods if phases[pod["metadata"]["name"]] not in ("Succeeded", "Failed")]
        if unfinished:
            # The adopted pod goes last, because a FailJob message names the newest pod.
            self._pods.remove(unfinished[0]["metadata"]["name"])
            self._pods.append(unfinished[0]["metadata"]["name"])
            return await self._adopt_pod(unfinished[0], deadline)
        # NOTE: a runner killed between a pod's failure and the Job's status update loses that one failure count.
        succeeded = [pod for pod in pods if phases[pod["metadata"]["name"]] == "Succeeded"]
        return PodResult(0, _terminated_message(succeeded[0])) if succeeded else None

    async def _adopt_pod(self, pod: Object, deadline: float | None) -> PodResult:
        pod_name = pod["metadata"]["name"]
        annotations = pod["metadata"].get("annotations") or {}
        folder = Path(annotations.get(SANDBOX_ANNOTATION, "/nonexistent"))
        identity = _annotated_identity(annotations) or recorded_identity(folder)
        started = (pod.get("status") or {}).get("startTime") or now_text()

        if identity is not None and is_running(identity):
            logger.info(
                "Pod %s/%s of Job %s is still running (pid %d); this runner adopts it.",
                self.namespace, pod_name, self.name, identity.pid,
            )
            sandbox = PodSandbox(folder, self._container, self.spec["template"]["spec"], self.settings.log_dir)
            try:
                return await self._watch_process(pod_name, sandbox, AdoptedProcess(identity, folder), started, deadline)
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        exit_code = recorded_exit_code(folder)
        if exit_code is not None:
            sandbox = PodSandbox(folder, self._container, self.spec["template"]["spec"], self.settings.log_dir)
            logger.info("Pod %s/%s of Job %s ended while no runner watched it.", self.namespace, pod_name, self.name)
            return await self._pod_exited(pod_name, sandbox, exit_code, started)

        # The kubelet reports a container it can no longer find this way, and the Job counts a failure.
        message = "The container could not be located when the pod was terminated"
        logger.warning("Pod %s/%s of Job %s has no process left: %s.", self.namespace, pod_name, self.name, message)
        await self._set_pod_terminated(pod_name, started, 137, message, reason="ContainerStatusUnknown")
        shutil.rmtree(folder, ignore_errors=True)
        return PodResult(137, message)

    async def _finish(self, succeeded: bool, reason: str, message: str, failed: int) -> None:
        now = now_text()
        status: Object = {"active": 0, "failed": failed, "succeeded": 1 if succeeded else 0}
        if succeeded:
            status["completionTime"] = now
            status["conditions"] = [_condition("Complete", "", "", now)]
            logger.info("Job %s/%s completed.", self.namespace, self.name)
        else:
            status["conditions"] = [_condition("Failed", reason, message, now)]
            logger.info("Job %s/%s failed: %s (%s).", self.namespace, self.name, reason, message)
        await self._patch_job_status(status)

    async def _expire_after_ttl(self) -> None:
        ttl = self.spec.get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        await asyncio.sleep(float(ttl))
        with contextlib.suppress(NotFound):
            await self.client.delete(self._job_path, propagation="Background")
            logger.info("Job %s/%s deleted %s s after it finished.", self.namespace, self.name, ttl)
        await self._delete_pods()

    async def _patch_job_status(self, status: Object) -> None:
        await self.client.merge_patch(self._job_path + "/status", {"status": status})

    async def _delete_pods(self) -> None:
        for pod in self._pods:
            with contextlib.suppress(ApiError, *TRANSPORT_ERRORS):
                await self.client.delete(f"{self._pods_path}/{pod}", propagation="Background")

    # -- one pod -------------------------------------------------------------------------------------------

    async def _run_pod(self, deadline: float | None) -> PodResult:
        pod_name = f"{self.name[:57]}-{secrets.token_hex(3)[:5]}"
        folder = Path(tempfile.mkdtemp(prefix=f"kubesim-{pod_name}-"))
        try:
            await self._create_pod(pod_name, folder)
            await self._patch_job_status({"active": 1})
            sandbox = PodSandbox(folder, self._container, self.spec["template"]["spec"], self.settings.log_dir)
            return await self._start_and_watch(pod_name, sandbox, deadline)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    async def _start_and_watch(self, pod_name: str, sandbox: PodSandbox, deadline: float | None) -> PodResult:
        environment = await self._wait_for_environment(pod_name, sandbox, deadline)
        if environment is None:
            return await self._pod_deadline_exceeded(pod_name, sandbox, started=None)

        started = now_text()
        try:
            process = await sandbox.start(environment)
        except (PodConfigError, OSError) as error:
            # A container runtime reports a command it cannot run as exit code 128, reason StartError.
            logger.warning("Pod %s/%s could not start its command: %s", self.namespace, pod_name, error)
            await self._set_pod_terminated(pod_name, started, 128, str(error), reason="StartError")
            return PodResult(128, str(error))

        logger.info(
            "Pod %s/%s of Job %s runs %s (pid %d).",
            self.namespace, pod_name, self.name, " ".join(sandbox.argv), process.pid,
        )
        await self._record_process(pod_name, process.pid)
        await self._set_pod_running(pod_name, started, process.pid)
        return await self._watch_process(pod_name, sandbox, process, started, deadline)

    async def _watch_process(
        self, pod_name: str, sandbox: PodSandbox, process: PodProcess, started: str, deadline: float | None
    ) -> PodResult:
        timeout = None if deadline is None else max(0.0, deadline - asyncio.get_running_loop().time())
        try:
            returncode = await asyncio.wait_for(process.wait(), timeout=timeout)
        except TimeoutError:
            await sandbox.kill(process, self._grace_seconds())
            return await self._pod_deadline_exceeded(pod_name, sandbox, started)
        except asyncio.CancelledError:
            await sandbox.kill(process, self._grace_seconds())
            raise

        # The wrapper records the command's own return code; its exit status is only the fallback.
        recorded = recorded_exit_code(sandbox.root)
        return await self._pod_exited(pod_name, sandbox, recorded if recorded is not None else returncode, started)

    async def _pod_exited(self, pod_name: str, sandbox: PodSandbox, returncode: int, started: str) -> PodResult:
        exit_code = _container_exit_code(returncode)
        sandbox.keep_log()
        message = termination_message(sandbox.message_file, sandbox.log_file, exit_code, sandbox.message_policy)
        await self._set_pod_terminated(pod_name, started, exit_code, message)
        logger.info("Pod %s/%s exited with code %d.", self.namespace, pod_name, exit_code)
        shutil.rmtree(sandbox.root, ignore_errors=True)
        return PodResult(exit_code, message)

    async def _record_process(self, pod_name: str, pid: int) -> None:
        identity = identity_of(pid)
        annotations = {PID_ANNOTATION: str(pid)}
        if identity is not None:
            annotations[START_TICKS_ANNOTATION] = str(identity.start_ticks)
        with contextlib.suppress(NotFound):
            await self.client.merge_patch(f"{self._pods_path}/{pod_name}", {"metadata": {"annotations": annotations}})

    def _grace_seconds(self) -> float:
        grace = float(self.spec["template"]["spec"].get("terminationGracePeriodSeconds", 30))
        return min(grace, self.settings.max_grace_seconds)

    async def _wait_for_environment(
        self, pod_name: str, sandbox: PodSandbox, deadline: float | None
    ) -> dict[str, str] | None:
        # Like the kubelet, keep the pod waiting (CreateContainerConfigError) until the reference resolves.
        loop = asyncio.get_running_loop()
        reported = ""
        while True:
            try:
                return await sandbox.environment(self.client, self.namespace, pod_name)
            except PodConfigError as error:
                if str(error) != reported:
                    reported = str(error)
                    logger.warning("Pod %s/%s cannot start: %s", self.namespace, pod_name, error)
                    await self._set_pod_waiting(pod_name, "CreateContainerConfigError", reported)
            if deadline is not None and loop.time() >= deadline:
                return None
            await asyncio.sleep(1.0)

    async def _pod_deadline_exceeded(self, pod_name: str, sandbox: PodSandbox, started: str | None) -> PodResult:
        message = termination_message(sandbox.message_file, sandbox.log_file, 137, sandbox.message_policy)
        await self._set_pod_terminated(pod_name, started or now_text(), 137, message, reason="DeadlineExceeded")
        return PodResult(137, message, deadline_exceeded=True)

    async def _create_pod(self, pod_name: str, folder: Path) -> Object:
        template = self.spec["template"]
        metadata = self.job["metadata"]
        uid = metadata.get("uid", "")
        labels = {
            **((template.get("metadata") or {}).get("labels") or {}),
            "job-name": self.name,
            "controller-uid": uid,
            "batch.kubernetes.io/job-name": self.name,
            "batch.kubernetes.io/controller-uid": uid,
        }
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "namespace": self.namespace,
                "labels": labels,
                "annotations": {
                    **((template.get("metadata") or {}).get("annotations") or {}),
                    SANDBOX_ANNOTATION: str(folder),
                },
                "ownerReferences": [{
                    "apiVersion": "batch/v1", "kind": "Job", "name": self.name, "uid": uid,
                    "controller": True, "blockOwnerDeletion": True,
                }],
            },
            "spec": {**template["spec"], "nodeName": NODE_NAME},
        }
        created = await self.client.create(self._pods_path, pod)
        self._pods.append(created["metadata"]["name"])
        await self._patch_pod_status(created["metadata"]["name"], {
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now_text()}],
        })
        return created

    async def _set_pod_waiting(self, pod_name: str, reason: str, message: str) -> None:
        await self._patch_pod_status(pod_name, {"containerStatuses": [
            self._container_status({"waiting": {"reason": reason, "message": message}}, ready=False)
        ]})

    async def _set_pod_running(self, pod_name: str, started: str, pid: int) -> None:
        status = self._container_status({"running": {"startedAt": started}}, ready=True)
        status["containerID"] = f"kubesim://{pid}"
        await self._patch_pod_status(pod_name, {
            "phase": "Running",
            "startTime": started,
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
                {"type": "Ready", "status": "True", "lastTransitionTime": started},
            ],
            "containerStatuses": [status],
        })

    async def _set_pod_terminated(
        self, pod_name: str, started: str, exit_code: int, message: str, reason: str = ""
    ) -> None:
        finished = now_text()
        terminated = {
            "exitCode": exit_code,
            "reason": reason or ("Completed" if exit_code == 0 else "Error"),
            "message": message,
            "startedAt": started,
            "finishedAt": finished,
        }
        await self._patch_pod_status(pod_name, {
            "phase": "Succeeded" if exit_code == 0 and not reason else "Failed",
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
                {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": finished},
            ],
            "containerStatuses": [self._container_status({"terminated": terminated}, ready=False)],
        })

    def _container_status(self, state: Object, ready: bool) -> Object:
        return {
            "name": self._container["name"],
            "image": self._container.get("image", ""),
            "imageID": "",
            "ready": ready,
            "started": ready,
            "restartCount": 0,
            "state": state,
        }

    async def _patch_pod_status(self, pod_name: str, status: Object) -> None:
        with contextlib.suppress(NotFound):
            await self.client.merge_patch(f"{self._pods_path}/{pod_name}/status", {"status": status})


def _condition(kind: str, reason: str, message: str, now: str) -> Object:
    condition: Object = {"type": kind, "status": "True", "lastProbeTime": now, "lastTransitionTime": now}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _terminated_message(pod: Object) -> str:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated")
        if terminated:
            return str(terminated.get("message") or "")
    return ""


def _annotated_identity(annotations: Mapping[str, str]) -> ProcessIdentity | None:
    try:
        return ProcessIdentity(int(annotations[PID_ANNOTATION]), int(annotations[START_TICKS_ANNOTATION]))
    except (KeyError, ValueError):
        return None


def _container_exit_code(returncode: int) -> int:
    # A process killed by a signal reports -signum; a container runtime reports 128 + signum.
    return 128 - returncode if returncode < 0 else returncode


class PodSandbox:
    """The local stand-in for one pod's container: temp dirs for emptyDir mounts, env, log and termination file."""

    def __init__(self, root: Path, container: Object, pod_spec: Object, log_dir: Path | None) -> None:
        self.root = root
        self.container = container
        self.pod_spec = pod_spec
        empty_dirs = {v["name"] for v in pod_spec.get("volumes") or [] if "emptyDir" in v}
        self.mounts: dict[str, Path] = {}
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") in empty_dirs:
                local = root / "volumes" / mount["name"]
                local.mkdir(parents=True, exist_ok=True)
                self.mounts[mount["mountPath"]] = local

        self.message_path = container.get("terminationMessagePath") or DEFAULT_TERMINATION_PATH
        self.message_policy = container.get("terminationMessagePolicy") or "File"
        self.message_file = root / "termination-log"
        self.message_file.touch()
        self.log_file = root / "output.log"
        self._log_copy_dir = log_dir
        self.argv: list[str] = []

    async def environment(self, client: KubeClient, namespace: str, pod_name: str) -> dict[str, str]:
        """Build the process environment: ``envFrom``, then ``env`` (which wins), resolved from the API."""
        resolver = _ReferenceResolver(client, namespace)
        declared: dict[str, str] = {}
        for source in self.container.get("envFrom") or []:
            declared.update(await resolver.env_from(source))
        for item in self.container.get("env") or []:
            value = await resolver.env_value(item, pod_name, namespace)
            if value is not None:
                declared[item["name"]] = value

        # Only the Job's own values name container paths; PATH and the other host values stay as they are.
        env: dict[str, str] = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "HOSTNAME": pod_name,
            "LANG": "C.UTF-8",
        }
        if "/tmp" in self.mounts:  # noqa: S108 - the container path that the tmp emptyDir stands in for
            env["TMPDIR"] = str(self.mounts["/tmp"])  # noqa: S108
        for name, value in declared.items():
            local = str(self.message_file) if value == self.message_path else rewrite_mount_paths(value, self.mounts)
            env[name] = local
        env["PR_REVIEW_TERMINATION_LOG"] = str(self.message_file)
        return env

    async def start(self, env: dict[str, str]) -> asyncio.subprocess.Process:
        command = list(self.container.get("command") or [])
        args = list(self.container.get("args") or [])
        if not command:
            raise PodConfigError("the container has no command; the runner has no image entrypoints to fall back to")

        # The wrapper would only report a missing command after it started, so look the command up here.
        executable = shutil.which(command[0], path=env.get("PATH"))
        if executable is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), command[0])
        self.argv = [executable, *command[1:], *args]
        working_dir = self.container.get("workingDir")
        cwd = rewrite_mount_paths(working_dir, self.mounts) if working_dir else str(self.root)
        # A session of its own keeps the pod alive when the runner is killed, as containers outlive a kubelet.
        with self.log_file.open("wb") as log:
            return await asyncio.create_subprocess_exec(
                *wrapped_argv(self.root, self.argv), env=env, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
            )

    async def kill(self, process: PodProcess, grace_seconds: float) -> None:
        """Stop the process group: SIGTERM, then SIGKILL after the grace period, like the kubelet."""
        for signal_number, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 5.0)):
            if process.returncode is not None:
                break
            kill_group(process.pid, signal_number)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), timeout=wait)
        self.keep_log()

    def keep_log(self) -> None:
        if self._log_copy_dir is not None:
            self._log_copy_dir.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                shutil.copyfile(self.log_file, self._log_copy_dir / f"{self.root.name}.log")


class _ReferenceResolver:
    def __init__(self, client: KubeClient, namespace: str) -> None:
        self._client = client
        self._namespace = namespace
        self._cache: dict[tuple[str, str], Object | None] = {}

    async def _read(self, kind: str, name: str) -> Object | None:
        key = (kind, name)
        if key not in self._cache:
            try:
                self._cache[key] = await self._client.get(f"/api/v1/namespaces/{self._namespace}/{kind}/{name}")
            except NotFound:
                self._cache[key] = None
        return self._cache[key]

    async def _data(self, kind: str, name: str, optional: bool) -> dict[str, str] | None:
        obj = await self._read(kind, name)
        if obj is None:
            if optional:
                return None
            singular = "secret" if kind == "secrets" else "configmap"
            raise PodConfigError(f'{singular} "{name}" not found')
        if kind == "secrets":
            return {key: base64.b64decode(value).decode("utf-8") for key, value in (obj.get("data") or {}).items()}
        return {key: str(value) for key, value in (obj.get("data") or {}).items()}

    async def env_from(self, source: Object) -> dict[str, str]:
        prefix = source.get("prefix", "")
        for field, kind in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
            reference = source.get(field)
            if reference:
                data = await self._data(kind, reference["name"], bool(reference.get("optional")))
                return {prefix + key: value for key, value in (data or {}).items()}
        return {}

    async def env_value(self, item: Object, pod_name: str, namespace: str) -> str | None:
        if "value" in item:
            return str(item["value"])
        source = item.get("valueFrom") or {}
        for field, kind in (("secretKeyRef", "secrets"), ("configMapKeyRef", "configmaps")):
            reference = source.get(field)
            if reference:
                return await self._key(kind, reference)
        field_path = (source.get("fieldRef") or {}).get("fieldPath")
        if field_path == "metadata.name":
            return pod_name
        if field_path == "metadata.namespace":
            return namespace
        # NOTE: other fieldRef paths and resourceFieldRef are not resolved; the variable is left unset.
        return None

    async def _key(self, kind: str, reference: Object) -> str | None:
        optional = bool(reference.get("optional"))
        data = await self._data(kind, reference["name"], optional)
        if data is None:
            return None
        if reference["key"] not in data:
            if optional:
                return None
            raise PodConfigError(f"couldn't find key {reference['key']} in {kind[:-1]} {reference['name']}")
        return data[reference["key"]]


# -- command line ----------------------------------------------------------------------------------------


async def _run_until_signalled(runner: JobRunner) -> None:
    task = asyncio.create_task(runner.run())
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await runner.client.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m kubesim.jobrunner",
        description="Run the Jobs of a kubesim API server as local processes (a sandbox, not a cluster).",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig of the API server (default: $KUBECONFIG)")
    parser.add_argument("--namespace", default="", help="namespace to watch (default: all namespaces)")
    parser.add_argument("--log-dir", type=Path, help="keep each pod's output in this folder")
    parser.add_argument(
        "--retry-delay", type=float, default=0.2, help="seconds between a failed pod and its retry (default: 0.2)"
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=arguments.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    client = KubeClient.from_kubeconfig(arguments.kubeconfig)
    settings = RunnerSettings(retry_delay_seconds=arguments.retry_delay, log_dir=arguments.log_dir)
    asyncio.run(_run_until_signalled(JobRunner(client, arguments.namespace, settings)))


if __name__ == "__main__":
    main()
