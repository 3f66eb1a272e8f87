"""Run git commands through GitPython and return the exit status with the output, instead of raising.

GitPython's own exceptions wrap stderr in a multi-line text with the command line, which is hard
to classify and to redact. Callers here turn a failed :class:`GitOutput` into one clear line.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import git


@dataclass(frozen=True)
class GitOutput:
    """Exit status, raw stdout and decoded stderr of one git command."""

    status: int
    stdout: bytes
    stderr: str

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def text(self) -> str:
        """Stdout as text without the final newline. Bytes that are not UTF-8 become U+FFFD."""
        return self.stdout.decode("utf-8", errors="replace").removesuffix("\n")

    @property
    def error_line(self) -> str:
        """The first ``fatal:`` or ``error:`` line of stderr, else its last line, else the exit status.

        git often follows the line that names the cause with generic advice, such as "Please make sure
        you have the correct access rights", so the first such line is the informative one.
        """
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        causes = [line for line in lines if line.startswith(("fatal:", "error:"))]
        if causes:
            return causes[0]
        return lines[-1] if lines else f"exit status {self.status}"


def run_git(
    cwd: Path,
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout_seconds: float | None = None,
    input_bytes: bytes | None = None,
) -> GitOutput:
    """Run ``git <args>`` in ``cwd`` with ``env`` added to the environment; kill it after ``timeout_seconds``.

    ``input_bytes`` go to git's stdin, so lists of paths of any length stay off the command line.
    GitPython sets ``LC_ALL=C``, so git's messages are in English whatever the locale is.
    """
    if input_bytes is None:
        return _execute(cwd, args, env, timeout_seconds, stdin=None)
    with tempfile.TemporaryFile() as stdin:
        stdin.write(input_bytes)
        stdin.seek(0)
        return _execute(cwd, args, env, timeout_seconds, stdin=stdin)


def _execute(
    cwd: Path,
    args: Sequence[str],
    env: Mapping[str, str] | None,
    timeout_seconds: float | None,
    stdin: BinaryIO | None,
) -> GitOutput:
    status, stdout, stderr = git.Git(cwd).execute(
        ["git", *args],
        istream=stdin,
        with_exceptions=False,
        with_extended_output=True,
        stdout_as_string=False,
        strip_newline_in_stdout=False,
        env=env,
        kill_after_timeout=timeout_seconds,
    )
    return GitOutput(int(status), bytes(stdout), str(stderr))


def read_blob_start(cwd: Path, blob: str, limit: int) -> bytes:
    """Return at most the first ``limit`` bytes of ``blob``, then stop git, so a large blob is never read whole.

    Returns no bytes when git cannot read the blob.
    """
    process = git.Git(cwd).execute(["git", "cat-file", "blob", blob], as_process=True)
    try:
        stdout = process.proc.stdout if process.proc is not None else None
        return stdout.read(limit) if stdout is not None else b""
    finally:
        if process.proc is not None:
            process.proc.kill()
            process.proc.wait()
