"""The Dockerfiles, checked where no container engine can build them: sources, user and entrypoints."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGES = {
    "reviewer-image/Dockerfile": ["pr-review-job"],
    "receiver/Dockerfile": ["pr-receiver"],
    "operator/Dockerfile": ["python", "-m", "pr_operator"],
}


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """Return (instruction, arguments) pairs with continuation lines joined and comments dropped."""
    text = (ROOT / dockerfile).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            pairs.append((keyword.upper(), arguments.strip()))
    return pairs


@pytest.mark.parametrize("dockerfile", sorted(IMAGES))
def test_copied_sources_exist(dockerfile: str) -> None:
    copies = [args for keyword, args in instructions(dockerfile) if keyword == "COPY" and "--from=" not in args]

    sources = [source for args in copies for source in shlex.split(args)[:-1]]
    assert sources
    missing = [source for source in sources if not (ROOT / source).exists()]
    assert missing == []


@pytest.mark.parametrize("dockerfile", sorted(IMAGES))
def test_final_stage_runs_as_numeric_non_root_user(dockerfile: str) -> None:
    users = [args for keyword, args in instructions(dockerfile) if keyword == "USER"]

    assert users
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0


@pytest.mark.parametrize(("dockerfile", "expected"), sorted(IMAGES.items()))
def test_entrypoint_runs_the_component(dockerfile: str, expected: list[str]) -> None:
    entrypoints = [args for keyword, args in instructions(dockerfile) if keyword == "ENTRYPOINT"]

    assert json.loads(entrypoints[-1]) == expected


def test_entrypoint_commands_are_declared_console_scripts() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]

    assert scripts["pr-review-job"] == "pr_reviewer.job:main"
    assert scripts["pr-receiver"] == "pr_receiver.app:main"
    assert (ROOT / "operator" / "pr_operator" / "__main__.py").is_file()


@pytest.mark.parametrize("dockerfile", sorted(IMAGES))
def test_final_stage_copies_only_the_virtualenv(dockerfile: str) -> None:
    steps = instructions(dockerfile)
    final_stage = max(index for index, (keyword, _) in enumerate(steps) if keyword == "FROM")

    final_copies = [args for keyword, args in steps[final_stage:] if keyword == "COPY"]
    assert final_copies == ["--from=build /opt/venv /opt/venv"]
