"""Read the change between base and head as files, hunks and lines, and set aside the files not to review.

:func:`parse_diff` is a pure parser of ``git diff`` output. :func:`read_change` runs git in the
work tree with options that pin the output format whatever the user's git configuration sets,
parses it, and splits off lock files, vendored and generated files, binaries, symbolic links,
files that are too large, submodule pointers and deleted files.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pr_reviewer.changed_paths import ChangedPath, find_binary, parse_raw_listing
from pr_reviewer.errors import PermanentError
from pr_reviewer.gitrun import run_git
from pr_reviewer.languages import detect_language
from pr_reviewer.model import ChangeKind, DiffLine, FileChange, Hunk, SkippedFile
from pr_reviewer.settings import ReviewSettings

logger = logging.getLogger(__name__)

# Each option overrides a configuration key that would change the output this parser reads:
# diff.external, color.diff, diff.noprefix and diff.mnemonicPrefix, diff.relative, diff.submodule,
# diff.context, diff.renames, and textconv drivers named in .gitattributes. The listing options
# leave out --unified, because it turns on patch output even next to --raw or --numstat.
LISTING_OPTIONS: tuple[str, ...] = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--find-renames",
    "--full-index",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--no-relative",
    "--submodule=short",
    "--ignore-submodules=none",
)
DIFF_OPTIONS: tuple[str, ...] = (*LISTING_OPTIONS, "--unified=3")

# SkippedFile.code values: the kind of reason, for reports that group or count skipped files.
SKIP_DELETED = "deleted"
SKIP_SUBMODULE = "submodule"
SKIP_PATTERN = "skip_pattern"
SKIP_BINARY = "binary"
SKIP_SYMLINK = "symlink"
SKIP_TOO_LARGE = "too_large"
SKIP_MISSING = "missing_at_head"

SUBMODULE_MODE = "160000"
SYMLINK_MODE = "120000"

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
_FIRST_LINE_BYTES = 256
# Linux limits one command line to about 2 MiB including the environment, so batches stay well below.
_PATHSPEC_BATCH_BYTES = 256 * 1024


def diff_arguments(base_sha: str, head_sha: str) -> list[str]:
    """Build the ``git diff`` arguments whose output this module parses; pathspecs go after them."""
    return ["-c", "core.quotePath=false", "diff", *DIFF_OPTIONS, base_sha, head_sha, "--"]


def blob_loading_arguments(base_sha: str, head_sha: str) -> list[str]:
    """Build ``git diff --numstat`` arguments that read both sides of every changed file but print one line each.

    In a partial clone this downloads every blob :func:`read_change` may need, without the patch
    text of large files reaching Python.
    """
    return ["diff", "--numstat", *LISTING_OPTIONS, base_sha, head_sha, "--"]


def read_change(
    workdir: Path, base_sha: str, head_sha: str, settings: ReviewSettings
) -> tuple[list[FileChange], list[SkippedFile]]:
    """Diff ``base_sha`` against ``head_sha`` in the work tree and return (files to review, skipped files).

    The work tree must be checked out at ``head_sha``: sizes and shebang lines are read from it.
    Deleted files, submodules, files matching a skip pattern and files larger than
    ``settings.max_file_bytes`` are decided from ``git diff --raw`` first and left out of the textual
    diff, so their text is never diffed or read into memory.
    """
    changes = _list_changes(workdir, base_sha, head_sha)
    early = _skip_before_diff(changes, workdir, settings)
    to_diff = [change for change in changes if change.path not in early]
    files = _diff_files(workdir, base_sha, head_sha, to_diff, whole_change=not early)

    # Entries go in git's order, as the raw listing has it. A type change (file to symbolic link)
    # is one raw entry but two parsed files, a deletion and an addition. A parsed file whose path was
    # already skipped came in through a directory pathspec (a file replaced by a folder) and is dropped.
    outcomes: dict[str, list[FileChange | SkippedFile]] = {path: [skip] for path, skip in early.items()}
    parsed: dict[str, list[FileChange | SkippedFile]] = {}
    for file in files:
        if file.path not in early:
            parsed.setdefault(file.path, []).append(skip_for(file, workdir, settings) or file)
    outcomes.update(parsed)
    ordered = [outcome for change in changes for outcome in outcomes.pop(change.path, [])]
    ordered.extend(outcome for remaining in outcomes.values() for outcome in remaining)

    kept: list[FileChange] = []
    skipped: list[SkippedFile] = []
    for outcome in ordered:
        if isinstance(outcome, SkippedFile):
            logger.debug("Skipping %s: %s", outcome.path, outcome.reason)
            skipped.append(outcome)
        else:
            outcome.language = detect_language(outcome.path, _read_first_line(workdir / outcome.path))
            kept.append(outcome)
    return kept, skipped


def _list_changes(workdir: Path, base_sha: str, head_sha: str) -> list[ChangedPath]:
    arguments = ["diff", "--raw", "-z", "--no-abbrev", *LISTING_OPTIONS, base_sha, head_sha, "--"]
    output = run_git(workdir, arguments)
    if not output.ok:
        raise PermanentError(f"git diff {base_sha[:12]}..{head_sha[:12]} failed: {output.error_line}")
    return parse_raw_listing(output.stdout)


def _skip_before_diff(changes: list[ChangedPath], workdir: Path, settings: ReviewSettings) -> dict[str, SkippedFile]:
    """Return the skipped entries that need no textual diff, by head path, with the reasons :func:`skip_for` gives."""
    skips: dict[str, SkippedFile] = {}
    large: list[ChangedPath] = []
    for change in changes:
        skip = _skip_from_listing(change, settings)
        if skip is not None:
            skips[change.path] = skip
        elif change.new_mode != SYMLINK_MODE and _work_tree_size(workdir, change.path) > settings.max_file_bytes:
            large.append(change)

    # skip_for names a binary file before a large one, so large files need git's binary test too.
    binary = find_binary(workdir, large)
    for change in large:
        if change.path in binary:
            skips[change.path] = SkippedFile(change.path, "binary file", SKIP_BINARY)
        else:
            skips[change.path] = _too_large(change.path, _work_tree_size(workdir, change.path), settings)
    return skips


def _skip_from_listing(change: ChangedPath, settings: ReviewSettings) -> SkippedFile | None:
    if SUBMODULE_MODE in (change.old_mode, change.new_mode):
        return SkippedFile(change.path, "submodule pointer change", SKIP_SUBMODULE)
    if change.status == "D":
        return SkippedFile(change.path, "deleted (nothing at head to review)", SKIP_DELETED)
    pattern = matching_glob(change.path, settings.skip_globs)
    if pattern is not None:
        return SkippedFile(change.path, f"matches skip pattern {pattern!r}", SKIP_PATTERN)
    return None


def _work_tree_size(workdir: Path, path: str) -> int:
    """Return the size at head, or -1 when the file is missing (the textual diff then reports it)."""
    try:
        return (workdir / path).lstat().st_size
    except OSError:
        return -1


def _diff_files(
    workdir: Path, base_sha: str, head_sha: str, changes: list[ChangedPath], whole_change: bool
) -> list[FileChange]:
    """Diff only ``changes``: the whole change in one call, else pathspecs in command lines of bounded length."""
    # No pathspec at all diffs the whole change, exactly as git lists it.
    no_pathspec: list[list[str]] = [[]] if changes else []
    batches = no_pathspec if whole_change else _pathspec_batches(changes)

    files: list[FileChange] = []
    for pathspecs in batches:
        # Literal pathspecs, so a name with "*", "[" or a leading ":" means only itself.
        arguments = ["--literal-pathspecs", *diff_arguments(base_sha, head_sha), *pathspecs]
        output = run_git(workdir, arguments)
        if not output.ok:
            raise PermanentError(f"git diff {base_sha[:12]}..{head_sha[:12]} failed: {output.error_line}")
        # Content that is not UTF-8 becomes U+FFFD, so later JSON and HTTP steps never meet broken text.
        files.extend(parse_diff(output.text))
    return files


def _pathspec_batches(changes: list[ChangedPath]) -> list[list[str]]:
    """Group the paths into batches below _PATHSPEC_BATCH_BYTES, keeping both paths of a rename in one batch."""
    batches: list[list[str]] = []
    current: list[str] = []
    size = 0
    for change in changes:
        group = change.pathspecs
        group_size = sum(len(os.fsencode(spec)) + 1 for spec in group)
        if current and size + group_size > _PATHSPEC_BATCH_BYTES:
            batches.append(current)
            current, size = [], 0
        current.extend(group)
        size += group_size
    if current:
        batches.append(current)
    return batches


def skip_for(file: FileChange, workdir: Path, settings: ReviewSettings) -> SkippedFile | None:
    """Return the entry that leaves ``file`` out of the review with its reason, or None to review it."""
    if file.kind is ChangeKind.DELETED:
        return SkippedFile(file.path, "deleted (nothing at head to review)", SKIP_DELETED)
    if file.kind is ChangeKind.SUBMODULE:
        return SkippedFile(file.path, "submodule pointer change", SKIP_SUBMODULE)

    pattern = matching_glob(file.path, settings.skip_globs)
    if pattern is not None:
        return SkippedFile(file.path, f"matches skip pattern {pattern!r}", SKIP_PATTERN)

    if file.is_binary:
        return SkippedFile(file.path, "binary file", SKIP_BINARY)
    # A link's target may lie outside the work tree, and analyzers that open the path would follow it.
    if file.new_mode == SYMLINK_MODE:
        return SkippedFile(file.path, "symbolic link", SKIP_SYMLINK)

    size = _work_tree_size(workdir, file.path)
    if size < 0:
        return SkippedFile(file.path, "not found in the work tree at head", SKIP_MISSING)
    if size > settings.max_file_bytes:
        return _too_large(file.path, size, settings)
    return None


def _too_large(path: str, size: int, settings: ReviewSettings) -> SkippedFile:
    reason = f"larger than max_file_bytes={settings.max_file_bytes} ({size} bytes at head)"
    return SkippedFile(path, reason, SKIP_TOO_LARGE)


def matching_glob(path: str, patterns: Sequence[str]) -> str | None:
    """Return the first pattern that matches ``path``, or None.

    As in .gitignore, a pattern without a slash matches the file name in any folder, so
    ``yarn.lock`` matches ``web/yarn.lock``. A pattern with a slash matches the whole path, and its
    ``*`` also matches slashes, so ``vendor/*`` matches ``vendor/a/b.go``.
    """
    name = posixpath.basename(path)
    for pattern in patterns:
        subject = path if "/" in pattern else name
        if fnmatch.fnmatchcase(subject, pattern):
            return pattern
    return None


def _read_first_line(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            start = handle.read(_FIRST_LINE_BYTES)
    except OSError:
        return None
    return start.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")


# --- parser ------------------------------------------------------------------------------------


def parse_diff(text: str) -> list[FileChange]:
    """Parse ``git diff`` output (as :func:`diff_arguments` produce it) into files with hunks and lines.

    Paths come from ``rename``/``copy`` lines and ``---``/``+++`` lines, which are unambiguous, and
    from the ``diff --git`` line only when a file has neither (binary, mode-only, empty files).
    ``old_mode``/``new_mode`` are the modes git prints for the base and head side. They differ only
    on a mode change. ``no_newline_at_end`` is set when the head version of the file lacks a final
    newline. A removed last line without one sets nothing, because nothing at head is affected.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()

    files: list[FileChange] = []
    index = 0
    while index < len(lines):
        if lines[index].startswith("diff --git "):
            file, index = _parse_file(lines, index)
            files.append(file)
        else:
            index += 1
    return files


@dataclass
class _Header:
    """Facts from the extended header lines between ``diff --git`` and the first hunk of one file."""

    git_line_paths: tuple[str, str] | None
    minus_path: str | None = None
    plus_path: str | None = None
    rename_from: str | None = None
    rename_to: str | None = None
    copy_from: str | None = None
    copy_to: str | None = None
    old_mode: str | None = None
    new_mode: str | None = None
    added: bool = False
    deleted: bool = False
    similarity: int | None = None
    is_binary: bool = False


def _parse_file(lines: list[str], start: int) -> tuple[FileChange, int]:
    header = _Header(git_line_paths=_paths_from_git_line(lines[start][len("diff --git ") :]))
    index = start + 1
    while index < len(lines) and not lines[index].startswith(("@@ ", "diff --git ")):
        _read_header_line(header, lines[index])
        index += 1

    file = _file_from_header(header)
    while index < len(lines) and lines[index].startswith("@@ "):
        hunk, index = _parse_hunk(lines, index, file)
        file.hunks.append(hunk)

    if file.kind is ChangeKind.MODIFIED and not file.hunks and not file.is_binary and file.old_mode != file.new_mode:
        file.kind = ChangeKind.MODE_CHANGED
    return file, index


def _read_header_line(header: _Header, line: str) -> None:
    key, _, value = line.partition(" ")
    if line.startswith("old mode "):
        header.old_mode = line[len("old mode ") :]
    elif line.startswith("new mode "):
        header.new_mode = line[len("new mode ") :]
    elif line.startswith("new file mode "):
        header.added, header.new_mode = True, line[len("new file mode ") :]
    elif line.startswith("deleted file mode "):
        header.deleted, header.old_mode = True, line[len("deleted file mode ") :]
    elif line.startswith("similarity index "):
        header.similarity = int(line[len("similarity index ") :].rstrip("%"))
    elif line.startswith(("rename from ", "rename to ", "copy from ", "copy to ")):
        _read_rename_or_copy(header, line)
    elif key == "index":
        _read_index_line(header, value)
    elif key == "---":
        header.minus_path = _path_from_marker_line(value, "a/")
    elif key == "+++":
        header.plus_path = _path_from_marker_line(value, "b/")
    elif line.startswith("Binary files "):
        header.is_binary = True


def _read_rename_or_copy(header: _Header, line: str) -> None:
    verb, direction, raw = line.split(" ", 2)
    path = _unquote(raw)
    attribute = f"{verb}_{direction}"
    setattr(header, attribute, path)


def _read_index_line(header: _Header, value: str) -> None:
    # "index <old>..<new> <mode>": the mode is there only when it did not change.
    parts = value.split(" ")
    if len(parts) == 2:
        header.old_mode = header.old_mode or (None if header.added else parts[1])
        header.new_mode = header.new_mode or (None if header.deleted else parts[1])


def _path_from_marker_line(value: str, prefix: str) -> str | None:
    # git appends a tab to a ---/+++ name that contains a space, as GNU diff does before timestamps.
    if value.endswith("\t"):
        value = value[:-1]
    if value == "/dev/null":
        return None
    path = _unquote(value)
    return path[len(prefix) :] if path.startswith(prefix) else path


def _file_from_header(header: _Header) -> FileChange:
    old_path, new_path = _resolve_paths(header)
    modes = {header.old_mode, header.new_mode}

    if SUBMODULE_MODE in modes:
        kind = ChangeKind.SUBMODULE
    elif header.added:
        kind = ChangeKind.ADDED
    elif header.deleted:
        kind = ChangeKind.DELETED
    elif header.rename_to is not None:
        kind = ChangeKind.RENAMED
    elif header.copy_to is not None:
        kind = ChangeKind.COPIED
    else:
        kind = ChangeKind.MODIFIED

    moved = kind in (ChangeKind.RENAMED, ChangeKind.COPIED)
    return FileChange(
        path=new_path if new_path is not None else old_path,
        old_path=old_path if moved else None,
        kind=kind,
        is_binary=header.is_binary,
        old_mode=header.old_mode,
        new_mode=header.new_mode,
        similarity=header.similarity if moved else None,
    )


def _resolve_paths(header: _Header) -> tuple[str, str | None]:
    """Return (old path, new path); the new path is None for a deleted file."""
    if header.rename_to is not None and header.rename_from is not None:
        return header.rename_from, header.rename_to
    if header.copy_to is not None and header.copy_from is not None:
        return header.copy_from, header.copy_to

    old_path, new_path = header.git_line_paths or ("", "")
    if header.minus_path is not None or header.plus_path is not None:
        old_path = header.minus_path or header.plus_path or old_path
        new_path = header.plus_path or header.minus_path or new_path
    return old_path, (None if header.deleted else new_path)


def _paths_from_git_line(rest: str) -> tuple[str, str] | None:
    """Split ``a/<old> b/<new>`` from a ``diff --git`` line. Only non-renames reach here, so old equals new."""
    if rest.startswith('"'):
        first, remainder = _split_quoted(rest)
        second = _unquote(remainder.lstrip(" "))
        return _strip_prefix(first, "a/"), _strip_prefix(second, "b/")
    if rest.endswith('"'):
        opening = rest.index(' "')
        return _strip_prefix(rest[:opening], "a/"), _strip_prefix(_unquote(rest[opening + 1 :]), "b/")

    # Unquoted names may contain spaces, so split where both halves name the same path.
    middle = (len(rest) - 1) // 2
    halves_match = rest[middle] == " " and rest[:middle].startswith("a/") and rest[2:middle] == rest[middle + 3 :]
    if halves_match and rest[middle + 1 :].startswith("b/"):
        return rest[2:middle], rest[middle + 3 :]
    split_at = rest.find(" b/")
    if split_at < 0:
        return None
    return _strip_prefix(rest[:split_at], "a/"), rest[split_at + 3 :]


def _strip_prefix(path: str, prefix: str) -> str:
    return path[len(prefix) :] if path.startswith(prefix) else path


def _unquote(value: str) -> str:
    """Decode a path git wrote in C-quotes (``"tab\\tname"``, octal bytes ``\\303\\274``); leave others as they are."""
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return _split_quoted(value)[0]
    return value


def _split_quoted(value: str) -> tuple[str, str]:
    """Decode the C-quoted string at the start of ``value``; return it and the text after its closing quote."""
    decoded = bytearray()
    index = 1
    while index < len(value):
        char = value[index]
        if char == '"':
            return decoded.decode("utf-8", errors="replace"), value[index + 1 :]
        if char == "\\" and index + 1 < len(value):
            escaped = value[index + 1]
            if escaped in _C_ESCAPES:
                decoded.append(_C_ESCAPES[escaped])
                index += 2
                continue
            octal = value[index + 1 : index + 4]
            if re.fullmatch(r"[0-7]{3}", octal):
                decoded.append(int(octal, 8))
                index += 4
                continue
        decoded.extend(char.encode("utf-8"))
        index += 1
    return decoded.decode("utf-8", errors="replace"), ""


def _parse_hunk(lines: list[str], start: int, file: FileChange) -> tuple[Hunk, int]:
    match = _HUNK_HEADER.match(lines[start])
    if match is None:
        raise ValueError(f"malformed hunk header in the diff of {file.path}: {lines[start]!r}")
    old_start, old_count, new_start, new_count = (
        int(match[1]), int(match[2] or 1), int(match[3]), int(match[4] or 1)
    )  # fmt: skip
    hunk = Hunk(old_start, old_count, new_start, new_count, header=match[5])

    old_line, new_line = old_start, new_start
    old_left, new_left = old_count, new_count
    index = start + 1
    previous_kind = ""
    while index < len(lines):
        line = lines[index]
        if line.startswith("\\"):
            # "\ No newline at end of file" belongs to the line before it and is not a line itself.
            if previous_kind in ("+", " "):
                file.no_newline_at_end = True
            index += 1
            continue
        if old_left <= 0 and new_left <= 0:
            break

        # diff.suppressBlankEmpty writes an empty context line without its leading space.
        kind = line[:1] or " "
        text = line[1:].removesuffix("\r")
        if kind == " ":
            hunk.lines.append(DiffLine(" ", text, old_line, new_line))
            old_line, new_line, old_left, new_left = old_line + 1, new_line + 1, old_left - 1, new_left - 1
        elif kind == "-":
            hunk.lines.append(DiffLine("-", text, old_line, None))
            old_line, old_left = old_line + 1, old_left - 1
        elif kind == "+":
            hunk.lines.append(DiffLine("+", text, None, new_line))
            new_line, new_left = new_line + 1, new_left - 1
        else:
            raise ValueError(f"malformed line in a hunk of {file.path}: {line!r}")
        previous_kind = kind
        index += 1
    return hunk, index
