"""Property tests: for random sets of traces, every TraceFilter and RunFilter query and
every analyzer figure equals a brute-force Python oracle, on the in-memory and SQLite
backends alike.

The oracle below is written from the documented semantics (docs/query.md), not from
either backend's code.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from myagent.trace import (
    InMemoryTraceStorage,
    RunFilter,
    RunRecord,
    SQLiteTraceStorage,
    StepRecord,
    ThinkRecord,
    ToolRecord,
    Trace,
    TraceAnalyzer,
    TraceFilter,
    TraceQueryEngine,
    TraceStorage,
)
from myagent.trace.filters import TRACE_ORDERS
from myagent.trace.fingerprint import fingerprint
from myagent.trace.sync_bridge import run_sync
from tests.support.postgres import property_postgres

BASE_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
SPAN_US = 10_000_000  # traces start within 10 s of BASE_US
AGENTS = ["alpha", "beta", "gamma"]
SESSIONS = ["s1", "s2", "s3"]
TOOLS = ["get_weather", "search", "calc"]
MODELS = ["gpt-4o", "claude"]
TAGS = ["prod", "dev", "vip"]
WORDS = ["sunny", "rain", "nyc", "paris", "timeout", "boom", "weather", "sun", "par"]
ERRORS = ["ValueError: bad input", "TimeoutError: timed out", "boom", "x.Y_z: odd: one"]
ERROR_TYPES = ["ValueError", "TimeoutError", "", None]

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def us(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000, UTC).replace(microsecond=value % 1_000_000)


# -- random traces ---------------------------------------------------------------------

# Times and durations fall on a coarse grid (with some odd values), so filter bounds often
# equal a stored value and every boundary (>= vs >) is exercised.
on_grid = st.integers(0, 20).map(lambda k: k * 250_000)
grid_us = st.one_of(on_grid, on_grid, on_grid, st.integers(0, SPAN_US // 2))

texts = st.lists(st.sampled_from(WORDS), min_size=0, max_size=3).map(" ".join)
payloads = st.one_of(
    st.none(),
    texts,
    st.builds(lambda w: {"q": w}, texts),
    st.builds(lambda w: [w, 7], st.sampled_from(WORDS)),
)
costs = st.one_of(st.none(), st.integers(0, 4096).map(lambda k: k / 1024))


@st.composite
def records(draw: st.DrawFn, trace_id: str, start: int, end: int | None) -> list[RunRecord]:
    out: list[RunRecord] = []
    for i in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["think", "tool", "tool", "step"]))
        r_start = start + draw(grid_us)
        took = draw(st.one_of(grid_us, grid_us, st.integers(-1_500_000, -1)))  # clock steps
        r_end = None if end is None and draw(st.booleans()) else r_start + took
        success = draw(st.booleans()) if kind != "think" else draw(st.integers(0, 4)) > 0
        common: dict[str, Any] = {
            "run_id": f"{i:02x}{trace_id[-14:]}",  # unique within a trace set
            "trace_id": trace_id,
            "start_us": r_start,
            "end_us": r_end,
            "success": success,
            "error": None if success else draw(st.sampled_from([*ERRORS, None])),
            "error_type": None if success else draw(st.sampled_from(ERROR_TYPES)),
            "name": draw(st.sampled_from(["step-a", "step-b", "think"])),
        }
        if kind == "think":
            out.append(
                ThinkRecord(
                    model=draw(st.sampled_from([*MODELS, None])),
                    tokens_used=draw(st.integers(0, 500)),
                    cost_usd=draw(costs),
                    **common,
                )
            )
        elif kind == "tool":
            out.append(
                ToolRecord(
                    tool_name=draw(st.sampled_from(TOOLS)),
                    input_params=draw(payloads),
                    output=draw(payloads),
                    **common,
                )
            )
        else:
            out.append(StepRecord(inputs=draw(payloads), output=draw(payloads), **common))
    out.sort(key=lambda r: r.start_us)
    return out


@st.composite
def traces(draw: st.DrawFn) -> Trace:
    index = draw(st.integers(0, 2**60))
    start = BASE_US + draw(grid_us)
    status = draw(st.sampled_from(["success", "success", "error", "cancelled", "running"]))
    end = None if status == "running" else start + draw(grid_us)
    trace = Trace(
        trace_id=f"{index:032x}",
        name=draw(st.sampled_from(["run", "chat"])),
        agent_name=draw(st.sampled_from([*AGENTS, None])),
        session_id=draw(st.sampled_from([*SESSIONS, None])),
        input=draw(payloads),
        output=draw(payloads),
        status=status,
        start_us=start,
        end_us=end,
        error=draw(st.sampled_from([None, None, *ERRORS])),
        tags=draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=3)),
        metadata=draw(
            st.dictionaries(
                st.sampled_from(["user", "n", "flag", "obj"]),
                st.one_of(
                    st.sampled_from(["u1", "u2", 1, 2, 2.0, True, False, None]),
                    st.just({"a": 1}),
                ),
                max_size=3,
            )
        ),
    )
    trace.runs = draw(records(trace.trace_id, start, end))
    return trace


trace_sets = st.lists(traces(), max_size=14, unique_by=lambda t: t.trace_id[-14:])

time_bounds = st.integers(-1, 11).map(lambda k: us(BASE_US + k * 500_000))
durations = st.integers(0, 20).map(lambda k: k / 4)

TRACE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "agent_names": st.lists(st.sampled_from([*AGENTS, "zeta"]), max_size=2),
    "session_ids": st.lists(st.sampled_from(SESSIONS), max_size=2),
    "statuses": st.lists(st.sampled_from(["success", "error", "running"]), max_size=2),
    "start_time": time_bounds,
    "end_time": time_bounds,
    "has_errors": st.booleans(),
    "min_duration": durations,
    "max_duration": durations,
    "tools_used": st.lists(st.sampled_from(TOOLS), max_size=3),
    "min_tokens": st.integers(0, 800),
    "max_tokens": st.integers(0, 800),
    "min_cost": st.integers(0, 8).map(lambda k: k / 2),
    "models": st.lists(st.sampled_from(MODELS), min_size=1, max_size=2),
    "text": st.sampled_from([*WORDS, "SUN nyc", "par!", "zzz", "time", "x"]),
    "tags": st.lists(st.sampled_from(TAGS), max_size=2),
    "metadata": st.dictionaries(
        st.sampled_from(["user", "n", "flag", "obj"]),
        st.sampled_from(["u1", 1, 2, True, None, {"a": 1}]),
        min_size=1,
        max_size=2,
    ),
}

RUN_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "tool_names": st.lists(st.sampled_from(TOOLS), max_size=2),
    "run_types": st.lists(st.sampled_from(["think", "tool", "step"]), max_size=2),
    "agent_names": st.lists(st.sampled_from(AGENTS), max_size=2),
    "min_duration": durations,
    "max_duration": durations,
    "success_only": st.booleans(),
    "errors_only": st.booleans(),
    "start_time": time_bounds,
    "end_time": time_bounds,
}


@st.composite
def sparse(draw: st.DrawFn, cls: type[Any], fields: dict[str, st.SearchStrategy[Any]]) -> Any:
    """A filter with one or two fields set (a conjunction of all of them is empty)."""
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=2, unique=True))
    values = {name: draw(fields[name]) for name in chosen}
    if "tools_used" in values:
        values["tools_match"] = draw(st.sampled_from(["all", "any"]))
    return cls(**values)


@st.composite
def each_field(draw: st.DrawFn, cls: type[Any], fields: dict[str, st.SearchStrategy[Any]]) -> Any:
    """One filter per field with only that field set (tools_used: once per match mode),
    then a few random two-field filters: every field is checked on every example."""
    out = []
    for name in sorted(fields):
        value = draw(fields[name])
        if name == "tools_used":
            out += [cls(tools_used=value, tools_match=mode) for mode in ("all", "any")]
        else:
            out.append(cls(**{name: value}))
    return out + draw(st.lists(sparse(cls, fields), max_size=4))


trace_filters = sparse(TraceFilter, TRACE_FIELDS)
run_filters = sparse(RunFilter, RUN_FIELDS)


# -- the oracle ------------------------------------------------------------------------


def json_text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def oracle_trace_matches(t: Trace, f: TraceFilter) -> bool:
    """The documented TraceFilter semantics, written out plainly."""
    start_us = t.start_us
    duration = 0.0 if t.end_us is None else (t.end_us - t.start_us) / 1_000_000
    failed_runs = [r for r in t.runs if not r.success]
    has_errors = bool(failed_runs) or t.status == "error" or bool(t.error)
    tokens = sum(r.tokens_used for r in t.runs if isinstance(r, ThinkRecord))
    priced = [r.cost_usd for r in t.runs if isinstance(r, ThinkRecord) and r.cost_usd]
    cost = sum(priced) if priced else 0.0
    tools = {r.tool_name for r in t.runs if isinstance(r, ToolRecord)}
    models = {r.model for r in t.runs if isinstance(r, ThinkRecord) and r.model}
    if f.agent_names is not None and t.agent_name not in f.agent_names:
        return False
    if f.session_ids is not None and t.session_id not in f.session_ids:
        return False
    if f.statuses is not None and t.status not in f.statuses:
        return False
    if f.start_time is not None and start_us < int(f.start_time.timestamp() * 1e6 + 0.5):
        return False
    if f.end_time is not None and start_us > int(f.end_time.timestamp() * 1e6 + 0.5):
        return False
    if f.has_errors is not None and has_errors != f.has_errors:
        return False
    if f.min_duration is not None and duration < f.min_duration:
        return False
    if f.max_duration is not None and duration > f.max_duration:
        return False
    if f.min_tokens is not None and tokens < f.min_tokens:
        return False
    if f.max_tokens is not None and tokens > f.max_tokens:
        return False
    if f.min_cost is not None and cost < f.min_cost:
        return False
    if f.tools_used:
        hits = [name in tools for name in f.tools_used]
        if not (all(hits) if f.tools_match == "all" else any(hits)):
            return False
    if f.models and not models & set(f.models):
        return False
    if f.tags and not all(tag in t.tags for tag in f.tags):
        return False
    for key, value in (f.metadata or {}).items():
        if key not in t.metadata:
            return False
        stored = t.metadata[key]
        if isinstance(value, dict) or isinstance(stored, dict):
            if json_text(stored) != json_text(value):
                return False
        elif stored != value:
            return False
    if f.text and words_of(f.text):
        parts = [t.input, t.output, t.error, *(r.error for r in failed_runs)]
        body = words_of(" ".join(json_text(p) for p in parts if p))
        if not all(any(b.startswith(w) for b in body) for w in words_of(f.text)):
            return False
    return True


def oracle_order_key(t: Trace, order_by: str) -> tuple[float, str]:
    key = order_by.lstrip("-")
    if key == "start_time":
        value: float = t.start_us
    elif key == "duration":
        value = 0.0 if t.end_us is None else (t.end_us - t.start_us) / 1_000_000
    elif key == "tokens":
        value = sum(r.tokens_used for r in t.runs if isinstance(r, ThinkRecord))
    else:
        priced = [r.cost_usd for r in t.runs if isinstance(r, ThinkRecord) and r.cost_usd]
        value = sum(priced) if priced else 0.0
    return value, t.trace_id


def oracle_run_matches(r: RunRecord, t: Trace, f: RunFilter) -> bool:
    duration = None if r.end_us is None else (r.end_us - r.start_us) / 1_000_000
    checks = [
        f.tool_names is None or (isinstance(r, ToolRecord) and r.tool_name in f.tool_names),
        f.run_types is None or r.run_type in f.run_types,
        f.agent_names is None or t.agent_name in f.agent_names,
        f.min_duration is None or (duration is not None and duration >= f.min_duration),
        f.max_duration is None or (duration is not None and duration <= f.max_duration),
        not f.success_only or r.success,
        not f.errors_only or not r.success,
        f.start_time is None or r.start_us >= int(f.start_time.timestamp() * 1e6 + 0.5),
        f.end_time is None or r.start_us <= int(f.end_time.timestamp() * 1e6 + 0.5),
    ]
    return all(checks)


def nearest_rank(values: list[float], p: int) -> float:
    """Nearest-rank percentile: the value at rank ceil(p/100 * n) (1-based)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-p * len(ordered) // 100))
    return ordered[rank - 1]


def oracle_stats(ts: list[Trace]) -> dict[str, Any]:
    done = [t for t in ts if t.status != "running"]
    micros = [t.end_us - t.start_us for t in done if t.end_us is not None]
    seconds = [m / 1_000_000 for m in micros]
    success = sum(1 for t in done if t.status == "success")
    tokens = sum(r.tokens_used for t in done for r in t.runs if isinstance(r, ThinkRecord))
    usage: dict[str, int] = {}
    for t in done:
        for name in sorted({r.tool_name for r in t.runs if isinstance(r, ToolRecord)}):
            usage[name] = usage.get(name, 0) + 1
    n = len(done)
    best = max(usage.values(), default=0)
    return {
        "trace_count": n,
        "success_count": success,
        "error_count": sum(1 for t in done if oracle_has_errors(t)),
        "success_rate": 100.0 * success / n if n else 0.0,
        "avg_response_time": sum(micros) / len(micros) / 1_000_000 if micros else 0.0,
        "p50_response_time": nearest_rank(seconds, 50),
        "p95_response_time": nearest_rank(seconds, 95),
        "p99_response_time": nearest_rank(seconds, 99),
        "total_tokens": tokens,
        "tokens_per_trace": tokens / n if n else 0.0,
        "tool_usage": dict(sorted(usage.items())),
        "most_used_tool": min((k for k, v in usage.items() if v == best), default=None),
    }


def oracle_cost(ts: list[Trace]) -> float:
    return math.fsum(
        r.cost_usd or 0.0
        for t in ts
        if t.status != "running"
        for r in t.runs
        if isinstance(r, ThinkRecord)
    )


def oracle_has_errors(t: Trace) -> bool:
    return any(not r.success for r in t.runs) or t.status == "error" or bool(t.error)


def oracle_tool_stats(runs: list[RunRecord]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in sorted({r.tool_name for r in runs if isinstance(r, ToolRecord)}):
        calls = [r for r in runs if isinstance(r, ToolRecord) and r.tool_name == name]
        micros = [r.end_us - r.start_us for r in calls if r.end_us is not None]
        ok = sum(1 for r in calls if r.success)
        seconds = [m / 1_000_000 for m in micros]
        out[name] = {
            "call_count": len(calls),
            "success_count": ok,
            "error_count": len(calls) - ok,
            "success_rate": 100.0 * ok / len(calls),
            "avg_duration": sum(micros) / len(micros) / 1_000_000 if micros else 0.0,
            "p50_duration": nearest_rank(seconds, 50),
            "p95_duration": nearest_rank(seconds, 95),
            "p99_duration": nearest_rank(seconds, 99),
            "total_duration": sum(micros) / 1_000_000,
        }
    return out


def oracle_error_groups(ts: list[Trace], examples: int) -> list[dict[str, Any]]:
    # (etype, raw message, kind, name, trace id, at, agent): each failure once.
    events: list[tuple[str, str, str, str, str, int, str]] = []
    for t in ts:
        if t.status == "running" or not oracle_has_errors(t):
            continue
        failed = [r for r in t.runs if not r.success]
        for r in failed:
            etype, message = r.error_type or "Error", r.error or ""
            if any(
                c.parent_id == r.run_id
                and (c.error_type or "Error", c.error or "") == (etype, message)
                for c in failed
            ):
                continue  # the child's failure, passed up
            name = r.tool_name if isinstance(r, ToolRecord) else r.name
            events.append(
                (etype, message, r.run_type, name, t.trace_id, r.start_us, t.agent_name or "")
            )
        if (t.status == "error" or t.error) and not any(
            (r.error or "") == (t.error or "") for r in failed
        ):
            message = t.error or ""
            match = re.match(r"([A-Za-z_][A-Za-z0-9_.]*): ", message)
            etype = match.group(1) if match else "Error"
            events.append(
                (etype, message, "trace", t.name, t.trace_id, t.start_us, t.agent_name or "")
            )
    groups = []
    keyed = [(e[0], fingerprint(e[0], e[1])) for e in events]
    for key in set(keyed):
        mine = [e for e, k in zip(events, keyed, strict=True) if k == key]
        latest: dict[str, int] = {}
        for e in mine:
            latest[e[4]] = max(latest.get(e[4], e[5]), e[5])
        ranked = sorted(latest, key=lambda tid: (latest[tid], tid), reverse=True)
        raw: dict[str, int] = {}
        for e in mine:
            stripped = e[1][len(e[0]) + 2 :] if e[1].startswith(f"{e[0]}: ") else e[1]
            raw[stripped] = raw.get(stripped, 0) + 1
        variants = sorted(raw.items(), key=lambda item: (-item[1], item[0]))[:5]
        groups.append(
            {
                "error_type": key[0],
                "message": key[1],
                "count": len(mine),
                "trace_count": len(latest),
                "kinds": sorted({e[2] for e in mine}),
                "names": sorted({e[3] for e in mine}),
                "agents": sorted({e[6] for e in mine} - {""}),
                "variants": [{"message": m, "count": c} for m, c in variants],
                "example_trace_ids": ranked[:examples],
                "first_seen_us": min(e[5] for e in mine),
                "last_seen_us": max(e[5] for e in mine),
            }
        )
    groups.sort(key=lambda g: (-g["count"], -g["last_seen_us"], g["error_type"], g["message"]))
    return groups


# -- the backends ----------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="module")
def _postgres(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every property also holds on PostgreSQL (the run's database; see tests/conftest.py)."""
    yield from property_postgres.attach(request)


@contextmanager
def backends(items: list[Trace]) -> Iterator[list[TraceStorage]]:
    """A fresh in-memory storage and a fresh SQLite file (and PostgreSQL schema), all
    holding `items`."""
    folder = Path(tempfile.mkdtemp(prefix="myagent-props-"))
    memory = InMemoryTraceStorage()
    sqlite = SQLiteTraceStorage(folder / "traces.db")
    try:
        stores: list[TraceStorage] = [memory, sqlite, *property_postgres.stores()]
        for storage in stores:
            run_sync(storage.store_traces(items))
        yield stores
    finally:
        sqlite.close_sync()
        shutil.rmtree(folder, ignore_errors=True)


def ids(found: list[Any]) -> list[str]:
    return [t.trace_id for t in found]


# -- the properties --------------------------------------------------------------------


@SETTINGS
@given(
    items=trace_sets,
    filters=each_field(TraceFilter, TRACE_FIELDS),
    order_by=st.sampled_from(TRACE_ORDERS),
    page=st.tuples(st.one_of(st.none(), st.integers(0, 5)), st.integers(0, 4)),
)
def test_trace_filters_match_the_oracle_on_every_backend(
    items: list[Trace], filters: list[TraceFilter], order_by: str, page: tuple[int | None, int]
) -> None:
    limit, offset = page
    with backends(items) as stores:
        for f in filters:
            matching = [t for t in items if oracle_trace_matches(t, f)]
            ordered = sorted(
                matching, key=lambda t: oracle_order_key(t, order_by), reverse=order_by[0] == "-"
            )
            end = None if limit is None else offset + limit
            expected = ids(ordered[offset:end])
            for store in stores:
                engine = TraceQueryEngine(store)
                got = engine.query_traces(f, limit=limit, offset=offset, order_by=order_by)
                assert ids(got) == expected, (type(store).__name__, f)
                assert engine.count_traces(f) == len(matching), (type(store).__name__, f)


@SETTINGS
@given(items=trace_sets, text=st.sampled_from([*WORDS, "SUN nyc", "time out", "boo", "ra"]))
def test_search_matches_the_oracle_on_every_backend(items: list[Trace], text: str) -> None:
    expected = sorted(
        (t for t in items if oracle_trace_matches(t, TraceFilter(text=text))),
        key=lambda t: (t.start_us, t.trace_id),
        reverse=True,
    )
    with backends(items) as stores:
        for store in stores:
            engine = TraceQueryEngine(store)
            assert ids(engine.search(text)) == ids(expected), type(store).__name__
            assert engine.count_search(text) == len(expected), type(store).__name__


@SETTINGS
@given(
    items=trace_sets,
    filters=each_field(RunFilter, RUN_FIELDS),
    page=st.tuples(st.one_of(st.none(), st.integers(0, 5)), st.integers(0, 4)),
)
def test_run_filters_match_the_oracle_on_every_backend(
    items: list[Trace], filters: list[RunFilter], page: tuple[int | None, int]
) -> None:
    limit, offset = page
    pairs = [(r, t) for t in items for r in t.runs]
    with backends(items) as stores:
        for f in filters:
            matching = sorted(
                (r for r, t in pairs if oracle_run_matches(r, t, f)),
                key=lambda r: (r.start_us, r.run_id),
            )
            end = None if limit is None else offset + limit
            expected = [r.run_id for r in matching[offset:end]]
            tools = [r.run_id for r in matching if isinstance(r, ToolRecord)]
            for store in stores:
                engine = TraceQueryEngine(store)
                got = engine.query_runs(f, limit=limit, offset=offset)
                assert [r.run_id for r in got] == expected, (type(store).__name__, f)
                assert engine.count_runs(f) == len(matching), (type(store).__name__, f)
                assert [r.run_id for r in engine.query_tool_runs(f)] == tools
                assert engine.count_tool_runs(f) == len(tools)


@SETTINGS
@given(items=trace_sets, filters=st.lists(trace_filters, min_size=1, max_size=4))
def test_trace_stats_match_the_oracle_on_every_backend(
    items: list[Trace], filters: list[TraceFilter]
) -> None:
    with backends(items) as stores:
        for f in [TraceFilter(), *filters]:
            chosen = [t for t in items if oracle_trace_matches(t, f)]
            expected = oracle_stats(chosen)
            for store in stores:
                stats = TraceAnalyzer(store).analyze_traces(f).to_dict()
                cost = stats.pop("total_cost")
                per_trace = stats.pop("cost_per_trace")
                assert stats == expected, (type(store).__name__, f)
                assert cost == pytest.approx(oracle_cost(chosen), rel=1e-12, abs=1e-12)
                count = expected["trace_count"]
                assert per_trace == pytest.approx(cost / count if count else 0.0, rel=1e-12)


@SETTINGS
@given(items=trace_sets, agent=st.sampled_from(AGENTS))
def test_agent_performance_matches_the_oracle_on_every_backend(
    items: list[Trace], agent: str
) -> None:
    expected = oracle_stats([t for t in items if t.agent_name == agent])
    with backends(items) as stores:
        for store in stores:
            stats = TraceAnalyzer(store).analyze_agent_performance(agent)
            assert stats.agent_name == agent
            got = stats.to_dict()
            for name, value in expected.items():
                assert got[name] == value, (type(store).__name__, name)


@SETTINGS
@given(items=trace_sets, filters=st.lists(run_filters, min_size=1, max_size=4))
def test_tool_stats_match_the_oracle_on_every_backend(
    items: list[Trace], filters: list[RunFilter]
) -> None:
    pairs = [(r, t) for t in items for r in t.runs]
    with backends(items) as stores:
        for f in [RunFilter(), *filters]:
            expected = oracle_tool_stats([r for r, t in pairs if oracle_run_matches(r, t, f)])
            for store in stores:
                got = TraceAnalyzer(store).analyze_tool_usage(f)
                assert list(got) == list(expected), (type(store).__name__, f)
                for name, stats in got.items():
                    figures = stats.to_dict()
                    assert figures.pop("tool_name") == name
                    assert figures == expected[name], (type(store).__name__, f, name)


@SETTINGS
@given(
    items=trace_sets,
    interval_us=st.sampled_from([1, 250_000, 1_000_000, 3_000_000, 7_000_000]),
    f=trace_filters,
)
def test_time_series_match_the_oracle_on_every_backend(
    items: list[Trace], interval_us: int, f: TraceFilter
) -> None:
    chosen = [t for t in items if oracle_trace_matches(t, f) and t.status != "running"]
    starts = sorted({t.start_us // interval_us * interval_us for t in chosen})
    with backends(items) as stores:
        for store in stores:
            series = TraceAnalyzer(store).time_series(interval_us / 1_000_000, f, fill=False)
            assert [b.start_us for b in series] == starts, type(store).__name__
            for bucket in series:
                inside = [
                    t for t in chosen if t.start_us // interval_us * interval_us == bucket.start_us
                ]
                expected = oracle_stats(inside)
                figures = bucket.to_dict()
                for name in (
                    "trace_count",
                    "success_count",
                    "error_count",
                    "success_rate",
                    "avg_response_time",
                    "p50_response_time",
                    "p95_response_time",
                    "p99_response_time",
                    "total_tokens",
                ):
                    assert figures[name] == expected[name], (type(store).__name__, name)
                assert bucket.total_cost == pytest.approx(oracle_cost(inside), rel=1e-12)


@SETTINGS
@given(items=trace_sets, f=trace_filters, examples=st.integers(1, 3))
def test_error_groups_match_the_oracle_on_every_backend(
    items: list[Trace], f: TraceFilter, examples: int
) -> None:
    expected = oracle_error_groups([t for t in items if oracle_trace_matches(t, f)], examples)
    with backends(items) as stores:
        for store in stores:
            groups = TraceAnalyzer(store).analyze_errors(f, limit=100, examples=examples)
            got = (
                [{k: v for k, v in g.to_dict().items() if k in expected[0]} for g in groups]
                if expected
                else [g.to_dict() for g in groups]
            )
            assert got == expected, type(store).__name__
