"""Table output (``meta.k8s.io/v1`` Table) for ``kubectl get``: printer columns, JSONPath cells and ages."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from .resources import PrinterColumn, ResourceType

# A JSONPath step: ".field", "['field']", "[3]", "[*]" or a "[?(@.key=="value")]" filter.
_STEP = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_\-$/]+)"""
    r"""|\[['"](?P<quoted>[^'"]+)['"]\]"""
    r"""|\[(?P<index>-?\d+)\]"""
    r"""|\[(?P<wildcard>\*)\]"""
    r"""|\[\?\(@\.(?P<filter_path>[A-Za-z0-9_.\-]+)\s*==\s*['"](?P<filter_value>[^'"]*)['"]\)\]"""
)


def evaluate_jsonpath(obj: Any, path: str) -> list[Any]:
    """Return every value the simple JSONPath (as used in printer columns) selects; empty when none."""
    expression = path.strip()
    if expression.startswith("{") and expression.endswith("}"):
        expression = expression[1:-1]
    expression = expression.removeprefix("$")
    if not expression.startswith((".", "[")):
        expression = "." + expression

    values = [obj]
    position = 0
    while position < len(expression):
        step = _STEP.match(expression, position)
        if step is None:
            return []
        values = _apply_step(values, step)
        position = step.end()
    return values


def _apply_step(values: list[Any], step: re.Match[str]) -> list[Any]:
    selected: list[Any] = []
    key = step.group("field") or step.group("quoted")
    for value in values:
        if key is not None:
            if isinstance(value, dict) and key in value:
                selected.append(value[key])
        elif step.group("index") is not None:
            index = int(step.group("index"))
            if isinstance(value, list) and -len(value) <= index < len(value):
                selected.append(value[index])
        elif step.group("wildcard"):
            if isinstance(value, list):
                selected.extend(value)
            elif isinstance(value, dict):
                selected.extend(value.values())
        elif isinstance(value, list):
            for item in value:
                matched = evaluate_jsonpath(item, "." + step.group("filter_path"))
                if matched and str(matched[0]) == step.group("filter_value"):
                    selected.append(item)
    return selected


def human_duration(seconds: float) -> str:
    """Format an age the way kubectl does: 45s, 3m12s, 15m, 5h10m, 2d3h, 40d, 2y10d."""
    seconds = int(seconds)
    if seconds < 0:
        return "0s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"


def age(timestamp: str | None, now: datetime.datetime) -> str:
    if not timestamp:
        return "<unknown>"
    created = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    return human_duration((now - created).total_seconds())


def _cell(column: PrinterColumn, values: list[Any], now: datetime.datetime) -> Any:
    if not values or values[0] is None:
        return None
    value = values[0]
    if column.type == "date":
        return age(str(value), now) if isinstance(value, str) else None
    if column.type == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if column.type == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if column.type == "boolean":
        return value if isinstance(value, bool) else None
    if isinstance(value, dict | list):
        return str(value)
    return ",".join(str(item) for item in values) if len(values) > 1 else str(value)


# -- columns of the built-in kinds ------------------------------------------------------------------------

def _pod_ready(pod: dict[str, Any]) -> str:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    ready = sum(1 for status in statuses if status.get("ready"))
    return f"{ready}/{len(pod.get('spec', {}).get('containers') or [])}"


def _pod_restarts(pod: dict[str, Any]) -> int:
    return sum(status.get("restartCount", 0) for status in pod.get("status", {}).get("containerStatuses") or [])


def _job_status(job: dict[str, Any]) -> str:
    conditions = {c.get("type"): c.get("status") for c in job.get("status", {}).get("conditions") or []}
    if conditions.get("Complete") == "True":
        return "Complete"
    if conditions.get("Failed") == "True":
        return "Failed"
    if job.get("spec", {}).get("suspend"):
        return "Suspended"
    return "Running"


def _job_completions(job: dict[str, Any]) -> str:
    return f"{job.get('status', {}).get('succeeded', 0)}/{job.get('spec', {}).get('completions', 1)}"


BuiltinColumn = tuple[PrinterColumn, Callable[[dict[str, Any]], Any]]

_BUILTIN_COLUMNS: dict[tuple[str, str], list[BuiltinColumn]] = {
    ("", "pods"): [
        (PrinterColumn("Ready", "string", ""), _pod_ready),
        (PrinterColumn("Status", "string", ""), lambda pod: pod.get("status", {}).get("phase", "")),
        (PrinterColumn("Restarts", "integer", ""), _pod_restarts),
    ],
    ("batch", "jobs"): [
        (PrinterColumn("Status", "string", ""), _job_status),
        (PrinterColumn("Completions", "string", ""), _job_completions),
    ],
    ("", "namespaces"): [
        (PrinterColumn("Status", "string", ""), lambda namespace: namespace.get("status", {}).get("phase", "")),
    ],
    ("", "configmaps"): [
        (PrinterColumn("Data", "integer", ""), lambda config: len(config.get("data") or {})),
    ],
    ("", "secrets"): [
        (PrinterColumn("Type", "string", ""), lambda secret: secret.get("type", "")),
        (PrinterColumn("Data", "integer", ""), lambda secret: len(secret.get("data") or {})),
    ],
}

_NAME_COLUMN = {
    "name": "Name", "type": "string", "format": "name", "priority": 0,
    "description": "Name must be unique within a namespace.",
}
_AGE_COLUMN = {
    "name": "Age", "type": "string", "format": "", "priority": 0,
    "description": "The time since the object was created.",
}


def _definition(column: PrinterColumn) -> dict[str, Any]:
    # Date columns reach the client already converted to ages, so they are declared as strings.
    column_type = "string" if column.type == "date" else column.type
    return {
        "name": column.name, "type": column_type, "format": column.format,
        "description": column.description, "priority": column.priority,
    }


def _row_object(obj: dict[str, Any], include_object: str) -> dict[str, Any] | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def build_table(
    resource: ResourceType,
    version: str,
    objects: list[dict[str, Any]],
    resource_version: str,
    include_object: str = "Metadata",
) -> dict[str, Any]:
    """Return a meta.k8s.io/v1 Table: Name, the kind's columns (the CRD's printer columns), and Age."""
    now = datetime.datetime.now(datetime.UTC)
    custom_columns = resource.printer_columns.get(version)
    builtin = _BUILTIN_COLUMNS.get(resource.key, [])
    columns = [_NAME_COLUMN]
    if custom_columns is not None and resource.is_custom:
        columns += [_definition(column) for column in custom_columns]
        # A CRD with printer columns lists Age among them when it wants one; one without gets Name and Age.
        if not custom_columns:
            columns.append(_AGE_COLUMN)
    else:
        columns += [_definition(column) for column, _ in builtin] + [_AGE_COLUMN]

    rows = []
    for obj in objects:
        cells: list[Any] = [obj["metadata"]["name"]]
        if custom_columns is not None and resource.is_custom:
            cells += [_cell(column, evaluate_jsonpath(obj, column.json_path), now) for column in custom_columns]
            if not custom_columns:
                cells.append(age(obj["metadata"].get("creationTimestamp"), now))
        else:
            cells += [render(obj) for _, render in builtin]
            cells.append(age(obj["metadata"].get("creationTimestamp"), now))
        row: dict[str, Any] = {"cells": cells}
        row_object = _row_object(obj, include_object)
        if row_object is not None:
            row["object"] = row_object
        rows.append(row)

    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns,
        "rows": rows,
    }


def wants_table(accept: str) -> bool:
    """Tell whether the Accept header offers a meta.k8s.io Table (kubectl get does; JSON is its fallback)."""
    for option in accept.split(","):
        parameters = dict(
            part.strip().split("=", 1) for part in option.split(";")[1:] if "=" in part
        )
        if parameters.get("as") == "Table" and parameters.get("g") == "meta.k8s.io":
            return True
    return False
