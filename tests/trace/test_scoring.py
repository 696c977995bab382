"""`TraceManager.score`: validated at once, redacted and stored off the caller's path."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from myagent.trace import InMemoryTraceStorage, SQLiteTraceStorage, TraceManager
from myagent.trace.scores import Score, ScoreConfig, ScoreError

OPENAI_KEY = "sk-proj-CANARYabcdefghijklmnopqrstuvwxyz0123"


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[TraceManager]:
    m = TraceManager(SQLiteTraceStorage(tmp_path / "t.db"))
    yield m
    m.close()


def _finished(manager: TraceManager) -> str:
    trace_id = manager.start_trace("agent", "hello")
    manager.end_trace(trace_id, output="hi")
    return trace_id


def test_score_a_trace_and_a_record(manager: TraceManager) -> None:
    with manager.trace("t") as trace:
        with manager.run("step", run_type="step") as run:
            pass
    score = manager.score(trace.trace_id, "helpfulness", 0.9, comment="good answer")
    assert (score.data_type, score.value, score.source) == ("numeric", 0.9, "api")
    manager.score(trace.trace_id, "tool_ok", True, record_id=run.run_id)
    assert manager.flush()
    stored = asyncio.run(manager.storage.query_scores(trace_ids=[trace.trace_id]))
    assert [(s.name, s.display, s.run_id, s.comment) for s in stored] == [
        ("helpfulness", 0.9, None, "good answer"),
        ("tool_ok", True, run.run_id, None),
    ]
    assert manager.stats["scores"]["written"] == 2


def test_a_running_trace_can_be_scored(manager: TraceManager) -> None:
    trace_id = manager.start_trace("agent", "hello")
    manager.score(trace_id, "early", 1)
    assert manager.flush()
    manager.end_trace(trace_id)
    assert manager.flush()
    assert asyncio.run(manager.storage.count_scores(trace_ids=[trace_id])) == 1


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_refused(manager: TraceManager, bad: float) -> None:
    trace_id = _finished(manager)
    with pytest.raises(ScoreError, match="finite"):
        manager.score(trace_id, "x", bad)
    assert manager.stats["scores"]["submitted"] == 0


def test_bad_names_types_and_sources_are_refused(manager: TraceManager) -> None:
    trace_id = _finished(manager)
    for name in ["", " lead", "x" * 101, "a\nb"]:
        with pytest.raises(ScoreError, match="score name"):
            manager.score(trace_id, name, 1)
    with pytest.raises(ScoreError, match="number, a boolean or a label"):
        manager.score(trace_id, "x", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(ScoreError, match="source"):
        manager.score(trace_id, "x", 1, source="robot")


def test_label_outside_a_categorical_score_is_refused(manager: TraceManager) -> None:
    trace_id = _finished(manager)
    manager.define_score(
        ScoreConfig(name="verdict", data_type="categorical", categories=["good", "bad"])
    )
    manager.score(trace_id, "verdict", "good")
    with pytest.raises(ScoreError, match="not one of"):
        manager.score(trace_id, "verdict", "meh")
    with pytest.raises(ScoreError, match="is categorical"):
        manager.score(trace_id, "verdict", 0.5)
    manager.define_score(ScoreConfig(name="stars", min_value=1, max_value=5))
    with pytest.raises(ScoreError, match="above its maximum"):
        manager.score(trace_id, "stars", 6)
    assert manager.flush()
    configs = asyncio.run(manager.storage.score_configs())
    assert [c.name for c in configs] == ["stars", "verdict"]


def test_unknown_trace_is_dropped_and_counted(manager: TraceManager) -> None:
    known = _finished(manager)
    manager.score("0" * 32, "x", 1)
    manager.score(known, "x", 1)
    assert manager.flush()
    stats = manager.stats["scores"]
    assert (stats["unknown_trace"], stats["written"]) == (1, 1)
    assert asyncio.run(manager.storage.count_scores()) == 1


def test_secrets_in_comments_are_redacted(manager: TraceManager) -> None:
    trace_id = _finished(manager)
    manager.score(trace_id, "x", 1, comment=f"key {OPENAI_KEY}", metadata={"api_key": "abc"})
    assert manager.flush()
    [stored] = asyncio.run(manager.storage.query_scores(trace_ids=[trace_id]))
    assert OPENAI_KEY not in (stored.comment or "") and "[REDACTED]" in (stored.comment or "")
    assert stored.metadata == {"api_key": "[REDACTED]"}


class _Stuck(InMemoryTraceStorage):
    """Storage whose score writes wait until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    async def store_scores(self, scores: Sequence[Score]) -> None:
        self.entered.set()
        await asyncio.to_thread(self.release.wait, 10)
        await super().store_scores(scores)


def test_scoring_never_waits_on_storage() -> None:
    storage = _Stuck()
    manager = TraceManager(storage)
    trace_id = manager.start_trace("a")
    manager.score(trace_id, "first", 1)
    assert storage.entered.wait(5)  # the worker is now stuck in storage...
    for i in range(100):  # ...and the caller goes on regardless
        manager.score(trace_id, "more", i)
    assert manager.stats["scores"]["submitted"] == 101
    storage.release.set()
    manager.end_trace(trace_id)
    assert manager.flush()
    assert asyncio.run(storage.count_scores()) == 101
    manager.close()


def test_a_full_queue_drops_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    from myagent.trace import scoring

    monkeypatch.setattr(scoring, "QUEUE_SIZE", 5)
    storage = _Stuck()
    manager = TraceManager(storage)
    trace_id = manager.start_trace("a")
    manager.score(trace_id, "first", 1)
    assert storage.entered.wait(5)  # the worker holds the first score; the queue fills
    for i in range(8):
        manager.score(trace_id, "more", i)
    stats = manager.stats["scores"]
    assert (stats["submitted"], stats["dropped"], stats["queued"]) == (6, 3, 5)
    storage.release.set()
    manager.end_trace(trace_id)
    assert manager.flush()
    assert asyncio.run(storage.count_scores()) == 6
    manager.close()
