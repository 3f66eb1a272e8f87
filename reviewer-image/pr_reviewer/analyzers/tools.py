"""Shared plumbing of the command-line analyzers: finding a tool, running it, and choosing its files.

Every failure here raises :class:`AnalyzerFailed` with a one-line cause, which the runner records
as a failed analyzer run while the other analyzers carry on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from pr_reviewer.analyzers.base import AnalysisContext, AnalyzerFailed
from pr_reviewer.languages import detect_language
from pr_reviewer.model import FileChange

# Enough to find a NUL byte in any binary format we would meet, and far more than a shebang line.
SNIFF_BYTES = 8192
MAX_STDERR_CHARS = 200


@dataclass(frozen=True)
class HeadFile:
    """A changed file as the tools receive it: its path relative to the work tree and its absolute path."""

    path: str
    absolute: Path
    change: FileChange


def find_tool(name: str) -> str:
    """Return the path of the executable ``name``: the virtualenv's copy first, then ``PATH``.

    The virtualenv comes first because its tools have the versions ``pyproject.toml`` pins,
    while a system copy on ``PATH`` may be older and report different rules.
    """
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)

    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise AnalyzerFailed(f"{name} not found next to {sys.executable} or on PATH: install the reviewer's dependencies")


def run_tool(
    argv: Sequence[str], *, cwd: Path, timeout_seconds: float, ok_exit_codes: Collection[int] = (0, 1)
) -> str:
    """Run a tool and return its standard output, or raise :class:`AnalyzerFailed` on any failure.

    Linters exit 1 when they report findings, so 1 counts as success unless the caller says otherwise.
    """
    tool = Path(argv[0]).name
    try:
        completed = subprocess.run(  # noqa: S603 -- argv is our own tool and the work tree's file paths
            list(argv), cwd=cwd, capture_output=True, timeout=timeout_seconds, check=False
        )
    except subprocess.TimeoutExpired:
        raise AnalyzerFailed(f"{tool} timed out after {timeout_seconds:g} s") from None
    except OSError as error:
        raise AnalyzerFailed(f"{tool} could not start: {error.strerror or error} ({argv[0]})") from None

    if completed.returncode not in ok_exit_codes:
        stderr = _first_line(completed.stderr.decode("utf-8", "replace"))
        raise AnalyzerFailed(f"{tool} failed with exit code {completed.returncode}: {stderr or 'no error output'}")
    return completed.stdout.decode("utf-8", "replace")


def parse_json_output(output: str, tool: str) -> object:
    """Decode a tool's JSON report, or raise :class:`AnalyzerFailed` when it is not JSON."""
    try:
        return json.loads(output)
    except json.JSONDecodeError as error:
        raise AnalyzerFailed(f"{tool} printed output that is not JSON: {error.msg} at line {error.lineno}") from None


def head_files(context: AnalysisContext) -> list[HeadFile]:
    """Return the changed files that exist as regular files inside the work tree at head.

    Symbolic links are left out: a link in a pull request may point anywhere on the reviewer's
    machine, and the analyzers must read only the repository's own content.
    """
    workdir = context.workdir.resolve()
    files = []
    for change in context.files:
        candidate = workdir / change.path
        if candidate.is_symlink() or not candidate.is_file():
            continue
        if not candidate.resolve().is_relative_to(workdir):
            continue
        files.append(HeadFile(change.path, candidate, change))
    return files


def read_prefix(path: Path) -> bytes:
    """Return the first :data:`SNIFF_BYTES` of a file, or nothing when it cannot be read."""
    try:
        with path.open("rb") as handle:
            return handle.read(SNIFF_BYTES)
    except OSError:
        return b""


def is_text(prefix: bytes) -> bool:
    """Tell whether a file's first bytes look like text, by the test git uses too: no NUL byte."""
    return b"\0" not in prefix


def first_line(prefix: bytes) -> str:
    """Return the first line of a file's leading bytes, decoded leniently."""
    return prefix.split(b"\n", 1)[0].decode("utf-8", "replace").strip()


def file_language(file: HeadFile, prefix: bytes) -> str | None:
    """Return the language the diff step recorded, else the one the file name or shebang line names."""
    return file.change.language or detect_language(file.path, first_line(prefix))


def python_files(files: list[HeadFile]) -> list[HeadFile]:
    """Keep the Python sources: by the diff's language, the extension, or a python shebang."""
    return [file for file in files if file_language(file, read_prefix(file.absolute)) == "python"]


def relative_to_workdir(reported: str, workdir: Path) -> str | None:
    """Map a file name a tool printed (absolute, or relative to the work tree) back to its diff path."""
    candidate = Path(reported)
    if not candidate.is_absolute():
        candidate = workdir / candidate
    try:
        return candidate.resolve().relative_to(workdir.resolve()).as_posix()
    except ValueError:
        return None


def _first_line(text: str) -> str:
    stripped = text.strip()
    line = stripped.splitlines()[0] if stripped else ""
    return line[:MAX_STDERR_CHARS]
