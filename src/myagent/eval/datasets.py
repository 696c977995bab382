"""Datasets from code and from files: items an agent runs on, with the answers expected.

Items go through the trace manager's redactor before storage (as traces do). Every edit
stores a new version of the item; history is never lost. Files: JSON Lines (one object
per line) or CSV (a header row), with the columns `input`, `expected_output` (or
`expected`), `metadata` (a JSON object), `source_trace_id`; other columns go into the
item's metadata.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from myagent.trace.manager import TraceManager
from myagent.trace.records import Trace
from myagent.trace.setup import get_trace_manager
from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.eval_rows import DatasetItem, redact_item, revise_item

MAX_FILE_ITEMS = 1_000_000
"""Most items one file import takes."""


class DatasetFileError(ValueError):
    """A dataset file that cannot be read: says which line and why."""


class Dataset:
    """A named dataset in a storage (that of the trace manager by default)."""

    def __init__(self, name: str, *, manager: TraceManager | None = None) -> None:
        self.name = name
        self.manager = manager or get_trace_manager()

    @property
    def storage(self) -> TraceStorage:
        return self.manager.storage

    def _redacted(self, item: DatasetItem) -> DatasetItem:
        manager = self.manager
        return redact_item(item, manager.redactor if manager.config.redact else None)

    async def add(
        self,
        input: Any,
        expected_output: Any = None,
        *,
        metadata: dict[str, Any] | None = None,
        source_trace_id: str | None = None,
    ) -> DatasetItem:
        """Add one item; returns it (with its id)."""
        [item] = await self.add_many(
            [
                {
                    "input": input,
                    "expected_output": expected_output,
                    "metadata": metadata or {},
                    "source_trace_id": source_trace_id,
                }
            ]
        )
        return item

    async def add_many(self, rows: Iterable[dict[str, Any]]) -> list[DatasetItem]:
        """Add items from plain dicts (`input`, `expected_output`, `metadata`,
        `source_trace_id`) in one write."""
        items = [
            self._redacted(
                DatasetItem(
                    dataset=self.name,
                    input=row["input"],
                    expected_output=row.get("expected_output"),
                    metadata=dict(row.get("metadata") or {}),
                    source_trace_id=row.get("source_trace_id"),
                )
            )
            for row in rows
        ]
        if items:
            await self.storage.store_dataset_items(items)
        return items

    async def add_trace(self, trace: Trace | str, expected_output: Any = None) -> DatasetItem:
        """An item from a stored trace: its input, and its output as the expected output
        unless `expected_output` is given (a bad production run, corrected)."""
        found = trace if isinstance(trace, Trace) else await self.storage.get_trace(trace)
        if found is None:
            raise KeyError(f"no trace {trace!r} in storage")
        return await self.add(
            found.input,
            found.output if expected_output is None else expected_output,
            metadata={"agent_name": found.agent_name},
            source_trace_id=found.trace_id,
        )

    async def items(self) -> list[DatasetItem]:
        """The latest version of every live item, oldest item first."""
        return await self.storage.dataset_items(self.name)

    async def history(self, item_id: str) -> list[DatasetItem]:
        """Every version of one item, oldest first."""
        return await self.storage.dataset_items(self.name, item_id=item_id, history=True)

    async def edit(self, item_id: str, **changes: Any) -> DatasetItem:
        """Store the next version of an item with `changes` (input, expected_output,
        metadata); earlier versions stay."""
        probe = self._redacted(DatasetItem(dataset=self.name, input=None, **changes))
        redacted = {key: getattr(probe, key) for key in changes}
        return await revise_item(self.storage, self.name, item_id, **redacted)

    async def delete(self, item_id: str) -> DatasetItem:
        """Mark an item deleted (a new version; its history stays)."""
        return await revise_item(self.storage, self.name, item_id, deleted=True)

    async def import_file(self, path: str | Path) -> list[DatasetItem]:
        """Add every item of a JSONL or CSV file (see the module doc)."""
        return await self.add_many(read_items_file(path))


def _row(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise DatasetFileError(f"{where}: expected an object, got {type(data).__name__}")
    if "input" not in data or data["input"] in (None, ""):
        raise DatasetFileError(f"{where}: no 'input'")
    expected = data.get("expected_output", data.get("expected"))
    metadata = data.get("metadata") or {}
    if isinstance(metadata, str):
        try:
            metadata = orjson.loads(metadata)
        except orjson.JSONDecodeError:
            raise DatasetFileError(f"{where}: 'metadata' is not JSON") from None
    if not isinstance(metadata, dict):
        raise DatasetFileError(f"{where}: 'metadata' must be an object")
    known = {"input", "expected_output", "expected", "metadata", "source_trace_id"}
    extra = {k: v for k, v in data.items() if k not in known and v not in (None, "")}
    return {
        "input": data["input"],
        "expected_output": None if expected == "" else expected,
        "metadata": {**extra, **metadata},
        "source_trace_id": data.get("source_trace_id") or None,
    }


def read_items_file(path: str | Path) -> list[dict[str, Any]]:
    """The items of a `.jsonl`/`.json` or `.csv` file as plain dicts; DatasetFileError
    names the first bad line."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    rows: list[dict[str, Any]] = []
    if path.suffix.lower() == ".csv":
        for number, data in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            rows.append(_row(data, f"{path.name} line {number}"))
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise DatasetFileError(f"{path.name} line {number}: not JSON ({exc})") from None
            rows.append(_row(data, f"{path.name} line {number}"))
    if len(rows) > MAX_FILE_ITEMS:
        raise DatasetFileError(f"{path.name}: more than {MAX_FILE_ITEMS} items")
    return rows
