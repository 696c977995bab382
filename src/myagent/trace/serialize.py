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
from collections.abc import Mapping, Sequence
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
    return cut_text(text, limit)


def cut_text(text: str, at: int) -> str:
    """`text[:at]` plus the marker saying how much was cut (as `truncate_text` writes it)."""
    if at >= len(text):
        return text
    return text[:at] + _TRUNCATED.format(cut=len(text) - at, total=len(text))


def is_truncated(text: str) -> bool:
    """True when `text` ends with the truncation marker."""
    return bool(_TRUNCATED_RE.search(text))


def to_jsonable(value: Any, max_size: int | None = None) -> Any:
    """A JSON-safe copy of `value`, bounded by `max_size` characters (default: the global).

    The bound is a budget shared by the whole value: strings past it are cut with a
    marker, containers past it end with a marker item, and the shape is kept.
    """
    limit = _limits["max_value_size"] if max_size is None else max_size
    try:
        fast = _fast_copy(value, limit)
        if fast is not _MISS:
            return fast
        return _Converter(limit).convert(value, 0)
    except Exception as exc:  # never raise into the traced program
        return f"<unserializable {type(value).__name__}: {type(exc).__name__}>"


def to_jsonable_all(values: Sequence[Any], max_size: int | None = None) -> list[Any]:
    """`[to_jsonable(v, max_size) for v in values]`, in one C call when the common case holds.

    Each value keeps its own bound; the writer converts a record's fields with this.
    """
    limit = _limits["max_value_size"] if max_size is None else max_size
    present = [v for v in values if v is not None]
    if present:
        try:
            fast = _fast_copy(present, limit)
        except Exception:
            fast = _MISS
        if fast is _MISS:
            return [None if v is None else to_jsonable(v, limit) for v in values]
        if len(present) == len(values):
            return fast  # type: ignore[no-any-return]
        converted = iter(fast)
        return [None if v is None else next(converted) for v in values]
    return [None] * len(values)


def dumps_plain(data: dict[str, Any], max_size: int | None = None) -> bytes | None:
    """JSON of `data` when every value is already what `to_jsonable` would make of it, else None.

    The writer's fast path: one C call encodes a whole record. Callers leave out keys
    whose value is None, so any null in the output means a NaN/Infinity was flattened
    and the caller must take the slow path (`to_jsonable` per field) instead.
    """
    limit = _limits["max_value_size"] if max_size is None else max_size
    try:
        encoded = orjson.dumps(data, option=_STRICT)
    except orjson.JSONEncodeError:
        return None
    return encoded if _as_converted(encoded, limit) else None


def _as_converted(encoded: bytes, limit: int) -> bool:
    """Whether `_Converter` would give back exactly what orjson encoded: far under the
    budget (no value costs it more than 5 budget units a byte of JSON), no null (a NaN
    or Infinity flattened by orjson), fewer containers than `_MAX_DEPTH`."""
    return (
        len(encoded) * 5 < limit
        # find, not `in`: `b"null" in encoded` first tries the text as an integer
        # and raises and clears a TypeError, on every record written
        and encoded.find(b"null") < 0
        and encoded.count(b"[") + encoded.count(b"{") < _MAX_DEPTH
    )


_MISS: Any = object()
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
# Types orjson would encode differently from _Converter go to the slow path instead.
_STRICT = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _fast_copy(value: Any, limit: int) -> Any:
    """The common case in one C call: what `_Converter` would return, or `_MISS`.

    Taken only when the result is certain to be the same: orjson accepted the value
    under strict options, it holds no null (so no NaN/Infinity was turned into one), it
    nests less than `_MAX_DEPTH` deep, and it is far under the budget (no value costs
    `_Converter` more than 5 budget units per byte of JSON).
    """
    kind = type(value)
    if kind is str:
        if len(value) > limit:
            return _MISS
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return _MISS
        return value
    if value is None or kind is bool:
        return value
    if kind is int:
        return value if _INT_MIN <= value <= _INT_MAX else _MISS
    if kind is dict or kind is list or kind is tuple:
        if not value:
            return {} if kind is dict else []
        try:
            encoded = orjson.dumps(value, option=_STRICT)
        except orjson.JSONEncodeError:
            return _MISS
        if _as_converted(encoded, limit):
            return orjson.loads(encoded)
    return _MISS


class _Converter:
    __slots__ = ("budget", "seen")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.seen: set[int] = set()

    def text(self, text: str) -> str:
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                # Lone surrogates: keep them visible as escapes instead of failing.
                text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        out = truncate_text(text, max(self.budget, 0))
        self.budget -= min(len(out), len(text))
        return out

    def convert(self, value: Any, depth: int) -> Any:
        if value is None or value is True or value is False:
            self.budget -= 4
            return value
        kind = type(value)
        if kind is str:
            return self.text(value)
        if kind is int:
            self.budget -= 8
            # JSON encoders stop at 64 bits: larger integers are kept exactly, as text.
            return value if _INT_MIN <= value <= _INT_MAX else self.text(str(value))
        if kind is float:
            self.budget -= 8
            if math.isfinite(value):
                return value
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        if depth >= _MAX_DEPTH:
            return "<max depth>"
        if isinstance(value, Mapping | list | tuple | set | frozenset):
            ident = id(value)
            if ident in self.seen:
                return "<cycle>"
            self.seen.add(ident)
            try:
                if isinstance(value, Mapping):
                    return self.mapping(value, depth)
                items = value
                if isinstance(value, set | frozenset):
                    items = sorted(value, key=repr)
                return self.sequence(items, depth)
            finally:
                self.seen.discard(ident)
        return self.other(value, depth)

    def mapping(self, value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for index, (key, item) in enumerate(value.items()):
            if self.budget <= 0:
                out["…"] = f"[truncated: {len(value) - index} more keys]"
                break
            name = key if type(key) is str else self.key(key)
            self.budget -= len(name) + 4
            out[name] = self.convert(item, depth + 1)
        return out

    def sequence(self, items: Any, depth: int) -> list[Any]:
        out: list[Any] = []
        for index, item in enumerate(items):
            if self.budget <= 0:
                out.append(f"…[truncated: {len(items) - index} more items]")
                break
            self.budget -= 2
            out.append(self.convert(item, depth + 1))
        return out

    def key(self, key: Any) -> str:
        if isinstance(key, str):
            return self.text(key)
        return self.text(str(key) if isinstance(key, int | float | bool) else _safe_repr(key))

    def other(self, value: Any, depth: int) -> Any:
        if isinstance(value, bool | int):
            return self.convert(int(value), depth)
        if isinstance(value, float):
            return self.convert(float(value), depth)
        if isinstance(value, str):
            return self.text(str(value))
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
            try:
                return self.text(raw.decode("utf-8"))
            except UnicodeDecodeError:
                room = max(self.budget, 0) * 3 // 4
                encoded = base64.b64encode(raw[:room]).decode()
                self.budget -= len(encoded)
                suffix = "" if len(raw) <= room else f"…[truncated, {len(raw)} bytes]"
                return f"base64:{encoded}{suffix}"
        if isinstance(value, datetime | date | time):
            return self.text(value.isoformat())
        if isinstance(value, timedelta):
            return self.convert(value.total_seconds(), depth)
        if isinstance(value, Enum):
            return self.convert(value.value, depth)
        if isinstance(value, UUID | PurePath):
            return self.text(str(value))
        if isinstance(value, BaseException):
            return self.text(f"{type(value).__name__}: {value}")
        if not isinstance(value, type):
            dump = getattr(value, "model_dump", None)  # pydantic v2 models
            if callable(dump):
                return self.convert(dump(mode="json"), depth + 1)
            if dataclasses.is_dataclass(value):
                fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
                return self.convert(fields, depth + 1)
            to_dict = getattr(value, "to_dict", None)
            if callable(to_dict):
                return self.convert(to_dict(), depth + 1)
        return self.text(_safe_repr(value))


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
