"""Build real git repositories in temporary directories for tests.

Every git call runs with a fixed identity and clock and without the user's global or system
configuration, so a test sees the same repository on every machine and commit SHAs repeat.

    repo = GitRepo.init(tmp_path / "project")
    base = repo.commit("Add app", {"app.py": "print(1)\n"})
    head = repo.commit("Change app", {"app.py": "print(2)\n", "old.txt": None})
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

# None deletes the file; str is written as UTF-8 without newline translation; bytes as they are.
FileContent = str | bytes | None

_FIXED_DATE = "2024-01-01T00:00:00+00:00"


def git_env() -> dict[str, str]:
    """Return an environment that isolates git from the user's configuration and fixes identity and dates."""
    env = dict(os.environ)
    env.update(
        {
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Test Author",
            "GIT_AUTHOR_EMAIL": "author@example.com",
            "GIT_COMMITTER_NAME": "Test Author",
            "GIT_COMMITTER_EMAIL": "author@example.com",
            "GIT_AUTHOR_DATE": _FIXED_DATE,
            "GIT_COMMITTER_DATE": _FIXED_DATE,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
    )
    return env


def run_git(cwd: Path, *args: str, input_bytes: bytes | None = None) -> str:
    """Run git in ``cwd`` and return its stdout; raise with git's stderr when it fails."""
    result = subprocess.run(
        ["git", "-c", "core.autocrlf=false", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        env=git_env(),
        input=input_bytes,
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "replace").strip()
        raise AssertionError(f"git {' '.join(args)} failed in {cwd} with exit {result.returncode}: {stderr}")
    return result.stdout.decode("utf-8", "replace")


class GitRepo:
    """A git repository on disk with short methods for the steps tests need."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def init(cls, path: Path, *, branch: str = "main", bare: bool = False) -> GitRepo:
        path.mkdir(parents=True, exist_ok=True)
        run_git(path, "init", "--quiet", f"--initial-branch={branch}", *(["--bare"] if bare else []))
        return cls(path)

    @property
    def url(self) -> str:
        """A ``file://`` URL of this repository, which git fetches like a remote."""
        return self.path.resolve().as_uri()

    def git(self, *args: str) -> str:
        return run_git(self.path, *args)

    def write(self, relpath: str, content: str | bytes, *, executable: bool = False) -> Path:
        """Write a file in the work tree (creating folders) without staging it."""
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        if executable:
            target.chmod(0o755)
        return target

    def commit(self, message: str = "Change files", files: Mapping[str, FileContent] | None = None) -> str:
        """Write ``files`` (None deletes one), stage everything in the work tree, commit, and return the SHA.

        A commit with nothing to change is allowed, so tests can create distinct commits cheaply.
        """
        for relpath, content in (files or {}).items():
            if content is None:
                (self.path / relpath).unlink()
            else:
                self.write(relpath, content)
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", message)
        return self.rev_parse("HEAD")

    def move(self, old: str, new: str) -> None:
        """Rename a tracked file in the work tree and the index."""
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", old, new)

    def chmod(self, relpath: str, mode: int) -> None:
        (self.path / relpath).chmod(mode)

    def set_gitlink(self, relpath: str, sha: str) -> None:
        """Stage a submodule pointer at ``relpath`` without cloning anything: what a submodule bump commits.

        The empty folder is what an uninitialized submodule looks like, so ``commit`` keeps the pointer.
        """
        (self.path / relpath).mkdir(parents=True, exist_ok=True)
        self.git("update-index", "--add", "--cacheinfo", f"160000,{sha},{relpath}")

    def branch(self, name: str, at: str = "HEAD") -> str:
        self.git("branch", "--force", name, at)
        return self.rev_parse(name)

    def checkout(self, ref: str) -> None:
        self.git("checkout", "--quiet", ref)

    def update_ref(self, ref: str, sha: str) -> None:
        self.git("update-ref", ref, sha)

    def rev_parse(self, ref: str) -> str:
        return self.git("rev-parse", "--verify", f"{ref}^{{commit}}").strip()

    def push(self, target: GitRepo, *refspecs: str) -> None:
        """Push to another repository on disk, for example a bare repository standing in for GitHub."""
        self.git("push", "--quiet", "--force", str(target.path), *refspecs)

    def has_object(self, sha: str) -> bool:
        result = subprocess.run(
            ["git", "cat-file", "-e", sha], cwd=self.path, env=git_env(), capture_output=True, check=False
        )
        return result.returncode == 0

    def status(self) -> str:
        """Return ``git status --porcelain`` output: empty when the work tree and index are clean."""
        return self.git("status", "--porcelain", "--untracked-files=all")
