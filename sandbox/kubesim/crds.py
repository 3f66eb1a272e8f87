"""CustomResourceDefinition checks, status, and loading CRDs from a folder of YAML files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import FieldCause

CRD_API_VERSION = "apiextensions.k8s.io/v1"


def check_crd(crd: dict[str, Any]) -> list[FieldCause]:
    """Return the problems that make the real API reject a v1 CRD and that kubesim would trip over."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    causes = [
        FieldCause("FieldValueRequired", f"spec.{path}", "Required value")
        for path, value in (
            ("group", spec.get("group")),
            ("names.plural", names.get("plural")),
            ("names.kind", names.get("kind")),
            ("versions", spec.get("versions")),
        )
        if not value
    ]
    if causes:
        return causes

    expected_name = f"{names['plural']}.{spec['group']}"
    if crd["metadata"].get("name") != expected_name:
        message = f'Invalid value: "{crd["metadata"].get("name")}": must be spec.names.plural+"."+spec.group'
        causes.append(FieldCause("FieldValueInvalid", "metadata.name", message))
    storage_versions = [version for version in spec["versions"] if version.get("storage")]
    if len(storage_versions) != 1:
        message = f"Invalid value: {len(storage_versions)}: must have exactly one version marked as storage version"
        causes.append(FieldCause("FieldValueInvalid", "spec.versions", message))
    if spec.get("scope", "Namespaced") not in ("Namespaced", "Cluster"):
        message = f'Unsupported value: "{spec.get("scope")}": supported values: "Cluster", "Namespaced"'
        causes.append(FieldCause("FieldValueNotSupported", "spec.scope", message))
    return causes


def established_status(crd: dict[str, Any], now: str) -> dict[str, Any]:
    """Return the status the real API reports once a CRD's names are accepted and it is served."""
    spec = crd["spec"]
    storage = [version["name"] for version in spec["versions"] if version.get("storage")]
    conditions = [
        {"type": condition, "status": "True", "reason": reason, "message": message, "lastTransitionTime": now}
        for condition, reason, message in (
            ("NamesAccepted", "NoConflicts", "no conflicts found"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        )
    ]
    names = dict(spec["names"])
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", f"{names['kind']}List")
    return {"conditions": conditions, "acceptedNames": names, "storedVersions": storage}


def load_crd_documents(folder: Path) -> list[dict[str, Any]]:
    """Return every CustomResourceDefinition document in the folder's ``*.yaml`` and ``*.yml`` files, by file name."""
    documents = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                documents.append(document)
    return documents
