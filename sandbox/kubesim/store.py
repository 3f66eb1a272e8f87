"""The in-memory object store: one global resourceVersion counter, watch history, finalizers and garbage collection.

Every public method takes the store's lock, so tests and the Job runner may call it from any thread while
the API server's event loop serves requests. Objects go in and out as deep copies.

Deletion follows the real API: an object with finalizers only gets ``deletionTimestamp`` and stays until
an update removes the last finalizer. Dependents (objects whose ``ownerReferences`` name a deleted owner's
uid) are handled by ``propagationPolicy``:

- Background (the default): dependents are deleted right after the owner, in the same request. A dependent
  that has another owner which still exists only loses its reference to the deleted owner.
- Foreground: simplified; dependents are deleted first, then the owner, in the same request (the real API
  keeps the owner with a ``foregroundDeletion`` finalizer until its dependents are gone).
- Orphan: the dependents lose their reference to the owner. batch/v1 Jobs default to Orphan when the
  request names no policy, like the real API, so their Pods stay unless the client asks for Background.

Deleting a namespace marks it Terminating, deletes everything in it, and removes it once it is empty.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import random
import threading
import uuid
from typing import Any

from . import strategies
from .errors import ApiError, FieldCause, already_exists, bad_request, conflict, invalid, not_found, stale_version
from .patching import apply_patch
from .resources import ResourceRegistry, ResourceType, builtin_resources, resource_from_crd
from .selectors import Requirement, fields_match, labels_match
from .watching import Watch, WatchEvent

ObjectKey = tuple[str, str]  # (namespace, or "" for cluster-scoped objects; name)

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_GENERATED_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _object_key(obj: dict[str, Any]) -> ObjectKey:
    return (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


class Store:
    """Objects by resource and (namespace, name), with the event history that watches replay."""

    def __init__(self, registry: ResourceRegistry | None = None, history_limit: int = 10000) -> None:
        self.registry = registry or ResourceRegistry()
        if registry is None:
            for resource in builtin_resources():
                self.registry.add(resource)
        self._lock = threading.RLock()
        self._objects: dict[tuple[str, str], dict[ObjectKey, dict[str, Any]]] = collections.defaultdict(dict)
        self._uids: dict[str, tuple[tuple[str, str], ObjectKey]] = {}
        self._revision = 0
        self._history: collections.deque[WatchEvent] = collections.deque(maxlen=history_limit)
        self._compacted_revision = 0
        self._watches: set[Watch] = set()
        self._pending_policies: dict[str, str] = {}
        self._pod_logs: dict[ObjectKey, str] = {}
        for name in INITIAL_NAMESPACES:
            self.create(self._resource("", "namespaces"), "", {"metadata": {"name": name}})

    # -- reading -------------------------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """The latest resourceVersion the store handed out."""
        with self._lock:
            return self._revision

    def _resource(self, group: str, plural: str) -> ResourceType:
        resource = self.registry.get(group, plural)
        if resource is None:
            raise not_found(plural, group, "")
        return resource

    def _existing(self, resource: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self._objects[resource.key].get((namespace if resource.namespaced else "", name))
        if obj is None:
            raise not_found(resource.plural, resource.group, name)
        return obj

    def get(self, resource: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._existing(resource, namespace, name))

    def list_objects(
        self,
        resource: ResourceType,
        namespace: str | None,
        labels: list[Requirement] | None = None,
        fields: list[Requirement] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Return the matching objects sorted by namespace and name, and the revision they were read at."""
        with self._lock:
            items = [
                copy.deepcopy(obj)
                for key, obj in sorted(self._objects[resource.key].items())
                if (namespace is None or key[0] == namespace)
                and labels_match(obj, labels or [])
                and fields_match(obj, fields or [])
            ]
            return items, self._revision

    def objects(self, group: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Return copies of every stored object of a resource: the test hook for sampling cluster state."""
        return self.list_objects(self._resource(group, plural), namespace)[0]

    def pod_log(self, namespace: str, name: str) -> str:
        with self._lock:
            self._existing(self._resource("", "pods"), namespace, name)
            return self._pod_logs.get((namespace, name), "")

    def append_pod_log(self, namespace: str, name: str, text: str) -> None:
        """Add output to a Pod's log, as served by ``pods/log``; the Job runner calls this."""
        with self._lock:
            self._existing(self._resource("", "pods"), namespace, name)
            self._pod_logs[(namespace, name)] = self._pod_logs.get((namespace, name), "") + text

    # -- events --------------------------------------------------------------------------------------------

    def _publish(self, event_type: str, resource: ResourceType, obj: dict[str, Any], previous: Any = None) -> None:
        if len(self._history) == self._history.maxlen:
            self._compacted_revision = self._history[0].revision
        event = WatchEvent(self._revision, event_type, resource.key, copy.deepcopy(obj), previous)
        self._history.append(event)
        for watch in list(self._watches):
            watch.offer(event)

    def _stamp(self, obj: dict[str, Any]) -> None:
        self._revision += 1
        obj["metadata"]["resourceVersion"] = str(self._revision)

    def open_watch(
        self,
        resource: ResourceType,
        namespace: str | None,
        labels: list[Requirement],
        fields: list[Requirement],
        since: int | None,
        loop: asyncio.AbstractEventLoop,
    ) -> tuple[Watch, list[WatchEvent]]:
        """Register a watch and return the events to replay before the live ones.

        With ``since`` None, the replay is a synthetic ADDED for every current object; otherwise it is every
        recorded event after that resourceVersion. Raise 410 Expired when those events are no longer kept.
        """
        with self._lock:
            if since is not None and since < self._compacted_revision:
                message = f"too old resource version: {since} ({self._compacted_revision + 1})"
                raise ApiError(410, "Expired", message)
            watch = Watch(resource, namespace, labels, fields, loop)
            self._watches.add(watch)
            if since is None:
                replay = [
                    WatchEvent(self._revision, "ADDED", resource.key, copy.deepcopy(obj))
                    for _, obj in sorted(self._objects[resource.key].items())
                ]
            else:
                replay = [
                    event for event in self._history
                    if event.revision > since and event.resource_key == resource.key
                ]
            return watch, replay

    def close_watch(self, watch: Watch) -> None:
        with self._lock:
            self._watches.discard(watch)

    def close_all_watches(self) -> None:
        with self._lock:
            for watch in self._watches:
                watch.close()
            self._watches.clear()

    # -- creating ------------------------------------------------------------------------------------------

    def _check_identity(self, resource: ResourceType, namespace: str, body: dict[str, Any], version: str) -> None:
        api_version = body.get("apiVersion")
        if api_version and api_version != resource.api_version(version):
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({resource.api_version(version)})"
            )
        if body.get("kind") and body["kind"] != resource.kind:
            raise bad_request(
                f"the kind in the data ({body['kind']}) does not match the expected kind ({resource.kind})"
            )
        metadata = body.setdefault("metadata", {})
        if not resource.namespaced:
            metadata.pop("namespace", None)
            return
        if metadata.get("namespace") and metadata["namespace"] != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        metadata["namespace"] = namespace

    def _assign_name(self, resource: ResourceType, body: dict[str, Any]) -> None:
        metadata = body["metadata"]
        if metadata.get("name"):
            return
        prefix = metadata.get("generateName")
        if not prefix:
            message = "Required value: name or generateName is required"
            cause = FieldCause("FieldValueRequired", "metadata.name", message)
            raise invalid(resource.kind, resource.group, "", [cause])
        namespace = metadata.get("namespace", "")
        while True:
            suffix = "".join(random.choices(_GENERATED_NAME_ALPHABET, k=5))  # noqa: S311 - names, not secrets
            if (namespace, prefix + suffix) not in self._objects[resource.key]:
                metadata["name"] = prefix + suffix
                return

    def _check_namespace_accepts(self, resource: ResourceType, namespace: str) -> None:
        if not resource.namespaced:
            return
        owner = self._objects[("", "namespaces")].get(("", namespace))
        if owner is None:
            raise not_found("namespaces", "", namespace)
        if owner["metadata"].get("deletionTimestamp"):
            message = f"{resource.plural} is forbidden: unable to create new content in namespace {namespace} " \
                "because it is being terminated"
            raise ApiError(403, "Forbidden", message)

    def create(
        self, resource: ResourceType, namespace: str, body: dict[str, Any], version: str = "", strict: bool = False
    ) -> dict[str, Any]:
        """Store a new object; raise 409 AlreadyExists, 404 for a missing namespace, or 422 Invalid."""
        version = version or resource.preferred_version
        with self._lock:
            obj = copy.deepcopy(body)
            self._check_identity(resource, namespace, obj, version)
            self._assign_name(resource, obj)
            self._check_namespace_accepts(resource, namespace)
            if _object_key(obj) in self._objects[resource.key]:
                raise already_exists(resource.plural, resource.group, obj["metadata"]["name"])

            strategies.prepare_create(resource, obj, version, str(uuid.uuid4()), strict)
            obj["apiVersion"] = resource.api_version(resource.preferred_version)
            obj["kind"] = resource.kind
            self._stamp(obj)
            self._objects[resource.key][_object_key(obj)] = obj
            self._uids[obj["metadata"]["uid"]] = (resource.key, _object_key(obj))
            self._publish("ADDED", resource, obj)

            self._after_create(resource, obj)
            return copy.deepcopy(obj)

    def _after_create(self, resource: ResourceType, obj: dict[str, Any]) -> None:
        if resource.key == ("", "namespaces"):
            service_accounts = self._resource("", "serviceaccounts")
            self.create(service_accounts, obj["metadata"]["name"], {"metadata": {"name": "default"}})
        elif resource.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self.registry.add(resource_from_crd(obj))

    # -- updating ------------------------------------------------------------------------------------------

    def update(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        body: dict[str, Any],
        version: str = "",
        subresource: str = "",
        strict: bool = False,
    ) -> dict[str, Any]:
        """Replace an object (PUT); raise 409 Conflict when the body carries a stale resourceVersion."""
        version = version or resource.preferred_version
        with self._lock:
            old = self._existing(resource, namespace, name)
            new = copy.deepcopy(body)
            self._check_identity(resource, namespace, new, version)
            if new["metadata"].get("name", name) != name:
                raise bad_request(
                    f"the name of the object ({new['metadata']['name']}) does not match the name on the URL ({name})"
                )
            new["metadata"]["name"] = name

            requested_version = new["metadata"].get("resourceVersion")
            if requested_version and requested_version != old["metadata"]["resourceVersion"]:
                raise stale_version(resource.plural, resource.group, name)
            if not requested_version and resource.is_custom:
                message = "Invalid value: 0x0: must be specified for an update"
                cause = FieldCause("FieldValueInvalid", "metadata.resourceVersion", message)
                raise invalid(resource.kind, resource.group, name, [cause])

            stored = strategies.prepare_update(resource, old, new, version, subresource, strict)
            stored["apiVersion"] = resource.api_version(resource.preferred_version)
            stored["kind"] = resource.kind
            self._check_finalizers(resource, old, stored)
            return self._commit_update(resource, old, stored)

    def patch(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        patch: Any,
        content_type: str,
        version: str = "",
        subresource: str = "",
        strict: bool = False,
    ) -> dict[str, Any]:
        """Apply a patch to the current object and store the result as an update would."""
        version = version or resource.preferred_version
        with self._lock:
            current = copy.deepcopy(self._existing(resource, namespace, name))
            current["apiVersion"] = resource.api_version(version)
            patched = apply_patch(current, patch, content_type, resource.is_custom)
            if not isinstance(patched.get("metadata"), dict):
                raise bad_request("the patched object has no metadata")
            return self.update(resource, namespace, name, patched, version, subresource, strict)

    def _check_finalizers(self, resource: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
        if not old["metadata"].get("deletionTimestamp"):
            return
        added = set(new["metadata"].get("finalizers") or []) - set(old["metadata"].get("finalizers") or [])
        if added:
            message = (
                "Forbidden: no new finalizers can be added if the object is being deleted, "
                f"found new finalizers {sorted(added)}"
            )
            raise invalid(resource.kind, resource.group, new["metadata"]["name"], [
                FieldCause("FieldValueForbidden", "metadata.finalizers", message),
            ])

    def _commit_update(self, resource: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return copy.deepcopy(old)

        self._stamp(new)
        self._objects[resource.key][_object_key(new)] = new
        self._publish("MODIFIED", resource, new, copy.deepcopy(old))
        if resource.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self.registry.add(resource_from_crd(new))

        # A terminating namespace goes once it is empty (see _finish_namespace_if_empty), not when unfinalized.
        is_namespace = resource.key == ("", "namespaces")
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers") and not is_namespace:
            policy = self._pending_policies.get(new["metadata"]["uid"], "Background")
            return self._remove(resource, new, policy)
        return copy.deepcopy(new)

    # -- deleting ------------------------------------------------------------------------------------------

    def delete(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        propagation: str | None = None,
        preconditions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Delete an object, or mark it for deletion when it has finalizers; return its last state."""
        with self._lock:
            obj = self._existing(resource, namespace, name)
            self._check_preconditions(resource, obj, preconditions or {})
            if propagation not in (None, "Background", "Foreground", "Orphan"):
                raise bad_request(f"invalid propagationPolicy {propagation!r}: use Background, Foreground or Orphan")
            policy = propagation or ("Orphan" if resource.key == ("batch", "jobs") else "Background")
            if resource.key == ("", "namespaces"):
                return self._terminate_namespace(obj)
            return self._delete_object(resource, obj, policy)

    def delete_collection(
        self,
        resource: ResourceType,
        namespace: str | None,
        labels: list[Requirement],
        fields: list[Requirement],
        propagation: str | None = None,
    ) -> list[dict[str, Any]]:
        with self._lock:
            matching, _ = self.list_objects(resource, namespace, labels, fields)
            return [
                self.delete(resource, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], propagation)
                for obj in matching
            ]

    def _check_preconditions(self, resource: ResourceType, obj: dict[str, Any], preconditions: dict[str, Any]) -> None:
        for field in ("uid", "resourceVersion"):
            expected = preconditions.get(field)
            actual = obj["metadata"].get(field)
            if expected is not None and expected != actual:
                detail = f"Precondition failed: {field} in precondition: {expected}, {field} in object meta: {actual}"
                raise conflict(resource.plural, resource.group, obj["metadata"]["name"], detail)

    def _delete_object(self, resource: ResourceType, obj: dict[str, Any], policy: str) -> dict[str, Any]:
        if obj["metadata"].get("finalizers"):
            if obj["metadata"].get("deletionTimestamp"):
                return copy.deepcopy(obj)
            self._pending_policies[obj["metadata"]["uid"]] = policy
            marked = copy.deepcopy(obj)
            marked["metadata"]["deletionTimestamp"] = strategies.timestamp()
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            if "generation" in marked["metadata"]:
                marked["metadata"]["generation"] += 1
            return self._commit_update(resource, obj, marked)

        if policy == "Foreground":
            self._collect_dependents(obj["metadata"]["uid"], "Foreground")
        return self._remove(resource, obj, policy)

    def _remove(self, resource: ResourceType, obj: dict[str, Any], policy: str) -> dict[str, Any]:
        key = _object_key(obj)
        if self._objects[resource.key].pop(key, None) is None:
            return copy.deepcopy(obj)  # a dependent already removed earlier in the same cascade
        uid = obj["metadata"]["uid"]
        self._uids.pop(uid, None)
        self._pending_policies.pop(uid, None)
        if resource.key == ("", "pods"):
            self._pod_logs.pop(key, None)
        self._stamp(obj)
        self._publish("DELETED", resource, obj)

        if policy == "Orphan":
            self._orphan_dependents(uid)
        else:
            self._collect_dependents(uid, policy)
        if resource.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._drop_custom_resource(obj)
        if resource.namespaced:
            self._finish_namespace_if_empty(key[0])
        return copy.deepcopy(obj)

    def _dependents(self, owner_uid: str) -> list[tuple[ResourceType, dict[str, Any]]]:
        found = []
        for resource_key, objects in self._objects.items():
            resource = self.registry.get(*resource_key)
            for obj in objects.values():
                references = obj["metadata"].get("ownerReferences") or []
                if resource is not None and any(reference.get("uid") == owner_uid for reference in references):
                    found.append((resource, obj))
        return found

    def _drop_owner_reference(self, resource: ResourceType, obj: dict[str, Any], owner_uid: str) -> None:
        updated = copy.deepcopy(obj)
        references = [ref for ref in obj["metadata"]["ownerReferences"] if ref.get("uid") != owner_uid]
        if references:
            updated["metadata"]["ownerReferences"] = references
        else:
            updated["metadata"].pop("ownerReferences")
        self._commit_update(resource, obj, updated)

    def _orphan_dependents(self, owner_uid: str) -> None:
        for resource, obj in self._dependents(owner_uid):
            self._drop_owner_reference(resource, obj, owner_uid)

    def _collect_dependents(self, owner_uid: str, policy: str) -> None:
        for resource, obj in self._dependents(owner_uid):
            if _object_key(obj) not in self._objects[resource.key]:
                continue
            other_owners = [
                reference for reference in obj["metadata"]["ownerReferences"]
                if reference.get("uid") != owner_uid and reference.get("uid") in self._uids
            ]
            if other_owners:
                self._drop_owner_reference(resource, obj, owner_uid)
            else:
                self._delete_object(resource, obj, policy)

    def _terminate_namespace(self, namespace_obj: dict[str, Any]) -> dict[str, Any]:
        name = namespace_obj["metadata"]["name"]
        namespaces = self._resource("", "namespaces")
        if not namespace_obj["metadata"].get("deletionTimestamp"):
            terminating = copy.deepcopy(namespace_obj)
            terminating["metadata"]["deletionTimestamp"] = strategies.timestamp()
            terminating["status"] = {"phase": "Terminating"}
            namespace_obj = self._commit_update(namespaces, namespace_obj, terminating)

        for resource_key, objects in list(self._objects.items()):
            resource = self.registry.get(*resource_key)
            if resource is None or not resource.namespaced:
                continue
            for key, obj in list(objects.items()):
                if key[0] == name and key in objects:
                    self._delete_object(resource, obj, "Background")
        self._finish_namespace_if_empty(name)
        remaining = self._objects[namespaces.key].get(("", name))
        return copy.deepcopy(remaining if remaining is not None else namespace_obj)

    def _finish_namespace_if_empty(self, name: str) -> None:
        namespaces = self._resource("", "namespaces")
        namespace_obj = self._objects[namespaces.key].get(("", name))
        if namespace_obj is None or not namespace_obj["metadata"].get("deletionTimestamp"):
            return
        for resource_key, objects in self._objects.items():
            resource = self.registry.get(*resource_key)
            if resource is not None and resource.namespaced and any(key[0] == name for key in objects):
                return
        self._remove(namespaces, namespace_obj, "Background")

    def _drop_custom_resource(self, crd: dict[str, Any]) -> None:
        """Stop serving a deleted CRD's resource and delete its objects without waiting for their finalizers."""
        resource = self.registry.get(crd["spec"]["group"], crd["spec"]["names"]["plural"])
        if resource is None:
            return
        # NOTE: the real API keeps the CRD until its objects' finalizers are removed; here they are dropped at once.
        for obj in list(self._objects[resource.key].values()):
            obj["metadata"].pop("finalizers", None)
            self._remove(resource, obj, "Background")
        for watch in [watch for watch in self._watches if watch.resource.key == resource.key]:
            watch.close()
            self._watches.discard(watch)
        self.registry.remove(*resource.key)
