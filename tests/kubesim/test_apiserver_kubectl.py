"""kubectl against kubesim: printer columns, short names, create, apply and delete."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kubesim.testing import RunningApiServer

KUBECTL = shutil.which("kubectl")

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH; install it to run these tests")

GADGET_YAML = """\
apiVersion: test.kubesim.io/v1
kind: Gadget
metadata:
  name: {name}
spec:
  repository: octo/widgets
  number: {number}
"""


@pytest.fixture(scope="module")
def kubectl_env(apiserver: RunningApiServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("kubectl-home")
    config = apiserver.write_kubeconfig(home / "config", token="kubectl-token")
    # A private HOME keeps kubectl's discovery cache away from the user's own.
    return {**os.environ, "KUBECONFIG": str(config), "HOME": str(home), "KUBECACHEDIR": str(home / "cache")}


def _kubectl(env: dict[str, str], *arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run(
        [KUBECTL, *arguments], env=env, input=stdin, capture_output=True, text=True, timeout=30, check=False
    )


def _rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()]


def test_create_then_get_shows_printer_columns(kubectl_env: dict[str, str], tmp_path: Path) -> None:
    manifest = tmp_path / "gadget.yaml"
    manifest.write_text(GADGET_YAML.format(name="shown", number=5), encoding="utf-8")

    created = _kubectl(kubectl_env, "create", "-f", str(manifest))
    listed = _kubectl(kubectl_env, "get", "gadgets")
    short = _kubectl(kubectl_env, "get", "gd", "shown")

    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "gadget.test.kubesim.io/shown created"
    assert listed.returncode == 0, listed.stderr
    rows = _rows(listed.stdout)
    assert rows[0] == ["NAME", "REPOSITORY", "NUMBER", "PHASE", "AGE"]
    assert rows[1][:3] == ["shown", "octo/widgets", "5"]
    assert _rows(short.stdout)[1][:3] == ["shown", "octo/widgets", "5"]


def test_invalid_object_is_reported_by_field(kubectl_env: dict[str, str]) -> None:
    result = _kubectl(kubectl_env, "create", "-f", "-", stdin=GADGET_YAML.format(name="invalid", number=0))

    assert result.returncode == 1
    assert 'The Gadget "invalid" is invalid' in result.stderr
    assert "spec.number" in result.stderr


def test_apply_twice_configures(kubectl_env: dict[str, str]) -> None:
    first = _kubectl(kubectl_env, "apply", "-f", "-", stdin=GADGET_YAML.format(name="applied", number=1))
    second = _kubectl(kubectl_env, "apply", "-f", "-", stdin=GADGET_YAML.format(name="applied", number=2))
    number = _kubectl(kubectl_env, "get", "gd", "applied", "-o", "jsonpath={.spec.number}")

    assert first.stdout.strip() == "gadget.test.kubesim.io/applied created", first.stderr
    assert second.stdout.strip() == "gadget.test.kubesim.io/applied configured", second.stderr
    assert number.stdout == "2"


def test_delete_removes_object(kubectl_env: dict[str, str]) -> None:
    _kubectl(kubectl_env, "create", "-f", "-", stdin=GADGET_YAML.format(name="deleted", number=3))

    deleted = _kubectl(kubectl_env, "delete", "gadget", "deleted")
    missing = _kubectl(kubectl_env, "get", "gd", "deleted")

    assert deleted.stdout.strip() == 'gadget.test.kubesim.io "deleted" deleted', deleted.stderr
    assert missing.returncode == 1
    assert 'gadgets.test.kubesim.io "deleted" not found' in missing.stderr


def test_builtin_kinds_list_with_columns(kubectl_env: dict[str, str]) -> None:
    job = (
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: listed}\n"
        "spec: {template: {spec: {restartPolicy: Never, containers: [{name: r, image: 'r:1'}]}}}\n"
    )
    applied = _kubectl(kubectl_env, "apply", "-f", "-", stdin=job)
    jobs = _kubectl(kubectl_env, "get", "jobs")
    namespaces = _kubectl(kubectl_env, "get", "ns", "default")

    assert applied.stdout.strip() == "job.batch/listed created", applied.stderr
    assert _rows(jobs.stdout)[0] == ["NAME", "STATUS", "COMPLETIONS", "AGE"]
    assert _rows(jobs.stdout)[1][:3] == ["listed", "Running", "0/1"]
    assert _rows(namespaces.stdout)[1][:2] == ["default", "Active"]
