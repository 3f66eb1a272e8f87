"""Resource types the server serves: the built-in kinds and those defined by CustomResourceDefinitions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FULL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class PrinterColumn:
    """One ``additionalPrinterColumns`` entry of a CRD version."""

    name: str
    type: str
    json_path: str
    description: str = ""
    format: str = ""
    priority: int = 0


@dataclass
class ResourceType:
    """A served resource (one plural in one group) with everything discovery, storage and tables need."""

    group: str
    versions: list[str]
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = FULL_VERBS
    field_selectors: tuple[str, ...] = ()
    # Per served version: the openAPIV3Schema and the printer columns; empty for built-in kinds.
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    printer_columns: dict[str, list[PrinterColumn]] = field(default_factory=dict)
    is_custom: bool = False
    # A resource without a status subresource stores status like any other field.
    # Built-in kinds keep ``metadata.generation`` at 1 unless listed in ``tracks_generation``.
    tracks_generation: bool = True

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def preferred_version(self) -> str:
        return self.versions[0]

    def api_version(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version

    @property
    def qualified_name(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _builtin(group: str, version: str, plural: str, kind: str, namespaced: bool = True, **extra: Any) -> ResourceType:
    return ResourceType(
        group=group,
        versions=[version],
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        **extra,
    )


def builtin_resources() -> list[ResourceType]:
    """Return the built-in kinds, in the order the real API lists them."""
    return [
        _builtin(
            "", "v1", "namespaces", "Namespace", namespaced=False,
            short_names=("ns",), subresources=("status", "finalize"),
            verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
            field_selectors=("status.phase",), tracks_generation=False,
        ),
        _builtin(
            "", "v1", "pods", "Pod", short_names=("po",), categories=("all",), subresources=("status", "log"),
            field_selectors=(
                "status.phase", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                "spec.serviceAccountName", "status.podIP", "status.nominatedNodeName",
            ),
        ),
        _builtin("", "v1", "secrets", "Secret", field_selectors=("type",), tracks_generation=False),
        _builtin("", "v1", "configmaps", "ConfigMap", short_names=("cm",), tracks_generation=False),
        _builtin(
            "", "v1", "events", "Event", short_names=("ev",), tracks_generation=False,
            field_selectors=(
                "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                "reason", "reportingComponent", "source", "type",
            ),
        ),
        _builtin("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",), tracks_generation=False),
        _builtin(
            "batch", "v1", "jobs", "Job", categories=("all",), subresources=("status",),
            field_selectors=("status.successful",),
        ),
        _builtin("coordination.k8s.io", "v1", "leases", "Lease", tracks_generation=False),
        _builtin(
            "events.k8s.io", "v1", "events", "Event", short_names=("ev",), tracks_generation=False,
            field_selectors=("reason", "regarding.kind", "regarding.namespace", "regarding.name", "type"),
        ),
        _builtin(
            "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
            namespaced=False, short_names=("crd", "crds"), subresources=("status",),
        ),
    ]


def _printer_columns(raw_columns: list[dict[str, Any]]) -> list[PrinterColumn]:
    return [
        PrinterColumn(
            name=column["name"],
            type=column.get("type", "string"),
            json_path=column["jsonPath"],
            description=column.get("description", ""),
            format=column.get("format", ""),
            priority=int(column.get("priority", 0)),
        )
        for column in raw_columns
    ]


def resource_from_crd(crd: dict[str, Any]) -> ResourceType:
    """Build the served resource a CustomResourceDefinition (apiextensions.k8s.io/v1) defines."""
    spec = crd["spec"]
    names = spec["names"]
    served = [version for version in spec["versions"] if version.get("served", True)]

    # The storage version comes first so that it is the preferred one, as the real API does.
    served.sort(key=lambda version: not version.get("storage", False))
    schemas = {
        version["name"]: version.get("schema", {}).get("openAPIV3Schema", {})
        for version in served
    }
    columns = {version["name"]: _printer_columns(version.get("additionalPrinterColumns", [])) for version in served}
    subresources: tuple[str, ...] = ()
    if any("status" in version.get("subresources", {}) for version in served):
        subresources = ("status",)
    selectable = tuple(
        selectable_field["jsonPath"].lstrip(".")
        for version in served
        for selectable_field in version.get("selectableFields", [])
    )
    return ResourceType(
        group=spec["group"],
        versions=[version["name"] for version in served],
        plural=names["plural"],
        singular=names.get("singular", names["kind"].lower()),
        kind=names["kind"],
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=tuple(names.get("shortNames", ())),
        categories=tuple(names.get("categories", ())),
        subresources=subresources,
        field_selectors=selectable,
        schemas=schemas,
        printer_columns=columns,
        is_custom=True,
    )


class ResourceRegistry:
    """The set of served resources, looked up by group and plural (or kind, or short name)."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], ResourceType] = {}

    def add(self, resource: ResourceType) -> None:
        self._by_key[resource.key] = resource

    def remove(self, group: str, plural: str) -> None:
        self._by_key.pop((group, plural), None)

    def get(self, group: str, plural: str) -> ResourceType | None:
        return self._by_key.get((group, plural))

    def serving(self, group: str, version: str, plural: str) -> ResourceType | None:
        resource = self._by_key.get((group, plural))
        if resource is None or version not in resource.versions:
            return None
        return resource

    def all(self) -> list[ResourceType]:
        return list(self._by_key.values())

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for resource in self._by_key.values():
            if resource.group == group and resource.kind == kind and version in resource.versions:
                return resource
        return None

    def groups(self) -> dict[str, list[str]]:
        """Return each group's served versions, the preferred one first, in registration order."""
        groups: dict[str, list[str]] = {}
        for resource in self._by_key.values():
            versions = groups.setdefault(resource.group, [])
            for version in resource.versions:
                if version not in versions:
                    versions.append(version)
        return groups
