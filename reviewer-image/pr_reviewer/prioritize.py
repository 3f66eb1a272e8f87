"""Rank the changed files and their hunks by review risk, keep the ``top_n`` riskiest files, and clip long hunks.

A score adds three parts and scales the sum by the file's language kind:

    score = language factor x (size points + sensitive-path points + risky-content points)

Size points grow with the logarithm of the changed line count, so one huge file cannot outrank
everything else by size alone. Path points come from the file's path (authentication code, CI
config, migrations, ...). Content points come from patterns in the added lines, and each pattern
counts once per file or hunk. Every weight lives in the scoring table below.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from dataclasses import dataclass

from pr_reviewer.languages import LanguageKind, language_kind
from pr_reviewer.model import FileChange, Hunk, SkippedFile
from pr_reviewer.settings import ReviewSettings

logger = logging.getLogger(__name__)

SKIP_CODE_BEYOND_TOP_N = "beyond_top_n"


@dataclass(frozen=True)
class RiskPattern:
    """A named regular expression and the points a match adds to a score."""

    name: str
    pattern: re.Pattern[str]
    points: float


def _risk(name: str, pattern: str, points: float) -> RiskPattern:
    return RiskPattern(name, re.compile(pattern, re.IGNORECASE), points)


# --- scoring table ---------------------------------------------------------------------------------

# Points per doubling of the changed line count: 1 line scores 1, 7 lines 3, 1023 lines 10.
SIZE_POINTS_PER_DOUBLING = 1.0

# Matched against the file's path (the new path, and the old one for a rename).
PATH_RISKS: tuple[RiskPattern, ...] = (
    _risk("auth", r"auth|login|passw|session|jwt|saml|permission|rbac|(?<![a-z])acl(?![a-z])", 3.0),
    _risk("crypto", r"crypt|cipher|(?<![a-z])(?:tls|ssl|keys?)(?![a-z])|certificate|signing|hmac", 3.0),
    _risk("security", r"secur|sanitiz|xss|csrf|firewall|secret", 3.0),
    _risk("payment", r"payment|billing|checkout|invoice|stripe|paypal|refund|wallet", 3.0),
    _risk("migration", r"migrat|(?<![a-z])schema(?![a-z])|\.sql$", 2.5),
    _risk("ci", r"^\.github/workflows/|\.gitlab-ci\.ya?ml$|jenkinsfile|^\.circleci/|azure-pipelines|travis\.yml", 2.5),
    _risk("container", r"dockerfile|containerfile|docker-compose|(?:^|/)compose\.ya?ml$", 2.0),
    _risk("infra", r"\.tf$|\.tfvars$|terraform|helm|(?<![a-z])k8s(?![a-z])|kubernetes|deploy|ansible|infra", 2.0),
)

# Matched against each added line; removed and context lines never add risk.
CONTENT_RISKS: tuple[RiskPattern, ...] = (
    _risk("code execution", r"\b(?:exec|eval)\s*\(|new\s+Function\s*\(", 2.0),
    _risk("process", r"\bsubprocess\b|\bos\.(?:system|popen|exec\w*)\b|shell\s*=\s*True|child_process|\bPopen\b", 2.0),
    _risk("sql statement", r"\b(?:select\s.+\sfrom|insert\s+into|update\s+\w+\s+set|delete\s+from|drop\s+table)", 1.5),
    _risk("sql call", r"\.(?:execute|executemany|raw)\(", 1.5),
    _risk("credentials", r"passw(?:or)?d|secret|token|api[_-]?key|private[_-]?key|credential", 2.0),
    _risk("deserialization", r"pickle\.loads?|yaml\.load\s*\(|marshal\.loads?|ObjectInputStream|unserialize\s*\(", 2.0),
    _risk("tls verification", r"verify\s*=\s*False|InsecureSkipVerify|rejectUnauthorized\s*:\s*false", 2.0),
)

# Code is reviewed first; docs last. Files of unknown language sit in between.
LANGUAGE_FACTORS: dict[LanguageKind | None, float] = {
    LanguageKind.CODE: 1.0,
    LanguageKind.CONFIG: 0.8,
    LanguageKind.DOCS: 0.3,
    None: 0.6,
}  # fmt: skip

# ----------------------------------------------------------------------------------------------------


@dataclass
class Prioritized:
    """The files chosen for review and what prioritizing left out or cut."""

    files: list[FileChange]  # the top_n highest-scoring files, highest first, each with hunks sorted by score
    skipped: list[SkippedFile]  # files beyond top_n
    clipped_hunks: int  # hunks cut down to settings.max_hunk_lines lines


def prioritize(files: list[FileChange], settings: ReviewSettings) -> Prioritized:
    """Score every file and hunk, keep the ``settings.top_n`` riskiest files, and clip their long hunks.

    Returns new FileChange objects with ``score`` set and hunks in score order, and leaves the input
    unchanged. Equal scores are ordered by path, so the same change always yields the same review.
    A ``max_hunk_lines`` below 1 turns clipping off.
    """
    scored = sorted((_scored_file(file) for file in files), key=lambda file: (-file.score, file.path))
    kept, beyond = scored[: settings.top_n], scored[settings.top_n :]

    reason = f"beyond top_n={settings.top_n} (lower risk score)"
    skipped = [SkippedFile(file.path, reason, SKIP_CODE_BEYOND_TOP_N) for file in beyond]

    clipped = 0
    if settings.max_hunk_lines > 0:
        for file in kept:
            clipped += _clip_hunks(file, settings.max_hunk_lines)

    logger.info(
        "Prioritized %d files: kept %d (top_n=%d), skipped %d, clipped %d hunks to %d lines",
        len(files), len(kept), settings.top_n, len(skipped), clipped, settings.max_hunk_lines,
    )  # fmt: skip
    return Prioritized(files=kept, skipped=skipped, clipped_hunks=clipped)


def batches(files: list[FileChange], batch_size: int) -> list[list[tuple[FileChange, Hunk]]]:
    """Split the hunks of ``files``, in order, into consecutive batches of at most ``batch_size`` hunks."""
    if batch_size < 1:
        raise ValueError(f"invalid batch_size={batch_size}: must be at least 1")
    pairs = [(file, hunk) for file in files for hunk in file.hunks]
    return [pairs[start : start + batch_size] for start in range(0, len(pairs), batch_size)]


def score_hunk(hunk: Hunk, language: str | None) -> float:
    """Score one hunk: its size and risky added content, scaled by the file's language kind."""
    added = [line.text for line in hunk.lines if line.kind == "+"]
    changed = sum(1 for line in hunk.lines if line.kind != " ")
    points = _size_points(changed) + _content_points(added)
    return round(_language_factor(language) * points, 3)


def score_file(file: FileChange) -> float:
    """Score one file: its total size, sensitive path and risky added content, scaled by its language kind."""
    added = [line.text for hunk in file.hunks for line in hunk.lines if line.kind == "+"]
    points = _size_points(file.changed_line_count) + _path_points(file) + _content_points(added)
    return round(_language_factor(file.language) * points, 3)


def _scored_file(file: FileChange) -> FileChange:
    hunks = [dataclasses.replace(hunk, score=score_hunk(hunk, file.language)) for hunk in file.hunks]
    hunks.sort(key=lambda hunk: (-hunk.score, hunk.new_start))
    return dataclasses.replace(file, hunks=hunks, score=score_file(file))


def _size_points(changed_lines: int) -> float:
    return SIZE_POINTS_PER_DOUBLING * math.log2(1 + changed_lines)


def _path_points(file: FileChange) -> float:
    paths = [file.path.lower()] + ([file.old_path.lower()] if file.old_path else [])
    return sum(risk.points for risk in PATH_RISKS if any(risk.pattern.search(path) for path in paths))


def _content_points(added_lines: list[str]) -> float:
    return sum(risk.points for risk in CONTENT_RISKS if any(risk.pattern.search(line) for line in added_lines))


def _language_factor(language: str | None) -> float:
    return LANGUAGE_FACTORS[language_kind(language)]


def _clip_hunks(file: FileChange, max_lines: int) -> int:
    """Cut each hunk of ``file`` longer than ``max_lines`` down to its first ``max_lines`` lines; return how many."""
    clipped = 0
    for index, hunk in enumerate(file.hunks):
        if len(hunk.lines) <= max_lines:
            continue
        # NOTE: a finding on a line past the cut no longer matches a hunk, so triage may drop it.
        lines = hunk.lines[:max_lines]
        old_count = sum(1 for line in lines if line.kind != "+")
        new_count = sum(1 for line in lines if line.kind != "-")
        file.hunks[index] = dataclasses.replace(hunk, lines=lines, old_count=old_count, new_count=new_count)
        clipped += 1
    return clipped
