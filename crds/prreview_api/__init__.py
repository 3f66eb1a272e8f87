"""The PullRequestReview API: group, version, names, phases and label keys.

This module is the single source of truth for the receiver, the operator and the tests;
``crds/prreviews.yaml`` must agree with it, and a test checks that it does.

Phase state machine (``status.phase``)::

    (no status) --operator--> Queued            the operator saw the new resource
    Queued      --operator--> Running           a review slot was free and the Job was created
    Running     --operator--> Succeeded|Failed  the Job finished; result from its termination message
    Running     --operator--> Queued            the Job vanished; the review is queued again, once
    Queued      --operator--> Succeeded|Failed  a finished Job was found for a review never marked Running
    (no status), Queued, Running
                --operator--> Superseded        a newer head SHA of the same PR was queued
    (no status), Queued, Running
                --receiver--> Cancelled         the PR was closed or converted to a draft

The receiver creates resources without status and writes status only for the Cancelled
transition, through the status subresource. ``Phase.FINAL`` phases never change again.
``names`` derives resource names and label values; ``spec`` holds the typed spec.
"""

GROUP = "prreviewer.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "PullRequestReview"
PLURAL = "prreviews"
SINGULAR = "prreview"
SHORT_NAMES = ("prr",)
CRD_NAME = f"{PLURAL}.{GROUP}"


class Phase:
    """Values of ``status.phase``. ``FINAL`` phases never change again."""

    QUEUED = "Queued"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SUPERSEDED = "Superseded"
    CANCELLED = "Cancelled"

    ALL = (QUEUED, RUNNING, SUCCEEDED, FAILED, SUPERSEDED, CANCELLED)
    FINAL = (SUCCEEDED, FAILED, SUPERSEDED, CANCELLED)


# Labels on resources and Jobs, so both can be selected by repository and PR.
LABEL_PREFIX = GROUP
LABEL_REPOSITORY = f"{GROUP}/repository"  # owner.name: a label value cannot hold "/"
LABEL_PR = f"{GROUP}/pr"
LABEL_REVIEW = f"{GROUP}/review"  # on Jobs: the owning resource's name
LABEL_COMPONENT = "app.kubernetes.io/component"
REVIEW_JOB_COMPONENT = "review-job"

SPEC_FIELDS = (
    "repository", "prNumber", "headSha", "baseRef", "baseSha", "cloneUrl",
    "installationId", "deliveryId", "action", "sender", "title",
)

# Values of spec.action. "manual" marks a resource created by hand (kubectl), not by a webhook.
ACTIONS = (
    "opened", "synchronize", "reopened", "ready_for_review", "edited",
    "labeled", "unlabeled", "review_requested", "manual",
)
SHORT_SHA_LENGTH = 7  # spec.headShortSha, shown in the Head printer column
TITLE_MAX_LENGTH = 256  # GitHub's own limit on PR titles
