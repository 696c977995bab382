"""Import a JSON or JSONL trace file: streamed, validated whole, redacted, never replacing.

The body is spooled to a temporary file as it arrives (memory stays bounded whatever
its size, up to the viewer's `max_import_bytes`, 413 beyond), then read twice on a
worker thread: once to validate every trace (ids, run types, shapes, 64-bit integers;
a 4xx names the first fault and nothing is stored), once to redact and store a batch
at a time. The event loop only moves bytes, so other requests go on meanwhile. A trace
whose id is already stored is skipped or stored under a new id (`on_conflict`), never
replaced.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from typing import IO, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from myagent.trace.filters import TraceFilter
from myagent.trace.ids import new_run_id, new_trace_id
from myagent.trace.importing import ImportedTrace, ImportFault, read_batches
from myagent.trace.records import Trace
from myagent.trace.redaction import Redactor
from myagent.trace.scores import Score
from myagent.trace.scoring import redact_score
from myagent.trace.sync_bridge import run_sync
from myagent.trace.viewer.routes.traces import Source
from myagent.trace.viewer.schemas import ImportResult
from myagent.trace.viewer.source import TraceSource

router = APIRouter(prefix="/api", tags=["transfer"])

_SPOOL_IN_MEMORY = 1024 * 1024
_BATCH = 200
_DEFAULT_REDACTOR = Redactor()


async def _spool(request: Request) -> tuple[IO[bytes], int]:
    """The request body in a temporary file (on disk past 1 MiB) and its size (the
    security middleware ends a body over `max_import_bytes` with a 413)."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > _SPOOL_IN_MEMORY:
                await asyncio.to_thread(spool.write, chunk)  # disk writes off the loop
            else:
                spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    return spool, size


def _redactor(src: TraceSource) -> Redactor | None:
    """The in-process manager's redactor (None when it has redaction off), else the
    default one: imports are redacted like live traces."""
    manager = src.manager
    if manager is None:
        return _DEFAULT_REDACTOR
    return manager.redactor if manager.config.redact else None


def _check_all(spool: IO[bytes], size: int) -> int:
    """Validate every trace of the file (nothing stored yet); returns how many."""
    return sum(len(batch) for batch in read_batches(spool, size, _BATCH))


def _prepared(
    batches: Iterator[list[ImportedTrace]], redactor: Redactor | None
) -> list[ImportedTrace] | None:
    batch = next(batches, None)
    if batch is None or redactor is None:
        return batch
    return [
        ImportedTrace(
            redactor.redact_trace(item.trace), [redact_score(s, redactor) for s in item.scores]
        )
        for item in batch
    ]


async def _existing(src: TraceSource, ids: list[str]) -> set[str]:
    found = await src.storage.query_summaries(TraceFilter(trace_ids=ids), limit=len(ids))
    return {summary.trace_id for summary in found}


@router.post("/import", response_model=ImportResult)
async def import_traces(
    request: Request,
    src: Source,
    on_conflict: Literal["skip", "new_id"] = Query(
        "skip", description="a trace whose id is already stored: skip it, or store it anew"
    ),
) -> ImportResult:
    """Store the traces of a JSON (a list, or `{"traces": [...]}`) or JSONL body, as
    `/api/export` writes them. Every trace is validated before any is stored (422 names
    the first fault; 413 past the size limits) and redacted like a live trace."""
    spool, size = await _spool(request)
    try:
        try:
            await asyncio.to_thread(_check_all, spool, size)
        except ImportFault as fault:
            raise HTTPException(fault.status, f"not imported: {fault}") from None
        spool.seek(0)
        batches = read_batches(spool, size, _BATCH)
        redactor = _redactor(src)
        result = ImportResult(imported=0, trace_ids=[], redacted=redactor is not None)
        seen: set[str] = set()
        while (batch := await asyncio.to_thread(_prepared, batches, redactor)) is not None:
            taken = await _existing(src, [item.trace.trace_id for item in batch])
            keep: list[Trace] = []
            scores: list[Score] = []
            for trace, trace_scores in batch:
                old = trace.trace_id
                if old in taken or old in seen:
                    if on_conflict == "skip":
                        result.skipped.append(old)
                        continue
                    trace.trace_id = new_trace_id()
                    for run in trace.runs:
                        run.trace_id = trace.trace_id
                    result.renamed[old] = trace.trace_id
                seen.add(trace.trace_id)
                keep.append(trace)
                if trace.trace_id != old:  # stored anew: so are its scores
                    trace_scores = [
                        replace(s, trace_id=trace.trace_id, score_id=new_run_id())
                        for s in trace_scores
                    ]
                scores += trace_scores
            if keep:
                # some backends write synchronously inside `store_traces` (SQLite):
                # run it on the storage bridge's loop, from a worker thread
                await asyncio.to_thread(run_sync, src.storage.store_traces(keep))
                if scores and src.storage.supports_eval:
                    await asyncio.to_thread(run_sync, src.storage.store_scores(scores))
                result.trace_ids += [t.trace_id for t in keep]
                result.imported += len(keep)
        return result
    finally:
        spool.close()
