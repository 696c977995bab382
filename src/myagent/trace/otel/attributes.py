"""OTLP attribute values in: `AnyValue` / `KeyValue` lists as plain Python values.

Every OTLP value type has a faithful plain form: strings, booleans, integers and doubles
as they are, arrays as lists, key-value lists as dicts, bytes as base64 text (as the
OTLP JSON encoding writes them). Nesting is bounded so a hostile request cannot recurse
without end. Flattened list attributes (`llm.input_messages.0.message.role`, the
OpenInference style) are rebuilt into lists of dicts by `unflatten`.
"""

from __future__ import annotations

import base64
from collections.abc import Container, Mapping, Sequence
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

# SEQUENCE_NOTE: protobuf's (upb) repeated fields have no iterator of their own: a for
# loop over one indexes it until an IndexError, raised (message formatted) and cleared
# at the end of every loop. A slice is a list of the same items, made in one call.
MAX_DEPTH = 32
"""Deepest array/kvlist nesting decoded; deeper values become the text `"…"`."""


def value_of(value: AnyValue, depth: int = 0) -> Any:
    """The plain Python form of one OTLP `AnyValue` (None when empty)."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "bool_value":
        return value.bool_value
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if depth >= MAX_DEPTH:
        return "…"
    if which == "array_value":
        return [value_of(item, depth + 1) for item in value.array_value.values[:]]
    return {kv.key: value_of(kv.value, depth + 1) for kv in value.kvlist_value.values[:]}


def attributes_of(items: Sequence[Any], skip: Container[str] = ()) -> dict[str, Any]:
    """A repeated `KeyValue` field as a dict (a repeated key keeps its last value);
    keys in `skip` are left out when their value is a list, a map or bytes (values the
    caller would drop, not decoded)."""
    found: dict[str, Any] = {}
    for kv in items[:]:  # see SEQUENCE_NOTE
        value = kv.value
        text = value.string_value  # most attributes: a non-empty string, one call
        if text:
            found[kv.key] = text
            continue
        which = value.WhichOneof("value")
        if which == "int_value":  # token counts: the next most
            found[kv.key] = value.int_value
        elif which == "bool_value":
            found[kv.key] = value.bool_value
        elif which == "double_value":
            found[kv.key] = value.double_value
        elif which == "string_value":
            found[kv.key] = ""
        else:
            key = kv.key
            if key not in skip:
                found[key] = value_of(value)
    return found


def unflatten(attributes: Mapping[str, Any], prefix: str) -> list[Any]:
    """Rebuild `prefix.{i}.a.b = v` attributes into `[{"a": {"b": v}}, ...]` in index order."""
    start = prefix + "."
    found: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        if not key.startswith(start):
            continue
        index, _, rest = key[len(start) :].partition(".")
        if not index.isdigit() or not rest:
            continue
        node = found.setdefault(int(index), {})
        *parents, leaf = rest.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    return [_lists(found[i]) for i in sorted(found)]


def _lists(node: dict[str, Any]) -> Any:
    """Dicts whose keys are all indexes become lists (`tool_calls.0.…` → a list)."""
    converted = {k: _lists(v) if isinstance(v, dict) else v for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted
