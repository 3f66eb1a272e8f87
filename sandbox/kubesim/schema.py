"""Structural-schema handling for custom resources: pruning, defaulting and validation.

It follows the order of the real API server: unknown fields are pruned, defaults are applied, then the
object is validated against the version's ``openAPIV3Schema`` with jsonschema. Only the parts of the object
outside ``apiVersion``, ``kind`` and ``metadata`` are checked, because metadata is validated separately.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema

from .errors import FieldCause

_ROOT_FIELDS = ("apiVersion", "kind", "metadata")
_JSON_TYPE_NAMES = {
    str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object", type(None): "null",
}


def _preserves_unknown(schema: dict[str, Any]) -> bool:
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return True
    additional = schema.get("additionalProperties")
    return additional is True or isinstance(additional, dict)


def prune(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Remove fields the schema does not declare, in place; return the dotted paths removed."""
    removed: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        if not _preserves_unknown(schema) and not schema.get("x-kubernetes-embedded-resource"):
            for key in list(value):
                if key not in properties and not (path == "" and key in _ROOT_FIELDS):
                    del value[key]
                    removed.append(f"{path}{key}")
        for key, child in value.items():
            child_schema = properties.get(key)
            if child_schema is None and isinstance(schema.get("additionalProperties"), dict):
                child_schema = schema["additionalProperties"]
            if child_schema is not None and not (path == "" and key == "metadata"):
                removed.extend(prune(child, child_schema, f"{path}{key}."))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            removed.extend(prune(item, schema["items"], f"{path.rstrip('.')}[{index}]."))
    return removed


def apply_defaults(value: Any, schema: dict[str, Any]) -> None:
    """Fill in ``default`` values for absent properties, in place, at every level that exists."""
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key, child_schema in properties.items():
            if key not in value and "default" in child_schema:
                value[key] = copy.deepcopy(child_schema["default"])
            if key in value:
                apply_defaults(value[key], child_schema)
        if isinstance(schema.get("additionalProperties"), dict):
            for key, child in value.items():
                if key not in properties:
                    apply_defaults(child, schema["additionalProperties"])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])


def _to_json_schema(schema: Any) -> Any:
    """Translate OpenAPI v3 extensions (nullable, int-or-string) into plain JSON Schema draft 4."""
    if isinstance(schema, list):
        return [_to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    translated = {key: _to_json_schema(child) for key, child in schema.items() if not key.startswith("x-kubernetes")}
    if schema.get("x-kubernetes-int-or-string"):
        translated.pop("type", None)
        translated["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if translated.pop("nullable", False) and "type" in translated:
        translated["type"] = [translated["type"], "null"]
    if "properties" in schema:
        translated["properties"] = {key: _to_json_schema(child) for key, child in schema["properties"].items()}
    return translated


def _field_path(error: jsonschema.ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        if isinstance(part, int):
            path += f"[{part}]"
        elif path:
            path += f".{part}"
        else:
            path = str(part)
    return path


def _cause(error: jsonschema.ValidationError) -> FieldCause:
    """Phrase a jsonschema error like the real API server's field errors."""
    path = _field_path(error)
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return FieldCause("FieldValueRequired", f"{path}.{missing}" if path else missing, "Required value")
    if error.validator == "enum":
        supported = ", ".join(f'"{value}"' for value in error.validator_value)
        message = f'Unsupported value: "{error.instance}": supported values: {supported}'
        return FieldCause("FieldValueNotSupported", path, message)
    if error.validator == "type":
        actual = _JSON_TYPE_NAMES.get(type(error.instance), "unknown")
        message = f'Invalid value: "{actual}": {path} in body must be of type {error.validator_value}: "{actual}"'
        return FieldCause("FieldValueTypeInvalid", path, message)
    if error.validator == "pattern":
        message = f'Invalid value: "{error.instance}": {path} in body should match \'{error.validator_value}\''
        return FieldCause("FieldValueInvalid", path, message)
    bounds = {
        "minimum": "greater than or equal to", "maximum": "less than or equal to",
        "minLength": "at least", "maxLength": "at most", "minItems": "at least", "maxItems": "at most",
    }
    if error.validator in bounds:
        value = json.dumps(error.instance)
        units = {"minLength": " chars long", "maxLength": " chars long", "minItems": " items", "maxItems": " items"}
        unit = units.get(str(error.validator), "")
        message = f"Invalid value: {value}: {path} in body should be {bounds[str(error.validator)]} " \
            f"{error.validator_value}{unit}"
        return FieldCause("FieldValueInvalid", path, message)
    return FieldCause("FieldValueInvalid", path, f"Invalid value: {json.dumps(error.instance)}: {error.message}")


def validate(obj: dict[str, Any], schema: dict[str, Any]) -> list[FieldCause]:
    """Return one cause per schema violation of the object's non-metadata fields, sorted by field path."""
    body = {key: value for key, value in obj.items() if key not in _ROOT_FIELDS}
    body_schema = _to_json_schema(schema)
    body_schema.get("properties", {}).pop("metadata", None)
    body_schema.pop("required", None)
    required = [key for key in schema.get("required", []) if key not in _ROOT_FIELDS]
    if required:
        body_schema["required"] = required

    # NOTE: x-kubernetes-validations (CEL rules) are not evaluated; only the JSON Schema keywords are.
    validator = jsonschema.Draft4Validator(body_schema)
    causes = [_cause(error) for error in validator.iter_errors(body)]
    return sorted(causes, key=lambda cause: cause.field)
