"""The reconcile pass: the only code that changes review phases or creates and deletes review Jobs.

Why admission cannot exceed ``MAX_ACTIVE_REVIEWS``:

* Exactly one asyncio task (:meth:`Reconciler.run`) runs passes, and every pass runs inside
  ``Reconciler.lock``. kopf's handlers, which kopf may run concurrently, only call
  :meth:`Reconciler.request_pass`, which sets a flag; they never create Jobs.
* Each pass counts active Jobs from a fresh list of the API's review Jobs (label selector,
  active = neither ``Complete`` nor ``Failed``), never from memory, so a restarted operator
  counts the Jobs its previous process created.
* Job names are deterministic (``<review>-<attempt>``): a Job created just before the operator
  was killed is found again by name (a second create would get HTTP 409), and its review is
  re-linked to it instead of getting a second Job.
* The operator runs as one replica (kopf's peering is off, ``--standalone``). Two operator
  processes on one namespace could each admit up to the limit between their lists.

Pass order: queue new resources, supersede older pushes, delete Jobs whose review is final or gone,
follow running reviews (finish, re-link, detect a vanished Job), delete expired reviews, admit.

A Job that vanished under a ``Running`` review is re-queued once as a new attempt; if the Job of that
second attempt vanishes too, the review fails with reason ``JobMissing``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pr_operator import status as status_patch
from pr_operator.admission import ActiveJob, AdmissionPlan, QueuedReview, plan_admission
from pr_operator.cluster import Cluster, StatusConflict
from pr_operator.config import OperatorConfig
from pr_operator.jobs import build_job, job_name
from pr_operator.jobstate import (
    job_attempt,
    job_belongs_to,
    job_is_active,
    job_outcome,
    job_owner,
    pod_is_scheduled,
    termination_message,
    unschedulable_reason,
)
from pr_operator.kube import TRANSPORT_ERRORS, ApiError, Conflict, NotFound
from pr_operator.phases import Reason, check_transition, is_final
from pr_operator.results import outcome_from_job
from pr_operator.retention import expired_reviews
from pr_operator.supersede import ReviewHead, find_superseded
from prreview_api import LABEL_REVIEW, Phase

logger = logging.getLogger(__name__)

MAX_ATTEMPTS_AFTER_JOB_MISSING = 2
RETRY_DELAY_SECONDS = 1.0

Resource = dict[str, Any]


def describe(resource: Resource) -> str:
    """Return ``namespace/name PR #N in owner/repo`` for log lines."""
    metadata = resource["metadata"]
    spec = resource.get("spec") or {}
    resource_name = f"{metadata.get('namespace', '')}/{metadata['name']}"
    return f"[{resource_name}] PR #{spec.get('prNumber', '?')} in {spec.get('repository', '?')}"


def phase_of(resource: Resource) -> str | None:
    return (resource.get("status") or {}).get("phase")


def attempt_of(resource: Resource) -> int:
    return int((resource.get("status") or {}).get("attempt") or 1)


class Reconciler:
    def __init__(
        self, cluster: Cluster, config: OperatorConfig, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.cluster = cluster
        self.config = config
        self.lock = asyncio.Lock()
        self._clock = clock
        self._wake = asyncio.Event()

    def request_pass(self) -> None:
        """Ask for a pass as soon as the current one (if any) ends; repeated requests coalesce into one."""
        self._wake.set()

    async def run(self) -> None:
        """Run passes forever: on request, and every ``reconcile_interval_seconds`` as a safety net."""
        logger.info(
            "Reconciling reviews in namespace %s with at most %d active review Jobs.",
            self.config.namespace, self.config.max_active_reviews,
        )
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.reconcile_interval_seconds)
            self._wake.clear()
            await self._guarded_pass()

    async def _guarded_pass(self) -> None:
        try:
            async with self.lock:
                await self.reconcile_once()
        except (ApiError, *TRANSPORT_ERRORS) as error:
            # The API server is unreachable or failing: every step is idempotent, so the whole pass is retried.
            logger.warning("Reconcile pass failed, retrying in %.0f s: %s", RETRY_DELAY_SECONDS, error)
            await asyncio.sleep(RETRY_DELAY_SECONDS)
            self.request_pass()

    async def reconcile_once(self) -> None:
        now = self._clock()
        reviews = {resource["metadata"]["name"]: resource for resource in await self.cluster.list_reviews()}
        jobs = await self.cluster.list_review_jobs()

        await self._queue_new(reviews, now)
        await self._supersede(reviews, now)
        jobs = await self._stop_unowned_jobs(reviews, jobs)
        await self._follow_reviews(reviews, jobs, now)
        await self._delete_expired(reviews, now)
        await self._admit(reviews, jobs, now)

    async def transition(
        self, resource: Resource, changes: status_patch.StatusChanges, reason: str, message: str, warning: bool = False
    ) -> bool:
        """Patch the status and post an Event; on a concurrent status change, skip it and ask for another pass."""
        if "phase" in changes:
            check_transition(phase_of(resource), changes["phase"])

        try:
            updated = await self.cluster.patch_review_status(resource, changes)
        except StatusConflict:
            logger.info("%s changed while being updated; it is read again in the next pass.", describe(resource))
            self.request_pass()
            return False
        except NotFound:
            logger.info("%s was deleted while being updated.", describe(resource))
            return False

        resource.clear()
        resource.update(updated)
        if reason:
            await self.cluster.post_event(resource, reason, message, warning)
        return True

    async def _queue_new(self, reviews: dict[str, Resource], now: datetime) -> None:
        for resource in reviews.values():
            if phase_of(resource) is not None:
                continue

            spec = resource.get("spec") or {}
            message = f"queued review of PR #{spec.get('prNumber')} at head {str(spec.get('headSha', ''))[:12]}"
            changes = status_patch.queued(resource.get("status") or {}, now)
            if await self.transition(resource, changes, Reason.QUEUED, message):
                logger.info("%s queued for review.", describe(resource))

    async def _supersede(self, reviews: dict[str, Resource], now: datetime) -> None:
        heads = [_review_head(resource) for resource in reviews.values()]
        for supersession in find_superseded(heads):
            resource = reviews[supersession.older.name]
            newer = supersession.newer
            changes = status_patch.superseded(resource.get("status") or {}, newer.name, newer.head_sha, now)
            message = f"superseded by {newer.name} for the newer head {newer.head_sha[:12]}"
            if await self.transition(resource, changes, Reason.SUPERSEDED, message):
                logger.info("%s superseded by %s (head %s).", describe(resource), newer.name, newer.head_sha[:12])

    async def _stop_unowned_jobs(self, reviews: dict[str, Resource], jobs: list[Resource]) -> list[Resource]:
        """Delete active Jobs whose review is final, gone, or on a later attempt; return the Jobs that remain."""
        remaining = []
        for job in jobs:
            name = job["metadata"]["name"]
            owner = reviews.get(job_owner(job))
            if owner is not None and not job_belongs_to(job, owner):
                owner = None
            why = _why_job_is_unwanted(job, owner)
            if why is None:
                remaining.append(job)
                continue

            with contextlib.suppress(NotFound):
                await self.cluster.delete_job(name)
            logger.info("Deleted review Job %s because %s.", name, why)

            if owner is not None and phase_of(owner) in (Phase.SUPERSEDED, Phase.CANCELLED):
                await self.cluster.post_event(owner, str(phase_of(owner)), f"deleted the running Job {name}")
        return remaining

    async def _follow_reviews(self, reviews: dict[str, Resource], jobs: list[Resource], now: datetime) -> None:
        jobs_by_name = {job["metadata"]["name"]: job for job in jobs}
        for resource in reviews.values():
            phase = phase_of(resource)
            if phase not in (Phase.QUEUED, Phase.RUNNING):
                continue

            expected = (resource.get("status") or {}).get("jobName") or job_name(
                resource["metadata"]["name"], attempt_of(resource)
            )
            job = jobs_by_name.get(expected)
            if job is not None and not job_belongs_to(job, resource):
                job = None
            if job is not None and not job_is_active(job):
                await self._finish(resource, job, now)
            elif job is not None and phase == Phase.QUEUED:
                await self._mark_running(resource, expected, now, relinked=True)
            elif job is None and phase == Phase.RUNNING:
                await self._handle_missing_job(resource, expected, now)

    async def _finish(self, resource: Resource, job: Resource, now: datetime) -> None:
        name = job["metadata"]["name"]
        result = job_outcome(job)
        pods = await self.cluster.list_job_pods(name)
        outcome = outcome_from_job(result.succeeded, result.reason, termination_message(pods, result.succeeded))

        changes = status_patch.finished(resource.get("status") or {}, outcome, now)
        succeeded = outcome.phase == Phase.SUCCEEDED
        reason = Reason.SUCCEEDED if succeeded else Reason.FAILED
        event_message = f"Job {name}: {outcome.message}"
        if not await self.transition(resource, changes, reason, event_message, warning=not succeeded):
            return

        if succeeded:
            logger.info(
                "%s reviewed by Job %s: %d findings. %s", describe(resource), name, outcome.total, outcome.message
            )
        else:
            logger.warning(
                "%s review failed in Job %s (%s): %s", describe(resource), name, outcome.reason, outcome.message
            )

    async def _handle_missing_job(self, resource: Resource, expected: str, now: datetime) -> None:
        # The list may predate a create that raced it, so only a direct read decides that the Job is gone.
        try:
            await self.cluster.get_job(expected)
            return
        except NotFound:
            pass

        attempt = attempt_of(resource)
        status = resource.get("status") or {}
        if attempt < MAX_ATTEMPTS_AFTER_JOB_MISSING:
            message = f"Job {expected} disappeared before it finished; queued again as attempt {attempt + 1}"
            changes = status_patch.requeued(status, attempt + 1, message, now)
        else:
            message = f"Job {expected} disappeared before it finished, on attempt {attempt}; giving up"
            changes = status_patch.failed(status, "JobMissing", message, now)

        if await self.transition(resource, changes, Reason.JOB_MISSING, message, warning=True):
            logger.warning("%s: %s", describe(resource), message)

    async def _delete_expired(self, reviews: dict[str, Resource], now: datetime) -> None:
        for name in expired_reviews(reviews.values(), now, self.config.retention_seconds):
            resource = reviews.pop(name)
            try:
                await self.cluster.delete_review(name)
            except NotFound:
                continue
            logger.info(
                "%s deleted: it finished more than %d seconds ago.", describe(resource), self.config.retention_seconds
            )

    async def _admit(self, reviews: dict[str, Resource], jobs: list[Resource], now: datetime) -> None:
        active = [
            ActiveJob(job["metadata"]["name"], _repository_of_job(job, reviews)) for job in jobs if job_is_active(job)
        ]
        queued = [
            QueuedReview(
                name, str((resource.get("spec") or {}).get("repository", "")),
                resource["metadata"].get("creationTimestamp", ""),
            )
            for name, resource in reviews.items()
            if phase_of(resource) == Phase.QUEUED
        ]
        config = self.config
        plan = plan_admission(queued, active, config.max_active_reviews, config.max_active_reviews_per_repository)

        busy = len(active)
        for review in plan.admit:
            if not await self._start(reviews[review.name], busy + 1, plan, now):
                self.request_pass()
                break
            busy += 1

        for waiting in plan.waiting:
            resource = reviews[waiting.review.name]
            status = resource.get("status") or {}
            position = waiting.reported_position
            if status.get("queuePosition") != position or status.get("message") != waiting.message:
                await self.transition(resource, status_patch.waiting(waiting.message, position), "", "")

    async def _start(self, resource: Resource, busy: int, plan: AdmissionPlan, now: datetime) -> bool:
        """Create the review's Job and mark it Running; return False when the Job could not be created."""
        attempt = attempt_of(resource)
        manifest = build_job(resource, attempt, self.config)
        name = manifest["metadata"]["name"]

        try:
            await self.cluster.create_job(manifest)
        except Conflict:
            logger.info("%s: Job %s exists already; linking it.", describe(resource), name)
        except ApiError as error:
            # NOTE: every other API error (quota, invalid manifest) is retried at the next pass, without a backoff.
            logger.error("%s: creating Job %s failed: %s", describe(resource), name, error)
            return False

        if await self._mark_running(resource, name, now, relinked=False):
            logger.info(
                "%s admitted as Job %s (%d of %d slots busy, %d queued).",
                describe(resource), name, busy, plan.limit, len(plan.waiting),
            )
        return True

    async def _mark_running(self, resource: Resource, name: str, now: datetime, relinked: bool) -> bool:
        attempt = attempt_of(resource)
        changes = status_patch.running(resource.get("status") or {}, name, attempt, now)
        message = f"{'re-linked to' if relinked else 'started'} Job {name} (attempt {attempt})"
        done = await self.transition(resource, changes, Reason.ADMITTED, message)
        if done and relinked:
            logger.info("%s re-linked to its running Job %s.", describe(resource), name)
        return done


def _review_head(resource: Resource) -> ReviewHead:
    spec = resource.get("spec") or {}
    return ReviewHead(
        name=resource["metadata"]["name"],
        repository=str(spec.get("repository", "")),
        pr_number=int(spec.get("prNumber") or 0),
        head_sha=str(spec.get("headSha", "")),
        created=resource["metadata"].get("creationTimestamp", ""),
        phase=phase_of(resource),
    )


def _why_job_is_unwanted(job: Resource, owner: Resource | None) -> str | None:
    if not job_is_active(job):
        return None
    if owner is None:
        return "its review resource no longer exists"

    phase = phase_of(owner)
    if is_final(phase):
        return f"its review is {phase}"
    if job_attempt(job) < attempt_of(owner):
        return f"its review moved on to attempt {attempt_of(owner)}"
    return None


def _repository_of_job(job: Resource, reviews: dict[str, Resource]) -> str:
    owner = reviews.get(job_owner(job))
    if owner is not None:
        return str((owner.get("spec") or {}).get("repository", ""))
    return job["metadata"]["name"]



class SchedulingWatcher:
    """Report on a running review when its pod cannot be scheduled, and clear the report once it is."""

    def __init__(self, reconciler: Reconciler) -> None:
        self._reconciler = reconciler

    async def pod_changed(self, pod: Resource) -> None:
        metadata = pod.get("metadata") or {}
        review_name = (metadata.get("annotations") or {}).get(LABEL_REVIEW)
        if not review_name:
            return

        problem = unschedulable_reason(pod)
        if problem is None and not pod_is_scheduled(pod):
            return

        async with self._reconciler.lock:
            try:
                resource = await self._reconciler.cluster.get_review(review_name)
            except NotFound:
                return
            if phase_of(resource) != Phase.RUNNING:
                return
            await self._update(resource, metadata.get("name", ""), problem)

    async def _update(self, resource: Resource, pod_name: str, problem: str | None) -> None:
        status = resource.get("status") or {}
        job = status.get("jobName", "")

        if problem is not None:
            message = f"pod {pod_name} of Job {job} cannot be scheduled: {problem}"
            if status.get("message") == message:
                return
            changes = {"reason": Reason.UNSCHEDULABLE, "message": message}
            if await self._reconciler.transition(resource, changes, Reason.UNSCHEDULABLE, message, warning=True):
                logger.warning("%s: %s", describe(resource), message)
        elif status.get("reason") == Reason.UNSCHEDULABLE:
            message = f"running as Job {job} (attempt {attempt_of(resource)})"
            if await self._reconciler.transition(resource, {"reason": "Admitted", "message": message}, "", ""):
                logger.info("%s: pod %s is scheduled now.", describe(resource), pod_name)
