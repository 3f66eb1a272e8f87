"""List the paths a change touches from ``git diff --raw -z``, and tell which ones git diffs as binary.

The listing reads only trees (and, for rename detection, the blobs of added and deleted files),
so the review can decide which files to leave out before any file's text is diffed. Paths keep
their exact bytes in :attr:`ChangedPath.pathspec`, so they can be handed back to git even when
they are not valid UTF-8.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pr_reviewer.gitrun import read_blob_start, run_git

# git's diff.c calls a blob binary when its first 8000 bytes contain a NUL byte (buffer_is_binary).
_BINARY_PROBE_BYTES = 8000
# git's default core.bigFileThreshold: a larger blob is diffed as binary without being read.
_DEFAULT_BIG_FILE_THRESHOLD = 512 * 1024 * 1024
_NO_BLOB = "0" * 40


@dataclass(frozen=True)
class ChangedPath:
    """One entry of ``git diff --raw``: the change of one path (or of a renamed or copied pair)."""

    status: str  # A, C, D, M, R, T, U or X, without the similarity score
    path: str  # the head path; the base path of a deleted file
    old_path: str | None  # the base path of a rename or copy
    old_mode: str
    new_mode: str
    old_blob: str
    new_blob: str
    pathspec: str  # ``path`` with undecodable bytes kept as surrogates, for git command lines
    old_pathspec: str | None

    @property
    def pathspecs(self) -> tuple[str, ...]:
        """Both paths of a rename or copy, which must be diffed together for git to pair them again."""
        return (self.pathspec,) if self.old_pathspec is None else (self.old_pathspec, self.pathspec)


def parse_raw_listing(data: bytes) -> list[ChangedPath]:
    """Parse the output of ``git diff --raw -z --no-abbrev`` (``--full-index`` also gives full blob names)."""
    fields = data.split(b"\0")
    changes: list[ChangedPath] = []
    index = 0
    while index < len(fields):
        meta = fields[index]
        if not meta.startswith(b":"):
            index += 1
            continue

        old_mode, new_mode, old_blob, new_blob, status = meta[1:].decode("ascii").split(" ")
        paired = status[:1] in ("R", "C")
        first = fields[index + 1]
        second = fields[index + 2] if paired else None
        index += 3 if paired else 2

        head_path = second if second is not None else first
        changes.append(
            ChangedPath(
                status=status[:1],
                path=head_path.decode("utf-8", errors="replace"),
                old_path=first.decode("utf-8", errors="replace") if paired else None,
                old_mode=old_mode,
                new_mode=new_mode,
                old_blob=old_blob,
                new_blob=new_blob,
                pathspec=os.fsdecode(head_path),
                old_pathspec=os.fsdecode(first) if paired else None,
            )
        )
    return changes


def find_binary(workdir: Path, changes: Sequence[ChangedPath]) -> set[str]:
    """Return the head paths among ``changes`` that ``git diff --no-textconv`` would show as binary.

    This follows git 2.39's diff.c: a ``diff`` attribute that is unset, or names a driver with
    ``diff.<driver>.binary``, decides. Otherwise either side is binary when its blob is larger than
    core.bigFileThreshold or has a NUL byte in its first 8000 bytes. Only the starts of blobs are read.
    """
    if not changes:
        return set()
    drivers = _diff_drivers(workdir, [spec for change in changes for spec in change.pathspecs])
    threshold = _big_file_threshold(workdir)
    sizes = _blob_sizes(workdir, [blob for change in changes for blob in (change.old_blob, change.new_blob)])

    binary: set[str] = set()
    for change in changes:
        sides = [(change.old_pathspec or change.pathspec, change.old_blob), (change.pathspec, change.new_blob)]
        if any(_side_is_binary(workdir, drivers.get(spec), blob, sizes, threshold) for spec, blob in sides):
            binary.add(change.path)
    return binary


def _side_is_binary(workdir: Path, driver: bool | None, blob: str, sizes: dict[str, int], threshold: int) -> bool:
    if blob == _NO_BLOB:
        return False
    if driver is not None:
        return driver
    if sizes.get(blob, 0) > threshold:
        return True
    return b"\0" in read_blob_start(workdir, blob, _BINARY_PROBE_BYTES)


def _diff_drivers(workdir: Path, pathspecs: Iterable[str]) -> dict[str, bool]:
    """Map each path whose ``diff`` attribute fixes binary-ness to True (binary) or False (text)."""
    listing = b"".join(os.fsencode(spec) + b"\0" for spec in pathspecs)
    output = run_git(workdir, ["check-attr", "-z", "--stdin", "diff"], input_bytes=listing)
    if not output.ok:
        return {}

    fields = output.stdout.split(b"\0")
    drivers: dict[str, bool] = {}
    for start in range(0, len(fields) - 2, 3):
        path, value = os.fsdecode(fields[start]), fields[start + 2].decode("utf-8", errors="replace")
        if value == "unset":
            drivers[path] = True
        elif value == "set":
            # A plain "diff" attribute forces a text diff.
            drivers[path] = False
        elif value != "unspecified":
            configured = _driver_binary_setting(workdir, value)
            if configured is not None:
                drivers[path] = configured
    return drivers


def _driver_binary_setting(workdir: Path, driver: str) -> bool | None:
    output = run_git(workdir, ["config", "--type=bool", "--get", f"diff.{driver}.binary"])
    return output.text.strip() == "true" if output.ok else None


def _big_file_threshold(workdir: Path) -> int:
    output = run_git(workdir, ["config", "--type=int", "--get", "core.bigFileThreshold"])
    return int(output.text.strip()) if output.ok and output.text.strip() else _DEFAULT_BIG_FILE_THRESHOLD


def _blob_sizes(workdir: Path, blobs: Iterable[str]) -> dict[str, int]:
    wanted = sorted({blob for blob in blobs if blob != _NO_BLOB})
    listing = "".join(f"{blob}\n" for blob in wanted).encode("ascii")
    output = run_git(workdir, ["cat-file", "--batch-check=%(objectname) %(objectsize)"], input_bytes=listing)
    sizes: dict[str, int] = {}
    for line in output.text.splitlines():
        name, _, size = line.partition(" ")
        if size.isdigit():
            sizes[name] = int(size)
    return sizes
