"""In-process storage: fast, queryable in Python, lost on restart (the default)."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from myagent.trace.filters import TRACE_ORDERS, RunFilter, TraceFilter
from myagent.trace.ids import datetime_to_us
from myagent.trace.records import RunRecord, ThinkRecord, ToolRecord, Trace
from myagent.trace.serialize import to_jsonable
from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.health import WriterHealth


class InMemoryTraceStorage(TraceStorage):
    """Keeps Trace objects in a dict; running traces show up as they run."""

    supports_partial = True

    def __init__(self) -> None:
        self._traces: dict[str, Trace] = {}
        self._lock = threading.Lock()
        self._health: dict[str, WriterHealth] = {}

    async def store_trace(self, trace: Trace) -> None:
        with self._lock:
            self._traces[trace.trace_id] = trace

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        with self._lock:
            for trace in traces:
                self._traces[trace.trace_id] = trace

    async def store_partial(self, traces: Sequence[Trace]) -> None:
        await self.store_traces(traces)

    async def get_trace(self, trace_id: str) -> Trace | None:
        return self._traces.get(trace_id)

    async def store_writer_stats(self, health: WriterHealth) -> None:
        self._health[health.writer_id] = WriterHealth.from_dict(health.as_dict())

    async def writer_stats(self, *, limit: int = 1000) -> list[WriterHealth]:
        rows = sorted(self._health.values(), key=lambda h: (h.updated_us, h.writer_id))
        return rows[::-1][:limit]

    def _snapshot(self) -> list[Trace]:
        with self._lock:
            return list(self._traces.values())

    async def query_traces(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> list[Trace]:
        if order_by not in TRACE_ORDERS:
            raise ValueError(f"order_by must be one of {TRACE_ORDERS}, not {order_by!r}")
        found = [t for t in self._snapshot() if filter is None or trace_matches(t, filter)]
        key = order_by.lstrip("-")
        found.sort(key=lambda t: (_order_value(t, key), t.trace_id), reverse=order_by[0] == "-")
        end = None if limit is None else offset + limit
        return found[offset:end]

    async def count_traces(self, filter: TraceFilter | None = None) -> int:
        return sum(1 for t in self._snapshot() if filter is None or trace_matches(t, filter))

    async def query_runs(
        self, filter: RunFilter | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[RunRecord]:
        runs = [
            run
            for trace in self._snapshot()
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
            return sum(1 for tid in trace_ids if self._traces.pop(tid, None) is not None)

    async def cleanup(
        self, *, older_than: datetime | None = None, max_count: int | None = None
    ) -> int:
        with self._lock:
            doomed: set[str] = set()
            if older_than is not None:
                cutoff = datetime_to_us(older_than)
                doomed.update(t.trace_id for t in self._traces.values() if t.start_us < cutoff)
            if max_count is not None:
                kept = [t for t in self._traces.values() if t.trace_id not in doomed]
                kept.sort(key=lambda t: (t.start_us, t.trace_id), reverse=True)
                doomed.update(t.trace_id for t in kept[max_count:])
            for trace_id in doomed:
                del self._traces[trace_id]
            return len(doomed)

    def __len__(self) -> int:
        return len(self._traces)


def _order_value(trace: Trace, key: str) -> float:
    if key == "start_time":
        return trace.start_us
    if key == "duration":
        return trace.total_duration or 0.0
    if key == "tokens":
        return trace.tokens_used
    return trace.cost_usd or 0.0


def _in_range(us: int, start: datetime | None, end: datetime | None) -> bool:
    if start is not None and us < datetime_to_us(start):
        return False
    return not (end is not None and us > datetime_to_us(end))


def trace_matches(trace: Trace, f: TraceFilter) -> bool:
    """Whether `trace` passes every set field of `f` (the in-Python reference semantics)."""
    checks = (
        f.agent_names is None or trace.agent_name in f.agent_names,
        f.session_ids is None or trace.session_id in f.session_ids,
        f.trace_ids is None or trace.trace_id in f.trace_ids,
        f.statuses is None or str(trace.status) in f.statuses,
        _in_range(trace.start_us, f.start_time, f.end_time),
        f.has_errors is None or trace.has_errors == f.has_errors,
        f.min_duration is None or (trace.total_duration or 0.0) >= f.min_duration,
        f.max_duration is None or (trace.total_duration or 0.0) <= f.max_duration,
        f.min_tokens is None or trace.tokens_used >= f.min_tokens,
        f.max_tokens is None or trace.tokens_used <= f.max_tokens,
        f.min_cost is None or (trace.cost_usd or 0.0) >= f.min_cost,
        f.tags is None or set(f.tags) <= set(trace.tags),
    )
    if not all(checks):
        return False
    if f.tools_used:
        used = {r.tool_name for r in trace.runs if isinstance(r, ToolRecord)}
        wanted = set(f.tools_used)
        if not (wanted <= used if f.tools_match == "all" else wanted & used):
            return False
    if f.models:
        models = {r.model for r in trace.runs if isinstance(r, ThinkRecord) and r.model}
        if not models & set(f.models):
            return False
    if f.metadata:
        for key, value in f.metadata.items():
            if key not in trace.metadata or not _same_value(trace.metadata[key], value):
                return False
    if f.text:
        return _text_matches(trace, f.text)
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
    return "\n".join(
        p if isinstance(p, str) else orjson.dumps(p).decode() for p in [*parts, *errors] if p
    )


def _text_matches(trace: Trace, text: str) -> bool:
    """Every search word starts some word of the trace's search body (like FTS5)."""
    words = search_words(text)
    if not words:
        return True
    tokens = set(search_words(search_body(trace)))
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
