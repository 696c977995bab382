"""TraceExporter: traces to JSON (lossless, round trip), JSON Lines (streaming), CSV and
pandas DataFrames (one row per record, with the trace's columns on every row).

JSON and JSON Lines carry `Trace.to_dict()` data and read back into equal traces. CSV
and DataFrame rows flatten each record next to its trace; their columns are
`RECORD_COLUMNS` (documented in docs/query.md). pandas is optional: `pip install
myagent[pandas]`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

from myagent.trace.legacy_export import LegacyExportMethods
from myagent.trace.records import RunRecord, StepRecord, ThinkRecord, ToolRecord, Trace
from myagent.trace.serialize import to_jsonable

if TYPE_CHECKING:
    from myagent.trace.query import TraceQueryEngine

Destination = str | os.PathLike[str] | IO[str] | IO[bytes]
"""A file path, or an open file (text or binary)."""

RECORD_COLUMNS = (
    "trace_id",
    "trace_name",
    "agent_name",
    "session_id",
    "trace_status",
    "trace_start_time",
    "trace_end_time",
    "trace_duration",
    "trace_has_errors",
    "trace_error",
    "trace_tokens_used",
    "trace_cost_usd",
    "trace_input",
    "trace_output",
    "tags",
    "trace_metadata",
    "run_id",
    "parent_id",
    "run_type",
    "name",
    "tool_name",
    "model",
    "start_time",
    "end_time",
    "duration",
    "success",
    "error_type",
    "error",
    "prompt_tokens",
    "completion_tokens",
    "tokens_used",
    "cost_usd",
    "input",
    "output",
    "tool_calls",
    "metadata",
)
"""Columns of `to_csv` and `to_dataframe`: the trace's, then the record's."""

RUN_COLUMNS = ("trace_id", *RECORD_COLUMNS[RECORD_COLUMNS.index("run_id") :])
"""Columns of `runs_to_csv`: a record's, with its trace id."""


def _trace_columns(trace: Trace) -> dict[str, Any]:
    return {
        "trace_id": trace.trace_id,
        "trace_name": to_jsonable(trace.name),
        "agent_name": to_jsonable(trace.agent_name),
        "session_id": to_jsonable(trace.session_id),
        "trace_status": str(trace.status),
        "trace_start_time": trace.start_time,
        "trace_end_time": trace.end_time,
        "trace_duration": trace.total_duration,
        "trace_has_errors": trace.has_errors,
        "trace_error": to_jsonable(trace.error),
        "trace_tokens_used": trace.tokens_used,
        "trace_cost_usd": trace.cost_usd,
        "trace_input": to_jsonable(trace.input),
        "trace_output": to_jsonable(trace.output),
        "tags": to_jsonable(list(trace.tags)),
        "trace_metadata": to_jsonable(trace.metadata),
    }


def record_columns(run: RunRecord) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run_id": run.run_id,
        "parent_id": run.parent_id,
        "run_type": run.run_type,
        "name": to_jsonable(run.name),
        "tool_name": None,
        "model": None,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "duration": run.duration,
        "success": run.success,
        "error_type": run.error_type,
        "error": to_jsonable(run.error),
        "prompt_tokens": None,
        "completion_tokens": None,
        "tokens_used": None,
        "cost_usd": None,
        "input": None,
        "output": None,
        "tool_calls": None,
        "metadata": to_jsonable(run.metadata),
    }
    if isinstance(run, ThinkRecord):
        row.update(
            model=run.model,
            prompt_tokens=run.prompt_tokens,
            completion_tokens=run.completion_tokens,
            tokens_used=run.tokens_used,
            cost_usd=run.cost_usd,
            input=to_jsonable(run.input),
            output=to_jsonable(run.llm_response),
            tool_calls=to_jsonable(run.tool_calls),
        )
    elif isinstance(run, ToolRecord):
        row.update(
            tool_name=run.tool_name,
            input=to_jsonable(run.input_params),
            output=to_jsonable(run.output),
        )
    elif isinstance(run, StepRecord):
        row.update(input=to_jsonable(run.inputs), output=to_jsonable(run.output))
    return row


def record_rows(traces: Iterable[Trace]) -> Iterator[dict[str, Any]]:
    """One dict per record (keys `RECORD_COLUMNS`); a trace without records gives one row
    whose record columns are None. Values are Python values (datetimes, JSON-safe data)."""
    empty = dict.fromkeys(RECORD_COLUMNS[RECORD_COLUMNS.index("run_id") :])
    for trace in traces:
        head = _trace_columns(trace)
        runs = list(trace.runs)
        if not runs:
            yield {**head, **empty}
        for run in runs:
            yield {**head, **record_columns(run)}


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""


def csv_safe(text: str) -> str:
    """`text` as a CSV cell no spreadsheet runs as a formula: one starting with = + - @,
    a tab or a carriage return gets a leading apostrophe (shown as text, not computed)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_cell(value: Any) -> str:
    """CSV text of a value: '' for None, true/false, ISO times, JSON for lists and objects;
    text is made formula-safe (`csv_safe`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return csv_safe(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float):
        return repr(value)
    return orjson.dumps(value).decode()


def _parse_traces(data: Any) -> list[Trace]:
    if isinstance(data, dict):
        data = data.get("traces", [data])
    if not isinstance(data, list):
        raise ValueError("expected a JSON list of traces (or an object with 'traces')")
    return [Trace.from_dict(item) for item in data]


def _write_csv(path: Destination, columns: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> int:
    """A header and one CSV line per row (as `rows` is iterated); returns the row count."""
    sink = _Sink(path, binary=False)
    count = 0
    try:
        target = sink.file if sink.text else io.TextIOWrapper(sink.file, "utf-8", newline="")
        writer = csv.writer(target)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_cell(row[c]) for c in columns])
            count += 1
        if target is not sink.file:
            target.flush()
            target.detach()
    finally:
        sink.close()
    return count


class _Sink:
    """Writes text or bytes to a path (opened and closed here) or to an open file."""

    def __init__(self, dest: Destination, binary: bool) -> None:
        self._own = isinstance(dest, str | os.PathLike)
        if isinstance(dest, str | os.PathLike):
            self.file: Any = open(dest, "wb" if binary else "w", newline="" if not binary else None)  # noqa: SIM115
        else:
            self.file = dest
        self.text = isinstance(self.file, io.TextIOBase)

    def close(self) -> None:
        if self._own:
            self.file.close()


class TraceExporter(LegacyExportMethods):
    """Export traces to JSON, JSON Lines, CSV and pandas, and import JSON back.

    `query_engine` (optional) is where the earlier API's async `export_*` methods read
    (default: a TraceQueryEngine over the global manager's storage).
    """

    def __init__(self, query_engine: TraceQueryEngine | None = None) -> None:
        self.query_engine = query_engine

    # -- JSON ------------------------------------------------------------------------

    def to_json(
        self,
        traces: Iterable[Trace],
        path: str | os.PathLike[str] | None = None,
        *,
        indent: bool = True,
    ) -> str:
        """A JSON list of `Trace.to_dict()` data (lossless: `from_json` rebuilds equal
        traces); also written to `path` when given."""
        option = orjson.OPT_INDENT_2 if indent else 0
        data = orjson.dumps([trace.to_dict() for trace in traces], option=option)
        if path is not None:
            Path(path).write_bytes(data)
        return data.decode()

    def from_json(self, text: str | bytes) -> list[Trace]:
        """Traces from `to_json` output (a list, one trace object, or {"traces": [...]})."""
        return _parse_traces(orjson.loads(text))

    def read_json(self, path: str | os.PathLike[str]) -> list[Trace]:
        """Traces from a file written by `to_json`."""
        return self.from_json(Path(path).read_bytes())

    # -- JSON Lines ------------------------------------------------------------------

    def to_jsonl(self, traces: Iterable[Trace], dest: Destination) -> int:
        """One `Trace.to_dict()` JSON object per line, written as `traces` is iterated
        (constant memory with an iterator such as `TraceQueryEngine.iter_traces`).
        Returns how many traces were written."""
        sink = _Sink(dest, binary=True)
        count = 0
        try:
            for trace in traces:
                line = orjson.dumps(trace.to_dict(), option=orjson.OPT_APPEND_NEWLINE)
                sink.file.write(line.decode() if sink.text else line)
                count += 1
        finally:
            sink.close()
        return count

    def read_jsonl(self, source: str | os.PathLike[str] | IO[str] | IO[bytes]) -> Iterator[Trace]:
        """Traces from a JSON Lines file, one at a time (blank lines skipped)."""
        if isinstance(source, str | os.PathLike):
            with open(source, "rb") as file:
                yield from self.read_jsonl(file)
            return
        for line in source:
            if line.strip():
                yield Trace.from_dict(orjson.loads(line))

    # -- CSV and pandas --------------------------------------------------------------

    def to_csv(self, traces: Iterable[Trace], path: Destination) -> int:
        """One CSV row per record (columns `RECORD_COLUMNS`, with a header), written as
        `traces` is iterated. Returns how many rows were written (header excluded)."""
        return _write_csv(path, RECORD_COLUMNS, record_rows(traces))

    def runs_to_csv(self, runs: Iterable[RunRecord], path: Destination) -> int:
        """One CSV row per record, without its trace's columns (columns `RUN_COLUMNS`)."""
        rows = ({"trace_id": run.trace_id, **record_columns(run)} for run in runs)
        return _write_csv(path, RUN_COLUMNS, rows)

    def _engine(self) -> TraceQueryEngine:
        if self.query_engine is None:
            from myagent.trace.query import TraceQueryEngine

            return TraceQueryEngine()
        return self.query_engine

    def to_records(self, traces: Iterable[Trace]) -> list[dict[str, Any]]:
        """The rows of `to_csv` as dicts of Python values."""
        return list(record_rows(traces))

    def to_dataframe(self, traces: Iterable[Trace]) -> Any:
        """A pandas DataFrame, one row per record (columns `RECORD_COLUMNS`; times are
        tz-aware UTC). Needs pandas: `pip install myagent[pandas]`."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "TraceExporter.to_dataframe needs pandas: pip install 'myagent[pandas]'"
            ) from exc
        frame = pd.DataFrame.from_records(list(record_rows(traces)), columns=list(RECORD_COLUMNS))
        for column in ("trace_start_time", "trace_end_time", "start_time", "end_time"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return frame
