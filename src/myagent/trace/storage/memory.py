"""In-process storage: fast, queryable in Python, lost on restart (the default).

Finished traces are kept packed: their compact JSON (`to_json`), deflated with a preset
dictionary taken from a recent trace (traces of one agent look alike, so a standard
trace of 4.5 KB packs into about 230 B), next to the few fields queries filter and sort
on. Queries test those fields and decode only the traces they return; a stored trace
never aliases the live objects (message lists and the like) of the program that made it.
Running traces (`store_partial`) are kept as the live objects, so they show up as they run.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import zlib
from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson

from myagent.trace.facets import FacetField, FacetValue, facet_counts_of, rank_facets
from myagent.trace.filters import TRACE_ORDERS, RunFilter, TraceFilter
from myagent.trace.ids import datetime_to_us
from myagent.trace.records import RunRecord, ThinkRecord, ToolRecord, Trace
from myagent.trace.serialize import to_jsonable
from myagent.trace.storage.base import TraceStorage, converting, skipped
from myagent.trace.storage.health import WriterHealth
from myagent.trace.storage.memory_eval import InMemoryEvalStore
from myagent.trace.summary import TraceSummary

_WINDOW = 32 * 1024
"""Longest useful preset dictionary: deflate looks back at most 32 KiB."""

_DICT_EVERY = 1000
"""A fresh preset dictionary (from the trace just packed) every this many traces."""

_H = TypeVar("_H", bound=Hashable)


class _Index:
    """What queries filter and sort on, for one trace: the JSON-safe values its stored
    form holds, plus the packed trace itself (None for a running trace kept live)."""

    __slots__ = (
        "agent_name",
        "blob",
        "cost_usd",
        "end_us",
        "has_errors",
        "metadata",
        "models",
        "session_id",
        "start_us",
        "status",
        "tags",
        "tokens_used",
        "tools",
        "trace_id",
        "zdict",
    )

    def __init__(self, trace: Trace, shared: _Shared) -> None:
        tools: list[str] = []
        models: list[str] = []
        for run in trace.runs:
            if isinstance(run, ToolRecord):
                if run.tool_name not in tools:
                    tools.append(run.tool_name)
            elif isinstance(run, ThinkRecord) and run.model and run.model not in models:
                models.append(run.model)
        self.trace_id = trace.trace_id
        self.agent_name = shared.one(to_jsonable(trace.agent_name))
        self.session_id = to_jsonable(trace.session_id)
        self.status = shared.one(str(trace.status))
        self.start_us = trace.start_us
        self.end_us = trace.end_us
        self.has_errors = trace.has_errors
        self.tokens_used = trace.tokens_used
        self.cost_usd = trace.cost_usd
        self.tags = shared.one(tuple(to_jsonable(list(trace.tags))))
        self.metadata: dict[str, Any] | None = to_jsonable(trace.metadata) or None
        self.tools = shared.one(tuple(tools))
        self.models = shared.one(tuple(models))
        self.blob: bytes | None = None
        self.zdict = b""

    @property
    def total_duration(self) -> float | None:
        """Seconds from start to end, or None while it runs (as `Trace.total_duration`)."""
        return None if self.end_us is None else (self.end_us - self.start_us) / 1_000_000


class _Shared:
    """One copy of values many traces repeat (agent names, statuses, tool lists, tags)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._values: dict[Any, Any] = {}
        self._limit = limit

    def one(self, value: _H) -> _H:
        """The kept copy equal to `value` (kept from now on if new)."""
        try:
            found: _H = self._values.setdefault(value, value)
        except TypeError:  # unhashable: an odd agent name, kept as it is
            return value
        if len(self._values) > self._limit:
            self._values.clear()
        return found


def _pack(trace: Trace) -> bytes:
    """The trace as one JSON array: the trace's compact JSON, then each record's."""
    return b"[" + b",".join([trace.to_json(), *(run.to_json() for run in trace.runs)]) + b"]"


def _unpack_json(index: _Index) -> list[dict[str, Any]]:
    """A packed trace's JSON: the trace's data, then each record's."""
    assert index.blob is not None
    found: list[dict[str, Any]] = orjson.loads(
        zlib.decompressobj(zdict=index.zdict).decompress(index.blob)
    )
    return found


def _unpack(index: _Index) -> Trace:
    """A new Trace object from a packed one."""
    data, *runs = _unpack_json(index)
    data["runs"] = runs
    return Trace.from_dict(data)


class InMemoryTraceStorage(InMemoryEvalStore, TraceStorage):
    """Keeps finished traces packed in a dict, running ones live (see the module doc)."""

    supports_partial = True

    def __init__(self) -> None:
        self._traces: dict[str, tuple[_Index, Trace | None]] = {}
        self._lock = threading.Lock()
        self._health: dict[str, WriterHealth] = {}
        self._shared = _Shared()
        self._zdict = b""
        self._packed_count = 0
        self._eval_init()

    def _packed(self, trace: Trace) -> _Index:
        index = _Index(trace, self._shared)
        raw = _pack(trace)
        with self._lock:
            if self._packed_count % _DICT_EVERY == 0:
                self._zdict = raw[-_WINDOW:]  # set first: even this trace packs small
            self._packed_count += 1
            zdict = self._zdict
        packer = zlib.compressobj(zdict=zdict)
        index.blob = packer.compress(raw) + packer.flush()
        index.zdict = zdict
        return index

    async def store_trace(self, trace: Trace) -> None:
        await self.store_traces([trace])

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        for trace in traces:
            converting(trace)  # the watchdog knows whose values hang, if any do
            try:
                entry = (self._packed(trace), None)
            except Exception as exc:  # corrupt data: this trace alone, not its batch
                if not skipped(trace, "convert_failed", exc):
                    raise
                continue
            with self._lock:
                self._traces[trace.trace_id] = entry
        converting(None)

    async def store_partial(self, traces: Sequence[Trace]) -> None:
        for trace in traces:
            converting(trace)
            entry = (_Index(trace, self._shared), trace)
            with self._lock:
                self._traces[trace.trace_id] = entry
        converting(None)

    async def get_trace(self, trace_id: str) -> Trace | None:
        entry = self._traces.get(trace_id)
        return None if entry is None else _trace_of(entry)

    async def store_writer_stats(self, health: WriterHealth) -> None:
        self._health[health.writer_id] = WriterHealth.from_dict(health.as_dict())

    async def writer_stats(self, *, limit: int = 1000) -> list[WriterHealth]:
        rows = sorted(self._health.values(), key=lambda h: (h.updated_us, h.writer_id))
        return rows[::-1][:limit]

    def _snapshot(self) -> list[tuple[_Index, Trace | None]]:
        with self._lock:
            return list(self._traces.values())

    def _matching(
        self, filter: TraceFilter | None, order_by: str
    ) -> list[tuple[_Index, Trace | None]]:
        """Entries passing `filter` in `order_by` order; a text filter decodes the
        candidates (kept in the entries returned), nothing else decodes."""
        if order_by not in TRACE_ORDERS:
            raise ValueError(f"order_by must be one of {TRACE_ORDERS}, not {order_by!r}")
        found = [e for e in self._snapshot() if filter is None or index_matches(e[0], filter)]
        if filter is not None and filter.scores:
            conditions = filter.scores
            found = [e for e in found if self.scores_pass(e[0].trace_id, conditions)]
        if filter is not None and filter.text:
            found = [e for e in found if _text_matches(e, filter.text)]
        key = order_by.lstrip("-")
        found.sort(
            key=lambda e: (_order_value(e[0], key), e[0].trace_id), reverse=order_by[0] == "-"
        )
        return found

    async def query_traces(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> list[Trace]:
        end = None if limit is None else offset + limit
        return [_trace_of(e) for e in self._matching(filter, order_by)[offset:end]]

    async def count_traces(self, filter: TraceFilter | None = None) -> int:
        return len(self._matching(filter, "start_time"))

    async def query_summaries(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int = 50,
        after: tuple[float, str] | None = None,
        order_by: str = "-start_time",
    ) -> list[TraceSummary]:
        found = self._matching(filter, order_by)
        if after is not None:
            key = order_by.lstrip("-")
            if order_by.startswith("-"):
                found = [e for e in found if (_order_value(e[0], key), e[0].trace_id) < after]
            else:
                found = [e for e in found if (_order_value(e[0], key), e[0].trace_id) > after]
        return [TraceSummary.from_trace(_trace_of(e)) for e in found[:limit]]

    async def query_traces_for_eval(self, filter: TraceFilter | None) -> list[TraceSummary]:
        return [TraceSummary.from_trace(_trace_of(e)) for e in self._matching(filter, "start_time")]

    async def agent_names(self, limit: int = 200) -> list[str]:
        names = {index.agent_name for index, _ in self._snapshot() if index.agent_name}
        return sorted(names)[:limit]

    async def facet_values(
        self, field: FacetField, *, search: str | None = None, limit: int = 50
    ) -> list[FacetValue]:
        counts = facet_counts_of((index for index, _ in self._snapshot()), field)
        return rank_facets(counts.items(), search, limit)

    async def query_runs(
        self, filter: RunFilter | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[RunRecord]:
        runs = [
            run
            for index, live in self._snapshot()
            if filter is None or _may_hold_runs(index, filter)
            for trace in [_trace_of((index, live))]
            for run in list(trace.runs)
            if filter is None or run_matches(run, trace, filter)
        ]
        runs.sort(key=lambda r: (r.start_us, r.run_id))
        end = None if limit is None else offset + limit
        return runs[offset:end]

    async def count_runs(self, filter: RunFilter | None = None) -> int:
        return len(await self.query_runs(filter))

    async def delete_traces(self, trace_ids: Sequence[str]) -> int:
        with self._lock:
            self._drop_scores_of(trace_ids)
            return sum(1 for tid in trace_ids if self._traces.pop(tid, None) is not None)

    async def cleanup(
        self, *, older_than: datetime | None = None, max_count: int | None = None
    ) -> int:
        with self._lock:
            doomed: set[str] = set()
            indexes = [index for index, _ in self._traces.values()]
            if older_than is not None:
                cutoff = datetime_to_us(older_than)
                doomed.update(i.trace_id for i in indexes if i.start_us < cutoff)
            if max_count is not None:
                kept = [i for i in indexes if i.trace_id not in doomed]
                kept.sort(key=lambda i: (i.start_us, i.trace_id), reverse=True)
                doomed.update(i.trace_id for i in kept[max_count:])
            for trace_id in doomed:
                del self._traces[trace_id]
            self._drop_scores_of(list(doomed))
            return len(doomed)

    def __len__(self) -> int:
        return len(self._traces)


def _trace_of(entry: tuple[_Index, Trace | None]) -> Trace:
    """The live trace of an entry, or a new Trace decoded from its packed form."""
    index, live = entry
    return live if live is not None else _unpack(index)


def _order_value(index: _Index, key: str) -> float:
    if key == "start_time":
        return index.start_us
    if key == "duration":
        return index.total_duration or 0.0
    if key == "tokens":
        return index.tokens_used
    return index.cost_usd or 0.0


def _may_hold_runs(index: _Index, f: RunFilter) -> bool:
    """False when no record of this trace can pass `f` (its trace-level parts)."""
    return (
        (f.trace_ids is None or index.trace_id in f.trace_ids)
        and (f.agent_names is None or index.agent_name in f.agent_names)
        and (f.tool_names is None or not set(f.tool_names).isdisjoint(index.tools))
    )


def _in_range(us: int, start: datetime | None, end: datetime | None) -> bool:
    if start is not None and us < datetime_to_us(start):
        return False
    return not (end is not None and us > datetime_to_us(end))


def trace_matches(trace: Trace, f: TraceFilter) -> bool:
    """Whether `trace` passes every set field of `f` (the in-Python reference semantics)."""
    index = _Index(trace, _Shared())
    return index_matches(index, f) and (not f.text or _text_matches((index, trace), f.text))


def index_matches(index: _Index, f: TraceFilter) -> bool:
    """Whether the trace of `index` passes every set field of `f` but `text`."""
    checks = (
        f.agent_names is None or index.agent_name in f.agent_names,
        f.session_ids is None or index.session_id in f.session_ids,
        f.trace_ids is None or index.trace_id in f.trace_ids,
        f.statuses is None or index.status in f.statuses,
        _in_range(index.start_us, f.start_time, f.end_time),
        f.has_errors is None or index.has_errors == f.has_errors,
        f.min_duration is None or (index.total_duration or 0.0) >= f.min_duration,
        f.max_duration is None or (index.total_duration or 0.0) <= f.max_duration,
        f.min_tokens is None or index.tokens_used >= f.min_tokens,
        f.max_tokens is None or index.tokens_used <= f.max_tokens,
        f.min_cost is None or (index.cost_usd or 0.0) >= f.min_cost,
        f.tags is None or set(f.tags) <= set(index.tags),
    )
    if not all(checks):
        return False
    if f.tools_used:
        wanted = set(f.tools_used)
        used = set(index.tools)
        if not (wanted <= used if f.tools_match == "all" else wanted & used):
            return False
    if f.models and set(index.models).isdisjoint(f.models):
        return False
    if f.metadata:
        metadata = index.metadata or {}
        for key, value in f.metadata.items():
            if key not in metadata or not _same_value(metadata[key], value):
                return False
    return True


def _same_value(stored: Any, wanted: Any) -> bool:
    """Metadata equality: scalars by value (1 == 1.0 == True); lists and objects by their
    JSON text, key order included (what SQL backends compare)."""
    if isinstance(stored, dict | list | tuple) or isinstance(wanted, dict | list | tuple):
        return orjson.dumps(to_jsonable(stored)) == orjson.dumps(to_jsonable(wanted))
    if isinstance(stored, str) or isinstance(wanted, str):
        return isinstance(stored, str) and isinstance(wanted, str) and stored == wanted
    return bool(stored == wanted)


_WORD = re.compile(r"[^\W_]+")


def _fold(text: str) -> str:
    """Lower-case and strip diacritics ('École' -> 'ecole'), as FTS5's unicode61 does."""
    text = text.lower()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def search_words(text: str) -> list[str]:
    """The words of a search or a document: runs of letters and digits (not '_'),
    lower-cased, diacritics removed; the same words SQLite's unicode61 tokenizer finds."""
    return _WORD.findall(_fold(text))


def search_body(trace: Trace) -> str:
    """The text full-text search covers: input, output, the trace error and the errors of
    failed records (non-string values as JSON)."""
    errors = [str(to_jsonable(r.error)) for r in trace.runs if not r.success and r.error]
    parts = [to_jsonable(trace.input), to_jsonable(trace.output), to_jsonable(trace.error)]
    return _joined([*parts, *errors])


def _packed_body(index: _Index) -> str:
    """`search_body` of a packed trace, read from its JSON without building objects."""
    data, *runs = _unpack_json(index)
    errors = [str(r["error"]) for r in runs if r.get("success") is False and r.get("error")]
    return _joined([data.get("input"), data.get("output"), data.get("error"), *errors])


def _joined(parts: list[Any]) -> str:
    return "\n".join(p if isinstance(p, str) else orjson.dumps(p).decode() for p in parts if p)


def _text_matches(entry: tuple[_Index, Trace | None], text: str) -> bool:
    """Every search word starts some word of the trace's search body (like FTS5)."""
    words = search_words(text)
    if not words:
        return True
    index, live = entry
    body = search_body(live) if live is not None else _packed_body(index)
    tokens = set(search_words(body))
    return all(any(t.startswith(w) for t in tokens) for w in words)


def run_matches(run: RunRecord, trace: Trace, f: RunFilter) -> bool:
    """Whether `run` (of `trace`) passes every set field of `f`."""
    duration = run.duration
    return (
        (f.tool_names is None or (isinstance(run, ToolRecord) and run.tool_name in f.tool_names))
        and (f.run_types is None or run.run_type in f.run_types)
        and (f.trace_ids is None or run.trace_id in f.trace_ids)
        and (f.agent_names is None or trace.agent_name in f.agent_names)
        and (f.min_duration is None or (duration is not None and duration >= f.min_duration))
        and (f.max_duration is None or (duration is not None and duration <= f.max_duration))
        and (not f.success_only or run.success)
        and (not f.errors_only or not run.success)
        and _in_range(run.start_us, f.start_time, f.end_time)
    )
