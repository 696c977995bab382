"""The earlier tracing API's value types, as adapters onto today's records.

`TraceMetadata` becomes a trace's session id, tags and metadata; `QueryOptions` becomes
a query's limit/offset/order; `trace_arguments` and `record_arguments` turn the earlier
`manager.trace(name, request=..., metadata=...)` and `manager.run(name, run_type,
inputs=..., parent_run_id=..., **metadata)` into the fields of the one data model (old
run types are step records that keep their type). Nothing here stores anything.
(`RunStatus` lives in legacy_names.py.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from myagent.trace.context import get_current_trace
from myagent.trace.records import RECORD_TYPES, RunRecord, StepRecord, ThinkRecord, ToolRecord


@dataclass(slots=True, kw_only=True)
class TraceMetadata:
    """Who and what a trace belongs to: session, user, tags, environment, version, more.

    `session_id` and `tags` become the trace's own fields; the rest go into its metadata
    (`custom_fields` merged at the top level, the named fields winning).
    """

    user_id: str | None = None
    session_id: str | None = None
    tags: list[str] = field(default_factory=list)
    environment: str | None = None
    version: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def coerce(value: TraceMetadataLike | None) -> TraceMetadata | None:
        """A TraceMetadata from one or a dict of its fields (unknown keys raise TypeError)."""
        if value is None or isinstance(value, TraceMetadata):
            return value
        if isinstance(value, Mapping):
            return TraceMetadata(**value)
        raise TypeError(f"trace_metadata must be a TraceMetadata or a dict, not {type(value)}")

    def metadata(self) -> dict[str, Any]:
        """The fields kept in a trace's metadata."""
        data = dict(self.custom_fields)
        named = {"user_id": self.user_id, "environment": self.environment, "version": self.version}
        data.update((key, value) for key, value in named.items() if value is not None)
        return data

    def model_dump(self) -> dict[str, Any]:
        """All fields as a dict (the pydantic-style name old code calls)."""
        return {
            "user_id": self.user_id,
            "session_id": self.session_id,
            "tags": list(self.tags),
            "environment": self.environment,
            "version": self.version,
            "custom_fields": dict(self.custom_fields),
        }


TraceMetadataLike = TraceMetadata | Mapping[str, Any]


def trace_fields(
    meta: TraceMetadataLike | None, extra: Mapping[str, Any] | None = None
) -> tuple[str | None, list[str] | None, dict[str, Any] | None]:
    """(session_id, tags, metadata) for a trace from TraceMetadata and extra custom fields."""
    value = TraceMetadata.coerce(meta)
    if value is None:
        return None, None, dict(extra) if extra else None
    data = value.metadata()
    if extra:
        data.update(extra)
    return value.session_id, list(value.tags) or None, data or None


def trace_arguments(
    input: Any,
    request: Any,
    metadata: TraceMetadataLike | None,
    session_id: str | None,
    tags: Sequence[str] | None,
    custom_fields: Mapping[str, Any],
) -> tuple[Any, str | None, dict[str, Any] | None, list[str] | None]:
    """(input, session_id, metadata, tags) for `TraceManager.trace`, from today's and the
    earlier spellings: `request=` is the input, `metadata=` may be a TraceMetadata (its
    session id and tags become the trace's), extra keywords are kept in the metadata."""
    data = input if input is not None else request
    if _is_trace_metadata(metadata):
        metadata = TraceMetadata.coerce(metadata)
    if not isinstance(metadata, TraceMetadata) and not custom_fields:
        return (
            data,
            session_id,
            None if metadata is None else dict(metadata),
            (None if tags is None else list(tags)),
        )
    meta_session, meta_tags, merged = trace_fields(metadata, custom_fields)
    all_tags = [*(tags or ()), *(meta_tags or ())] or None
    return data, session_id or meta_session, merged, all_tags


_METADATA_FIELDS = frozenset(TraceMetadata.__dataclass_fields__)


def _is_trace_metadata(value: Any) -> bool:
    """A dict spelled as the earlier TraceMetadata: only its field names, among them
    `session_id`, `tags` or `custom_fields` (other dicts are plain trace metadata)."""
    if not isinstance(value, Mapping) or not value:
        return False
    keys = set(value)
    return keys <= _METADATA_FIELDS and bool(keys & {"session_id", "tags", "custom_fields"})


@dataclass(slots=True, kw_only=True)
class QueryOptions:
    """Paging and order for a query, as the earlier API spelled them.

    `sort_by` is a field name (`start_time`, `duration`, `tokens`, `cost`; a leading
    '-' or `descending=True` for newest/largest first, the default).
    """

    limit: int | None = 100
    offset: int = 0
    sort_by: str = "start_time"
    descending: bool = True
    include_runs: bool = True

    @property
    def order_by(self) -> str:
        """The `order_by` value of today's queries."""
        name = self.sort_by.lstrip("-").removesuffix("_ms")
        return f"-{name}" if self.descending or self.sort_by.startswith("-") else name


_INPUT_FIELD: dict[type[RunRecord], str] = {
    StepRecord: "inputs",
    ToolRecord: "input_params",
    ThinkRecord: "input",
}


def record_arguments(
    name: str, kind: type[RunRecord] | str, parent: Any, fields: dict[str, Any]
) -> tuple[type[RunRecord], Any, dict[str, Any]]:
    """The record class, parent and constructor fields for a `manager.run(...)` call.

    Accepts the earlier spellings: `run_type=` (any old RunType; types other than think
    and tool are step records keeping their type), `inputs=` for every kind,
    `parent_run_id=` (a record of the current trace), and extra keywords, which land in
    the record's metadata as they did before.
    """
    fields = dict(fields)
    kind = fields.pop("run_type", kind)
    if isinstance(kind, str):
        cls = RECORD_TYPES.get(str(kind), StepRecord)
        if cls is StepRecord and str(kind) != StepRecord.run_type_default():
            fields["run_type"] = str(kind)
    else:
        cls = kind
    parent_id = fields.pop("parent_run_id", None)
    if parent_id is not None:
        trace = get_current_trace()
        found = (
            None if trace is None else next((r for r in trace.runs if r.run_id == parent_id), None)
        )
        if found is not None:
            parent = found
    target = _INPUT_FIELD.get(cls)
    if "inputs" in fields and target is not None and target != "inputs":
        fields[target] = fields.pop("inputs")
    if cls is ToolRecord:
        fields.setdefault("tool_name", name)
    known = cls.__dataclass_fields__
    extra = {key: fields.pop(key) for key in list(fields) if key not in known}
    if extra:
        fields["metadata"] = {**(fields.get("metadata") or {}), **extra}
    return cls, parent, fields
