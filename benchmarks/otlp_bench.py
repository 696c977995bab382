"""OTLP ingest: spans/s through the receiver into SQLite, beside our own writer's records/s,
and the viewer's list page while an OTLP exporter sends as fast as it can.

Workload: standard agent runs (1 trace + 3 think + 3 tool records) made by the real
manager, turned into spans by our own OTLP mapping with content captured (prompts,
replies, tool arguments: realistic attribute sizes), 7 spans a run, packed whole into
requests of at most 512 spans (the SDK exporters' batch) as protobuf bytes beforehand.

1. In process, one core: `OTLPReceiver.export` on each body (decode, map, assemble,
   hand to the writer), timed until the writer's `flush()` returns. Beside it, in the
   same run, the very same traces handed straight to our background writer (what
   `ingest_bench` measures). Spans and records count the same things (root span = trace
   row, one span per think/tool record). The prebuilt workload is `gc.freeze()`d, so
   neither side pays for collecting passes over the benchmark's own inputs.
2. Over HTTP: the viewer (`myagent viewer`) in its own process receives the requests
   from a client thread sending back to back, while the list page
   (`GET /api/traces?limit=50`) is timed every 20 ms.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from benchmarks.ingest_bench import make_traces, ours_seconds
from benchmarks.measure import Row, fmt, median, row, scratch_dir
from benchmarks.viewer_bench import _free_port, _p
from benchmarks.workload import Workload
from myagent.trace import SQLiteTraceStorage, Trace, TraceManager
from myagent.trace.otel.mapping import SpanOptions, resource_for
from myagent.trace.otel.receiver import PROTOBUF, OTLPReceiver
from myagent.trace.otel.wire import RequestEncoder, encode_trace

SECTION = "8. OTLP ingest"
SPANS_PER_REQUEST = 512
TARGET_SPANS = 20_000


def bodies_of(traces: Sequence[Trace]) -> tuple[list[bytes], int]:
    """Protobuf export requests of whole traces (≤ 512 spans each), and the span count."""
    encoder = RequestEncoder(resource_for({"service.name": "bench"}))
    options = SpanOptions(capture_content=True)
    bodies: list[bytes] = []
    pending: list[bytes] = []
    in_request = total = 0
    for trace in traces:
        encoded, count = encode_trace(trace, options)
        if in_request + count > SPANS_PER_REQUEST and pending:
            bodies.append(encoder.encode(pending))
            pending, in_request = [], 0
        pending.append(encoded)
        in_request += count
        total += count
    if pending:
        bodies.append(encoder.encode(pending))
    return bodies, total


def receiver_seconds(path: Path, bodies: Sequence[bytes]) -> tuple[float, float]:
    """(wall, CPU) seconds for the receiver to take every body into a fresh SQLite file."""
    manager = TraceManager(SQLiteTraceStorage(path), buffer_size=1_000_000)
    receiver = OTLPReceiver(manager)

    async def send_all() -> None:
        for body in bodies:
            reply = await receiver.export(body, PROTOBUF)
            if reply.status != 200:
                raise RuntimeError(f"receiver answered {reply.status}: {reply.body[:200]!r}")

    cpu, start = time.process_time(), time.perf_counter()
    asyncio.run(send_all())
    if not manager.flush(600):
        raise RuntimeError(f"writer did not store every trace: {manager.stats['writer']}")
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    manager.close(10)
    return wall, cpu


def in_process_rows(tmp: Path, count: int, repeats: int) -> list[Row]:
    traces = make_traces(Workload(), count)
    bodies, spans = bodies_of(traces)
    records = count * (Workload().records_per_trace + 1)
    gc.collect()
    gc.freeze()  # the prebuilt workload is no garbage: keep it out of both sides' GC passes
    ours, theirs, cpu_rates, writer_cpu = [], [], [], []
    for rep in range(repeats):  # alternating, side by side
        wall, cpu = receiver_seconds(tmp / f"otlp-{rep}.db", bodies)
        ours.append(spans / wall)
        cpu_rates.append(spans / cpu)
        storage = SQLiteTraceStorage(tmp / f"writer-{rep}.db")
        cpu = time.process_time()
        theirs.append(records / ours_seconds(storage, traces))
        writer_cpu.append(records / (time.process_time() - cpu))
        storage.close_sync()
    rate, writer = median(ours), median(theirs)
    per_cpu, writer_per_cpu = median(cpu_rates), median(writer_cpu)
    mib = sum(len(b) for b in bodies) / 2**20
    return [
        row(
            SECTION,
            "OTLP protobuf through the receiver into SQLite (decode, map, assemble, write)",
            round(rate),
            "spans/s",
            detail=f"{len(bodies)} requests, {mib:.1f} MiB, {fmt(rate / 7, 0)} traces/s (wall)",
        ),
        row(
            SECTION,
            "the same, per CPU-second (all threads of the process: one core's worth)",
            round(per_cpu),
            "spans/s",
            target=f"≥ {TARGET_SPANS:,} spans/s",
            met=per_cpu >= TARGET_SPANS,
        ),
        row(
            SECTION,
            "the same runs straight into our background writer",
            round(writer),
            "records/s",
            detail=f"{round(writer_per_cpu):,} per CPU-second; as ingest_bench measures it "
            "(a span here is a record there)",
        ),
        row(
            SECTION,
            "receiver ÷ writer",
            round(rate / writer, 3),
            "×",
            detail=f"per CPU-second: {per_cpu / writer_per_cpu:.2f}×",
        ),
    ]


def _serve(command: str, db: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    """`myagent viewer` or `myagent collect` over `db` in a process of its own."""
    code = "from myagent.cli import main; import sys; sys.exit(main(sys.argv[1:]))"
    argv = [command, "--db", str(db), "--port", str(port), "--log-level", "warning", *extra]
    return subprocess.Popen([sys.executable, "-c", code, *argv])


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/api/health", timeout=5)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _list_p(url: str, seconds: float, busy: threading.Thread | None) -> list[float]:
    """Milliseconds of `GET /api/traces?limit=50` every 20 ms for `seconds` (or until
    `busy` ends)."""
    samples: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as client:
        client.get("/api/traces?limit=50").raise_for_status()
        started = time.perf_counter()
        while not samples or (
            time.perf_counter() - started < seconds and (busy is None or busy.is_alive())
        ):
            start = time.perf_counter()
            client.get("/api/traces?limit=50").raise_for_status()
            samples.append((time.perf_counter() - start) * 1000)
            time.sleep(0.02)
    return samples


def _send(url: str, bodies: Sequence[bytes], sent: dict[str, int], stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=60) as sender:
        for body in bodies:
            if stop.is_set():
                return
            answer = sender.post("/v1/traces", content=body, headers={"content-type": PROTOBUF})
            sent["requests"] += 1
            sent["refused"] += answer.status_code != 200
            sent["spans"] += SPANS_PER_REQUEST if answer.status_code == 200 else 0


def _under_load(receive_url: str, list_url: str, bodies: Sequence[bytes], seconds: float) -> Row:
    for body in bodies[:2]:  # some traces in the list, the route loaded
        httpx.post(receive_url + "/v1/traces", content=body, headers={"content-type": PROTOBUF})
    idle = _list_p(list_url, min(seconds, 3.0), None)
    sent = {"spans": 0, "requests": 0, "refused": 0}
    stop = threading.Event()
    thread = threading.Thread(target=_send, args=(receive_url, bodies[2:], sent, stop))
    started = time.perf_counter()
    thread.start()
    samples = _list_p(list_url, seconds, thread)
    stop.set()
    thread.join()
    elapsed = time.perf_counter() - started
    p95 = _p(samples, 95)
    return row(
        SECTION,
        "",
        round(p95, 1),
        "ms",
        target="< 50 ms",
        met=p95 < 50,
        detail=f"p50 {statistics.median(samples):.1f} ms over {len(samples)} requests; idle "
        f"before: p95 {_p(idle, 95):.1f} ms; meanwhile ≈ {round(sent['spans'] / elapsed):,} "
        f"spans/s received over HTTP ({sent['requests']} requests, {sent['refused']} refused)",
    )


def under_load_rows(tmp: Path, count: int, seconds: float) -> list[Row]:
    bodies, _ = bodies_of(make_traces(Workload(), count))
    rows: list[Row] = []
    ports = [_free_port() for _ in range(4)]
    processes = [
        _serve("viewer", tmp / "same.db", ports[0]),  # default: receives in a child process
        _serve("viewer", tmp / "inproc.db", ports[1], "--otlp-in-process"),
        _serve("collect", tmp / "split.db", ports[2]),
        _serve("viewer", tmp / "split.db", ports[3]),
    ]
    try:
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for url in urls:
            _wait_up(url)
        default = _under_load(urls[0], urls[0], bodies, seconds)
        default["metric"] = (
            "list page (50) p95, `myagent viewer` receiving back-to-back exports "
            "(its default: a receiver child process)"
        )
        inproc = _under_load(urls[1], urls[1], bodies, seconds)
        inproc["metric"] = (
            "list page (50) p95, the viewer receiving in its own process "
            "(`--otlp-in-process`, ForegroundGate)"
        )
        inproc["target"], inproc["met"] = "", None
        split = _under_load(urls[2], urls[3], bodies, seconds)
        split["metric"] = (
            "list page (50) p95, `myagent collect` receiving into the viewer's database"
        )
        rows += [default, inproc, split]
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
    return rows


def run(smoke: bool) -> list[Row]:
    """Section 8 as table rows."""
    count, repeats, live, seconds = (60, 1, 150, 2.0) if smoke else (6000, 3, 12000, 15.0)
    with scratch_dir() as tmp:
        return in_process_rows(tmp, count, repeats) + under_load_rows(tmp, live, seconds)


if __name__ == "__main__":
    for r in run("--smoke" in sys.argv):
        print(f"{r['metric']}: {r['value']} {r['unit']}  {r['detail']}")
