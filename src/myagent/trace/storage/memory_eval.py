"""The evaluation rows of the in-memory storage: scores by trace, dataset item versions,
experiments and their runs, in dicts under one lock (mixed into InMemoryTraceStorage)."""

from __future__ import annotations

import math
import threading
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from myagent.trace.filters import TraceFilter
from myagent.trace.scores import Score, ScoreCondition, ScoreConfig
from myagent.trace.storage.eval_base import EvalStorage, ScoreBucket, run_row
from myagent.trace.storage.eval_rows import DatasetItem, ExperimentInfo
from myagent.trace.summary import TraceSummary


class InMemoryEvalStore(EvalStorage):
    """Scores, datasets and experiments kept in this process."""

    supports_eval = True
    _lock: threading.Lock

    def _eval_init(self) -> None:
        self._scores: dict[str, dict[str, Score]] = {}
        self._score_trace: dict[str, str] = {}
        self._score_configs: dict[str, ScoreConfig] = {}
        self._items: dict[tuple[str, str, int], DatasetItem] = {}
        self._experiments: dict[str, ExperimentInfo] = {}
        self._experiment_runs: dict[str, dict[str, str]] = {}
        self._queues: dict[str, dict[str, Any]] = {}

    # what the trace half supplies
    @abstractmethod  # supplied by the class this is mixed into
    async def query_traces_for_eval(self, filter: TraceFilter | None) -> list[TraceSummary]: ...

    def scores_pass(self, trace_id: str, conditions: Sequence[ScoreCondition]) -> bool:
        """Whether the scores of `trace_id` pass every condition."""
        scores = list(self._scores.get(trace_id, {}).values())
        return all(c.matches(scores) for c in conditions)

    def _drop_scores_of(self, trace_ids: Sequence[str]) -> None:
        for trace_id in trace_ids:
            for score_id in self._scores.pop(trace_id, {}):
                self._score_trace.pop(score_id, None)

    # -- scores ------------------------------------------------------------------------

    async def store_scores(self, scores: Sequence[Score]) -> None:
        with self._lock:
            for score in scores:
                old = self._score_trace.get(score.score_id)
                if old is not None:
                    self._scores.get(old, {}).pop(score.score_id, None)
                self._scores.setdefault(score.trace_id, {})[score.score_id] = replace(score)
                self._score_trace[score.score_id] = score.trace_id

    async def query_scores(
        self,
        *,
        trace_ids: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
        experiment_id: str | None = None,
        limit: int | None = 1000,
        offset: int = 0,
    ) -> list[Score]:
        with self._lock:
            if experiment_id is not None:
                ids = list(self._experiment_runs.get(experiment_id, {}).values())
                trace_ids = ids if trace_ids is None else [t for t in trace_ids if t in ids]
            keys = list(self._scores) if trace_ids is None else list(dict.fromkeys(trace_ids))
            found = [s for k in keys for s in self._scores.get(k, {}).values()]
        found = [
            replace(s)
            for s in found
            if (names is None or s.name in names) and (sources is None or s.source in sources)
        ]
        found.sort(key=lambda s: (s.created_us, s.score_id))
        end = None if limit is None else offset + limit
        return found[offset:end]

    async def count_scores(self, *, trace_ids: Sequence[str] | None = None) -> int:
        with self._lock:
            if trace_ids is None:
                return len(self._score_trace)
            return sum(len(self._scores.get(t, {})) for t in set(trace_ids))

    async def delete_scores(self, score_ids: Sequence[str]) -> int:
        deleted = 0
        with self._lock:
            for score_id in set(score_ids):
                trace_id = self._score_trace.pop(score_id, None)
                if trace_id is not None:
                    self._scores.get(trace_id, {}).pop(score_id, None)
                    deleted += 1
        return deleted

    async def score_names(self, limit: int = 200) -> list[str]:
        with self._lock:
            names = {s.name for by_id in self._scores.values() for s in by_id.values()}
        return sorted(names)[:limit]

    async def score_series(
        self, name: str, filter: TraceFilter | None = None, *, interval_us: int
    ) -> list[ScoreBucket]:
        sums: dict[int, list[float]] = {}
        for summary in await self.query_traces_for_eval(filter):
            values = [
                s.value
                for s in self._scores.get(summary.trace_id, {}).values()
                if s.name == name and s.value is not None
            ]
            if values:
                bucket = sums.setdefault(summary.start_us // interval_us * interval_us, [])
                bucket.extend(values)
        return [
            ScoreBucket(start, len(values), math.fsum(values) / len(values))
            for start, values in sorted(sums.items())
        ]

    async def store_score_config(self, config: ScoreConfig) -> None:
        with self._lock:
            self._score_configs[config.name] = replace(config)

    async def score_configs(self) -> list[ScoreConfig]:
        return [replace(c) for _, c in sorted(self._score_configs.items())]

    # -- datasets ----------------------------------------------------------------------

    async def store_dataset_items(self, items: Sequence[DatasetItem]) -> None:
        with self._lock:
            for item in items:
                self._items[(item.dataset, item.item_id, item.version)] = replace(item)

    async def dataset_items(
        self, dataset: str, *, item_id: str | None = None, history: bool = False
    ) -> list[DatasetItem]:
        with self._lock:
            rows = [
                replace(i)
                for (name, iid, _), i in self._items.items()
                if name == dataset and (item_id is None or iid == item_id)
            ]
        if history:
            return sorted(rows, key=lambda i: (i.created_us, i.item_id, i.version))
        latest: dict[str, DatasetItem] = {}
        first: dict[str, int] = {}
        for row in rows:
            if row.item_id not in latest or row.version > latest[row.item_id].version:
                latest[row.item_id] = row
            first[row.item_id] = min(first.get(row.item_id, row.created_us), row.created_us)
        live = [i for i in latest.values() if not i.deleted]
        return sorted(live, key=lambda i: (first[i.item_id], i.item_id))

    async def datasets(self) -> list[dict[str, Any]]:
        with self._lock:
            names = sorted({name for name, _, _ in self._items})
        out = []
        for name in names:
            versions = [i for (n, _, _), i in list(self._items.items()) if n == name]
            out.append(
                {
                    "name": name,
                    "items": len(await self.dataset_items(name)),
                    "versions": len(versions),
                    "updated_us": max(i.created_us for i in versions),
                }
            )
        return out

    # -- annotation queues -------------------------------------------------------------

    async def store_queue(self, queue: dict[str, Any]) -> None:
        with self._lock:
            self._queues[queue["name"]] = dict(queue)

    async def queues(self) -> list[dict[str, Any]]:
        return [dict(q) for _, q in sorted(self._queues.items())]

    async def delete_queue(self, name: str) -> int:
        with self._lock:
            return 0 if self._queues.pop(name, None) is None else 1

    # -- experiments -------------------------------------------------------------------

    async def store_experiment(self, info: ExperimentInfo) -> None:
        with self._lock:
            self._experiments[info.experiment_id] = replace(info)

    async def experiments(self, *, dataset: str | None = None) -> list[ExperimentInfo]:
        found = [
            replace(e)
            for e in list(self._experiments.values())
            if dataset is None or e.dataset == dataset
        ]
        return sorted(found, key=lambda e: (e.created_us, e.experiment_id), reverse=True)

    async def store_experiment_runs(
        self, experiment_id: str, runs: Sequence[tuple[str, str]]
    ) -> None:
        with self._lock:
            self._experiment_runs.setdefault(experiment_id, {}).update(dict(runs))

    async def experiment_runs(self, experiment_id: str) -> list[dict[str, Any]]:
        pairs = list(self._experiment_runs.get(experiment_id, {}).items())
        found = (
            {
                s.trace_id: s.to_dict()
                for s in await self.query_traces_for_eval(
                    TraceFilter(trace_ids=[t for _, t in pairs])
                )
            }
            if pairs
            else {}
        )
        return [run_row(item_id, trace_id, found.get(trace_id)) for item_id, trace_id in pairs]
