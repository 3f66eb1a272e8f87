"""OpenAPI v3 documents with paths and operations only, no schemas: what kubectl needs for create and apply.

kubectl (checked with v1.32) reads ``/openapi/v3`` and a group version's document to learn whether the server
accepts the ``fieldValidation`` query parameter on PATCH. When it does, kubectl leaves validation to the server
instead of downloading schemas. The documents here list every resource path with that parameter.
``/openapi/v2`` stays 404: kubectl then computes ``apply`` patches from its built-in types
(strategic merge) or, for custom resources, as JSON merge patches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from .discovery import SERVER_MAJOR, SERVER_MINOR
from .errors import ApiError
from .patching import APPLY_PATCH, JSON_PATCH, MERGE_PATCH
from .resources import ResourceRegistry, ResourceType
from .responses import json_response

_WRITE_PARAMETERS = [
    {"name": name, "in": "query", "schema": {"type": "string"}}
    for name in ("dryRun", "fieldManager", "fieldValidation", "pretty")
]


def _group_version_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _operation(
    resource: ResourceType, version: str, action: str, request_types: list[str] | None = None
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"{action}{resource.kind}",
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": resource.group, "version": version, "kind": resource.kind},
    }
    if request_types:
        content = {media_type: {"schema": {"type": "object"}} for media_type in request_types}
        operation["requestBody"] = {"content": content}
        operation["parameters"] = _WRITE_PARAMETERS
    return operation


def _resource_paths(resource: ResourceType, version: str) -> dict[str, Any]:
    prefix = "/" + _group_version_key(resource.group, version)
    collection = f"{prefix}/namespaces/{{namespace}}/{resource.plural}" if resource.namespaced else \
        f"{prefix}/{resource.plural}"
    item = f"{collection}/{{name}}"
    return {
        collection: {
            "get": _operation(resource, version, "list"),
            "post": _operation(resource, version, "post", ["*/*"]),
        },
        item: {
            "get": _operation(resource, version, "get"),
            "put": _operation(resource, version, "put", ["*/*"]),
            "patch": _operation(resource, version, "patch", [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]),
            "delete": _operation(resource, version, "delete"),
        },
    }


def group_version_document(registry: ResourceRegistry, group: str, version: str) -> dict[str, Any] | None:
    paths: dict[str, Any] = {}
    for resource in registry.all():
        if resource.group == group and version in resource.versions:
            paths.update(_resource_paths(resource, version))
    if not paths:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (kubesim)", "version": f"v{SERVER_MAJOR}.{SERVER_MINOR}.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }


def _digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32].upper()


def root_document(registry: ResourceRegistry) -> dict[str, Any]:
    paths = {}
    for group, versions in registry.groups().items():
        for version in versions:
            key = _group_version_key(group, version)
            document = group_version_document(registry, group, version) or {}
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={_digest(document)}"}
    return {"paths": paths}


def serve(registry: ResourceRegistry, path: str, query: Mapping[str, str]) -> web.Response:
    """Serve ``/openapi/v3`` and ``/openapi/v3/<api|apis/group>/<version>``; 404 for anything else."""
    if path == "/openapi/v3":
        return json_response(root_document(registry))
    segments = path.removeprefix("/openapi/v3/").split("/")
    document = None
    if len(segments) == 2 and segments[0] == "api":
        document = group_version_document(registry, "", segments[1])
    elif len(segments) == 3 and segments[0] == "apis":
        document = group_version_document(registry, segments[1], segments[2])
    if document is None:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource (path {path})")
    return json_response(document)
