"""The PullRequestReview API: group, version, names, phases and label keys.

This module is the single source of truth for the receiver, the operator and the tests;
``crds/prreviews.yaml`` must agree with it, and a test checks that it does.
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
