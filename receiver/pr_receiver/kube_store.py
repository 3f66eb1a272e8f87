"""The review store backed by the Kubernetes API, through the official client.

Every call carries ``_request_timeout`` and the client does not retry on its own, so one
API call takes at most ``KUBE_API_TIMEOUT_SECONDS`` and the webhook responds to GitHub in time.
"""

import json
import logging
import os
from typing import Any, cast

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from pr_receiver.store import (
    QueueCounts,
    ReviewExists,
    ReviewRejected,
    StoreUnavailable,
    cancelled_status,
    is_cancellable,
    is_waiting,
    job_is_active,
)
from prreview_api import GROUP, LABEL_COMPONENT, LABEL_PR, LABEL_REPOSITORY, PLURAL, REVIEW_JOB_COMPONENT, VERSION
from prreview_api.names import pr_label_value, repository_label_value

logger = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
API_MESSAGE_MAX_LENGTH = 1000  # a 422 message quotes the invalid values, which can be long
CANCEL_ATTEMPTS = 3  # a 409 here means the operator changed the resource in between; re-read and decide again


def kubernetes_api_client() -> client.ApiClient:
    """Return an API client from ``KUBECONFIG`` (or ~/.kube/config), or the pod's service account in a cluster."""
    configuration = client.Configuration()
    kubeconfig = os.environ.get("KUBECONFIG")
    if os.environ.get("KUBERNETES_SERVICE_HOST") and not kubeconfig:
        config.load_incluster_config(client_configuration=configuration)
    else:
        # Passed explicitly: the client reads KUBECONFIG once, when it is first imported.
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)

    # urllib3 would otherwise retry failed connections three times, multiplying the timeout.
    configuration.retries = False
    return client.ApiClient(configuration)


class KubernetesReviewStore:
    """PullRequestReview resources and review Jobs in one namespace."""

    def __init__(self, api_client: client.ApiClient, namespace: str, timeout_seconds: float) -> None:
        self.namespace = namespace
        self._api_client = api_client
        self._custom = client.CustomObjectsApi(api_client)
        self._batch = client.BatchV1Api(api_client)
        self._timeout = (timeout_seconds, timeout_seconds)

    def create_review(self, body: dict[str, Any]) -> None:
        try:
            self._custom.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, body, _request_timeout=self._timeout
            )
        except ApiException as error:
            if error.status == 409:
                raise ReviewExists(body["metadata"]["name"]) from None
            if error.status == 422:
                raise ReviewRejected(_api_message(error)) from None
            raise _unavailable("create", error) from None
        except urllib3.exceptions.HTTPError as error:
            raise _unavailable("create", error) from None

    def read_review(self, name: str) -> dict[str, Any] | None:
        try:
            return self._get(name)
        except _NotFound:
            return None

    def delete_review(self, name: str, uid: str) -> None:
        # The uid precondition keeps a replica from deleting a resource another replica just created.
        options = client.V1DeleteOptions(
            propagation_policy="Background", preconditions=client.V1Preconditions(uid=uid)
        )
        try:
            self._custom.delete_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name, body=options, _request_timeout=self._timeout
            )
        except ApiException as error:
            if error.status in (404, 409):
                return  # gone already, or replaced: the caller reads it again
            raise _unavailable(f"delete {self.namespace}/{name}", error) from None
        except urllib3.exceptions.HTTPError as error:
            raise _unavailable(f"delete {self.namespace}/{name}", error) from None

    def cancel_reviews(self, repository: str, pr_number: int, reason: str, message: str) -> list[str]:
        # NOTE: one list plus one patch per pending review, each up to the timeout; a PR with many
        # pending reviews and a slow API server can exceed GitHub's 10 s wait.
        cancelled = []
        for resource in self._list_reviews(repository, pr_number):
            name = resource["metadata"]["name"]
            if self._cancel(resource, reason, message):
                cancelled.append(name)
        return cancelled

    def queue_counts(self, timeout_seconds: float | None = None) -> QueueCounts:
        timeout = self._timeout if timeout_seconds is None else (timeout_seconds, timeout_seconds)
        resources = self._list_custom(label_selector=None, timeout=timeout)
        jobs = self._list_review_jobs(timeout)
        return QueueCounts(
            queue_size=sum(1 for resource in resources if is_waiting(resource)),
            active_workers=sum(1 for job in jobs if job_is_active(job)),
        )

    def check_connection(self, timeout_seconds: float | None = None) -> None:
        timeout = self._timeout if timeout_seconds is None else (timeout_seconds, timeout_seconds)
        self._list_custom(label_selector=None, limit=1, timeout=timeout)

    def _list_reviews(self, repository: str, pr_number: int) -> list[dict[str, Any]]:
        selector = f"{LABEL_REPOSITORY}={repository_label_value(repository)},{LABEL_PR}={pr_label_value(pr_number)}"
        resources = self._list_custom(label_selector=selector)

        # Shortened label values can in principle collide, so the spec has the last word.
        return [
            resource for resource in resources
            if str(resource.get("spec", {}).get("repository", "")).lower() == repository.lower()
            and resource.get("spec", {}).get("prNumber") == pr_number
        ]

    def _cancel(self, listed: dict[str, Any], reason: str, message: str) -> bool:
        name = listed["metadata"]["name"]
        resource: dict[str, Any] | None = listed
        for _ in range(CANCEL_ATTEMPTS):
            if resource is None or not is_cancellable(resource):
                return False
            patch = {
                "metadata": {"resourceVersion": resource["metadata"]["resourceVersion"]},
                "status": cancelled_status(reason, message),
            }
            try:
                self._custom.patch_namespaced_custom_object_status(
                    GROUP, VERSION, self.namespace, PLURAL, name, patch,
                    _request_timeout=self._timeout, _content_type=MERGE_PATCH,
                )
                return True
            except ApiException as error:
                if error.status == 404:
                    return False
                if error.status != 409:
                    raise _unavailable(f"cancel {self.namespace}/{name}", error) from None
            except urllib3.exceptions.HTTPError as error:
                raise _unavailable(f"cancel {self.namespace}/{name}", error) from None
            resource = self.read_review(name)
        raise StoreUnavailable(
            f"Kubernetes API request to cancel {self.namespace}/{name} failed: "
            f"the resource changed during each of {CANCEL_ATTEMPTS} attempts"
        )

    def _get(self, name: str) -> dict[str, Any]:
        try:
            resource = self._custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name, _request_timeout=self._timeout
            )
            return cast(dict[str, Any], resource)
        except ApiException as error:
            if error.status == 404:
                raise _NotFound(name) from None
            raise _unavailable(f"read {self.namespace}/{name}", error) from None
        except urllib3.exceptions.HTTPError as error:
            raise _unavailable(f"read {self.namespace}/{name}", error) from None

    def _list_custom(
        self, label_selector: str | None, limit: int | None = None, timeout: tuple[float, float] | None = None
    ) -> list[dict[str, Any]]:
        # NOTE: lists are not paginated; one namespace's reviews are assumed to fit in one response.
        try:
            listing = self._custom.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL,
                label_selector=label_selector, limit=limit, _request_timeout=timeout or self._timeout,
            )
        except (ApiException, urllib3.exceptions.HTTPError) as error:
            raise _unavailable(f"list {PLURAL}", error) from None
        items: list[dict[str, Any]] = cast(dict[str, Any], listing).get("items") or []
        return items

    def _list_review_jobs(self, timeout: tuple[float, float]) -> list[dict[str, Any]]:
        try:
            listing = self._batch.list_namespaced_job(
                self.namespace,
                label_selector=f"{LABEL_COMPONENT}={REVIEW_JOB_COMPONENT}",
                _request_timeout=timeout,
            )
        except (ApiException, urllib3.exceptions.HTTPError) as error:
            raise _unavailable("list review Jobs", error) from None
        jobs: list[dict[str, Any]] = [self._api_client.sanitize_for_serialization(job) for job in listing.items]
        return jobs


class _NotFound(Exception):
    pass


def _api_message(error: ApiException) -> str:
    """Return the ``message`` of the API's Status response, shortened; the request's own values are in it."""
    try:
        status = json.loads(error.body or "")
    except (TypeError, ValueError):
        status = None
    message = status.get("message") if isinstance(status, dict) else None
    if not isinstance(message, str) or not message:
        return f"HTTP {error.status} {error.reason}"
    if len(message) > API_MESSAGE_MAX_LENGTH:
        return message[:API_MESSAGE_MAX_LENGTH] + "..."
    return message


def _unavailable(operation: str, error: Exception) -> StoreUnavailable:
    """Describe an API failure without the response body, which may echo the request."""
    if isinstance(error, ApiException):
        return StoreUnavailable(f"Kubernetes API request to {operation} failed: HTTP {error.status} {error.reason}")
    return StoreUnavailable(f"Kubernetes API request to {operation} failed: {type(error).__name__}: {error}")
