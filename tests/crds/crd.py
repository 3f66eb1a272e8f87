"""Access to crds/prreviews.yaml and its schema for tests."""

import copy
from pathlib import Path
from typing import Any

import yaml

CRD_PATH = Path(__file__).resolve().parents[2] / "crds" / "prreviews.yaml"


def load_crd() -> dict[str, Any]:
    crd: dict[str, Any] = yaml.safe_load(CRD_PATH.read_text(encoding="utf-8"))
    return crd


def open_api_schema() -> dict[str, Any]:
    schema: dict[str, Any] = load_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def closed_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Return ``schema`` with unknown properties rejected wherever the API server would prune them."""
    closed = copy.deepcopy(schema)
    _close(closed)
    return closed


def _close(node: dict[str, Any]) -> None:
    if node.get("x-kubernetes-preserve-unknown-fields"):
        return
    if "properties" in node:
        node.setdefault("additionalProperties", False)
        for child in node["properties"].values():
            _close(child)
    if isinstance(node.get("items"), dict):
        _close(node["items"])
