"""SQLite parameters: None and bytes bound through identity adapters, an application's own
adapters left alone."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from myagent.trace import SQLiteTraceStorage, ThinkRecord, Trace
from myagent.trace.storage.sqlite_params import register_plain_adapters

_KEYS: list[tuple[type, type]] = [
    (bytes, sqlite3.PrepareProtocol),
    (type(None), sqlite3.PrepareProtocol),
]


@pytest.fixture
def saved_adapters() -> Iterator[None]:
    """The module's registry as it was, restored after the test (it is process-wide)."""
    saved = {key: sqlite3.adapters[key] for key in _KEYS if key in sqlite3.adapters}
    yield
    for key in _KEYS:
        sqlite3.adapters.pop(key, None)
    sqlite3.adapters.update(saved)


def test_importing_the_storage_registers_identity_adapters() -> None:
    assert all(key in sqlite3.adapters for key in _KEYS)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a, b)")
    conn.execute("INSERT INTO t VALUES (?, ?)", (None, b"\x00{}"))
    assert conn.execute("SELECT typeof(a), typeof(b), b FROM t").fetchone() == (
        "null",
        "blob",
        b"\x00{}",
    )


def test_an_adapter_the_application_registered_is_kept(saved_adapters: None) -> None:
    for key in _KEYS:
        sqlite3.adapters.pop(key, None)

    def hexed(value: bytes) -> str:
        return value.hex()

    sqlite3.register_adapter(bytes, hexed)
    register_plain_adapters()
    assert sqlite3.adapters[(bytes, sqlite3.PrepareProtocol)] is hexed
    assert (type(None), sqlite3.PrepareProtocol) in sqlite3.adapters


def test_records_round_trip_with_empty_columns_and_json_data(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    record = ThinkRecord(name="think", model=None, error_type=None, messages=[{"a": 1}])
    trace = Trace(name="t", runs=[record], end_us=record.start_us + 5)
    storage.write_traces([trace])
    back = storage.get_trace_sync(trace.trace_id)
    assert back is not None
    think = back.runs[0]
    assert isinstance(think, ThinkRecord)
    assert think.model is None and think.messages == [{"a": 1}]
    conn = sqlite3.connect(tmp_path / "t.db")
    assert conn.execute("SELECT typeof(model), typeof(data) FROM runs").fetchone() == (
        "null",
        "blob",
    )
