"""Fixtures for the kubesim tests: one API server per test module, clients and fresh namespaces."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest

from kubesim.testing import RunningApiServer, running_apiserver

CRD_DIR = Path(__file__).parent / "crds"
GROUP, VERSION, PLURAL = "test.kubesim.io", "v1", "gadgets"


@pytest.fixture(scope="module")
def apiserver() -> Iterator[RunningApiServer]:
    with running_apiserver(crd_dir=CRD_DIR) as server:
        yield server


@pytest.fixture(scope="module")
def api_client(apiserver: RunningApiServer, tmp_path_factory: pytest.TempPathFactory) -> kubernetes.client.ApiClient:
    config = apiserver.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config", token="test-client-token")
    return kubernetes.config.new_client_from_config(config_file=str(config))


@pytest.fixture()
def core(api_client: kubernetes.client.ApiClient) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(api_client)


@pytest.fixture()
def batch(api_client: kubernetes.client.ApiClient) -> kubernetes.client.BatchV1Api:
    return kubernetes.client.BatchV1Api(api_client)


@pytest.fixture()
def custom(api_client: kubernetes.client.ApiClient) -> kubernetes.client.CustomObjectsApi:
    return kubernetes.client.CustomObjectsApi(api_client)


@pytest.fixture()
def namespace(core: kubernetes.client.CoreV1Api) -> str:
    name = f"test-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    return name


def gadget(name: str, repository: str = "octo/widgets", number: int = 7, **spec: object) -> dict[str, object]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Gadget",
        "metadata": {"name": name},
        "spec": {"repository": repository, "number": number, **spec},
    }
