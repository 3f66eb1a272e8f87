"""Label and field selectors, parsed from their query-string form and matched against objects."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import bad_request

# Tokens of the label selector grammar: operators, parentheses, commas and bare words (keys or values).
_LABEL_TOKEN = re.compile(r"\s*(==|!=|=|\(|\)|,|!|[^\s=!(),]+)")
_SET_OPERATORS = ("in", "notin")


@dataclass(frozen=True)
class Requirement:
    """One term of a selector: ``key <operator> values``."""

    key: str
    operator: str  # one of: =, !=, in, notin, exists, !exists
    values: tuple[str, ...] = ()

    def matches(self, value: str | None) -> bool:
        if self.operator == "exists":
            return value is not None
        if self.operator == "!exists":
            return value is None
        if self.operator in ("=", "in"):
            return value is not None and value in self.values

        # "!=" and "notin" also match objects without the key, as the real API does.
        return value is None or value not in self.values


def _tokenize(text: str) -> list[str]:
    tokens = []
    position = 0
    while position < len(text):
        match = _LABEL_TOKEN.match(text, position)
        if match is None:
            break
        tokens.append(match.group(1))
        position = match.end()
    if text[position:].strip():
        raise bad_request(f"unable to parse requirement: invalid label selector {text!r}")
    return tokens


def _parse_set(tokens: list[str], position: int, text: str) -> tuple[tuple[str, ...], int]:
    if position >= len(tokens) or tokens[position] != "(":
        found = tokens[position] if position < len(tokens) else "end of selector"
        raise bad_request(f"unable to parse requirement: found {found!r}, expected '(' in {text!r}")
    values: list[str] = []
    position += 1
    while position < len(tokens) and tokens[position] != ")":
        if tokens[position] != ",":
            values.append(tokens[position])
        position += 1
    if position >= len(tokens):
        raise bad_request(f"unable to parse requirement: missing ')' in label selector {text!r}")
    return tuple(values), position + 1


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse ``a=b,c!=d,e in (f,g),h notin (i),j,!k`` into requirements; raise 400 BadRequest when malformed."""
    tokens = _tokenize(text)
    requirements: list[Requirement] = []
    position = 0
    while position < len(tokens):
        if tokens[position] == "!":
            if position + 1 >= len(tokens):
                raise bad_request(f"unable to parse requirement: missing key after '!' in {text!r}")
            requirements.append(Requirement(tokens[position + 1], "!exists"))
            position += 2
        else:
            key = tokens[position]
            following = tokens[position + 1] if position + 1 < len(tokens) else ","
            if following == ",":
                requirements.append(Requirement(key, "exists"))
                position += 1
            elif following in ("=", "==", "!="):
                if position + 2 >= len(tokens) or tokens[position + 2] == ",":
                    value = ""
                    position += 2
                else:
                    value = tokens[position + 2]
                    position += 3
                operator = "!=" if following == "!=" else "="
                requirements.append(Requirement(key, operator, (value,)))
            elif following in _SET_OPERATORS:
                values, position = _parse_set(tokens, position + 2, text)
                requirements.append(Requirement(key, following, values))
            else:
                raise bad_request(f"unable to parse requirement: unexpected {following!r} in label selector {text!r}")

        if position < len(tokens):
            if tokens[position] != ",":
                raise bad_request(f"unable to parse requirement: expected ',' in label selector {text!r}")
            position += 1
    return requirements


def parse_field_selector(text: str, supported: tuple[str, ...]) -> list[Requirement]:
    """Parse ``metadata.name=x,status.phase!=Running``; raise 400 BadRequest for a field the kind does not index."""
    requirements = []
    for term in filter(None, (part.strip() for part in text.split(","))):
        match = re.fullmatch(r"([^=!]+?)\s*(==|!=|=)\s*(.*)", term)
        if match is None:
            raise bad_request(f"invalid field selector: {term!r} is not of the form field=value or field!=value")
        key, operator, value = match.groups()
        if key not in ("metadata.name", "metadata.namespace") and key not in supported:
            raise bad_request(f'field label not supported: {key}')
        requirements.append(Requirement(key, "!=" if operator == "!=" else "=", (value,)))
    return requirements


def field_value(obj: dict[str, Any], dotted_path: str) -> str | None:
    """Return the string form of a field at a dotted path, or None when it is absent."""
    current: Any = obj
    for part in dotted_path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    if isinstance(current, bool):
        return "true" if current else "false"
    return None if current is None else str(current)


def labels_match(obj: dict[str, Any], requirements: list[Requirement]) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(requirement.matches(labels.get(requirement.key)) for requirement in requirements)


def fields_match(obj: dict[str, Any], requirements: list[Requirement]) -> bool:
    # A field selector compares with "" when the field is absent (e.g. an unset status.phase).
    return all(requirement.matches(field_value(obj, requirement.key) or "") for requirement in requirements)
