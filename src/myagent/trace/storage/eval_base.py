"""The optional evaluation part of the storage interface: scores, score configs, dataset
item versions, experiments and their runs, as plain rows (see `scores`, `eval_rows`).

Every method has a default, so a write-only backend needs none of them: reads return
nothing and writes raise `NotImplementedError` naming the backend. The memory, SQLite
and PostgreSQL backends implement them all (one contract suite checks the three).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from myagent.trace.filters import TraceFilter
from myagent.trace.scores import Score, ScoreConfig
from myagent.trace.storage.eval_rows import DatasetItem, ExperimentInfo


@dataclass(slots=True, frozen=True)
class ScoreBucket:
    """Scores of one name on the traces started in one interval: how many, their mean."""

    start_us: int
    count: int
    mean: float

    def to_dict(self) -> dict[str, Any]:
        return {"start_us": self.start_us, "count": self.count, "mean": self.mean}


class ScoreRow(NamedTuple):
    """The parts of a trace-level score an experiment's figures need (see
    `EvalStorage.experiment_scores`)."""

    trace_id: str
    name: str
    value: float | None
    source: str
    created_us: int
    label: str | None
    error: str | None


EXPERIMENT_RUN_KEYS = (
    "item_id",
    "trace_id",
    "status",
    "duration",
    "tokens_used",
    "cost_usd",
    "output_preview",
    "has_errors",
    "input_preview",
)
"""What `experiment_runs` returns per item: the run's trace roll-ups (None until written)."""


class EvalStorage:
    """Defaults of the evaluation methods (mixed into `TraceStorage`)."""

    supports_eval: bool = False
    """True when this backend keeps scores, datasets and experiments."""

    def _no_eval(self) -> NotImplementedError:
        name = type(self).__name__
        return NotImplementedError(f"{name} keeps no scores, datasets or experiments")

    # -- scores ------------------------------------------------------------------------

    async def store_scores(self, scores: Sequence[Score]) -> None:
        """Insert scores (a score id written again replaces its row)."""
        raise self._no_eval()

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
        """Scores oldest first: of these traces, names, sources, or of the runs of one
        experiment (every set argument must hold)."""
        return []

    async def count_scores(self, *, trace_ids: Sequence[str] | None = None) -> int:
        """How many scores (of these traces)."""
        return len(await self.query_scores(trace_ids=trace_ids, limit=None))

    async def delete_scores(self, score_ids: Sequence[str]) -> int:
        """Delete scores by id; returns how many existed."""
        return 0

    async def score_names(self, limit: int = 200) -> list[str]:
        """Distinct score names, sorted."""
        return []

    async def score_series(
        self, name: str, filter: TraceFilter | None = None, *, interval_us: int
    ) -> list[ScoreBucket]:
        """Mean of score `name` (numbers and booleans) per epoch-aligned interval of the
        start times of the traces matching `filter`; non-empty buckets only."""
        return []

    async def store_score_config(self, config: ScoreConfig) -> None:
        """Upsert what values a score name takes."""
        raise self._no_eval()

    async def score_configs(self) -> list[ScoreConfig]:
        """Every score config, by name."""
        return []

    # -- datasets ----------------------------------------------------------------------

    async def store_dataset_items(self, items: Sequence[DatasetItem]) -> None:
        """Insert item versions (a (dataset, item, version) written again replaces it)."""
        raise self._no_eval()

    async def dataset_items(
        self, dataset: str, *, item_id: str | None = None, history: bool = False
    ) -> list[DatasetItem]:
        """The latest version of each live item, oldest item first; with `history`, every
        version (deleted ones too), oldest first."""
        return []

    async def datasets(self) -> list[dict[str, Any]]:
        """Datasets by name: name, items (live), versions (rows), updated_us."""
        return []

    # -- annotation queues -------------------------------------------------------------

    async def store_queue(self, queue: dict[str, Any]) -> None:
        """Upsert an annotation queue: plain JSON data with at least `name` and `filter`."""
        raise self._no_eval()

    async def queues(self) -> list[dict[str, Any]]:
        """Every annotation queue, by name."""
        return []

    async def delete_queue(self, name: str) -> int:
        """Delete a queue; returns how many existed."""
        return 0

    # -- experiments -------------------------------------------------------------------

    async def store_experiment(self, info: ExperimentInfo) -> None:
        """Upsert an experiment's description and status."""
        raise self._no_eval()

    async def experiments(self, *, dataset: str | None = None) -> list[ExperimentInfo]:
        """Experiments, newest first (of one dataset when given)."""
        return []

    async def store_experiment_runs(
        self, experiment_id: str, runs: Sequence[tuple[str, str]]
    ) -> None:
        """Record (item_id, trace_id) pairs: which trace ran which item (upsert by item)."""
        raise self._no_eval()

    async def experiment_runs(self, experiment_id: str) -> list[dict[str, Any]]:
        """Per item of an experiment: `EXPERIMENT_RUN_KEYS`, from the run's trace row."""
        return []

    async def experiment_scores(self, experiment_id: str) -> list[ScoreRow]:
        """The trace-level scores of an experiment's runs, slim, in no particular order."""
        scores = await self.query_scores(experiment_id=experiment_id, limit=None)
        return [
            ScoreRow(s.trace_id, s.name, s.value, s.source, s.created_us, s.label, s.error)
            for s in scores
            if s.run_id is None
        ]


def run_row(item_id: str, trace_id: str, summary: dict[str, Any] | None) -> dict[str, Any]:
    """An `experiment_runs` row from a trace's roll-ups (None when not stored yet)."""
    s = summary or {}
    return {
        "item_id": item_id,
        "trace_id": trace_id,
        "status": s.get("status"),
        "duration": s.get("duration"),
        "tokens_used": s.get("tokens_used"),
        "cost_usd": s.get("cost_usd"),
        "output_preview": s.get("output_preview"),
        "has_errors": s.get("has_errors"),
        "input_preview": s.get("input_preview"),
    }
