"""Scores written from code (`TraceManager.score`): validated on the caller's path, then
redacted and stored by a worker thread of their own, so the caller never waits on storage.

Bad values (NaN, a label outside a score's categories...) raise `ScoreError` at once: the
caller made a mistake it can fix. Everything after that is tracing's business and never
raises: a score on a trace that neither runs in this process nor is in storage is
dropped and counted (`unknown_trace`), a full queue drops and counts, a failing write is
counted and logged once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from myagent.trace.filters import TraceFilter
from myagent.trace.redaction import Redactor
from myagent.trace.scores import Score, ScoreConfig, ScoreValue, make_score

if TYPE_CHECKING:
    from myagent.trace.manager import TraceManager

logger = logging.getLogger("myagent.trace")

QUEUE_SIZE = 100_000
"""Scores waiting to be written at most; beyond it new ones are dropped and counted."""
BATCH = 2_000
"""Scores written per storage call."""


def redact_score(score: Score, redactor: Redactor | None) -> Score:
    """A copy of `score` with its free text (comment, label, author, error, metadata)
    passed through `redactor` (the one traces pass through); None keeps it as is."""
    if redactor is None:
        return replace(score)
    text = redactor.value(
        {
            "comment": score.comment,
            "label": score.label,
            "author": score.author,
            "error": score.error,
            "metadata": score.metadata,
        },
        "$.score",
    )
    if not isinstance(text, dict):  # the redactor failed closed: keep no free text
        return replace(score, comment=None, label=None, author=None, error=None, metadata={})
    return replace(
        score,
        comment=text["comment"],
        label=text["label"],
        author=text["author"],
        error=text["error"],
        metadata=text["metadata"] if isinstance(text["metadata"], dict) else {},
    )


class ScoreRecorder:
    """The queue and worker thread between `TraceManager.score` and storage."""

    def __init__(self, manager: TraceManager) -> None:
        self._manager = manager
        self._queue: deque[Score] = deque()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._busy = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.configs: dict[str, ScoreConfig] = {}
        self.counts = {"submitted": 0, "written": 0, "dropped": 0, "unknown_trace": 0}
        self._logged: set[str] = set()
        self._jobs: deque[Callable[[Any], Any]] = deque()

    # -- the caller's path ---------------------------------------------------------------

    def score(
        self,
        trace_id: str,
        name: str,
        value: ScoreValue | None,
        **fields: Any,
    ) -> Score:
        """Validate now (ScoreError on bad input), queue for storage, return the score."""
        score = make_score(trace_id, name, value, config=self.configs.get(name), **fields)
        with self._lock:
            if len(self._queue) >= QUEUE_SIZE:
                self.counts["dropped"] += 1
                self._note("queue full", None)
                return score
            self._queue.append(score)
            self.counts["submitted"] += 1
        self._start()
        self._wake.set()
        return score

    def define(self, config: ScoreConfig) -> None:
        """Check later scores of `config.name` against it, and store it (in the background)."""
        self.configs[config.name] = config
        self._submit_job(lambda storage: storage.store_score_config(config))

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until every queued score is written (or dropped); True when done in time."""
        if self._thread is None or threading.current_thread() is self._thread:
            return True
        self._wake.set()
        with self._idle:
            return self._idle.wait_for(
                lambda: not self._queue and not self._jobs and not self._busy, timeout
            )

    # -- the worker --------------------------------------------------------------------

    def _submit_job(self, job: Callable[[Any], Any]) -> None:
        self._jobs.append(job)
        self._start()
        self._wake.set()

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="myagent-scores", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while True:
                self._wake.wait(1.0)
                self._wake.clear()
                with self._idle:
                    self._busy += 1
                try:
                    self._drain(loop)
                finally:
                    with self._idle:
                        self._busy -= 1
                        self._idle.notify_all()
        finally:  # pragma: no cover - the daemon thread ends with the interpreter
            loop.close()

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        storage = self._manager.storage
        while self._jobs:
            job = self._jobs.popleft()
            try:
                loop.run_until_complete(job(storage))
            except Exception as exc:
                self._note("score config write", exc)
        while self._queue:
            with self._lock:
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
            try:
                batch = loop.run_until_complete(self._known(batch))
                redactor = self._manager.redactor if self._manager.config.redact else None
                loop.run_until_complete(
                    storage.store_scores([redact_score(s, redactor) for s in batch])
                )
                self.counts["written"] += len(batch)
            except Exception as exc:
                self.counts["dropped"] += len(batch)
                self._note("score write", exc)

    async def _known(self, batch: list[Score]) -> list[Score]:
        """The scores of `batch` whose trace runs here or is stored; the rest are counted."""
        manager = self._manager
        wanted = {s.trace_id for s in batch}
        known = {t for t in wanted if manager.get_active_trace(t) is not None}
        missing = wanted - known
        if missing:
            manager.flush()  # a trace just ended may still be queued (blocks this thread only)
            found = await manager.storage.query_summaries(
                TraceFilter(trace_ids=sorted(missing)), limit=len(missing)
            )
            known |= {s.trace_id for s in found}
        kept = [s for s in batch if s.trace_id in known]
        if len(kept) < len(batch):
            self.counts["unknown_trace"] += len(batch) - len(kept)
            self._note("score on an unknown trace", None)
        return kept

    def _note(self, where: str, exc: BaseException | None) -> None:
        if where in self._logged:
            return
        self._logged.add(where)
        detail = "" if exc is None else f" ({type(exc).__name__}: {exc})"
        logger.warning(
            "myagent scores: %s%s; counted in TraceManager.stats['scores'], logged once",
            where,
            detail,
        )

    @property
    def stats(self) -> dict[str, int]:
        return {**self.counts, "queued": len(self._queue)}


class ScoringMixin:
    """`TraceManager.score` and `define_score` (the manager holds a `ScoreRecorder`)."""

    _scores: ScoreRecorder

    def score(
        self,
        trace_id: str,
        name: str,
        value: ScoreValue | None,
        *,
        record_id: str | None = None,
        comment: str | None = None,
        source: str = "api",
        author: str | None = None,
        metadata: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> Score:
        """Score a trace (or its record `record_id`): a number, a boolean or a label
        (or, with value None, an `error` saying why there is none).

        Validated now (`ScoreError` on NaN, a label outside the score's categories...);
        redacted and stored in the background, never waiting on storage."""
        return self._scores.score(
            trace_id,
            name,
            value,
            run_id=record_id,
            comment=comment,
            source=source,
            author=author,
            metadata=metadata,
            error=error,
        )

    def define_score(self, config: ScoreConfig) -> None:
        """Declare what values score `config.name` takes (checked by `score`; stored)."""
        self._scores.define(config)
