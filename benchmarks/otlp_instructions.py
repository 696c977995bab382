"""OTLP ingest in instructions per span (callgrind): a figure a shared, noisy host cannot
move, for comparing two versions of the receiver's code.

`python -m benchmarks.otlp_instructions [--traces N]` (needs `valgrind`; ≈ 2 minutes a
stage). The workload is `otlp_bench`'s (standard agent runs exported by our own mapping
with content, protobuf requests of at most 512 spans). Each stage runs twice under
callgrind, once with no request and once with all of them; the difference divided by the
span count is what one span costs, imports and set-up excluded:

- `map`: decode + map (`map_request`);
- `assemble`: + spans into traces (`_OpenTrace`);
- `redact`: + the writer's redaction of each trace;
- `write`: + rows and SQL into a fresh SQLite file (`write_traces`, batches of 200);
- `receiver`: the whole `OTLPReceiver.export` path with its threads, until `flush()`.

Not part of `python -m benchmarks`: under valgrind it is slow, and it measures no time.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from myagent.trace import TraceManager

STAGES = ("map", "assemble", "redact", "write", "receiver")


def _stage(stage: str, bodies: list[bytes], tmp: Path) -> TraceManager | None:
    """Run one stage over `bodies` (in the process callgrind watches); returns its trace
    manager, open (None for `receiver`, which closes its own)."""
    from myagent.trace import SQLiteTraceStorage
    from myagent.trace.otel.assembly import _OpenTrace
    from myagent.trace.otel.receiver import PROTOBUF, decode_request, map_request
    from myagent.trace.pricing import estimate_cost

    estimate_cost("gpt-4o-mini", 1, 1)  # the price table loads outside the difference
    if stage == "receiver":
        from benchmarks.otlp_bench import receiver_seconds

        receiver_seconds(tmp / "receiver.db", bodies)
        return None
    manager = TraceManager(SQLiteTraceStorage(tmp / "stages.db"), buffer_size=1_000_000)
    storage = manager.storage
    storage.get_trace_sync("0" * 32)  # open and migrate outside the difference too
    mapped = []
    for body in bodies:
        mapped.extend(map_request(decode_request(body, PROTOBUF), lambda: None)[0])
    if stage == "map":
        return manager
    groups: dict[str, list[object]] = {}
    for span in mapped:
        groups.setdefault(span.trace_id, []).append(span)
    built = []
    for trace_id, members in groups.items():
        state = _OpenTrace(trace_id)
        for member in members:
            state.add(member)  # type: ignore[arg-type]
        built.append(state.build())
    if stage == "assemble":
        return manager
    redacted = [manager._redactor.redact_trace(trace) for trace in built]
    if stage == "redact":
        return manager
    for at in range(0, len(redacted), 200):
        storage.write_traces(redacted[at : at + 200])
    return manager


def _instructions(stage: str, data: Path, count: int) -> int:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "benchmarks.otlp_instructions",
        "--child",
        stage,
        str(data),
        str(count),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no callgrind total in: {done.stderr[-500:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=600)
    parser.add_argument("--stages", nargs="*", default=list(STAGES))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        stage, data, count = args.child
        bodies = pickle.loads(Path(data).read_bytes())[: int(count)]
        with tempfile.TemporaryDirectory() as tmp:
            _stage(stage, bodies, Path(tmp))
        return
    from benchmarks.ingest_bench import make_traces
    from benchmarks.otlp_bench import bodies_of
    from benchmarks.workload import Workload

    bodies, spans = bodies_of(make_traces(Workload(), args.traces))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "bodies.pickle"
        data.write_bytes(pickle.dumps(bodies))
        for stage in args.stages:
            empty = _instructions(stage, data, 0)
            full = _instructions(stage, data, len(bodies))
            print(f"{stage:9s} {(full - empty) / spans:>10,.0f} instructions a span", flush=True)


if __name__ == "__main__":
    main()
