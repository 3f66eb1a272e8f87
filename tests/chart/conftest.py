"""Fixtures that render the Helm chart with the helm binary in .tools/bin (fetched on first use)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "pr-reviewer"
CHART_TESTS = Path(__file__).resolve().parent
RELEASE = "pr-reviewer"
NAMESPACE = "reviews"

Manifest = dict[str, Any]
Render = Callable[..., list[Manifest]]


@pytest.fixture(scope="session")
def helm() -> str:
    """Return the path of a helm binary, fetching it into .tools/bin when there is none."""
    local = ROOT / ".tools" / "bin" / "helm"
    if not local.exists() and not shutil.which("helm"):
        fetch = subprocess.run(
            ["bash", str(ROOT / "scripts" / "fetch-tools.sh")], capture_output=True, text=True, timeout=300
        )
        if fetch.returncode != 0:
            pytest.skip(f"helm is not installed and scripts/fetch-tools.sh failed: {fetch.stderr.strip()[-500:]}")
    return str(local) if local.exists() else str(shutil.which("helm"))


def helm_template(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``helm template`` on the chart with the test release name and namespace."""
    command = [helm, "template", RELEASE, str(CHART), "--namespace", NAMESPACE, *args]
    # Keep helm's cache and config out of the user's home directory.
    helm_home = Path(tempfile.gettempdir()) / "pr-reviewer-helm"
    env = {**os.environ, "HELM_CACHE_HOME": str(helm_home / "cache"), "HELM_CONFIG_HOME": str(helm_home / "config")}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="session")
def render(helm: str) -> Render:
    """Return a function that renders the chart with values files (names under tests/chart) and --set pairs."""
    cache: dict[tuple[str, ...], list[Manifest]] = {}

    def _render(*values_files: str, sets: tuple[str, ...] = ()) -> list[Manifest]:
        args: list[str] = []
        for name in values_files:
            args += ["-f", str(CHART_TESTS / name)]
        for pair in sets:
            args += ["--set", pair]

        key = tuple(args)
        if key not in cache:
            result = helm_template(helm, *args)
            assert result.returncode == 0, f"helm template {' '.join(args)} failed:\n{result.stderr}"
            cache[key] = [document for document in yaml.safe_load_all(result.stdout) if document]
        return cache[key]

    return _render


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    """Return the manifest of ``kind`` named ``name``; fail naming the ones that exist."""
    for manifest in manifests:
        if manifest["kind"] == kind and manifest["metadata"]["name"] == name:
            return manifest
    present = sorted(f"{m['kind']}/{m['metadata']['name']}" for m in manifests)
    raise AssertionError(f"no {kind}/{name} in the rendered chart; it has {present}")


def container_env(deployment: Manifest) -> dict[str, dict[str, Any]]:
    """Return the first container's environment variables by name."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {variable["name"]: variable for variable in container.get("env", [])}
