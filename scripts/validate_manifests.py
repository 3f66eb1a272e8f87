"""Validate rendered Kubernetes manifests against the API schemas of one Kubernetes version, in strict mode.

Usage: python scripts/validate_manifests.py --kubernetes-version 1.33 FILE...

Strict mode rejects fields the schema does not define, so a misspelt or misplaced key fails here
instead of being dropped by the API server. A kind without a schema fails too, except the
project's own custom resource kinds, which are skipped by name because their schema exists only
in the cluster, installed from crds/prreviews.yaml.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

# (apiVersion group, kind) pairs that have no built-in schema and are skipped on purpose.
CUSTOM_RESOURCE_KINDS = frozenset({("prreviewer.io", "PullRequestReview")})


def documents(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the non-empty YAML documents of ``path``."""
    with path.open(encoding="utf-8") as handle:
        for document in yaml.safe_load_all(handle):
            if document:
                yield document


def is_custom_resource(document: dict[str, Any]) -> bool:
    group = str(document.get("apiVersion", "")).rpartition("/")[0]
    return (group, document.get("kind")) in CUSTOM_RESOURCE_KINDS


def validation_error(document: dict[str, Any], version: str) -> str | None:
    """Return why ``document`` is invalid for Kubernetes ``version``, or None when it is valid."""
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return f"no schema for {document.get('apiVersion')} {document.get('kind')} in Kubernetes {version}"
    except kubernetes_validate.ValidationError as error:
        location = "/".join(str(part) for part in error.path) or "(top level)"
        return f"{location}: {error.message}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubernetes-version", required=True, help="Kubernetes version, such as 1.33")
    parser.add_argument("files", nargs="+", type=Path, help="multi-document YAML files")
    args = parser.parse_args(argv)

    failures = 0
    checked = 0
    for path in args.files:
        for document in documents(path):
            name = f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"
            if is_custom_resource(document):
                print(f"{path}: skipped {name}: custom resource, validated by its CRD in the cluster")
                continue

            checked += 1
            error = validation_error(document, args.kubernetes_version)
            if error:
                failures += 1
                print(f"{path}: {name} is invalid: {error}", file=sys.stderr)

    print(f"validated {checked} manifests against Kubernetes {args.kubernetes_version}: {failures} invalid")
    return 1 if failures or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
