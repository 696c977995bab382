"""OTLP ingest in Python bytecodes per span, function by function: where our own Python
spends a span, with counts a shared, noisy host cannot move.

`python -m benchmarks.otlp_bytecodes [--traces N] [--stage STAGE] [--top K]` runs a stage
of `otlp_instructions` (`map`, `assemble`, `redact` or `write`: each includes the ones
before it; `write` is decode → map → assemble → redact → rows and SQL) under a
`sys.settrace` opcode counter, once with no request and once with all of them, and prints
the difference per span for the functions executing the most bytecodes, then the total.
It counts Python only (what C does inside a call is one bytecode here): pair it with
`otlp_instructions` (callgrind), which counts everything. The receiver's threads are not
followed, so the `receiver` stage is not offered. Not part of `python -m benchmarks`: it
measures no time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from benchmarks.otlp_instructions import _stage

STAGES = ("map", "assemble", "redact", "write")


def opcodes(stage: str, bodies: list[bytes], tmp: Path) -> Counter[tuple[str, str]]:
    """Bytecodes executed by each (file, function) while `stage` takes `bodies`."""
    counts: Counter[tuple[str, str]] = Counter()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call":
            frame.f_trace_opcodes = True
            frame.f_trace_lines = False
        elif event == "opcode":
            code = frame.f_code
            counts[(code.co_filename, code.co_qualname)] += 1
        return tracer

    sys.settrace(tracer)
    try:
        manager = _stage(stage, bodies, tmp)
    finally:
        sys.settrace(None)
    if manager is not None:
        manager.close(10)
    return counts


def per_span(
    stage: str, bodies: list[bytes], spans: int, tmp: Path
) -> dict[tuple[str, str], float]:
    """Bytecodes per span of each function: a run with every body less one with none
    (imports, set-up and caches warmed by a first run with one body)."""
    warm = _stage(stage, bodies[:1], tmp / "warm")
    if warm is not None:
        warm.close(10)
    empty = opcodes(stage, [], tmp / "empty")
    full = opcodes(stage, bodies, tmp / "full")
    return {key: (full[key] - empty[key]) / spans for key in full.keys() | empty.keys()}


def _short(path: str) -> str:
    for marker in ("/src/", "/site-packages/", "/lib/python"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=300)
    parser.add_argument("--stage", choices=STAGES, default="write")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    from benchmarks.ingest_bench import make_traces
    from benchmarks.otlp_bench import bodies_of
    from benchmarks.workload import Workload

    bodies, spans = bodies_of(make_traces(Workload(), args.traces))
    with tempfile.TemporaryDirectory() as tmp:
        counts = per_span(args.stage, bodies, spans, Path(tmp))
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    for (path, name), count in ranked[: args.top]:
        print(f"{count:8,.1f}  {_short(path)}:{name}")
    print(f"{sum(counts.values()):8,.0f}  bytecodes a span in all ({spans:,} spans)")


if __name__ == "__main__":
    main()
