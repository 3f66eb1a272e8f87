"""kopf handlers: they watch reviews, review Jobs and review pods, and only wake the reconciler.

No handler changes state itself (see :mod:`pr_operator.reconcile` for why admission cannot race).
Only event-watching handlers are used, so kopf adds no finalizer and stores no progress annotations:
deleting a review is never blocked, and its Job goes by garbage collection through the ownerReference.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import kopf

from pr_operator.cluster import Cluster
from pr_operator.config import OperatorConfig
from pr_operator.jobs import LABEL_MANAGED_BY, MANAGER
from pr_operator.kube import KubeClient
from pr_operator.reconcile import Reconciler, SchedulingWatcher
from prreview_api import GROUP, LABEL_COMPONENT, PLURAL, REVIEW_JOB_COMPONENT, VERSION

logger = logging.getLogger(__name__)

REVIEW_JOB_LABELS = {LABEL_COMPONENT: REVIEW_JOB_COMPONENT, LABEL_MANAGED_BY: MANAGER}


def configure_kopf(settings: kopf.OperatorSettings) -> None:
    # kopf's own log records become Kubernetes Events only from WARNING up; outcomes are posted by the reconciler.
    settings.posting.level = logging.WARNING
    # Ask the API server to end each watch after 5 minutes and give up on a silent connection a bit later,
    # so a half-open connection cannot stall the watches for long.
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 30
    settings.watching.reconnect_backoff = 1.0
    settings.networking.request_timeout = 60
    settings.peering.standalone = True


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    return kopf.login_via_client(**kwargs)


@kopf.on.startup()
async def start_reconciler(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    configure_kopf(settings)
    config: OperatorConfig = memo.config
    client = KubeClient.from_kubeconfig()
    reconciler = Reconciler(Cluster(client, config.namespace), config)

    memo.client = client
    memo.reconciler = reconciler
    memo.scheduling = SchedulingWatcher(reconciler)
    memo.reconcile_task = asyncio.create_task(reconciler.run(), name="reconcile")
    reconciler.request_pass()


@kopf.on.cleanup()
async def stop_reconciler(memo: kopf.Memo, **_: Any) -> None:
    task: asyncio.Task[None] | None = memo.get("reconcile_task")
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    client: KubeClient | None = memo.get("client")
    if client is not None:
        await client.close()
    logger.info("Operator stopped.")


@kopf.on.event(GROUP, VERSION, PLURAL)
async def review_changed(memo: kopf.Memo, **_: Any) -> None:
    memo.reconciler.request_pass()


@kopf.on.event("batch", "v1", "jobs", labels=REVIEW_JOB_LABELS)
async def job_changed(memo: kopf.Memo, **_: Any) -> None:
    # A finished or deleted Job frees its slot now, not at the next safety-net pass.
    memo.reconciler.request_pass()


@kopf.on.event("", "v1", "pods", labels=REVIEW_JOB_LABELS)
async def pod_changed(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    await memo.scheduling.pod_changed(dict(body))
