"""`run_experiment`: run an agent over every item of a dataset, score each run.

Each item gets a fresh agent from the factory; its run is a normal trace, tagged
`experiment:<id>` with `experiment_id`, `item_id` and `dataset` in its metadata. The
evaluators then score that trace (`source="eval"`), each under its own timeout: one that
raises or hangs records an error score and the rest go on. Which trace ran which item is
stored as it finishes, so an interrupted experiment (Ctrl-C) resumes where it stopped
when run again with the same id.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from myagent.eval.datasets import Dataset
from myagent.eval.evaluators import EvalResult, call_evaluator
from myagent.trace.baggage import trace_attributes
from myagent.trace.eval_stats import experiment_items, summarize
from myagent.trace.ids import now_us
from myagent.trace.manager import TraceManager
from myagent.trace.records import Trace
from myagent.trace.scores import ScoreError
from myagent.trace.setup import get_trace_manager
from myagent.trace.storage.eval_rows import DatasetItem, ExperimentInfo

logger = logging.getLogger("myagent.eval")

AgentFactory = Callable[[], Any]
"""Returns (or awaits to) an object with `async run(text) -> str`."""
Progress = Callable[[int, int], None]
"""Called with (items done, items in all) after each item."""


@dataclass(slots=True)
class ExperimentResult:
    """What an experiment produced: its id, figures and per-item rows (as stored)."""

    experiment_id: str
    name: str
    dataset: str
    status: str
    summary: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)

    def mean(self, score: str) -> float | None:
        """The mean of one score over the experiment's items (None when never given)."""
        found = self.summary["scores"].get(score)
        return None if found is None else found["mean"]


def _agent_input(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value, default=str).decode()


class _Experiment:
    """One experiment's run: the items left to do, and how to do one."""

    def __init__(
        self,
        info: ExperimentInfo,
        factory: AgentFactory,
        evaluators: Sequence[Any],
        manager: TraceManager,
    ) -> None:
        self.info, self.factory, self.evaluators, self.manager = info, factory, evaluators, manager

    async def run_item(self, item: DatasetItem) -> None:
        """Run the agent on one item, score its trace, note which trace it was."""
        info = self.info
        metadata = {
            "experiment_id": info.experiment_id,
            "item_id": item.item_id,
            "item_version": item.version,
            "dataset": info.dataset,
        }
        with trace_attributes(
            tags=[f"experiment:{info.experiment_id}"], metadata=metadata
        ) as opened:
            output: Any = None
            error: BaseException | None = None
            try:
                agent = self.factory()
                if inspect.isawaitable(agent):
                    agent = await agent
                output = await agent.run(_agent_input(item.input))
            except Exception as exc:  # a failing run is a result, not the end of the experiment
                error = exc
            trace = opened[0] if opened else self._untraced(item, output, error)
        if trace.end_us is None:  # the agent left its trace open: close it now
            self.manager.end_trace(trace, output=output, error=error)
        await asyncio.gather(*(self._evaluate(ev, item, trace) for ev in self.evaluators))
        await self.manager.storage.store_experiment_runs(
            info.experiment_id, [(item.item_id, trace.trace_id)]
        )

    def _untraced(self, item: DatasetItem, output: Any, error: BaseException | None) -> Trace:
        """A trace for a run that opened none (an agent without tracing)."""
        trace_id = self.manager.start_trace(name="experiment run", input_data=item.input)
        return self.manager.end_trace(trace_id, output=output, error=error)

    async def _evaluate(self, ev: Any, item: DatasetItem, trace: Trace) -> None:
        name = getattr(ev, "name", "evaluator")
        timeout = getattr(ev, "timeout", None)
        meta = {"experiment_id": self.info.experiment_id, "item_id": item.item_id}
        try:
            result = await asyncio.wait_for(call_evaluator(ev, item, trace), timeout)
            if not isinstance(result, EvalResult):
                result = EvalResult(result)
            self.manager.score(
                trace.trace_id,
                name,
                result.value,
                comment=result.comment,
                source="eval",
                metadata={**meta, **result.metadata},
            )
        except (TimeoutError, Exception) as exc:
            message = (
                f"timed out after {timeout} s"
                if isinstance(exc, TimeoutError)
                else f"{type(exc).__name__}: {exc}"
            )
            try:
                self.manager.score(
                    trace.trace_id, name, None, source="eval", error=message, metadata=meta
                )
            except ScoreError:  # a bad evaluator name: nothing can be stored under it
                logger.warning("evaluator %r gave no storable score: %s", name, message)


async def _items_of(
    dataset: Dataset | str | Sequence[DatasetItem], manager: TraceManager
) -> tuple[str, list[DatasetItem]]:
    if isinstance(dataset, str):
        dataset = Dataset(dataset, manager=manager)
    if isinstance(dataset, Dataset):
        return dataset.name, await dataset.items()
    items = list(dataset)
    return (items[0].dataset if items else "inline"), items


async def run_experiment(
    dataset: Dataset | str | Sequence[DatasetItem],
    agent_factory: AgentFactory,
    evaluators: Sequence[Any] = (),
    *,
    name: str | None = None,
    experiment_id: str | None = None,
    concurrency: int = 8,
    manager: TraceManager | None = None,
    progress: Progress | None = None,
    metadata: dict[str, Any] | None = None,
) -> ExperimentResult:
    """Run `agent_factory()`'s agent over every item of `dataset` (a Dataset, a dataset
    name, or items), `concurrency` at a time, scoring each run with `evaluators`.

    Give the `experiment_id` of an interrupted experiment to resume it: items it already
    ran are skipped. Cancelling (Ctrl-C) stops cleanly: runs in flight are abandoned,
    the experiment is marked `interrupted`, everything finished is stored.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    manager = manager or get_trace_manager()
    storage = manager.storage
    dataset_name, items = await _items_of(dataset, manager)
    known = {e.experiment_id: e for e in await storage.experiments(dataset=dataset_name)}
    if experiment_id is not None and experiment_id in known:
        info = known[experiment_id]
        info.status = "running"
    else:
        experiment_id = experiment_id or f"exp-{now_us():x}"
        info = ExperimentInfo(
            experiment_id=experiment_id,
            name=name or experiment_id,
            dataset=dataset_name,
            metadata={
                **(metadata or {}),
                "evaluators": [getattr(e, "name", repr(e)) for e in evaluators],
                "concurrency": concurrency,
            },
        )
    await storage.store_experiment(info)
    done = {r["item_id"] for r in await storage.experiment_runs(info.experiment_id)}
    todo = [i for i in items if i.item_id not in done]
    experiment = _Experiment(info, agent_factory, evaluators, manager)
    finished = len(items) - len(todo)
    if progress is not None:
        progress(finished, len(items))
    queue: asyncio.Queue[DatasetItem] = asyncio.Queue()
    for item in todo:
        queue.put_nowait(item)

    async def worker() -> None:
        nonlocal finished
        while not queue.empty():
            await experiment.run_item(queue.get_nowait())
            finished += 1
            if progress is not None:
                progress(finished, len(items))

    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(todo)) or 1)))
        info.status = "finished"
    except BaseException:
        info.status = "interrupted"
        raise
    finally:
        info.finished_us = now_us()
        await _settle(manager, info)  # a first Ctrl-C was delivered above: this completes
    rows = await experiment_items(storage, info.experiment_id)
    return ExperimentResult(
        info.experiment_id, info.name, info.dataset, info.status, summarize(rows), rows
    )


async def _settle(manager: TraceManager, info: ExperimentInfo) -> None:
    """Flush the runs' traces and scores, then store the experiment's final status."""
    await asyncio.to_thread(manager.flush, 30.0)
    await manager.storage.store_experiment(info)
