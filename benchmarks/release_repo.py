"""Build a git repository whose commits are a real project's releases, from PyPI source archives.

Each version becomes one commit tagged with the version, so ``pr-review --base 2.2.5 --head 3.0.3``
reviews the real change between two releases. Only PyPI is contacted, through pip.

    python benchmarks/release_repo.py flask 2.2.5 3.0.3 /tmp/flask-releases
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

GIT_IDENTITY = ["-c", "user.name=release-repo", "-c", "user.email=release-repo@localhost", "-c", "commit.gpgsign=false"]
# Fixed commit dates make the commit SHAs the same on every machine, so documented output can be reproduced.
FIXED_DATE = "2000-01-01T00:00:00+00:00"


def download_sdist(package: str, version: str, into: Path) -> Path:
    """Download the source archive of one release and return its path."""
    before = set(into.iterdir())
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         f"{package}=={version}", "--dest", str(into)],
        check=True,
    )
    new = sorted(set(into.iterdir()) - before)
    if len(new) != 1:
        raise SystemExit(f"expected one archive for {package}=={version}, pip left {[p.name for p in new]}")
    return new[0]


def unpack_into(archive: Path, target: Path) -> None:
    """Replace the work tree of ``target`` (all but .git) with the archive's single top folder."""
    for child in target.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()

    with tempfile.TemporaryDirectory() as scratch, tarfile.open(archive) as bundle:
        bundle.extractall(scratch, filter="data")
        (top,) = Path(scratch).iterdir()
        for child in top.iterdir():
            shutil.move(str(child), target / child.name)


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_DATE": FIXED_DATE, "GIT_COMMITTER_DATE": FIXED_DATE}
    subprocess.run(["git", *GIT_IDENTITY, *args], cwd=repo, check=True, stdout=subprocess.DEVNULL, env=env)


def build(package: str, versions: list[str], repo: Path) -> None:
    if repo.exists():
        raise SystemExit(f"{repo} already exists: choose a new folder")
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")

    with tempfile.TemporaryDirectory() as downloads:
        for version in versions:
            archive = download_sdist(package, version, Path(downloads))
            unpack_into(archive, repo)
            git(repo, "add", "--all")
            git(repo, "commit", "--quiet", "--allow-empty", "-m", f"{package} {version} as released on PyPI")
            git(repo, "tag", version)
            print(f"committed {package} {version}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="PyPI package name, for example flask")
    parser.add_argument("versions", nargs="+", help="two or more versions, oldest first")
    parser.add_argument("repo", type=Path, help="new folder for the repository")
    args = parser.parse_args()
    build(args.package, args.versions, args.repo)


if __name__ == "__main__":
    main()
