"""Turn any Python value into bounded, JSON-safe data without ever raising.

Traced programs hand us arbitrary objects: bytes, sets, cycles, NaN, lone surrogates,
10 MB strings. Each gets a faithful representation; anything over the size limit is
cut with a visible marker that says how much was cut.
"""

from __future__ import annotations

import base64
import dataclasses
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID

import orjson

DEFAULT_MAX_VALUE_SIZE = 8 * 1024 * 1024
"""Default bound, in characters, on one stored value (a string, or a structure's JSON)."""

_MAX_DEPTH = 64
_TRUNCATED = "…[truncated {cut} of {total} chars]"
_TRUNCATED_RE = re.compile(r"…\[truncated \d+ of \d+ chars\]$")

_limits = {"max_value_size": DEFAULT_MAX_VALUE_SIZE}


def set_max_value_size(size: int) -> None:
    """Set the process-wide bound on one stored value (characters)."""
    if size < 64:
        raise ValueError("max_value_size must be at least 64 characters")
    _limits["max_value_size"] = size


def get_max_value_size() -> int:
    """The process-wide bound on one stored value (characters)."""
    return _limits["max_value_size"]


def truncate_text(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters plus a marker saying how much was cut."""
    if len(text) <= limit or (len(text) <= limit + 64 and is_truncated(text)):
        return text  # short enough, or already cut to this limit (idempotent)
    return text[:limit] + _TRUNCATED.format(cut=len(text) - limit, total=len(text))


def is_truncated(text: str) -> bool:
    """True when `text` ends with the truncation marker."""
    return bool(_TRUNCATED_RE.search(text))


def to_jsonable(value: Any, max_size: int | None = None) -> Any:
    """A JSON-safe copy of `value`, bounded by `max_size` characters (default: the global)."""
    limit = _limits["max_value_size"] if max_size is None else max_size
    try:
        result = _convert(value, limit, 0, set())
        if isinstance(result, dict | list):
            encoded = orjson.dumps(result)
            if len(encoded) > limit:
                return truncate_text(encoded.decode(), limit)
        return result
    except Exception as exc:  # never raise into the traced program
        return f"<unserializable {type(value).__name__}: {type(exc).__name__}>"


def _clean_str(text: str, limit: int) -> str:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates: keep them visible as escapes instead of failing.
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return truncate_text(text, limit)


def _convert(value: Any, limit: int, depth: int, seen: set[int]) -> Any:
    if value is None or value is True or value is False:
        return value
    kind = type(value)
    if kind is str:
        return _clean_str(value, limit)
    if kind is int:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if depth >= _MAX_DEPTH:
        return "<max depth>"
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        ident = id(value)
        if ident in seen:
            return "<cycle>"
        seen.add(ident)
        try:
            if isinstance(value, Mapping):
                return {
                    (k if type(k) is str else _key(k, limit)): _convert(v, limit, depth + 1, seen)
                    for k, v in value.items()
                }
            items = value
            if isinstance(value, set | frozenset):
                items = sorted(value, key=repr)
            return [_convert(v, limit, depth + 1, seen) for v in items]
        finally:
            seen.discard(ident)
    return _convert_other(value, limit, depth, seen)


def _key(key: Any, limit: int) -> str:
    if isinstance(key, str):
        return _clean_str(key, limit)
    return _clean_str(repr(key) if not isinstance(key, int | float | bool) else str(key), limit)


def _convert_other(value: Any, limit: int, depth: int, seen: set[int]) -> Any:
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float):
        return _convert(float(value), limit, depth, seen)
    if isinstance(value, str):
        return _clean_str(str(value), limit)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return _clean_str(raw.decode("utf-8"), limit)
        except UnicodeDecodeError:
            encoded = base64.b64encode(raw[: limit * 3 // 4]).decode()
            suffix = "" if len(raw) * 4 // 3 <= limit else f"…[truncated, {len(raw)} bytes]"
            return f"base64:{encoded}{suffix}"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return _convert(value.value, limit, depth, seen)
    if isinstance(value, UUID | PurePath):
        return str(value)
    if isinstance(value, BaseException):
        return _clean_str(f"{type(value).__name__}: {value}", limit)
    dump = getattr(value, "model_dump", None)  # pydantic v2 models
    if callable(dump):
        return _convert(dump(mode="json"), limit, depth + 1, seen)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return _convert(fields, limit, depth + 1, seen)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        return _convert(to_dict(), limit, depth + 1, seen)
    return _clean_str(_safe_repr(value), limit)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__} object>"


def dumps(value: Any) -> str:
    """Encode JSON-safe data (as produced by `to_jsonable`) to a compact JSON string."""
    return orjson.dumps(value).decode()


def loads(text: str | bytes) -> Any:
    """Decode JSON text."""
    return orjson.loads(text)
