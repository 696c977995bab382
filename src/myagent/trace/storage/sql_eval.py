"""The evaluation rows of the SQL backends (SQLite, PostgreSQL): scores, score configs,
dataset item versions, experiments and their runs; one schema and one set of queries,
with the dialect's placeholder and column types filled in.

Scores are filtered on (trace_id, name, value), listed per trace, averaged per trace
start interval; the plain JSON of each row sits in TEXT columns on both databases.
"""

from __future__ import annotations

import asyncio
import math
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from myagent.trace.filters import TraceFilter
from myagent.trace.scores import Score, ScoreConfig
from myagent.trace.storage.eval_base import (
    EXPERIMENT_RUN_KEYS,
    EvalStorage,
    ScoreBucket,
    ScoreRow,
)
from myagent.trace.storage.eval_rows import DatasetItem, ExperimentInfo
from myagent.trace.storage.sql_filters import Dialect

_SCHEMA = """
CREATE TABLE scores (
    score_id {id} PRIMARY KEY,
    trace_id {id} NOT NULL,
    run_id TEXT,
    name {id} NOT NULL,
    data_type TEXT NOT NULL,
    value {real},
    label TEXT,
    comment TEXT,
    source TEXT NOT NULL,
    author TEXT,
    error TEXT,
    metadata TEXT NOT NULL DEFAULT '{{}}',
    created_us {big} NOT NULL
);
CREATE INDEX ix_scores_trace ON scores (
    trace_id, name, value, source, run_id, created_us, data_type
);
CREATE INDEX ix_scores_name ON scores (name, value);
CREATE TABLE score_configs (name {id} PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE dataset_items (
    dataset {id} NOT NULL,
    item_id {id} NOT NULL,
    version INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_us {big} NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (dataset, item_id, version)
);
CREATE TABLE experiments (
    experiment_id {id} PRIMARY KEY,
    dataset {id} NOT NULL,
    created_us {big} NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX ix_experiments_dataset ON experiments (dataset, created_us);
CREATE TABLE experiment_runs (
    experiment_id {id} NOT NULL,
    item_id {id} NOT NULL,
    trace_id {id} NOT NULL,
    PRIMARY KEY (experiment_id, item_id)
);
CREATE TABLE annotation_queues (name {id} PRIMARY KEY, data TEXT NOT NULL)
"""


def eval_schema(*, real: str, big: str, id_type: str) -> str:
    """The evaluation tables (one migration) in a dialect's column types."""
    return _SCHEMA.format(real=real, big=big, id=id_type)


_SCORE_COLUMNS = (
    "score_id",
    "trace_id",
    "run_id",
    "name",
    "data_type",
    "value",
    "label",
    "comment",
    "source",
    "author",
    "error",
    "metadata",
    "created_us",
)


def _score_row(score: Score) -> tuple[Any, ...]:
    return (
        score.score_id,
        score.trace_id,
        score.run_id,
        score.name,
        score.data_type,
        score.value,
        score.label,
        score.comment,
        score.source,
        score.author,
        score.error,
        orjson.dumps(score.metadata, default=str).decode(),
        score.created_us,
    )


def _score_of(row: Sequence[Any]) -> Score:
    data = dict(zip(_SCORE_COLUMNS, row, strict=True))
    data["metadata"] = orjson.loads(data["metadata"])
    data["value"] = None if data["value"] is None else float(data["value"])
    return Score.from_dict(data)


def _dump(data: dict[str, Any]) -> str:
    return orjson.dumps(data, default=str).decode()


class SQLEvalStore(EvalStorage):
    """Scores, datasets and experiments in SQL (mixed into the SQL backends)."""

    supports_eval = True
    dialect: ClassVar[Dialect]

    @abstractmethod
    def _read(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        """All rows of one query."""

    @abstractmethod
    def _write_rows(self, statements: Sequence[tuple[str, Sequence[tuple[Any, ...]]]]) -> None:
        """Run each (statement, rows) with executemany, all in one transaction."""

    @abstractmethod
    def _trace_where(self, f: TraceFilter | None) -> tuple[str, list[Any]]:
        """The WHERE clause of a trace filter over `traces`."""

    def _sql(self, text: str) -> str:
        """`text` written with `?` placeholders in this dialect's."""
        mark = self.dialect.mark
        return text if mark == "?" else text.replace("?", mark)

    def _upsert(self, table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        return self._sql(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        )

    def _in(self, column: str, values: Sequence[Any], params: list[Any]) -> str:
        return self.dialect.in_list(column, list(values), params)

    # -- scores ------------------------------------------------------------------------

    def store_scores_sync(self, scores: Sequence[Score]) -> None:
        """Insert scores, replacing rows of the same id (sync)."""
        sql = self._upsert("scores", _SCORE_COLUMNS, ["score_id"])
        self._write_rows([(sql, [_score_row(s) for s in scores])])

    def query_scores_sync(
        self,
        *,
        trace_ids: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
        experiment_id: str | None = None,
        limit: int | None = 1000,
        offset: int = 0,
    ) -> list[Score]:
        """Scores oldest first (sync; see `EvalStorage.query_scores`)."""
        params: list[Any] = []
        where = ["1 = 1"]
        if trace_ids is not None:
            where.append(self._in("trace_id", trace_ids, params))
        if names is not None:
            where.append(self._in("name", names, params))
        if sources is not None:
            where.append(self._in("source", sources, params))
        if experiment_id is not None:
            where.append(
                "trace_id IN (SELECT trace_id FROM experiment_runs WHERE experiment_id = ?)"
            )
            params.append(experiment_id)
        sql = (
            f"SELECT {', '.join(_SCORE_COLUMNS)} FROM scores WHERE {' AND '.join(where)} "
            "ORDER BY created_us, score_id"
        )
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            params += [self.dialect.no_limit if limit is None else limit, offset]
        return [_score_of(row) for row in self._read(self._sql(sql), params)]

    def _count(self, where: str, params: list[Any]) -> int:
        rows = self._read(self._sql(f"SELECT COUNT(*) FROM scores WHERE {where}"), params)
        return int(rows[0][0])

    def count_scores_sync(self, *, trace_ids: Sequence[str] | None = None) -> int:
        params: list[Any] = []
        where = "1 = 1" if trace_ids is None else self._in("trace_id", trace_ids, params)
        return self._count(where, params)

    def delete_scores_sync(self, score_ids: Sequence[str]) -> int:
        if not score_ids:
            return 0
        params: list[Any] = []
        where = self._in("score_id", score_ids, params)
        before = self._count(where, params)
        self._write_rows([(self._sql(f"DELETE FROM scores WHERE {where}"), [tuple(params)])])
        return before

    def score_names_sync(self, limit: int = 200) -> list[str]:
        sql = self._sql("SELECT DISTINCT name FROM scores ORDER BY name LIMIT ?")
        rows = self._read(sql, [limit])
        return [r[0] for r in rows]

    def score_series_sync(
        self, name: str, filter: TraceFilter | None = None, *, interval_us: int
    ) -> list[ScoreBucket]:
        where, params = self._trace_where(filter)
        mark = self.dialect.mark
        rows = self._read(
            f"SELECT t.start_us / {mark} * {mark} AS bucket, COUNT(s.value), SUM(s.value) "
            f"FROM (SELECT trace_id, start_us FROM traces WHERE {where}) t "
            f"JOIN scores s ON s.trace_id = t.trace_id "
            f"WHERE s.name = {mark} AND s.value IS NOT NULL GROUP BY 1 ORDER BY 1",
            [interval_us, interval_us, *params, name],
        )
        return [
            ScoreBucket(int(r[0]), int(r[1]), float(r[2]) / int(r[1]))
            for r in rows
            if r[1] and math.isfinite(float(r[2]))
        ]

    def store_score_config_sync(self, config: ScoreConfig) -> None:
        sql = self._upsert("score_configs", ("name", "data"), ["name"])
        self._write_rows([(sql, [(config.name, _dump(config.to_dict()))])])

    def score_configs_sync(self) -> list[ScoreConfig]:
        rows = self._read("SELECT data FROM score_configs ORDER BY name")
        return [ScoreConfig.from_dict(orjson.loads(r[0])) for r in rows]

    # -- datasets ----------------------------------------------------------------------

    def store_dataset_items_sync(self, items: Sequence[DatasetItem]) -> None:
        columns = ("dataset", "item_id", "version", "deleted", "created_us", "data")
        sql = self._upsert("dataset_items", columns, ["dataset", "item_id", "version"])
        rows = [
            (i.dataset, i.item_id, i.version, int(i.deleted), i.created_us, _dump(i.to_dict()))
            for i in items
        ]
        self._write_rows([(sql, rows)])

    def dataset_items_sync(
        self, dataset: str, *, item_id: str | None = None, history: bool = False
    ) -> list[DatasetItem]:
        params: list[Any] = [dataset]
        where = "dataset = ?"
        if item_id is not None:
            where += " AND item_id = ?"
            params.append(item_id)
        if history:
            sql = (
                f"SELECT data FROM dataset_items WHERE {where} "
                "ORDER BY created_us, item_id, version"
            )
        else:
            sql = (
                "SELECT d.data FROM dataset_items d JOIN ("
                "SELECT item_id, MAX(version) AS v, MIN(created_us) AS first "
                f"FROM dataset_items WHERE {where} GROUP BY item_id) m "
                "ON d.item_id = m.item_id AND d.version = m.v "
                "WHERE d.dataset = ? AND d.deleted = 0 ORDER BY m.first, d.item_id"
            )
            params.append(dataset)
        rows = self._read(self._sql(sql), params)
        return [DatasetItem.from_dict(orjson.loads(r[0])) for r in rows]

    def datasets_sync(self) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT dataset, COUNT(*), COUNT(DISTINCT item_id), MAX(created_us) "
            "FROM dataset_items GROUP BY dataset ORDER BY dataset"
        )
        out = []
        for name, versions, _, updated in rows:
            out.append(
                {
                    "name": name,
                    "items": len(self.dataset_items_sync(name)),
                    "versions": int(versions),
                    "updated_us": int(updated),
                }
            )
        return out

    def store_queue_sync(self, queue: dict[str, Any]) -> None:
        sql = self._upsert("annotation_queues", ("name", "data"), ["name"])
        self._write_rows([(sql, [(queue["name"], _dump(queue))])])

    def queues_sync(self) -> list[dict[str, Any]]:
        rows = self._read("SELECT data FROM annotation_queues ORDER BY name")
        return [orjson.loads(r[0]) for r in rows]

    def delete_queue_sync(self, name: str) -> int:
        found = len(self._read(self._sql("SELECT 1 FROM annotation_queues WHERE name = ?"), [name]))
        self._write_rows([(self._sql("DELETE FROM annotation_queues WHERE name = ?"), [(name,)])])
        return found

    # -- experiments -------------------------------------------------------------------

    def store_experiment_sync(self, info: ExperimentInfo) -> None:
        columns = ("experiment_id", "dataset", "created_us", "data")
        sql = self._upsert("experiments", columns, ["experiment_id"])
        row = (info.experiment_id, info.dataset, info.created_us, _dump(info.to_dict()))
        self._write_rows([(sql, [row])])

    def experiments_sync(self, *, dataset: str | None = None) -> list[ExperimentInfo]:
        where, params = ("1 = 1", []) if dataset is None else ("dataset = ?", [dataset])
        rows = self._read(
            self._sql(
                f"SELECT data FROM experiments WHERE {where} "
                "ORDER BY created_us DESC, experiment_id DESC"
            ),
            params,
        )
        return [ExperimentInfo.from_dict(orjson.loads(r[0])) for r in rows]

    def store_experiment_runs_sync(
        self, experiment_id: str, runs: Sequence[tuple[str, str]]
    ) -> None:
        columns = ("experiment_id", "item_id", "trace_id")
        sql = self._upsert("experiment_runs", columns, ["experiment_id", "item_id"])
        self._write_rows([(sql, [(experiment_id, item, trace) for item, trace in runs])])

    def experiment_runs_sync(self, experiment_id: str) -> list[dict[str, Any]]:
        rows = self._read(
            self._sql(
                "SELECT e.item_id, e.trace_id, t.status, t.duration, t.tokens_used, t.cost_usd, "
                "t.output_preview, t.has_errors, t.input_preview FROM experiment_runs e "
                "LEFT JOIN traces t ON t.trace_id = e.trace_id WHERE e.experiment_id = ? "
                "ORDER BY e.item_id"
            ),
            [experiment_id],
        )
        out = []
        for row in rows:
            data = dict(zip(EXPERIMENT_RUN_KEYS, row, strict=True))
            if data["cost_usd"] is not None:
                data["cost_usd"] = float(data["cost_usd"])
            if data["has_errors"] is not None:
                data["has_errors"] = bool(data["has_errors"])
            out.append(data)
        return out

    def experiment_scores_sync(self, experiment_id: str) -> list[ScoreRow]:
        """An experiment's trace-level scores, read from the covering index (sync); the
        few with a label or an error message get those from a second, narrow query."""
        runs = (
            "FROM experiment_runs e JOIN scores s ON s.trace_id = e.trace_id "
            "WHERE e.experiment_id = ? AND s.run_id IS NULL"
        )
        rows = self._read(
            self._sql(f"SELECT s.trace_id, s.name, s.value, s.source, s.created_us {runs}"),
            [experiment_id],
        )
        texts = {
            (r[0], r[1], r[2]): (r[3], r[4])
            for r in self._read(
                self._sql(
                    f"SELECT s.trace_id, s.name, s.created_us, s.label, s.error {runs} "
                    "AND s.data_type IN ('categorical', 'error')"
                ),
                [experiment_id],
            )
        }
        out = []
        for trace_id, name, value, source, created in rows:
            label, error = texts.get((trace_id, name, created), (None, None))
            number = None if value is None else float(value)
            out.append(ScoreRow(trace_id, name, number, source, int(created), label, error))
        return out

    # -- the async face ----------------------------------------------------------------

    async def store_scores(self, scores: Sequence[Score]) -> None:
        await asyncio.to_thread(self.store_scores_sync, scores)

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
        return await asyncio.to_thread(
            self.query_scores_sync,
            trace_ids=trace_ids,
            names=names,
            sources=sources,
            experiment_id=experiment_id,
            limit=limit,
            offset=offset,
        )

    async def count_scores(self, *, trace_ids: Sequence[str] | None = None) -> int:
        return await asyncio.to_thread(self.count_scores_sync, trace_ids=trace_ids)

    async def delete_scores(self, score_ids: Sequence[str]) -> int:
        return await asyncio.to_thread(self.delete_scores_sync, score_ids)

    async def score_names(self, limit: int = 200) -> list[str]:
        return await asyncio.to_thread(self.score_names_sync, limit)

    async def score_series(
        self, name: str, filter: TraceFilter | None = None, *, interval_us: int
    ) -> list[ScoreBucket]:
        return await asyncio.to_thread(
            self.score_series_sync, name, filter, interval_us=interval_us
        )

    async def store_score_config(self, config: ScoreConfig) -> None:
        await asyncio.to_thread(self.store_score_config_sync, config)

    async def score_configs(self) -> list[ScoreConfig]:
        return await asyncio.to_thread(self.score_configs_sync)

    async def store_dataset_items(self, items: Sequence[DatasetItem]) -> None:
        await asyncio.to_thread(self.store_dataset_items_sync, items)

    async def dataset_items(
        self, dataset: str, *, item_id: str | None = None, history: bool = False
    ) -> list[DatasetItem]:
        return await asyncio.to_thread(
            self.dataset_items_sync, dataset, item_id=item_id, history=history
        )

    async def datasets(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.datasets_sync)

    async def store_queue(self, queue: dict[str, Any]) -> None:
        await asyncio.to_thread(self.store_queue_sync, queue)

    async def queues(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.queues_sync)

    async def delete_queue(self, name: str) -> int:
        return await asyncio.to_thread(self.delete_queue_sync, name)

    async def store_experiment(self, info: ExperimentInfo) -> None:
        await asyncio.to_thread(self.store_experiment_sync, info)

    async def experiments(self, *, dataset: str | None = None) -> list[ExperimentInfo]:
        return await asyncio.to_thread(self.experiments_sync, dataset=dataset)

    async def store_experiment_runs(
        self, experiment_id: str, runs: Sequence[tuple[str, str]]
    ) -> None:
        await asyncio.to_thread(self.store_experiment_runs_sync, experiment_id, runs)

    async def experiment_runs(self, experiment_id: str) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.experiment_runs_sync, experiment_id)

    async def experiment_scores(self, experiment_id: str) -> list[ScoreRow]:
        return await asyncio.to_thread(self.experiment_scores_sync, experiment_id)
