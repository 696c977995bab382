"""Which fields of a record the redactor reads, per record class, and how it reads them.

Name-like fields (name, error type, agent, model, tool name, tool call id) and the
errors come first: they are nearly always texts seen before, or None, so `redact_record`
clears them together with one set operation. Metadata and the payload follow. A callback
sees each field with its path: `$` for the name-like ones, `$.<field>` for the others.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from typing import Any

from myagent.trace.records import RunRecord

_RECORD_NAMES = ("name", "error_type")
_PLAIN_NAMES = ("agent_name", "model", "tool_name", "tool_call_id")


@dataclasses.dataclass(frozen=True, slots=True)
class FieldSpec:
    """What `redact_record` reads of one record class."""

    names: tuple[str, ...]
    """Its name-like fields and errors (`texts` of them), then metadata and payload."""
    paths: tuple[str, ...]
    """The path a callback sees for each: `$` for names, `$.<field>` for the others."""
    texts: int
    values: Callable[[Any], tuple[Any, ...]]
    """All of `names`' values (one C call)."""
    text_values: Callable[[Any], tuple[Any, ...]]
    """The first `texts` of them."""


_SPECS: dict[type, FieldSpec] = {}


def record_fields(cls: type[RunRecord]) -> FieldSpec:
    """The fields `redact_record` reads of records of `cls` (made once a class)."""
    found = _SPECS.get(cls)
    if found is not None:
        return found
    plain = tuple(f for f in cls._plain_fields if f in _PLAIN_NAMES)
    names = (*_RECORD_NAMES, *plain, "error", "stacktrace")
    fields = (*names, "metadata", *cls._payload_fields)
    paths = ("$",) * (len(names) - 2) + tuple(f"$.{v}" for v in fields[len(names) - 2 :])
    found = FieldSpec(
        fields, paths, len(names), operator.attrgetter(*fields), operator.attrgetter(*names)
    )
    _SPECS[cls] = found
    return found
