"""The PATCH content types: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and a strategic merge subset."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from .errors import ApiError, bad_request, unsupported_media_type

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# Lists that strategic merge patch merges item by item on a key instead of replacing, for the built-in kinds.
# NOTE: only these lists are merged by key; directives such as $patch, $retainKeys and $setElementOrder are not
# interpreted, and metadata.finalizers is replaced rather than merged as a set.
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
}


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch: objects merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_keyed_list(target: list[Any], patch: list[Any], key: str) -> list[Any]:
    if not all(isinstance(item, dict) and key in item for item in [*target, *patch]):
        return copy.deepcopy(patch)
    merged = [copy.deepcopy(item) for item in target]
    positions = {item[key]: index for index, item in enumerate(merged)}
    for item in patch:
        if item[key] in positions:
            index = positions[item[key]]
            merged[index] = strategic_merge_patch(merged[index], item)
        else:
            merged.append(copy.deepcopy(item))
    return merged


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Apply a merge patch in which the lists named in ``_MERGE_KEYS`` merge by their key."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        current = result.get(key)
        if value is None:
            result.pop(key, None)
        elif key in _MERGE_KEYS and isinstance(value, list) and isinstance(current, list):
            result[key] = _merge_keyed_list(current, value, _MERGE_KEYS[key])
        else:
            result[key] = strategic_merge_patch(current, value)
    return result


def _json_patch(target: dict[str, Any], operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list):
        raise bad_request("json patch must be a JSON array of operations")
    try:
        patched = jsonpatch.JsonPatch(operations).apply(target)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, TypeError) as error:
        message = f"the server rejected our request due to an error in our request: {error}"
        raise ApiError(422, "Invalid", message) from error
    if not isinstance(patched, dict):
        raise bad_request("json patch must leave a JSON object")
    return patched


def apply_patch(target: dict[str, Any], patch: Any, content_type: str, is_custom: bool) -> dict[str, Any]:
    """Return the patched object; raise 415 for a patch type this kind does not accept."""
    accepted = [JSON_PATCH, MERGE_PATCH] if is_custom else [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH]
    if content_type == JSON_PATCH:
        return _json_patch(target, patch)
    if content_type not in accepted:
        if content_type == APPLY_PATCH:
            raise ApiError(
                415, "UnsupportedMediaType",
                "server-side apply (application/apply-patch+yaml) is not supported by kubesim: "
                "use a merge patch, or kubectl apply without --server-side",
            )
        raise unsupported_media_type(content_type, accepted)
    if not isinstance(patch, dict):
        raise bad_request(f"a {content_type} body must be a JSON object")
    if content_type == STRATEGIC_MERGE_PATCH:
        return strategic_merge_patch(target, patch)
    return merge_patch(target, patch)
