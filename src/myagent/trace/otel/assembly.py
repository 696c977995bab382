"""Spans → whole traces: one trace per OTel trace id, however its spans arrive.

OTel exporters send spans as they end, in batches, so one trace reaches us over several
requests, children before their parent, sometimes after a restart. The assembler keeps
each trace whose root span has not arrived **open** in memory and hands a fresh copy of
it to the trace manager's writer after every request (shown as running, live). When the
root span arrives the trace is finished and written whole. A span id seen again replaces
its record (idempotent re-sends). Spans of a trace that was already finished (late
spans), or that this process does not hold (a restart), re-read the stored trace, merge
and rewrite it whole. A trace whose root never comes is finished `idle_timeout` seconds
after its last span (default 60 s; marked `otel.incomplete` in its metadata).

Everything goes through `TraceManager.ingest`: the same writer, redaction, size limits,
roll-ups, live feed and drop counters as traces recorded in process.
"""

from __future__ import annotations

import asyncio
import operator
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from myagent.trace.filters import TraceFilter
from myagent.trace.manager import TraceManager
from myagent.trace.otel.span_records import ORPHAN_KEY, SCOPE_KEY, SERVICE_KEY, MappedSpan
from myagent.trace.records import LogEntry, RunRecord, ThinkRecord, Trace, TraceStatus

DEFAULT_IDLE_TIMEOUT = 60.0
"""Seconds after its last span a trace without a root span is finished."""
DEFAULT_MAX_OPEN_TRACES = 10_000
"""Open traces held at most; beyond it the longest idle ones are finished early."""
RECENT_TRACES = 100_000
"""Ids of finished traces remembered, so their late spans re-read storage first."""


_START_ORDER = operator.attrgetter("start_us", "run_id")
_LOG_ORDER = operator.attrgetter("timestamp_us")


def _first_top_name(records: list[RunRecord]) -> str:
    """The name of the first record with no parent (the trace's name when nothing names it)."""
    return next((r.name for r in records if r.parent_id is None), "trace")


def _last_top_failed(records: list[RunRecord]) -> bool:
    """Whether the last record with no parent failed (a timed-out trace's outcome)."""
    top = [r for r in records if r.parent_id is None]
    return bool(top) and not top[-1].success


@dataclass(slots=True)
class _OpenTrace:
    """What the assembler holds of one trace while its spans arrive."""

    trace_id: str
    records: dict[str, RunRecord] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)
    logs: dict[str | None, list[LogEntry]] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    root_span_id: str | None = None
    root_end_us: int | None = None
    root_start_us: int | None = None
    services: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    touched: float = 0.0
    agent_hinted: bool = False
    """The agent name so far is a span's name, not an attribute: an attribute replaces it."""

    @classmethod
    def from_stored(cls, trace: Trace) -> _OpenTrace:
        """Resume a stored trace: its records, their original parents and its fields."""
        state = cls(trace.trace_id)
        for record in trace.runs:
            state.records[record.run_id] = record
            orphan = record.metadata.get(ORPHAN_KEY)
            state.parents[record.run_id] = orphan if isinstance(orphan, str) else record.parent_id
        for entry in trace.logs:
            state.logs.setdefault(entry.run_id, []).append(entry)
        state.fields = {
            "name": trace.name,
            "agent_name": trace.agent_name,
            "session_id": trace.session_id,
            "input": trace.input,
            "output": trace.output,
            "error": trace.error,
            "metadata": dict(trace.metadata),
            "tags": list(trace.tags),
        }
        if trace.end_us is not None:  # finished before: its root (or the timeout) came
            state.fields["status"] = trace.status
            state.root_start_us, state.root_end_us = trace.start_us, trace.end_us
        return state

    @property
    def finished(self) -> bool:
        return self.root_end_us is not None

    def add(self, span: MappedSpan) -> None:
        """Merge one span (replacing a span of the same id)."""
        fields = self.fields
        span_id, parent = span.span_id, span.parent_span_id
        for key, value in span.trace_fields.items():
            if value is None:  # no word on it (most keys of most spans)
                continue
            if key == "agent_hint":
                if not fields.get("agent_name"):
                    fields["agent_name"], self.agent_hinted = value, True
            elif key == "agent_name":
                if fields.get("agent_name") is None or self.agent_hinted or parent is None:
                    fields["agent_name"], self.agent_hinted = value, False
            elif key == "metadata":
                fields["metadata"] = {**fields.get("metadata", {}), **value}
            elif key == "tags":
                fields["tags"] = list(dict.fromkeys([*fields.get("tags", []), *value]))
            elif parent is None or fields.get(key) is None:
                fields[key] = value  # the root's word wins; children fill gaps
        service, scope = span.service, span.scope
        if service and service not in self.services:
            self.services.append(service)
        if scope and scope not in self.scopes:
            self.scopes.append(scope)
        record = span.record
        if parent is None:  # the root decides the outcome, over any guess
            self.root_span_id = span_id
            self.root_start_us, self.root_end_us = record.start_us, record.end_us
            fields["status"] = span.trace_fields.get("status")
            fields["error"] = span.trace_fields.get("error")
            if isinstance(fields.get("metadata"), dict):
                fields["metadata"].pop("otel.incomplete", None)
            if not span.is_trace:  # the root names the trace (over a name guessed before)
                fields["name"] = record.name
        if span.is_trace:
            self.records.pop(span_id, None)
            self.logs[None] = span.logs
        else:
            self.records[span_id] = record
            self.parents[span_id] = parent
            self.logs[span_id] = span.logs

    def build(self, *, timed_out: bool = False) -> Trace:
        """A fresh trace object from what arrived so far (running until the root ends)."""
        records = sorted(self.records.values(), key=_START_ORDER)
        known = self.records
        parents = self.parents
        for record in records:
            parent = parents.get(record.run_id)
            if parent is None or parent in known:
                record.parent_id = parent
                record.metadata.pop(ORPHAN_KEY, None)
            else:  # the root (as the trace itself) or a parent not arrived: under the root
                record.parent_id = None
                if parent == self.root_span_id:
                    record.metadata.pop(ORPHAN_KEY, None)
                else:
                    record.metadata[ORPHAN_KEY] = parent
        fields = self.fields
        metadata = dict(fields.get("metadata") or {})
        if self.services:
            metadata.setdefault(SERVICE_KEY, self.services[0])
        if self.scopes:
            metadata.setdefault(SCOPE_KEY, self.scopes[0])
        tags = list(fields.get("tags") or [])
        tags += [f"service:{s}" for s in self.services if f"service:{s}" not in tags]
        tags += [f"scope:{s}" for s in self.scopes if f"scope:{s}" not in tags]
        start = self.root_start_us
        if start is None:
            start = min((r.start_us for r in records), default=0)
        end = self.root_end_us
        status = fields.get("status")
        error = fields.get("error")
        if end is None and timed_out:
            end = max((r.end_us or r.start_us for r in records), default=start)
            metadata["otel.incomplete"] = "no root span arrived"
        if end is None:
            status = TraceStatus.RUNNING.value
        elif not status or status == TraceStatus.RUNNING:
            failed = error or (timed_out and _last_top_failed(records))
            status = TraceStatus.ERROR.value if failed else TraceStatus.SUCCESS.value
        name = fields.get("name") or fields.get("agent_name") or _first_top_name(records)
        inputs, output = fields.get("input"), fields.get("output")
        if inputs is None or (output is None and end is not None):
            think = [r for r in records if isinstance(r, ThinkRecord)]
            if inputs is None and think:  # what the user asked first, for the list and search
                asked = [
                    m for m in think[0].messages if isinstance(m, dict) and m.get("role") == "user"
                ]
                inputs = asked[-1].get("content") if asked else think[0].input
            if output is None and think and end is not None:
                output = think[-1].llm_response
        logs = [entry for entries in self.logs.values() if entries for entry in entries]
        logs.sort(key=_LOG_ORDER)
        return Trace(
            trace_id=self.trace_id,
            name=str(name),
            agent_name=fields.get("agent_name"),
            session_id=fields.get("session_id"),
            input=inputs,
            output=output,
            status=str(status),
            start_us=start,
            end_us=end,
            error=error,
            metadata=metadata,
            tags=tags,
            runs=records,
            logs=logs,
        )


class TraceAssembler:
    """Merges mapped spans into traces and writes them through a `TraceManager`."""

    def __init__(
        self,
        manager: TraceManager,
        *,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_open_traces: int = DEFAULT_MAX_OPEN_TRACES,
    ) -> None:
        self.manager = manager
        self.idle_timeout = idle_timeout
        self.max_open_traces = max_open_traces
        self._open: OrderedDict[str, _OpenTrace] = OrderedDict()
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._lock = asyncio.Lock()
        self.stats = {"spans": 0, "traces_finished": 0, "late_merges": 0, "timed_out": 0}

    @property
    def open_traces(self) -> int:
        """Traces waiting for their root span."""
        return len(self._open)

    async def add(self, spans: Iterable[MappedSpan]) -> None:
        """Merge spans into their traces and hand every changed trace to the writer."""
        groups: dict[str, list[MappedSpan]] = {}
        for span in spans:
            groups.setdefault(span.trace_id, []).append(span)
        if not groups:
            return
        async with self._lock:
            await self._resume([t for t in groups if t not in self._open])
            now = time.monotonic()
            for done, (trace_id, members) in enumerate(groups.items(), 1):
                if not done % 64:
                    await asyncio.sleep(0)  # a big request does not hold the event loop
                state = self._open.get(trace_id) or _OpenTrace(trace_id)
                for span in members:
                    state.add(span)
                state.touched = now
                self.stats["spans"] += len(members)
                self._write(state)
            self._evict(now)

    async def _resume(self, trace_ids: list[str]) -> None:
        """Bring traces this process does not hold open back from storage."""
        if not trace_ids:
            return
        if any(t in self._recent for t in trace_ids):
            # Late spans of a trace finished here: its final write may still be queued.
            await asyncio.to_thread(self.manager.flush, self.manager.config.shutdown_timeout)
            self.stats["late_merges"] += 1
        wanted = TraceFilter(trace_ids=trace_ids)
        for trace in await self.manager.storage.query_traces(wanted, limit=len(trace_ids)):
            self._open[trace.trace_id] = _OpenTrace.from_stored(trace)

    def _write(self, state: _OpenTrace, *, timed_out: bool = False) -> None:
        trace = state.build(timed_out=timed_out)
        self.manager.ingest(trace)
        if trace.end_us is None:
            self._open[state.trace_id] = state
            self._open.move_to_end(state.trace_id)
            return
        self._open.pop(state.trace_id, None)
        self.stats["traces_finished"] += 1
        self._recent[state.trace_id] = None
        self._recent.move_to_end(state.trace_id)
        while len(self._recent) > RECENT_TRACES:
            self._recent.popitem(last=False)

    def _evict(self, now: float) -> None:
        """Finish traces idle past the timeout, and the oldest beyond the open-trace cap."""
        while self._open:
            state = next(iter(self._open.values()))
            idle = now - state.touched >= self.idle_timeout
            if not idle and len(self._open) <= self.max_open_traces:
                break
            self.stats["timed_out"] += 1
            self._write(state, timed_out=True)

    async def sweep(self) -> None:
        """Finish traces whose root has not come within `idle_timeout` (call now and then)."""
        async with self._lock:
            self._evict(time.monotonic())

    async def close(self) -> None:
        """Write what is open as it is (still running: a restart can resume it)."""
        async with self._lock:
            self._open.clear()
