"""Experiment figures read from storage: one experiment's averages, and two experiments
compared item by item. Plain reads of stored rows (runs and scores), so the viewer and
`myagent.eval` share them without the tracing core knowing about evaluation.

An item *passes* when its run succeeded and every evaluator score on it is a value of
at least 0.5 (booleans: true); an error score (an evaluator that raised or timed out)
fails it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from myagent.trace.stats import percentile
from myagent.trace.storage.base import TraceStorage

PASS_AT = 0.5
"""An evaluator score at or above this passes."""


def _passed(
    status: str | None, scores: dict[str, float | None], sources: dict[str, str]
) -> bool | None:
    if status is None:
        return None  # not run (or not stored) yet
    if status != "success":
        return False
    for name, source in sources.items():
        value = scores[name]
        if source == "eval" and (value is None or value < PASS_AT):
            return False
    return True


async def experiment_items(storage: TraceStorage, experiment_id: str) -> list[dict[str, Any]]:
    """Per item of an experiment: its run's roll-ups, `scores` {name: value or None for an
    error}, `labels` {name: label}, `errors` {name: message} and `passed`; each the
    latest score of its name."""
    # one read after the other: run at once, the two threads only contend for the GIL
    runs: list[dict[str, Any]] = await storage.experiment_runs(experiment_id)
    rows = await storage.experiment_scores(experiment_id)
    by_trace: dict[str, dict[str, Any]] = {}
    for run in runs:
        run["scores"], run["labels"], run["errors"] = {}, {}, {}
        by_trace[run["trace_id"]] = run
    sources: dict[str, dict[str, str]] = defaultdict(dict)
    created: dict[tuple[str, str], int] = {}
    for trace_id, name, value, source, created_us, label, error in rows:
        found = by_trace.get(trace_id)
        if found is None or created.get((trace_id, name), -1) > created_us:
            continue
        run = found
        created[(trace_id, name)] = created_us
        run["scores"][name] = value
        sources[trace_id][name] = source
        if label is not None:
            run["labels"][name] = label
        if error is not None:
            run["errors"][name] = error
    for run in runs:
        run["passed"] = _passed(run["status"], run["scores"], sources.get(run["trace_id"], {}))
    return runs


def summarize(items: list[dict[str, Any]]) -> dict[str, Any]:
    """An experiment's figures from `experiment_items`: counts, every score's mean, pass
    rate, p50/p95 latency, tokens and cost."""
    done = [i for i in items if i["status"] is not None]
    values: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    for item in done:
        for name, value in item["scores"].items():
            if value is None:
                errors[name] += 1
            else:
                values[name].append(value)
    durations = sorted(i["duration"] for i in done if i["duration"] is not None)
    costs = [i["cost_usd"] for i in done if i["cost_usd"] is not None]
    names = sorted(set(values) | set(errors))
    return {
        "items": len(items),
        "finished": len(done),
        "failed_runs": sum(1 for i in done if i["status"] != "success"),
        "pass_rate": (sum(1 for i in done if i["passed"]) / len(done)) if done else None,
        "scores": {
            n: {
                "mean": math.fsum(values[n]) / len(values[n]) if values[n] else None,
                "count": len(values[n]),
                "errors": errors[n],
            }
            for n in names
        },
        "latency_p50": percentile(durations, 50) if durations else None,
        "latency_p95": percentile(durations, 95) if durations else None,
        "tokens": sum(i["tokens_used"] or 0 for i in done),
        "cost_usd": math.fsum(costs) if costs else None,
    }


async def experiment_summary(storage: TraceStorage, experiment_id: str) -> dict[str, Any]:
    """`summarize` of one stored experiment."""
    return summarize(await experiment_items(storage, experiment_id))


def compare_items(base: list[dict[str, Any]], other: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows per item of two experiments: both sides, the delta of every score (other
    minus base) and of latency, and `regression` (a score fell, or the item stopped
    passing). Regressions first, worst (lowest summed delta) first."""
    a = {i["item_id"]: i for i in base}
    b = {i["item_id"]: i for i in other}
    rows = []
    for item_id in sorted(set(a) | set(b)):
        left, right = a.get(item_id), b.get(item_id)
        deltas: dict[str, float | None] = {}
        if left is not None and right is not None:
            for name in sorted(set(left["scores"]) | set(right["scores"])):
                x, y = left["scores"].get(name), right["scores"].get(name)
                deltas[name] = None if x is None or y is None else y - x
        worse = any(d is not None and d < 0 for d in deltas.values()) or (
            left is not None
            and right is not None
            and left["passed"] is True
            and right["passed"] is False
        )
        latency = None
        if left and right and left["duration"] is not None and right["duration"] is not None:
            latency = right["duration"] - left["duration"]
        rows.append(
            {
                "item_id": item_id,
                "base": left,
                "other": right,
                "deltas": deltas,
                "latency_delta": latency,
                "regression": worse,
                "delta_sum": math.fsum(d for d in deltas.values() if d is not None),
            }
        )
    rows.sort(key=lambda r: (not r["regression"], r["delta_sum"], r["item_id"]))
    return rows


async def compare_experiments(storage: TraceStorage, base_id: str, other_id: str) -> dict[str, Any]:
    """Two experiments side by side: each one's summary and the per-item rows."""
    base = await experiment_items(storage, base_id)
    other = await experiment_items(storage, other_id)
    return {
        "base": {"experiment_id": base_id, "summary": summarize(base)},
        "other": {"experiment_id": other_id, "summary": summarize(other)},
        "items": compare_items(base, other),
    }
