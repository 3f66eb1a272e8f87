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

# Limits of the CRD's schema on spec fields. The receiver checks a delivery against them before
# creating a resource, so that a value the API server would reject gets a 400 naming the field.
REPOSITORY_MAX_LENGTH = 140
BASE_REF_MAX_LENGTH = 255
CLONE_URL_MAX_LENGTH = 2048
DELIVERY_ID_MAX_LENGTH = 128
SENDER_MAX_LENGTH = 100
INT64_MAX = 2**63 - 1  # prNumber and installationId are integers of format int64, minimum 1
REPOSITORY_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}"
CLONE_URL_PATTERN = r"(https?://[^\s/@]+/|file:///)[^\s@]*"
