"""The earlier query engine's statistics and exporter methods, over today's queries.

`TraceQueryEngine.get_trace_statistics()` / `get_run_statistics()` and the old async
`TraceExporter.export_*` methods, each computed from the one query layer (counts and
aggregates in the database; run durations read page by page). Results are awaitable
as well as plain values (see `awaitable.py`).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from myagent.trace.awaitable import Figures
from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.records import RunType, Trace, TraceStatus
from myagent.trace.sync_bridge import run_sync

if TYPE_CHECKING:
    from myagent.trace.query import TraceQueryEngine

PathLike = str | os.PathLike[str]
_PAGE = 1000


async def trace_statistics(engine: TraceQueryEngine, filter: TraceFilter | None) -> Figures:
    """total_traces, avg_duration_ms, total_cost, total_tokens, error_rate (0-1) and
    status_distribution of the finished traces matching `filter`."""
    store = await engine._store()
    stats = await store.trace_stats(filter)
    base = filter or TraceFilter()
    statuses = {}
    for status in TraceStatus:
        count = await store.count_traces(replace(base, statuses=[status.value]))
        if count:
            statuses[status.value] = count
    total = stats.trace_count
    return Figures(
        total_traces=total,
        avg_duration_ms=stats.avg_response_time * 1000,
        total_cost=stats.total_cost,
        total_tokens=stats.total_tokens,
        error_rate=(total - stats.success_count) / total if total else 0.0,
        status_distribution=statuses,
    )


async def run_statistics(engine: TraceQueryEngine, filter: RunFilter | None) -> Figures:
    """total_runs, avg_duration_ms, error_rate (0-1), type_distribution and
    status_distribution of the records matching `filter`."""
    store = await engine._store()
    base = filter or RunFilter()
    total = await store.count_runs(base)
    errors = await store.count_runs(replace(base, errors_only=True, success_only=False))
    types = {}
    for kind in RunType:
        count = await store.count_runs(replace(base, run_types=[kind.value]))
        if count:
            types[kind.value] = count
    durations: list[float] = []
    offset = 0
    while offset < total:
        page = await store.query_runs(base, limit=_PAGE, offset=offset)
        if not page:
            break
        durations.extend(r.duration for r in page if r.duration is not None)
        offset += len(page)
    statuses = {
        key: value for key, value in (("success", total - errors), ("error", errors)) if value
    }
    return Figures(
        total_runs=total,
        avg_duration_ms=sum(durations) / len(durations) * 1000 if durations else 0.0,
        error_rate=errors / total if total else 0.0,
        type_distribution=types,
        status_distribution=statuses,
    )


class LegacyQueryMethods:
    """`get_trace_statistics` and `get_run_statistics`, mixed into TraceQueryEngine."""

    __slots__ = ()

    def get_trace_statistics(self, filter: TraceFilter | None = None) -> Figures:
        """Figures over the matching traces (awaitable too, as the earlier API was)."""
        return run_sync(trace_statistics(self, filter))  # type: ignore[arg-type]

    def get_run_statistics(self, filter: RunFilter | None = None) -> Figures:
        """Figures over the matching records (awaitable too, as the earlier API was)."""
        return run_sync(run_statistics(self, filter))  # type: ignore[arg-type]


def _write(path: PathLike | None, text: str) -> str:
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def _now() -> str:
    return datetime.now(UTC).isoformat()


class LegacyExportMethods:
    """The earlier exporter's async methods, mixed into TraceExporter (which holds
    `query_engine`). Each returns the text and writes it to `path`/`file_path` if given."""

    __slots__ = ()

    query_engine: TraceQueryEngine | None

    def _engine(self) -> TraceQueryEngine:
        if self.query_engine is None:
            from myagent.trace.query import TraceQueryEngine

            return TraceQueryEngine()
        return self.query_engine

    async def export_traces_to_json(
        self,
        filters: TraceFilter | PathLike | None = None,
        file_path: PathLike | None = None,
        ensure_ascii: bool = False,
        *,
        path: PathLike | None = None,
        filter: TraceFilter | None = None,
    ) -> str:
        """{"metadata": {...}, "traces": [Trace.to_dict(), ...]} (reads back with from_json)."""
        if isinstance(filters, str | os.PathLike):
            filters, file_path = None, filters
        traces = await self._engine().aquery_traces(filter or filters)
        data = {
            "metadata": {
                "export_time": _now(),
                "total_traces": len(traces),
                "exported_count": len(traces),
            },
            "traces": [trace.to_dict() for trace in traces],
        }
        text = orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
        return _write(path or file_path, text)

    async def export_runs_to_json(
        self,
        filters: RunFilter | PathLike | None = None,
        file_path: PathLike | None = None,
        ensure_ascii: bool = False,
        *,
        path: PathLike | None = None,
        filter: RunFilter | None = None,
    ) -> str:
        """{"metadata": {...}, "runs": [record.to_dict(), ...]}."""
        if isinstance(filters, str | os.PathLike):
            filters, file_path = None, filters
        runs = await self._engine().aquery_runs(filter or filters)
        data = {
            "metadata": {
                "export_time": _now(),
                "total_runs": len(runs),
                "exported_count": len(runs),
            },
            "runs": [run.to_dict() for run in runs],
        }
        text = orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
        return _write(path or file_path, text)

    async def export_traces_to_csv(
        self,
        filters: TraceFilter | PathLike | None = None,
        file_path: PathLike | None = None,
        *,
        path: PathLike | None = None,
        filter: TraceFilter | None = None,
    ) -> str:
        """CSV, one row per record with its trace's columns (`TraceExporter.to_csv`)."""
        if isinstance(filters, str | os.PathLike):
            filters, file_path = None, filters
        traces = await self._engine().aquery_traces(filter or filters)
        buffer = io.StringIO()
        self.to_csv(traces, buffer)  # type: ignore[attr-defined]
        return _write(path or file_path, buffer.getvalue())

    async def export_runs_to_csv(
        self,
        filters: RunFilter | PathLike | None = None,
        file_path: PathLike | None = None,
        *,
        path: PathLike | None = None,
        filter: RunFilter | None = None,
    ) -> str:
        """CSV, one row per matching record (the record columns of `to_csv`)."""
        from myagent.trace.export import RECORD_COLUMNS, csv_cell, record_columns

        if isinstance(filters, str | os.PathLike):
            filters, file_path = None, filters
        runs = await self._engine().aquery_runs(filter or filters)
        columns = ("trace_id", *RECORD_COLUMNS[RECORD_COLUMNS.index("run_id") :])
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for run in runs:
            row = {"trace_id": run.trace_id, **record_columns(run)}
            writer.writerow([csv_cell(row[c]) for c in columns])
        return _write(path or file_path, buffer.getvalue())

    async def export_trace_summary(
        self,
        filters: TraceFilter | PathLike | None = None,
        file_path: PathLike | None = None,
        *,
        path: PathLike | None = None,
        filter: TraceFilter | None = None,
    ) -> str:
        """A Markdown report: statistics, status distribution and up to 10 traces."""
        if isinstance(filters, str | os.PathLike):
            filters, file_path = None, filters
        engine = self._engine()
        chosen = filter or filters
        stats = await trace_statistics(engine, chosen)
        traces = await engine.aquery_traces(chosen, limit=10)
        lines = [
            "# Trace Summary Report",
            f"Generated: {_now()}",
            "",
            "## Statistics",
            f"Total Traces: {stats['total_traces']}",
            f"Average Duration: {stats['avg_duration_ms']:.2f}ms",
            f"Total Cost: ${stats['total_cost']:.4f}",
            f"Total Tokens: {stats['total_tokens']}",
            f"Error Rate: {stats['error_rate']:.2%}",
            "",
            "## Status Distribution",
        ]
        total = stats["total_traces"] or 1
        for status, count in stats["status_distribution"].items():
            lines.append(f"- {status}: {count} ({count / total * 100:.1f}%)")
        if traces:
            lines += ["", "## Sample Traces"]
        for i, trace in enumerate(traces, 1):
            duration = f"{trace.duration_ms:.2f}ms" if trace.duration_ms else "N/A"
            lines += [
                f"### {i}. {trace.name} ({trace.trace_id[:8]}...)",
                f"- Status: {trace.status}",
                f"- Duration: {duration}",
                f"- Runs: {len(trace.runs)}",
                f"- Started: {trace.start_time.isoformat()}",
                "",
            ]
        return _write(path or file_path, "\n".join(lines))

    def export_trace_tree(self, trace: Trace | str) -> str:
        """A text tree of a trace's records (by parent), with outcome and duration."""
        if isinstance(trace, str):
            found = self._engine().get_trace(trace)
            if found is None:
                raise KeyError(f"no trace {trace!r}")
            trace = found
        duration = f"{trace.duration_ms:.2f}ms" if trace.duration_ms else "N/A"
        lines = [f"Trace: {trace.name} ({trace.trace_id[:8]}...)", f"Status: {trace.status}"]
        lines += [f"Duration: {duration}", ""]
        children: dict[str | None, list[Any]] = {}
        for run in trace.runs:
            children.setdefault(run.parent_id, []).append(run)

        def add(run: Any, prefix: str, last: bool) -> None:
            icon = {"success": "✓", "error": "✗"}.get(str(run.status), "~")
            took = f"{run.duration_ms:.2f}ms" if run.duration_ms else "N/A"
            branch = "└── " if last else "├── "
            lines.append(f"{prefix}{branch}{icon} {run.name} ({run.run_type}) - {took}")
            kids = children.get(run.run_id, [])
            for i, kid in enumerate(kids):
                add(kid, prefix + ("    " if last else "│   "), i == len(kids) - 1)

        roots = children.get(None, [])
        for i, root in enumerate(roots):
            add(root, "", i == len(roots) - 1)
        return "\n".join(lines)
