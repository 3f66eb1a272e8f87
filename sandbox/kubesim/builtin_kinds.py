"""Defaulting and validation for the built-in kinds, where clients depend on what the real API fills in."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .errors import FieldCause, bad_request

_JOB_RESTART_POLICIES = ("OnFailure", "Never")


def _default_containers(containers: list[dict[str, Any]]) -> None:
    for container in containers:
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        image = str(container.get("image", ""))
        has_tag = ":" in image.rsplit("/", 1)[-1] or "@" in image
        pinned = has_tag and not image.endswith(":latest")
        container.setdefault("imagePullPolicy", "IfNotPresent" if pinned else "Always")


def _default_pod_spec(spec: dict[str, Any], restart_policy: str) -> None:
    spec.setdefault("restartPolicy", restart_policy)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount", "default"))
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    _default_containers(spec.get("containers") or [])
    _default_containers(spec.get("initContainers") or [])


def _check_containers(spec: dict[str, Any], path: str) -> list[FieldCause]:
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        return [FieldCause("FieldValueRequired", f"{path}.containers", "Required value")]
    return [
        FieldCause("FieldValueRequired", f"{path}.containers[{index}].name", "Required value")
        for index, container in enumerate(containers)
        if not isinstance(container, dict) or not container.get("name")
    ]


def prepare_pod(pod: dict[str, Any]) -> list[FieldCause]:
    spec = pod.setdefault("spec", {})
    causes = _check_containers(spec, "spec")
    _default_pod_spec(spec, "Always")
    return causes


def prepare_job(job: dict[str, Any], uid: str) -> list[FieldCause]:
    """Default a new Job as batch/v1 does: counts, backoff limit, selector and the pod template's labels."""
    spec = job.setdefault("spec", {})
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    template = spec.setdefault("template", {})
    pod_spec = template.setdefault("spec", {})
    causes = _check_containers(pod_spec, "spec.template.spec")
    if pod_spec.get("restartPolicy") not in _JOB_RESTART_POLICIES:
        message = 'Required value: valid values: "OnFailure", "Never"'
        causes.append(FieldCause("FieldValueRequired", "spec.template.spec.restartPolicy", message))
    _default_pod_spec(pod_spec, "Never")

    name = job["metadata"]["name"]
    controller_labels = {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
    }
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        template_metadata = template.setdefault("metadata", {})
        template_metadata["labels"] = {**(template_metadata.get("labels") or {}), **controller_labels}
    metadata = job["metadata"]
    if not metadata.get("labels"):
        metadata["labels"] = dict(template.get("metadata", {}).get("labels") or {})
    return causes


def prepare_namespace(namespace: dict[str, Any]) -> list[FieldCause]:
    namespace.setdefault("spec", {})["finalizers"] = ["kubernetes"]
    namespace["status"] = {"phase": "Active"}
    labels = namespace["metadata"].setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = namespace["metadata"]["name"]
    return []


def prepare_secret(secret: dict[str, Any]) -> list[FieldCause]:
    """Fold ``stringData`` into base64 ``data`` and reject ``data`` values that are not base64."""
    secret.setdefault("type", "Opaque")
    data = secret.get("data") or {}
    for key, value in data.items():
        try:
            base64.b64decode(str(value), validate=True)
        except binascii.Error as error:
            raise bad_request(f"illegal base64 data in Secret key {key!r}: {error}") from error
    for key, value in (secret.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    if data:
        secret["data"] = data
    return []
