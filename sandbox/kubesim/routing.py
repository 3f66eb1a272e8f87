"""Parse an API path into the resource, namespace, name and subresource it addresses, and the request's verb."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ApiError, method_not_allowed
from .resources import ResourceRegistry, ResourceType


@dataclass(frozen=True)
class Target:
    """What one resource request addresses; ``namespace`` is None for a list across all namespaces."""

    resource: ResourceType
    version: str
    namespace: str | None
    name: str
    subresource: str
    verb: str


def _page_not_found(path: str) -> ApiError:
    return ApiError(404, "NotFound", f"the server could not find the requested resource (path {path})")


def split_group_version(path: str) -> tuple[str, str, list[str]] | None:
    """Return (group, version, remaining segments) for ``/api/v1/...`` and ``/apis/<group>/<version>/...`` paths."""
    segments = [segment for segment in path.split("/") if segment]
    if len(segments) >= 2 and segments[0] == "api":
        return "", segments[1], segments[2:]
    if len(segments) >= 3 and segments[0] == "apis":
        return segments[1], segments[2], segments[3:]
    return None


def _verb(method: str, has_name: bool, watch: bool) -> str:
    if method == "GET":
        return "get" if has_name else "watch" if watch else "list"
    verbs = {
        ("POST", False): "create",
        ("PUT", True): "update",
        ("PATCH", True): "patch",
        ("DELETE", True): "delete",
        ("DELETE", False): "deletecollection",
    }
    verb = verbs.get((method, has_name))
    if verb is None:
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow {method} on this path")
    return verb


def resolve(registry: ResourceRegistry, method: str, path: str, watch: bool) -> Target:
    """Map a resource path to a Target; raise 404 for an unknown resource and 405 for an unsupported verb."""
    parsed = split_group_version(path)
    if parsed is None or not parsed[2]:
        raise _page_not_found(path)
    group, version, segments = parsed

    # The legacy /watch/ prefix is the same as ?watch=true.
    if segments[0] == "watch":
        segments = segments[1:]
        watch = True

    # "namespaces/<ns>/status" addresses the Namespace itself; "namespaces/<ns>/pods" lists inside it.
    namespace: str | None = None
    namespaces = registry.get("", "namespaces")
    addresses_namespace = (
        group == "" and len(segments) == 3 and namespaces is not None and segments[2] in namespaces.subresources
    )
    if segments[0] == "namespaces" and len(segments) >= 3 and not addresses_namespace:
        namespace = segments[1]
        segments = segments[2:]
    if not segments or len(segments) > 3:
        raise _page_not_found(path)

    plural, name, subresource = segments[0], "", ""
    if len(segments) >= 2:
        name = segments[1]
    if len(segments) == 3:
        subresource = segments[2]

    resource = registry.serving(group, version, plural)
    if resource is None:
        raise _page_not_found(path)
    if subresource and subresource not in resource.subresources:
        raise _page_not_found(path)
    if resource.namespaced and namespace is None and name:
        raise _page_not_found(path)
    if not resource.namespaced and namespace is not None:
        raise _page_not_found(path)

    verb = _verb(method, bool(name), watch)
    if subresource == "log" and verb != "get":
        raise method_not_allowed(verb, f"{plural}/log")
    if subresource and verb not in ("get", "update", "patch"):
        raise method_not_allowed(verb, f"{plural}/{subresource}")
    if verb not in resource.verbs:
        raise method_not_allowed(verb, resource.qualified_name)
    if verb == "create" and resource.namespaced and namespace is None:
        raise _page_not_found(path)
    return Target(resource, version, namespace, name, subresource, verb)
