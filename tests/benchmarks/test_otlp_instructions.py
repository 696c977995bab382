"""The instruction-count benchmark's stages run as written (without valgrind, which only
counts them): each stage goes as far as it says, so its count measures what it names."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from benchmarks.ingest_bench import make_traces
from benchmarks.otlp_bench import bodies_of
from benchmarks.otlp_instructions import STAGES, _stage
from benchmarks.workload import Workload


@pytest.fixture(scope="module")
def bodies() -> list[bytes]:
    found, spans = bodies_of(make_traces(Workload(), 4))
    assert spans == 28
    return found


def _stored(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM traces").fetchone()[0])


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_writes_only_when_it_includes_writing(
    stage: str, bodies: list[bytes], tmp_path: Path
) -> None:
    _stage(stage, bodies, tmp_path)
    written = _stored(tmp_path / "stages.db") + _stored(tmp_path / "receiver.db")
    assert written == (4 if stage in ("write", "receiver") else 0)
