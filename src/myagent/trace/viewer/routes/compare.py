"""`GET /api/compare`: two runs side by side, records aligned, what differs and the deltas."""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from myagent.trace.records import RunRecord, Trace
from myagent.trace.viewer.params import ID_PATTERN
from myagent.trace.viewer.payloads import RECORD_FIELDS, json_response, trace_outline
from myagent.trace.viewer.routes.traces import Settings, Source

router = APIRouter(prefix="/api", tags=["compare"])
_COMPARED = tuple(f for f in RECORD_FIELDS if f not in ("metadata", "stacktrace"))


def _key(run: RunRecord) -> str:
    """What makes two records 'the same step' in two runs: kind and tool or name."""
    return f"{run.run_type}:{getattr(run, 'tool_name', '') or run.name}"


def align(a: list[RunRecord], b: list[RunRecord]) -> list[tuple[int | None, int | None]]:
    """Index pairs aligning two record lists by their keys (None: only on one side)."""
    matcher = difflib.SequenceMatcher(None, [_key(r) for r in a], [_key(r) for r in b], False)
    pairs: list[tuple[int | None, int | None]] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op in ("equal", "replace"):
            common = min(a1 - a0, b1 - b0)
            pairs += [(a0 + i, b0 + i) for i in range(common)]
            pairs += [(i, None) for i in range(a0 + common, a1)]
            pairs += [(None, i) for i in range(b0 + common, b1)]
        elif op == "delete":
            pairs += [(i, None) for i in range(a0, a1)]
        else:
            pairs += [(None, i) for i in range(b0, b1)]
    return pairs


def _changed(a: RunRecord, b: RunRecord) -> list[str]:
    da, db = a.to_dict(), b.to_dict()
    fields = [f for f in _COMPARED if da.get(f) != db.get(f)]
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
