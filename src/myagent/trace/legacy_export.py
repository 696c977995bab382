"""The earlier exporter's async methods, over today's query engine and exporter.

Each `export_*` method takes the old arguments (`filters`, `file_path`; also `path=`,
`filter=`, or a path as the first argument), returns the text and writes it to the path
when one is given. JSON is `{"metadata": {...}, "traces"|"runs": [to_dict(), ...]}`, which
`TraceExporter.from_json` reads back; CSV has one row per record.
"""

from __future__ import annotations

import io
import os
from abc import abstractmethod
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from myagent.trace.awaitable import Figures
from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.records import RunRecord, Trace

PathLike = str | os.PathLike[str]
Filter = TraceFilter | RunFilter


def _where(first: Any, file_path: PathLike | None, path: PathLike | None, filter: Any) -> Any:
    """(filter, path) from the old positional arguments and the keyword spellings."""
    if isinstance(first, str | os.PathLike):
        first, file_path = None, first
    return filter or first, path or file_path


def _write(path: PathLike | None, text: str) -> str:
    if path is not None:
        Path(path).write_text(text, encoding="utf-8", newline="")
    return text


def _document(kind: str, items: list[Any]) -> str:
    metadata = {
        "export_time": datetime.now(UTC).isoformat(),
        f"total_{kind}": len(items),
        "exported_count": len(items),
    }
    data = {"metadata": metadata, kind: [item.to_dict() for item in items]}
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


class QuerySource(Protocol):
    """What the exporter reads through (a TraceQueryEngine; this module imports none)."""

    async def aquery_traces(
        self, filter: TraceFilter | None = None, *, limit: int | None = None
    ) -> list[Trace]: ...

    async def aquery_runs(self, filter: RunFilter | None = None) -> list[RunRecord]: ...

    def get_trace(self, trace_id: str) -> Trace | None: ...

    async def _trace_statistics(self, filter: TraceFilter | None) -> Figures: ...


class LegacyExportMethods:
    """Mixed into TraceExporter, which provides `_engine()` (its query engine) and the
    `to_csv`/`runs_to_csv` writers."""

    __slots__ = ()

    @abstractmethod  # supplied by the class this is mixed into
    def _engine(self) -> QuerySource: ...

    @abstractmethod  # supplied by the class this is mixed into
    def to_csv(self, traces: list[Trace], path: Any) -> int: ...

    @abstractmethod  # supplied by the class this is mixed into
    def runs_to_csv(self, runs: list[RunRecord], path: Any) -> int: ...

    async def export_traces_to_json(
        self,
        filters: TraceFilter | PathLike | None = None,
        file_path: PathLike | None = None,
        ensure_ascii: bool = False,
        *,
        path: PathLike | None = None,
        filter: TraceFilter | None = None,
    ) -> str:
        """The matching traces as `{"metadata": {...}, "traces": [...]}`."""
        chosen, target = _where(filters, file_path, path, filter)
        return _write(target, _document("traces", await self._engine().aquery_traces(chosen)))

    async def export_runs_to_json(
        self,
        filters: RunFilter | PathLike | None = None,
        file_path: PathLike | None = None,
        ensure_ascii: bool = False,
        *,
        path: PathLike | None = None,
        filter: RunFilter | None = None,
    ) -> str:
        """The matching records as `{"metadata": {...}, "runs": [...]}`."""
        chosen, target = _where(filters, file_path, path, filter)
        return _write(target, _document("runs", await self._engine().aquery_runs(chosen)))

    async def export_traces_to_csv(
        self,
        filters: TraceFilter | PathLike | None = None,
        file_path: PathLike | None = None,
        *,
        path: PathLike | None = None,
        filter: TraceFilter | None = None,
    ) -> str:
        """CSV, one row per record with its trace's columns (`TraceExporter.to_csv`)."""
        chosen, target = _where(filters, file_path, path, filter)
        buffer = io.StringIO()
        self.to_csv(await self._engine().aquery_traces(chosen), buffer)
        return _write(target, buffer.getvalue())

    async def export_runs_to_csv(
        self,
        filters: RunFilter | PathLike | None = None,
        file_path: PathLike | None = None,
        *,
        path: PathLike | None = None,
        filter: RunFilter | None = None,
    ) -> str:
        """CSV, one row per matching record (`TraceExporter.runs_to_csv`)."""
        chosen, target = _where(filters, file_path, path, filter)
        buffer = io.StringIO()
        self.runs_to_csv(await self._engine().aquery_runs(chosen), buffer)
        return _write(target, buffer.getvalue())

    async def export_trace_summary(
        self,
        filters: TraceFilter | PathLike | None = None,
        file_path: PathLike | None = None,
        *,
        path: PathLike | None = None,
        filter: TraceFilter | None = None,
    ) -> str:
        """A Markdown report: statistics, status distribution and up to 10 traces."""
        chosen, target = _where(filters, file_path, path, filter)
        engine = self._engine()
        stats = await engine._trace_statistics(chosen)
        traces = await engine.aquery_traces(chosen, limit=10)
        lines = [
            "# Trace Summary Report",
            f"Generated: {datetime.now(UTC).isoformat()}",
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
        return _write(target, "\n".join(lines))

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
