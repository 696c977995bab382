"""The bytecode-count benchmark counts what each stage names: the mapping's functions in
every stage, the writer's rows only once the stage writes, nothing of set-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.ingest_bench import make_traces
from benchmarks.otlp_bench import bodies_of
from benchmarks.otlp_bytecodes import per_span
from benchmarks.workload import Workload


@pytest.fixture(scope="module")
def bodies() -> list[bytes]:
    found, spans = bodies_of(make_traces(Workload(), 4))
    assert spans == 28
    return found


def _functions(counts: dict[tuple[str, str], float]) -> dict[str, float]:
    return {name: count for (_, name), count in counts.items() if count > 0}


def test_each_stage_counts_its_own_functions(bodies: list[bytes], tmp_path: Path) -> None:
    mapped = _functions(per_span("map", bodies, 28, tmp_path / "map"))
    written = _functions(per_span("write", bodies, 28, tmp_path / "write"))
    assert mapped["map_span"] > 50 and mapped["attributes_of"] > 20
    assert "trace_row" not in mapped and "Redactor.redact_record" not in mapped
    assert written["trace_row"] > 10 and written["Redactor.redact_record"] > 10
    assert written["map_span"] == pytest.approx(mapped["map_span"])
    assert sum(written.values()) > sum(mapped.values())
    # set-up (opening and migrating the file) is the same in both runs: it cancels out
    assert "migrate" not in written
