"""Replay: what answering a recorded run again costs, and a suite of recorded runs as tests.

Standard run: the weather agent (ToolCallAgent, offline ScriptedLLM) makes 3 LLM calls
and 3 tool calls (get_weather twice, then terminate): 1 trace + 6 records, the shape of
the standard agent run. "Agent's own work" is that run live and traced; "replay" is
`await replay(trace, factory)` of its stored trace, traced as well (the replay is itself
a trace). Added = replay - own work, median of repeats in alternating order. Suite:
N recorded traces written to one trace file, then `assert_replays(file, factory)`, in
process, and as N pytest tests in a fresh pytest process (wall and CPU time, the better
of two runs with a warm bytecode cache), beside N empty pytest tests as the reference.
Target: added ≤ 2 ms per run; 1,000 traces replayed in < 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.measure import Row, median, row
from myagent import create_toolcall_agent
from myagent.agent import ToolCallAgent
from myagent.llm import ScriptedLLM
from myagent.replay import replay, write_traces
from myagent.testing import assert_replays
from myagent.tool import BaseTool, ToolResult
from myagent.trace import InMemoryTraceStorage, Trace, TraceManager, set_trace_manager

SECTION = "Replay"
CITIES = ("NYC", "Paris", "Tokyo", "Oslo", "Lima")


class Weather(BaseTool):
    name = "get_weather"
    description = "Get the current weather for a city"

    async def execute(self, city: str) -> ToolResult:
        """Look the weather up.

        Args:
            city: the city name
        """
        return ToolResult(output=f"Sunny, 72°F in {city}")


def _script(index: int) -> list[object]:
    a, b = CITIES[index % len(CITIES)], CITIES[(index + 1) % len(CITIES)]
    return [
        [("get_weather", {"city": a})],
        [("get_weather", {"city": b})],
        [("terminate", {"status": "success", "message": f"Sunny in {a} and {b}."})],
    ]


def create_agent(index: int = 0) -> ToolCallAgent:
    """The standard weather agent (its model is replaced by the recording on replay)."""
    return create_toolcall_agent(
        name="weather-agent",
        tools=[Weather()],
        llm=ScriptedLLM(_script(index)),
        system_prompt="You are a weather assistant. Use get_weather for every city.",
    )


async def _record(manager: TraceManager, count: int) -> list[Trace]:
    ids = []
    for index in range(count):
        agent = create_agent(index)
        await agent.run(f"Weather in {CITIES[index % len(CITIES)]} and the next city?")
        ids.append(agent.last_trace_id or "")
    manager.flush()
    traces = [await manager.aget_trace(trace_id) for trace_id in ids]
    return [t for t in traces if t is not None]


async def _per_run(manager: TraceManager, repeats: int, runs: int) -> tuple[float, float]:
    """(own work, replay) in ms per run: medians over repeats, in alternating order."""
    (original,) = await _record(manager, 1)
    assert len(original.runs) == 6, len(original.runs)
    own: list[float] = []
    replayed: list[float] = []
    for repeat in range(repeats):
        for variant in ("own", "replay") if repeat % 2 == 0 else ("replay", "own"):
            start = time.perf_counter()
            for _ in range(runs):
                if variant == "own":
                    await create_agent(0).run("Weather in NYC and the next city?")
                else:
                    result = await replay(original, create_agent)
                    assert result.ok, result.report()
            elapsed = (time.perf_counter() - start) * 1000 / runs
            (own if variant == "own" else replayed).append(elapsed)
            manager.flush()
    return median(own), median(replayed)


PYTEST_MODULE = """
import pytest

from benchmarks.replay_bench import create_agent
from myagent.replay import read_traces
from myagent.testing import assert_replays

TRACES = read_traces({path!r})


@pytest.mark.parametrize("trace", TRACES, ids=[t.trace_id for t in TRACES])
def test_recorded_run_replays(trace):
    assert_replays([trace], create_agent)
"""


EMPTY_MODULE = """
import pytest


@pytest.mark.parametrize("index", range({count}))
def test_nothing(index):
    pass
"""


def _pytest(module: Path, env: dict[str, str], count: int) -> tuple[float, float]:
    """(wall, CPU) seconds of a fresh pytest process running `module`'s `count` tests."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
        cwd=module.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    wall = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0 and f"{count} passed" in proc.stdout, proc.stdout[-2000:]
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return wall, cpu


def _suite(
    manager: TraceManager, count: int
) -> tuple[float, tuple[float, float], tuple[float, float]]:
    """Seconds to replay `count` recorded traces from one trace file: in process with one
    assert_replays call, and as `count` pytest tests in a fresh pytest process (start-up,
    collection and reporting included)."""
    traces = asyncio.run(_record(manager, count))
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as scratch:
        path = write_traces(Path(scratch) / "suite.json", traces)
        start = time.perf_counter()
        results = assert_replays(path, create_agent)
        in_process = time.perf_counter() - start
        module = Path(scratch) / "test_suite.py"
        module.write_text(PYTEST_MODULE.format(path=str(path)))
        empty = Path(scratch) / "test_empty.py"
        empty.write_text(EMPTY_MODULE.format(count=count))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_"))}
        env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), str(root)])
        # A warm bytecode cache, as on a developer's machine (kept in the scratch folder).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / "pycache")
        baseline = min(_pytest(empty, env, count) for _ in range(2))
        as_tests = min(_pytest(module, env, count) for _ in range(2))
    assert len(results) == count
    return in_process, as_tests, baseline


def run(smoke: bool) -> list[Row]:
    manager = TraceManager(InMemoryTraceStorage())
    set_trace_manager(manager)
    try:
        repeats, runs, suite = (2, 5, 50) if smoke else (7, 200, 1000)
        own, replayed = asyncio.run(_per_run(manager, repeats, runs))
        seconds, (as_tests, cpu), (empty, empty_cpu) = _suite(manager, suite)
    finally:
        manager.close()
    added = replayed - own
    return [
        row(SECTION, "standard run, agent's own work (live, traced)", round(own, 3), "ms"),
        row(SECTION, "standard run, replayed (traced)", round(replayed, 3), "ms"),
        row(
            SECTION,
            "replay added per standard run",
            round(added, 3),
            "ms",
            target="≤ 2 ms",
            met=added <= 2.0,
            detail=f"median of {repeats} × {runs} runs, alternating",
        ),
        row(
            SECTION,
            f"recorded traces replayed as a test suite ({suite:,})",
            round(seconds, 2),
            "s",
            target="< 10 s" if not smoke else "",
            met=seconds < 10 if not smoke else None,
            detail="assert_replays over one trace file, in process",
        ),
        row(
            SECTION,
            f"recorded traces replayed as pytest tests ({suite:,})",
            round(as_tests, 2),
            "s",
            target="< 10 s" if not smoke else "",
            met=as_tests < 10 if not smoke else None,
            detail=f"one test per trace, a fresh pytest process, start-up included; "
            f"CPU {cpu:.2f} s; load average {os.getloadavg()[0]:.1f}",
        ),
        row(
            SECTION,
            f"reference: {suite:,} empty pytest tests, same conditions",
            round(empty, 2),
            "s",
            detail=f"CPU {empty_cpu:.2f} s",
        ),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true")
    for line in run(parser.parse_args().smoke):
        print(f"{line['metric']}: {line['value']} {line['unit']}  {line['target']}")
