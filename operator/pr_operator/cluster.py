"""The operator's Kubernetes API calls: reviews, review Jobs, their pods, and Events."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import UTC, datetime
from typing import Any

from pr_operator import status as status_patch
from pr_operator.jobs import REVIEW_JOB_SELECTOR
from pr_operator.kube import JSON_PATCH, TRANSPORT_ERRORS, ApiError, Conflict, KubeClient
from prreview_api import GROUP, PLURAL, VERSION

logger = logging.getLogger(__name__)

REPORTING_COMPONENT = "prreviewer.io/pr-operator"


class StatusConflict(Exception):
    """The resource's status changed after it was read; the write was not applied."""


class Cluster:
    """The API calls for one namespace."""

    def __init__(self, client: KubeClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self._instance = os.environ.get("HOSTNAME") or socket.gethostname()

    def _reviews_path(self, name: str = "") -> str:
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{self.namespace}/{PLURAL}"
        return f"{base}/{name}" if name else base

    def _jobs_path(self, name: str = "") -> str:
        base = f"/apis/batch/v1/namespaces/{self.namespace}/jobs"
        return f"{base}/{name}" if name else base

    async def list_reviews(self) -> list[dict[str, Any]]:
        return await self.client.list(self._reviews_path())

    async def get_review(self, name: str) -> dict[str, Any]:
        return await self.client.get(self._reviews_path(name))

    async def delete_review(self, name: str) -> None:
        await self.client.delete(self._reviews_path(name))

    async def patch_review_status(
        self, resource: dict[str, Any], changes: status_patch.StatusChanges
    ) -> dict[str, Any]:
        """Apply ``changes`` to the status; raise :class:`StatusConflict` if it changed since ``resource`` was read."""
        operations = status_patch.patch_operations(resource, changes)
        path = self._reviews_path(resource["metadata"]["name"]) + "/status"
        try:
            return await self.client.request("PATCH", path, body=operations, content_type=JSON_PATCH)
        except Conflict as error:
            raise StatusConflict(str(error)) from error
        except ApiError as error:
            # A failed JSON patch "test" operation is reported as 422 with the word "test" in the message.
            if error.status == 422 and "test" in str(error).lower():
                raise StatusConflict(str(error)) from error
            raise

    async def list_review_jobs(self) -> list[dict[str, Any]]:
        return await self.client.list(self._jobs_path(), label_selector=REVIEW_JOB_SELECTOR)

    async def get_job(self, name: str) -> dict[str, Any]:
        return await self.client.get(self._jobs_path(name))

    async def create_job(self, manifest: dict[str, Any]) -> dict[str, Any]:
        return await self.client.create(self._jobs_path(), manifest)

    async def delete_job(self, name: str) -> None:
        await self.client.delete(self._jobs_path(name), propagation="Background")

    async def list_job_pods(self, job_name: str) -> list[dict[str, Any]]:
        path = f"/api/v1/namespaces/{self.namespace}/pods"
        return await self.client.list(path, label_selector=f"job-name={job_name}")

    async def post_event(self, resource: dict[str, Any], reason: str, message: str, warning: bool = False) -> None:
        """Record a Kubernetes Event on ``resource``; a failure is logged, never raised, because Events are advisory."""
        metadata = resource["metadata"]
        now = status_patch.timestamp(datetime.now(UTC))
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{metadata['name'][:200]}.{secrets.token_hex(8)}", "namespace": self.namespace},
            "involvedObject": {
                "apiVersion": resource.get("apiVersion", f"{GROUP}/{VERSION}"),
                "kind": resource.get("kind", ""),
                "name": metadata["name"],
                "namespace": self.namespace,
                "uid": metadata.get("uid", ""),
                "resourceVersion": metadata.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message[:1024],
            "type": "Warning" if warning else "Normal",
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": {"component": "pr-operator"},
            "reportingComponent": REPORTING_COMPONENT,
            "reportingInstance": self._instance,
        }
        try:
            await self.client.create(f"/api/v1/namespaces/{self.namespace}/events", event)
        except (ApiError, *TRANSPORT_ERRORS) as error:
            logger.warning("Could not post event %s on %s/%s: %s", reason, self.namespace, metadata["name"], error)
