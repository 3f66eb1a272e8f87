"""Discovery documents: /version, /api, /apis and the APIResourceList of each group version."""

from __future__ import annotations

from typing import Any

from .resources import ResourceRegistry, ResourceType

# The Kubernetes release whose API kubesim imitates; kubectl warns when its own minor version is far from it.
SERVER_MAJOR, SERVER_MINOR = "1", "32"

_SUBRESOURCE_VERBS = {"log": ["get"], "finalize": ["update"]}


def version_info() -> dict[str, str]:
    return {
        "major": SERVER_MAJOR,
        "minor": SERVER_MINOR,
        "gitVersion": f"v{SERVER_MAJOR}.{SERVER_MINOR}.0-kubesim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def core_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_document(group: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{group}/{version}", "version": version} for version in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def group_list(registry: ResourceRegistry) -> dict[str, Any]:
    groups = [_group_document(group, versions) for group, versions in registry.groups().items() if group]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: ResourceRegistry, name: str) -> dict[str, Any] | None:
    versions = registry.groups().get(name)
    if not name or versions is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_document(name, versions)}


def _resource_entries(resource: ResourceType) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": resource.plural,
        "singularName": resource.singular,
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": list(resource.verbs),
    }
    if resource.short_names:
        main["shortNames"] = list(resource.short_names)
    if resource.categories:
        main["categories"] = list(resource.categories)
    entries = [main]
    for subresource in resource.subresources:
        entries.append({
            "name": f"{resource.plural}/{subresource}",
            "singularName": "",
            "namespaced": resource.namespaced,
            "kind": resource.kind,
            "verbs": _SUBRESOURCE_VERBS.get(subresource, ["get", "patch", "update"]),
        })
    return entries


def resource_list(registry: ResourceRegistry, group_name: str, version: str) -> dict[str, Any] | None:
    """Return the APIResourceList of one group version, or None when nothing is served there."""
    served = [
        resource for resource in registry.all()
        if resource.group == group_name and version in resource.versions
    ]
    if not served:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group_name}/{version}" if group_name else version,
        "resources": [entry for resource in served for entry in _resource_entries(resource)],
    }
