"""Analysis results and their reference definitions, computed in Python over traces.

These functions define what every figure means; storage backends that compute the
same figures in their database (SQLite in `storage/sqlite_analytics.py`) must agree
with them exactly. Durations are summed in integer microseconds so averages do not
depend on summation order; percentiles use the nearest-rank definition.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from myagent.trace.fingerprint import normalise, strip_type
from myagent.trace.ids import us_to_datetime
from myagent.trace.records import ToolRecord, Trace, TraceStatus
from myagent.trace.serialize import to_jsonable

PERCENTILES = (50, 95, 99)
"""The percentiles every report carries (p50, p95, p99)."""


def percentile_rank(count: int, p: int) -> int:
    """Nearest-rank: the 1-based rank of the p-th percentile among `count` sorted values.

    rank = ceil(p * count / 100), at least 1; `p` is an integer percent (0-100), so the
    rank is exact integer arithmetic and every backend can compute the same one.
    """
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be between 0 and 100, not {p}")
    return max(1, (p * count + 99) // 100)


def percentile(sorted_values: Sequence[float], p: int) -> float:
    """The nearest-rank p-th percentile of ascending `sorted_values` (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    return sorted_values[percentile_rank(len(sorted_values), p) - 1]


def us_mean_seconds(total_us: int, count: int) -> float:
    """Mean in seconds of `count` durations summing to `total_us` microseconds."""
    return total_us / count / 1_000_000 if count else 0.0


def rate(part: int, whole: int) -> float:
    """`part` as a percentage of `whole` (0.0 when `whole` is 0)."""
    return 100.0 * part / whole if whole else 0.0


def is_finished(trace: Trace) -> bool:
    """Analysis covers finished traces: any status but running."""
    return str(trace.status) != TraceStatus.RUNNING.value


@dataclass(slots=True, kw_only=True)
class TraceStats:
    """Figures over a set of finished traces; all 0 when `trace_count` is 0.

    Response times are trace durations in seconds; `success_rate` is the percent (0-100)
    of traces whose status is success; `error_count` counts traces with `has_errors`;
    `tool_usage` maps each tool to the number of traces that called it, and
    `most_used_tool` is the tool called by the most traces (ties: first by name).
    """

    trace_count: int = 0
    success_count: int = 0
    error_count: int = 0
    success_rate: float = 0.0
    avg_response_time: float = 0.0
    p50_response_time: float = 0.0
    p95_response_time: float = 0.0
    p99_response_time: float = 0.0
    total_tokens: int = 0
    tokens_per_trace: float = 0.0
    total_cost: float = 0.0
    cost_per_trace: float = 0.0
    tool_usage: dict[str, int] = field(default_factory=dict)
    most_used_tool: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True, kw_only=True)
class AgentStats(TraceStats):
    """`TraceStats` of one agent's finished traces (`TraceAnalyzer.analyze_agent_performance`)."""

    agent_name: str = ""

    @property
    def avg_tokens(self) -> float:
        """Alias of `tokens_per_trace`."""
        return self.tokens_per_trace


@dataclass(slots=True, kw_only=True)
class ToolStats:
    """One tool's calls: counts, success rate (percent) and durations (seconds)."""

    tool_name: str
    call_count: int = 0
    success_count: int = 0
    error_count: int = 0
    success_rate: float = 0.0
    avg_duration: float = 0.0
    p50_duration: float = 0.0
    p95_duration: float = 0.0
    p99_duration: float = 0.0
    total_duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True, kw_only=True)
class TimeBucket:
    """Figures over the finished traces that started in [start_us, start_us + interval)."""

    start_us: int
    trace_count: int = 0
    success_count: int = 0
    error_count: int = 0
    success_rate: float = 0.0
    avg_response_time: float = 0.0
    p50_response_time: float = 0.0
    p95_response_time: float = 0.0
    p99_response_time: float = 0.0
    total_tokens: int = 0
    total_cost: float = 0.0

    @property
    def start(self) -> datetime:
        """Start of the bucket (tz-aware UTC)."""
        return us_to_datetime(self.start_us)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, with the ISO start time added."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["start"] = self.start.isoformat()
        return data


MAX_VARIANTS = 5
"""Raw messages an error group lists (the most frequent first)."""


@dataclass(slots=True, kw_only=True)
class ErrorGroup:
    """Failures sharing one error type and fingerprint (`myagent.trace.fingerprint`: the
    message with numbers, quoted values, ids and paths masked), over records and traces.
    Each failure counts once: a record or trace failing with the error one of its records
    raised is that same failure. `variants` are the raw messages, most frequent first."""

    error_type: str
    message: str
    count: int = 0
    trace_count: int = 0
    kinds: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    variants: list[dict[str, Any]] = field(default_factory=list)
    example_trace_ids: list[str] = field(default_factory=list)
    first_seen_us: int = 0
    last_seen_us: int = 0

    @property
    def first_seen(self) -> datetime:
        """Start of the earliest failure in the group (tz-aware UTC)."""
        return us_to_datetime(self.first_seen_us)

    @property
    def last_seen(self) -> datetime:
        """Start of the latest failure in the group (tz-aware UTC)."""
        return us_to_datetime(self.last_seen_us)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, with ISO first/last seen times added."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["first_seen"] = self.first_seen.isoformat()
        data["last_seen"] = self.last_seen.isoformat()
        return data


def most_used(counts: dict[str, int]) -> str | None:
    """The key with the highest count; ties go to the alphabetically first name."""
    if not counts:
        return None
    return min(counts, key=lambda name: (-counts[name], name))


# -- reference computations ---------------------------------------------------------


def trace_stats_of(traces: Iterable[Trace]) -> TraceStats:
    """TraceStats of the finished traces among `traces`."""
    done = [t for t in traces if is_finished(t)]
    count = len(done)
    durations_us = [t.end_us - t.start_us for t in done if t.end_us is not None]
    durations = sorted(d / 1_000_000 for d in durations_us)
    tokens = sum(t.tokens_used for t in done)
    cost = math.fsum(t.cost_usd or 0.0 for t in done)
    tool_usage: dict[str, int] = {}
    for trace in done:
        for name in {run.tool_name for run in trace.runs if isinstance(run, ToolRecord)}:
            tool_usage[name] = tool_usage.get(name, 0) + 1
    success = sum(1 for t in done if str(t.status) == TraceStatus.SUCCESS.value)
    p50, p95, p99 = (percentile(durations, p) for p in PERCENTILES)
    return TraceStats(
        trace_count=count,
        success_count=success,
        error_count=sum(1 for t in done if t.has_errors),
        success_rate=rate(success, count),
        avg_response_time=us_mean_seconds(sum(durations_us), len(durations_us)),
        p50_response_time=p50,
        p95_response_time=p95,
        p99_response_time=p99,
        total_tokens=tokens,
        tokens_per_trace=tokens / count if count else 0.0,
        total_cost=cost,
        cost_per_trace=cost / count if count else 0.0,
        tool_usage=dict(sorted(tool_usage.items())),
        most_used_tool=most_used(tool_usage),
    )


def tool_stats_of(runs: Iterable[Any]) -> dict[str, ToolStats]:
    """ToolStats per tool name over the tool records among `runs`, by name."""
    grouped: dict[str, list[ToolRecord]] = {}
    for run in runs:
        if isinstance(run, ToolRecord):
            grouped.setdefault(run.tool_name, []).append(run)
    out: dict[str, ToolStats] = {}
    for name in sorted(grouped):
        calls = grouped[name]
        durations_us = [r.end_us - r.start_us for r in calls if r.end_us is not None]
        durations = sorted(d / 1_000_000 for d in durations_us)
        success = sum(1 for r in calls if r.success)
        p50, p95, p99 = (percentile(durations, p) for p in PERCENTILES)
        out[name] = ToolStats(
            tool_name=name,
            call_count=len(calls),
            success_count=success,
            error_count=len(calls) - success,
            success_rate=rate(success, len(calls)),
            avg_duration=us_mean_seconds(sum(durations_us), len(durations_us)),
            p50_duration=p50,
            p95_duration=p95,
            p99_duration=p99,
            total_duration=sum(durations_us) / 1_000_000,
        )
    return out


def bucket_start(start_us: int, interval_us: int) -> int:
    """Start of the bucket holding `start_us`: buckets are aligned to the Unix epoch."""
    return start_us // interval_us * interval_us


def time_series_of(traces: Iterable[Trace], interval_us: int) -> list[TimeBucket]:
    """One TimeBucket per interval that holds at least one finished trace, oldest first."""
    grouped: dict[int, list[Trace]] = {}
    for trace in traces:
        if is_finished(trace):
            grouped.setdefault(bucket_start(trace.start_us, interval_us), []).append(trace)
    out = []
    for start in sorted(grouped):
        stats = trace_stats_of(grouped[start])
        out.append(
            TimeBucket(
                start_us=start,
                trace_count=stats.trace_count,
                success_count=stats.success_count,
                error_count=stats.error_count,
                success_rate=stats.success_rate,
                avg_response_time=stats.avg_response_time,
                p50_response_time=stats.p50_response_time,
                p95_response_time=stats.p95_response_time,
                p99_response_time=stats.p99_response_time,
                total_tokens=stats.total_tokens,
                total_cost=stats.total_cost,
            )
        )
    return out


_ERROR_TYPE = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*): ")


def trace_error_type(message: str) -> str:
    """A trace's error type from its message ('ValueError: bad' -> 'ValueError'), else 'Error'."""
    match = _ERROR_TYPE.match(message)
    return match.group(1) if match else "Error"


def trace_failed(trace: Trace) -> bool:
    """True when the trace itself (not only one of its records) failed."""
    return str(trace.status) == TraceStatus.ERROR.value or bool(trace.error)


def failure_events(trace: Trace) -> list[tuple[str, str, str, str, int]]:
    """(error_type, message, kind, name, start_us) for each failure in a trace, once.

    A failed record gives its error type and message (the type prefix it repeats
    dropped), kind = its run_type and name = its tool name (or record name), unless one
    of its child records failed with the same error (that failure, passed up). A failed
    trace gives kind 'trace', unless one of its records failed with the same error.
    """
    failed = [run for run in trace.runs if not run.success]
    passed_up = {
        (run.parent_id, run.error_type or "Error", to_jsonable(run.error) or "") for run in failed
    }
    events = []
    for run in failed:
        error_type = run.error_type or "Error"
        message = to_jsonable(run.error) or ""
        if (run.run_id, error_type, message) in passed_up:
            continue
        name = run.tool_name if isinstance(run, ToolRecord) else to_jsonable(run.name)
        events.append(
            (error_type, strip_type(error_type, message), run.run_type, name or "", run.start_us)
        )
    if trace_failed(trace):
        message = to_jsonable(trace.error) or ""
        if not any((to_jsonable(run.error) or "") == message for run in failed):
            error_type = trace_error_type(message)
            name = to_jsonable(trace.name) or ""
            events.append(
                (error_type, strip_type(error_type, message), "trace", name, trace.start_us)
            )
    return events


def error_groups_of(
    traces: Iterable[Trace], *, limit: int = 50, examples: int = 5
) -> list[ErrorGroup]:
    """Failures of the finished traces with errors, grouped by (error type, fingerprint).

    Groups are ordered by failure count (desc), then latest failure (desc), type,
    fingerprint. Examples are distinct trace ids, most recent failure first; agents are
    the traces' agent names; variants the raw messages by count (desc), then message.
    """
    groups: dict[tuple[str, str], ErrorGroup] = {}
    latest: dict[tuple[str, str], dict[str, int]] = {}
    variants: dict[tuple[str, str], dict[str, int]] = {}
    for trace in traces:
        if not (is_finished(trace) and trace.has_errors):
            continue
        agent = to_jsonable(trace.agent_name) or ""
        for error_type, message, kind, name, at in failure_events(trace):
            key = (error_type, normalise(message))
            group = groups.get(key)
            if group is None:
                group = groups[key] = ErrorGroup(
                    error_type=error_type, message=key[1], first_seen_us=at, last_seen_us=at
                )
                latest[key], variants[key] = {}, {}
            group.count += 1
            group.first_seen_us = min(group.first_seen_us, at)
            group.last_seen_us = max(group.last_seen_us, at)
            if kind not in group.kinds:
                group.kinds.append(kind)
            if name not in group.names:
                group.names.append(name)
            if agent and agent not in group.agents:
                group.agents.append(agent)
            variants[key][message] = variants[key].get(message, 0) + 1
            seen = latest[key]
            seen[trace.trace_id] = max(seen.get(trace.trace_id, at), at)
    ordered = sorted(
        groups.values(),
        key=lambda g: (-g.count, -g.last_seen_us, g.error_type, g.message),
    )[:limit]
    for group in ordered:
        key = (group.error_type, group.message)
        seen = latest[key]
        group.trace_count = len(seen)
        group.kinds.sort()
        group.names.sort()
        group.agents.sort()
        group.variants = top_variants(variants[key].items())
        ranked = sorted(seen, key=lambda tid: (seen[tid], tid), reverse=True)
        group.example_trace_ids = ranked[:examples]
    return ordered


def top_variants(counts: Iterable[tuple[str, int]]) -> list[dict[str, Any]]:
    """The `MAX_VARIANTS` most frequent raw messages of a group, then by message."""
    ranked = sorted(counts, key=lambda item: (-item[1], item[0]))[:MAX_VARIANTS]
    return [{"message": message, "count": count} for message, count in ranked]
