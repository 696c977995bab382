"""Plain rows the storage keeps for evaluation: dataset item versions and experiments.

Storage knows only these plain records; `myagent.eval` gives them meaning (datasets,
experiments, evaluators). Every edit of a dataset item is a new row with the next
version, so history is never lost; a deletion is a version marked `deleted`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from myagent.trace.ids import new_run_id, now_us

if TYPE_CHECKING:
    from myagent.trace.redaction import Redactor
    from myagent.trace.storage.eval_base import EvalStorage


@dataclass(slots=True, kw_only=True)
class DatasetItem:
    """One version of one item of a dataset: what the agent gets, what it should say."""

    dataset: str
    input: Any
    expected_output: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)
    source_trace_id: str | None = None
    item_id: str = field(default_factory=new_run_id)
    version: int = 1
    deleted: bool = False
    author: str | None = None
    created_us: int = field(default_factory=now_us)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetItem:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(slots=True, kw_only=True)
class ExperimentInfo:
    """One experiment: a dataset run through an agent; its runs are traces tagged
    `experiment:<id>` with `experiment_id` and `item_id` in their metadata."""

    experiment_id: str
    name: str
    dataset: str
    status: str = "running"
    created_us: int = field(default_factory=now_us)
    finished_us: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentInfo:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


REVISABLE = ("input", "expected_output", "metadata")
"""The fields of an item an edit may change."""


async def revise_item(
    storage: EvalStorage,
    dataset: str,
    item_id: str,
    *,
    deleted: bool = False,
    author: str | None = None,
    **changes: Any,
) -> DatasetItem:
    """Store the next version of an item with `changes` (or marked deleted); earlier
    versions stay. KeyError when the item does not exist; ValueError for a field that
    is not `REVISABLE`."""
    unknown = set(changes) - set(REVISABLE)
    if unknown:
        raise ValueError(f"an item edit may change {REVISABLE}, not {sorted(unknown)}")
    versions = await storage.dataset_items(dataset, item_id=item_id, history=True)
    if not versions:
        raise KeyError(f"no item {item_id!r} in dataset {dataset!r}")
    latest = max(versions, key=lambda i: i.version)
    data = {**latest.to_dict(), **changes}
    data.update(version=latest.version + 1, deleted=deleted, author=author, created_us=now_us())
    item = DatasetItem.from_dict(data)
    await storage.store_dataset_items([item])
    return item


def redact_item(item: DatasetItem, redactor: Redactor | None) -> DatasetItem:
    """`item` with its input, expected output and metadata through `redactor` (the one
    traces pass through; None keeps them), changed in place and returned."""
    if redactor is None:
        return item
    item.input = redactor.value(item.input, "$.item.input")
    item.expected_output = redactor.value(item.expected_output, "$.item.expected_output")
    metadata = redactor.value(item.metadata, "$.item.metadata")
    item.metadata = metadata if isinstance(metadata, dict) else {}
    return item
