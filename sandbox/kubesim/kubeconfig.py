"""Kubeconfig files that point clients at a kubesim server over plain HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def kubeconfig(server_url: str, token: str | None = None, namespace: str = "default") -> dict[str, Any]:
    """Return a kubeconfig with one context for the server; ``token`` becomes the user's bearer token."""
    user: dict[str, Any] = {"token": token} if token else {}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubesim", "cluster": {"server": server_url}}],
        "users": [{"name": "kubesim-user", "user": user}],
        "contexts": [
            {"name": "kubesim", "context": {"cluster": "kubesim", "user": "kubesim-user", "namespace": namespace}},
        ],
        "current-context": "kubesim",
        "preferences": {},
    }


def write_kubeconfig(path: Path, server_url: str, token: str | None = None, namespace: str = "default") -> Path:
    """Write the kubeconfig to ``path`` (creating parent folders) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig(server_url, token, namespace), sort_keys=False), encoding="utf-8")
    return path
