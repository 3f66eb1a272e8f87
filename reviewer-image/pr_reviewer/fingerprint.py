"""Stable finding fingerprints, so a later run of the same PR recognises what it already posted.

A fingerprint hashes the path, analyzer, rule and the flagged line's text with its whitespace
collapsed, never the line number, so a push that only moves code keeps every fingerprint.
The same flagged text twice in one file with the same rule gets an occurrence index (0, 1, ...),
counted from the top of the file. Renaming a file changes the fingerprints of its findings.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from pr_reviewer.model import Finding

# 64 bits: collisions are negligible among the findings of one pull request.
FINGERPRINT_HEX_CHARS = 16


def assign_fingerprints(findings: Iterable[Finding], workdir: Path) -> None:
    """Set ``fingerprint`` on every finding from the head work tree's text of its first line."""
    reader = HeadLineReader(workdir)
    occurrences: Counter[tuple[str, str, str, str]] = Counter()

    for finding in sorted(findings, key=lambda item: (item.path, item.line, item.analyzer, item.rule)):
        text = normalize_line(reader.line(finding.path, finding.line))
        identity = (finding.path, finding.analyzer, finding.rule, text)
        finding.fingerprint = fingerprint_of(*identity, occurrence=occurrences[identity])
        occurrences[identity] += 1


def fingerprint_of(path: str, analyzer: str, rule: str, text: str, *, occurrence: int = 0) -> str:
    """Return the hex fingerprint of one finding's identity."""
    material = "\0".join((path, analyzer, rule, text, str(occurrence)))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:FINGERPRINT_HEX_CHARS]


def normalize_line(text: str) -> str:
    """Collapse every run of whitespace to one space and trim the ends, so re-indenting keeps the text."""
    return " ".join(text.split())


class HeadLineReader:
    """Lines of files in the head work tree, each file read once."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir.resolve()
        self._lines: dict[str, list[str]] = {}

    def line(self, path: str, number: int) -> str:
        """Return line ``number`` (1-based) of ``path``, or "" when the file or the line does not exist."""
        lines = self._lines.get(path)
        if lines is None:
            lines = self._lines[path] = self._read(path)
        return lines[number - 1] if 1 <= number <= len(lines) else ""

    def _read(self, path: str) -> list[str]:
        # A finding's path comes from a tool or a model, so it must not lead outside the work tree.
        candidate = (self.workdir / path).resolve()
        if not candidate.is_relative_to(self.workdir) or not candidate.is_file():
            return []
        try:
            content = candidate.read_bytes()
        except OSError:
            return []

        # Split on "\n" only, as git and the analyzers count lines, not on every break str.splitlines() accepts.
        return [line.decode("utf-8", "replace").rstrip("\r") for line in content.split(b"\n")]
