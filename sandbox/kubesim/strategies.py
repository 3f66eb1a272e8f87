"""What the server does to an object before storing it: names, defaults, schema, status and generation rules.

These mirror the "registry strategies" of the real API server: on create the server assigns the uid,
timestamps and generation and drops ``status`` where a status subresource exists; on update it keeps the
fields clients may not change; a write to the main resource cannot change ``status`` and a write to
``/status`` changes nothing else.
"""

from __future__ import annotations

import copy
import datetime
import re
from typing import Any

from . import builtin_kinds, crds, schema
from .errors import FieldCause, bad_request, invalid
from .resources import ResourceType

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SERVER_METADATA = (
    "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "name", "namespace",
)


def timestamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_name(resource: ResourceType, name: str) -> list[FieldCause]:
    # Namespaces must be DNS labels; every other kind here accepts DNS subdomains.
    is_label = resource.plural == "namespaces"
    pattern, limit = (_DNS_LABEL, 63) if is_label else (_DNS_SUBDOMAIN, 253)
    if len(name) <= limit and pattern.fullmatch(name):
        return []
    kind = "RFC 1123 label" if is_label else "RFC 1123 subdomain"
    message = (
        f'Invalid value: "{name}": a lowercase {kind} must consist of lower case alphanumeric characters, '
        f"'-' or '.', and must start and end with an alphanumeric character (at most {limit} characters)"
    )
    return [FieldCause("FieldValueInvalid", "metadata.name", message)]


def _raise_if_invalid(resource: ResourceType, obj: dict[str, Any], causes: list[FieldCause]) -> None:
    if causes:
        raise invalid(resource.kind, resource.group, obj["metadata"].get("name", ""), causes)


def _check_custom_resource(resource: ResourceType, obj: dict[str, Any], version: str, strict: bool) -> list[FieldCause]:
    """Prune, default and validate a custom resource against its version's schema."""
    version_schema = resource.schemas.get(version) or {}
    if not version_schema:
        return []
    removed = schema.prune(obj, version_schema)
    if strict and removed:
        raise bad_request(f'strict decoding error: unknown field "{removed[0]}"')
    schema.apply_defaults(obj, version_schema)
    return schema.validate(obj, version_schema)


def _check_builtin(resource: ResourceType, obj: dict[str, Any]) -> list[FieldCause]:
    if resource.group == "" and resource.plural == "pods":
        return builtin_kinds.prepare_pod(obj)
    if resource.group == "batch" and resource.plural == "jobs":
        return builtin_kinds.prepare_job(obj, obj["metadata"]["uid"])
    if resource.group == "" and resource.plural == "namespaces":
        return builtin_kinds.prepare_namespace(obj)
    if resource.group == "" and resource.plural == "secrets":
        return builtin_kinds.prepare_secret(obj)
    if resource.group == "apiextensions.k8s.io":
        causes = crds.check_crd(obj)
        if not causes:
            obj["status"] = crds.established_status(obj, obj["metadata"]["creationTimestamp"])
        return causes
    return []


def prepare_create(resource: ResourceType, obj: dict[str, Any], version: str, uid: str, strict: bool) -> None:
    """Fill in server-owned metadata and defaults of a new object; raise 422 Invalid when it breaks a rule."""
    metadata = obj["metadata"]
    _raise_if_invalid(resource, obj, _check_name(resource, metadata["name"]))
    for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "generation", "resourceVersion"):
        metadata.pop(key, None)
    metadata["uid"] = uid
    metadata["creationTimestamp"] = timestamp()
    if resource.tracks_generation:
        metadata["generation"] = 1

    if resource.has_status:
        obj.pop("status", None)
    if resource.group == "" and resource.plural == "pods":
        obj["status"] = {"phase": "Pending"}

    if resource.is_custom:
        causes = _check_custom_resource(resource, obj, version, strict)
    else:
        causes = _check_builtin(resource, obj)
    _raise_if_invalid(resource, obj, causes)


def _spec_part(obj: dict[str, Any], resource: ResourceType) -> dict[str, Any]:
    excluded = ("metadata", "status") if resource.has_status else ("metadata",)
    return {key: value for key, value in obj.items() if key not in excluded}


def prepare_update(
    resource: ResourceType,
    old: dict[str, Any],
    new: dict[str, Any],
    version: str,
    subresource: str,
    strict: bool,
) -> dict[str, Any]:
    """Return the object to store for a PUT or PATCH, keeping what this kind of write may not change."""
    if subresource == "status":
        result = copy.deepcopy(old)
        if "status" in new:
            result["status"] = new["status"]
        else:
            result.pop("status", None)
    else:
        result = new
        if resource.has_status:
            if "status" in old:
                result["status"] = copy.deepcopy(old["status"])
            else:
                result.pop("status", None)
        for key in _SERVER_METADATA:
            if key in old["metadata"]:
                result["metadata"][key] = old["metadata"][key]
            else:
                result["metadata"].pop(key, None)

    if resource.is_custom:
        causes = _check_custom_resource(resource, result, version, strict)
    elif resource.group == "" and resource.plural == "secrets":
        causes = builtin_kinds.prepare_secret(result)
    elif resource.group == "apiextensions.k8s.io" and subresource != "status":
        causes = crds.check_crd(result)
    else:
        causes = []
    _raise_if_invalid(resource, result, causes)

    if resource.tracks_generation and _spec_part(result, resource) != _spec_part(old, resource):
        result["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
    return result
