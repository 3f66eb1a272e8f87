"""The ``secrets`` analyzer: credentials committed in any text file, with detect-secrets' default plugins.

A finding names the kind of secret and never its value, because review comments, logs and the
JSON report are read by more people than the repository's secrets should be.
"""

from __future__ import annotations

import threading
import time
from functools import cache

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.core.scan import scan_file
from detect_secrets.settings import default_settings

from pr_reviewer.analyzers.base import AnalysisContext, AnalyzerFailed
from pr_reviewer.analyzers.tools import HeadFile, head_files, is_text, read_prefix
from pr_reviewer.model import Finding, Severity

# A committed credential is in the branch's history for good and must be rotated, whatever the diff shows.
SECRET_SEVERITY = Severity.CRITICAL

# detect-secrets keeps its plugin settings in process-wide state, which default_settings() swaps
# in and out, so two scans at once would undo each other's settings.
_SETTINGS_LOCK = threading.Lock()


class SecretsAnalyzer:
    """Scan every changed text file for credentials."""

    name = "secrets"

    def analyze(self, context: AnalysisContext) -> list[Finding]:
        files = [file for file in head_files(context) if is_text(read_prefix(file.absolute))]
        timeout = context.settings.analyzer_timeout_seconds
        deadline = time.monotonic() + timeout

        findings: list[Finding] = []
        with _SETTINGS_LOCK, default_settings():
            for file in files:
                # NOTE: the scan runs in this process, so the timeout is only checked between files.
                if time.monotonic() >= deadline:
                    raise AnalyzerFailed(f"detect-secrets timed out after {timeout:g} s")
                findings.extend(_scan(file))
        return findings


def _scan(file: HeadFile) -> list[Finding]:
    # NOTE: detect-secrets 1.5 skips a file that is not valid UTF-8 as if it were binary.
    findings = []
    for secret in scan_file(str(file.absolute)):
        kind = str(secret.type)
        findings.append(
            Finding(
                path=file.path,
                line=int(secret.line_number),
                severity=SECRET_SEVERITY,
                analyzer="secrets",
                rule=plugin_name(kind),
                message=secret_message(kind),
            )
        )
    return findings


def secret_message(kind: str) -> str:
    """Describe a detected secret by its kind only."""
    return (
        f"Possible hard-coded secret ({kind}): move it to a secret store and rotate it, "
        "because it stays in the git history"
    )


@cache
def plugin_name(kind: str) -> str:
    """Return the detect-secrets plugin class name (its rule id, as in a baseline) for a secret kind."""
    plugins: dict[str, type] = get_mapping_from_secret_type_to_class()
    plugin = plugins.get(kind)
    return plugin.__name__ if plugin is not None else kind
