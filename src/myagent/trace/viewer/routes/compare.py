"""`GET /api/compare`: two runs side by side, records aligned, what differs and the deltas."""

from __future__ import annotations

import difflib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query

from myagent.trace.records import RunRecord, ThinkRecord, Trace
from myagent.trace.serialize import to_jsonable
from myagent.trace.viewer.params import ID_PATTERN
from myagent.trace.viewer.payloads import RECORD_FIELDS, json_response, trace_outline
from myagent.trace.viewer.routes.traces import Settings, Source

router = APIRouter(prefix="/api", tags=["compare"])
_COMPARED = tuple(f for f in RECORD_FIELDS if f not in ("metadata", "stacktrace"))


def _key(run: RunRecord) -> str:
    """What makes two records 'the same step' in two runs: kind and tool or name; for an
    LLM call also the tools it chose (or that it answered), so a run with extra tool
    rounds aligns its final answer with the other run's answer."""
    key = f"{run.run_type}:{getattr(run, 'tool_name', '') or run.name}"
    if isinstance(run, ThinkRecord):
        names = [str(c.get("name") or (c.get("function") or {}).get("name") or "?")
                 for c in run.tool_calls or [] if isinstance(c, dict)]  # fmt: skip
        key += "→" + (",".join(names) if names else "answer")
    return key


def _match_key(run: RunRecord) -> tuple[str, bytes]:
    """`_key` plus the record's tool arguments (ids left out): among equal steps the
    matcher prefers the one doing the same thing; different arguments still pair up as
    a changed step."""
    args = run.tool_calls if isinstance(run, ThinkRecord) else getattr(run, "input_params", None)
    return _key(run), orjson.dumps(without_ids(to_jsonable(args)), option=orjson.OPT_SORT_KEYS)


def align(a: list[RunRecord], b: list[RunRecord]) -> list[tuple[int | None, int | None]]:
    """Index pairs aligning two record lists by their keys (None: only on one side)."""
    ka, kb = [_match_key(r) for r in a], [_match_key(r) for r in b]
    matcher = difflib.SequenceMatcher(None, ka, kb, False)
    pairs: list[tuple[int | None, int | None]] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "replace":
            pairs += _pair_by_kind(a, b, range(a0, a1), range(b0, b1))
        elif op == "equal":
            common = min(a1 - a0, b1 - b0)
            pairs += [(a0 + i, b0 + i) for i in range(common)]
            pairs += [(i, None) for i in range(a0 + common, a1)]
            pairs += [(None, i) for i in range(b0 + common, b1)]
        elif op == "delete":
            pairs += [(i, None) for i in range(a0, a1)]
        else:
            pairs += [(None, i) for i in range(b0, b1)]
    return pairs


_IDS = frozenset({"id", "tool_call_id", "call_id"})
"""Keys whose values differ between any two runs (generated call ids): not compared."""


def without_ids(value: Any) -> Any:
    """`value` with call ids left out at every depth, so two runs making the same tool
    calls compare equal."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k not in _IDS}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def _pair_by_kind(
    a: list[RunRecord], b: list[RunRecord], ia: range, ib: range
) -> list[tuple[int | None, int | None]]:
    """Inside a replaced span, pair records of the same step key in order; the rest are
    only on one side."""
    sub = difflib.SequenceMatcher(None, [_key(a[i]) for i in ia], [_key(b[i]) for i in ib], False)
    pairs: list[tuple[int | None, int | None]] = []
    for op, a0, a1, b0, b1 in sub.get_opcodes():
        common = min(a1 - a0, b1 - b0) if op in ("equal", "replace") else 0
        pairs += [(ia[a0 + i], ib[b0 + i]) for i in range(common)]
        pairs += [(ia[i], None) for i in range(a0 + common, a1)]
        pairs += [(None, ib[i]) for i in range(b0 + common, b1)]
    return pairs


def _changed(a: RunRecord, b: RunRecord) -> list[str]:
    da, db = a.to_dict(), b.to_dict()
    fields = [f for f in _COMPARED if without_ids(da.get(f)) != without_ids(db.get(f))]
    if a.success != b.success:
        fields.append("success")
    return fields


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _totals(trace: Trace) -> dict[str, Any]:
    return {
        "duration": trace.total_duration,
        "tokens": trace.tokens_used,
        "cost_usd": trace.cost_usd,
        "records": len(trace.runs),
        "errors": trace.error_count,
    }


@router.get("/compare")
async def compare(
    src: Source,
    cfg: Settings,
    a: Annotated[str, Query(pattern=ID_PATTERN, description="the first trace id")],
    b: Annotated[str, Query(pattern=ID_PATTERN, description="the second trace id")],
) -> Any:
    """Both traces' outlines, their records aligned in pairs (with the fields that differ),
    and the deltas b - a of duration, tokens, cost, records and errors."""
    ta, tb = await src.trace(a), await src.trace(b)
    if ta is None or tb is None:
        raise HTTPException(404, f"no such trace: {a if ta is None else b}")
    runs_a, runs_b = list(ta.runs), list(tb.runs)
    pairs = []
    for ia, ib in align(runs_a, runs_b):
        ra = None if ia is None else runs_a[ia]
        rb = None if ib is None else runs_b[ib]
        pairs.append(
            {
                "a": None if ra is None else ra.run_id,
                "b": None if rb is None else rb.run_id,
                "key": _key(ra or rb),  # type: ignore[arg-type]
                "changed": _changed(ra, rb) if ra is not None and rb is not None else None,
                "duration_delta": None
                if ra is None or rb is None
                else _delta(ra.duration, rb.duration),
            }
        )
    totals_a, totals_b = _totals(ta), _totals(tb)
    return json_response(
        {
            "a": trace_outline(ta, cfg.preview_chars),
            "b": trace_outline(tb, cfg.preview_chars),
            "pairs": pairs,
            "totals": {"a": totals_a, "b": totals_b},
            "deltas": {k: _delta(totals_a[k], totals_b[k]) for k in totals_a},
        }
    )
