"""Freeze a finished trace's values, so a value changed after `end_trace` changes nothing stored.

The writer reads a trace's values up to a flush interval after it ended; a program that
reuses a message list or mutates a dict it traced would otherwise change (or unredact)
what gets stored. At the end of a trace, every dict, list, tuple and set reachable from
its values that the program can still reach is copied (the containers inside a copied
one too); strings, numbers and other objects are shared, as Python strings cannot
change. Whether the program can still reach a container is read from its reference
count (CPython): one held only by the record (the usual case: an agent builds its
messages and arguments per call) is not copied, which keeps this cheap.
"""

from __future__ import annotations

import sys
from typing import Any

from myagent.trace.records import RECORD_TYPES, RunRecord, Trace

_CONTAINERS = frozenset({dict, list, tuple, set, frozenset})
_MAX_DEPTH = 64
_refs = sys.getrefcount
_TOP = 4
"""A record's value held by nothing else, as `_freeze` sees it: the record's slot,
`_freeze_fields`' local, `_freeze`'s argument and `getrefcount`'s own."""
_NESTED = 4
"""A container inside a held one: its parent's slot, the loop variable, the argument
and `getrefcount`'s own (checked by tests/trace/test_freeze.py)."""


def _copy(value: Any, depth: int, memo: dict[int, Any] | None = None) -> Any:
    """A copy of `value` with every container in it copied; a cycle stays a cycle."""
    kind = type(value)
    if kind not in _CONTAINERS or depth >= _MAX_DEPTH:
        return value
    memo = {} if memo is None else memo
    done = memo.get(id(value))
    if done is not None:
        return done
    if kind is dict:
        out: Any = {}
        memo[id(value)] = out
        for key, item in value.items():
            out[key] = _copy(item, depth + 1, memo)
        return out
    if kind is list:
        out = []
        memo[id(value)] = out
        out.extend(_copy(item, depth + 1, memo) for item in value)
        return out
    memo[id(value)] = value  # a tuple or set reached again through itself: shared
    return kind(_copy(item, depth + 1, memo) for item in value)


def _freeze(value: Any, private: int, depth: int) -> Any:
    """`value` itself when neither it nor any container in it can be reached by anyone
    but its owner (`private`: its reference count then, as seen here), else a copy."""
    if _refs(value) > private:
        return _copy(value, depth)
    if depth >= _MAX_DEPTH:
        return value
    kind = type(value)
    if kind is dict:
        copied: dict[Any, Any] | None = None
        for key in value:  # no (key, item) tuples: they would hold a reference too
            item = value[key]
            if type(item) in _CONTAINERS:
                frozen = _freeze(item, _NESTED, depth + 1)
                if frozen is not item:
                    copied = dict(value) if copied is None else copied
                    copied[key] = frozen
        return value if copied is None else copied
    if kind is list:
        out: list[Any] | None = None
        for index in range(len(value)):
            item = value[index]
            if type(item) in _CONTAINERS:
                frozen = _freeze(item, _NESTED, depth + 1)
                if frozen is not item:
                    out = list(value) if out is None else out
                    out[index] = frozen
        return value if out is None else out
    return _copy(value, depth)  # tuples and sets are rare: copy them


def freeze_value(value: Any) -> Any:
    """`value` with every container in it copied (whoever else holds them)."""
    return _copy(value, 0)


def freeze_trace(trace: Trace) -> None:
    """Replace the trace's and its records' values the program can still reach (and so
    change) by copies, in place."""
    _freeze_fields(trace, _TRACE_FIELDS)
    for record in trace.runs:
        _freeze_fields(record, _fields_of(record))


def freeze_record(record: RunRecord) -> None:
    """Replace the record's values the program can still reach by copies, in place."""
    _freeze_fields(record, _fields_of(record))


def _freeze_fields(holder: Any, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(holder, name)
        if type(value) in _CONTAINERS and value:
            frozen = _freeze(value, _TOP, 0)
            if frozen is not value:
                setattr(holder, name, frozen)


def _fields_of(record: RunRecord) -> tuple[str, ...]:
    names = _RECORD_FIELDS.get(type(record))
    return names if names is not None else ("metadata", *record._payload_fields)


_TRACE_FIELDS = ("input", "output", "metadata", "tags")
_KINDS: list[type[RunRecord]] = [*RECORD_TYPES.values(), RunRecord]
_RECORD_FIELDS = {cls: ("metadata", *cls._payload_fields) for cls in _KINDS}
