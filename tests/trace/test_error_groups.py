"""Error groups count each failure once, list agents, and group one error whatever
values its message carries (Sentry-style fingerprints) — on memory, a SQLite file and
PostgreSQL alike, with the raw messages kept as variants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from myagent.trace import InMemoryTraceStorage, SQLiteTraceStorage, TraceStorage
from myagent.trace.fingerprint import fingerprint, normalise
from tests.support.viewer import failing_trace


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("unknown city 'Paris'", "unknown city <str>"),
        ('unknown city "Lima"', "unknown city <str>"),
        ("timed out after 30.5 s (attempt 3)", "timed out after <num> s (attempt <num>)"),
        ("No such file: /data/run_12/out.txt", "No such file: <path>"),
        ("C:\\Users\\ann\\x.txt missing", "<path> missing"),
        ("request 3f9a2b1c-1234-4abc-8def-0123456789ab failed", "request <id> failed"),
        ("fetch https://api.example.com/v1/a?id=3 failed", "fetch <url> failed"),
        ("call_abc123 rejected, code -7 at 0x1F", "<id> rejected, code <num> at <hex>"),
        ("division by zero", "division by zero"),
        ("  spaced\n  out  ", "spaced out"),
    ],
)
def test_normalise_masks_the_variable_parts(message: str, expected: str) -> None:
    assert normalise(message) == expected


def test_fingerprint_drops_the_repeated_type_once() -> None:
    assert fingerprint("PermissionError", "PermissionError: denied 'x'") == "denied <str>"
    assert fingerprint("ValueError", "KeyError: 'a'") == "KeyError: <str>"


async def check(storage: TraceStorage) -> None:
    await storage.store_traces(
        [
            failing_trace(1, "weather_agent", "Atlantis", propagate=True),
            failing_trace(2, "weather_agent", "El Dorado", propagate=False),
            failing_trace(3, "geo_agent", "Atlantis", propagate=True),
        ]
    )
    groups = await storage.error_groups()
    summary = [(g.error_type, g.message, g.count, g.trace_count) for g in groups]
    # One failure per trace each: the step and trace failing with the LLM call's error
    # are that same failure; the message's city and attempt number are masked.
    assert summary == [  # equal counts and times: by type
        ("TimeoutError", "after <num> s", 3, 3),
        ("ValueError", "unknown city <str> (attempt <num>)", 3, 3),
    ]
    value = groups[1]
    assert value.agents == ["geo_agent", "weather_agent"]  # agents only, no record kinds
    assert value.kinds == ["think"] and value.names == ["think"]
    assert value.variants == [
        {"message": "unknown city 'Atlantis' (attempt 1)", "count": 1},
        {"message": "unknown city 'Atlantis' (attempt 3)", "count": 1},
        {"message": "unknown city 'El Dorado' (attempt 2)", "count": 1},
    ]
    assert value.example_trace_ids == [f"{n:032x}" for n in (3, 2, 1)]


async def test_error_groups_in_memory() -> None:
    await check(InMemoryTraceStorage())


async def test_error_groups_in_sqlite(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    try:
        await check(storage)
    finally:
        await storage.close()


async def test_error_groups_in_postgres(postgres_storage: Any) -> None:
    await check(postgres_storage)
