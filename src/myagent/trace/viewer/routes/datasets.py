"""Datasets in the viewer: list them, their items (latest or every version), add items
(from JSON or from stored traces: "add to dataset"), edit and delete an item (each a new
version; history kept)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, Field

from myagent.trace.redaction import Redactor
from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.eval_rows import DatasetItem, redact_item, revise_item
from myagent.trace.viewer.params import ID_PATTERN
from myagent.trace.viewer.routes.traces import Source
from myagent.trace.viewer.source import TraceSource

router = APIRouter(prefix="/api", tags=["datasets"])
DatasetName = Annotated[str, Path(pattern=ID_PATTERN)]
ItemId = Annotated[str, Path(pattern=ID_PATTERN)]


class ItemIn(BaseModel):
    """A new item: what the agent gets, optionally what it should answer."""

    input: Any
    expected_output: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    source_trace_id: str | None = Field(default=None, pattern=ID_PATTERN)


class ItemsIn(BaseModel):
    """Items given whole, and/or traces to copy (input; output as the expected output
    unless `expected_output` is given for all of them)."""

    items: list[ItemIn] = Field(default_factory=list, max_length=10_000)
    trace_ids: list[str] = Field(default_factory=list, max_length=1000)
    expected_output: Any = None


class ItemEdit(BaseModel):
    """The fields to change; unset ones keep their value."""

    input: Any = None
    expected_output: Any = None
    metadata: dict[str, Any] | None = None


def _storage(src: TraceSource) -> TraceStorage:
    if not src.storage.supports_eval:
        raise HTTPException(501, "this storage keeps no datasets")
    return src.storage


def _redactor(src: TraceSource) -> Redactor | None:
    """The manager's redactor (None when it redacts nothing); the default one for a
    viewer over a storage."""
    manager = src.manager
    if manager is None:
        return Redactor()
    return manager.redactor if manager.config.redact else None


def _redact(src: TraceSource, value: Any, path: str) -> Any:
    redactor = _redactor(src)
    return value if redactor is None else redactor.value(value, path)


@router.get("/datasets")
async def list_datasets(src: Source) -> dict[str, Any]:
    """Datasets by name, with their item and version counts."""
    return {"items": await _storage(src).datasets()}


@router.get("/datasets/{name}/items")
async def list_items(name: DatasetName, src: Source, history: bool = False) -> dict[str, Any]:
    """The latest version of each item (every version, deleted ones too, with `history`)."""
    items = await _storage(src).dataset_items(name, history=history)
    return {"items": [i.to_dict() for i in items]}


@router.get("/datasets/{name}/items/{item_id}/history")
async def item_history(name: DatasetName, item_id: ItemId, src: Source) -> dict[str, Any]:
    """Every version of one item, oldest first."""
    items = await _storage(src).dataset_items(name, item_id=item_id, history=True)
    if not items:
        raise HTTPException(404, "no such item")
    return {"items": [i.to_dict() for i in items]}


@router.post("/datasets/{name}/items", status_code=201)
async def add_items(name: DatasetName, body: ItemsIn, src: Source) -> dict[str, Any]:
    """Add items to a dataset (created on first use), given whole or copied from traces."""
    storage = _storage(src)
    new = [
        DatasetItem(
            dataset=name,
            input=i.input,
            expected_output=i.expected_output,
            metadata=i.metadata,
            source_trace_id=i.source_trace_id,
        )
        for i in body.items
    ]
    for trace_id in body.trace_ids:
        trace = await src.trace(trace_id)
        if trace is None:
            raise HTTPException(404, f"no such trace: {trace_id}")
        expected = trace.output if body.expected_output is None else body.expected_output
        new.append(
            DatasetItem(
                dataset=name,
                input=trace.input,
                expected_output=expected,
                metadata={"agent_name": trace.agent_name},
                source_trace_id=trace.trace_id,
            )
        )
    if not new:
        raise HTTPException(422, "no items and no trace ids given")
    new = [redact_item(item, _redactor(src)) for item in new]
    await storage.store_dataset_items(new)
    return {"items": [i.to_dict() for i in new]}


@router.put("/datasets/{name}/items/{item_id}")
async def edit_item(
    name: DatasetName, item_id: ItemId, body: ItemEdit, src: Source
) -> dict[str, Any]:
    """Store the next version of an item with the given fields changed."""
    changes = {
        key: _redact(src, value, f"$.item.{key}")
        for key, value in body.model_dump(exclude_unset=True).items()
    }
    try:
        item = await revise_item(_storage(src), name, item_id, **changes)
    except KeyError:
        raise HTTPException(404, "no such item") from None
    return item.to_dict()


@router.delete("/datasets/{name}/items/{item_id}")
async def delete_item(name: DatasetName, item_id: ItemId, src: Source) -> dict[str, Any]:
    """Mark an item deleted (a new version; its history stays)."""
    try:
        item = await revise_item(_storage(src), name, item_id, deleted=True)
    except KeyError:
        raise HTTPException(404, "no such item") from None
    return item.to_dict()
