"""Bad input is stored faithfully and bounded, never rejected and never raising."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from myagent.trace import SQLiteTraceStorage, TraceManager
from myagent.trace.serialize import (
    DEFAULT_MAX_VALUE_SIZE,
    get_max_value_size,
    is_truncated,
    set_max_value_size,
    to_jsonable,
)


class NoJSON:
    def __repr__(self) -> str:
        return "NoJSON(42)"


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")


def _cyclic() -> dict[str, Any]:
    data: dict[str, Any] = {"name": "loop"}
    data["self"] = data
    items: list[Any] = [1]
    items.append(items)
    data["list"] = items
    return data


BAD_VALUES: dict[str, Any] = {
    "object": NoJSON(),
    "bad_repr": BadRepr(),
    "bytes": b"\x00\xff\xfe binary",
    "utf8_bytes": "héllo".encode(),
    "set": {3, 1, 2},
    "frozenset": frozenset({"a"}),
    "datetime": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    "date": date(2026, 1, 2),
    "cycle": _cyclic(),
    "nan": float("nan"),
    "inf": -math.inf,
    "surrogate": "lone \ud800 surrogate",
    "tuple_key": {(1, 2): "v", 3: "int key"},
    "exception": ValueError("boom"),
    "type": int,
}


def test_every_bad_value_becomes_plain_json() -> None:
    for name, value in BAD_VALUES.items():
        result = to_jsonable(value)
        orjson.dumps(result)  # encodable, no exception
        assert result is not None, name


def test_representations_are_faithful() -> None:
    assert to_jsonable(NoJSON()) == "NoJSON(42)"
    assert to_jsonable({3, 1, 2}) == [1, 2, 3]
    assert to_jsonable(float("nan")) == "NaN"
    assert to_jsonable(-math.inf) == "-Infinity"
    assert to_jsonable(b"\x00\xff").startswith("base64:")
    assert to_jsonable("héllo".encode()) == "héllo"
    assert to_jsonable(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00+00:00"
    assert to_jsonable("a\ud800b") == "a\\ud800b"
    cyc = to_jsonable(_cyclic())
    assert cyc["self"] == "<cycle>"
    assert cyc["list"] == [1, "<cycle>"]
    assert "BadRepr" in to_jsonable(BadRepr())


def test_big_strings_are_cut_with_a_visible_marker() -> None:
    big = "x" * (10 * 1024 * 1024)
    out = to_jsonable(big, max_size=1000)
    assert len(out) < 1100
    assert is_truncated(out)
    assert f"of {len(big)} chars" in out
    # Idempotent: normalising a cut value again keeps it as it is.
    assert to_jsonable(out, max_size=1000) == out


def test_big_structures_keep_their_shape_within_the_budget() -> None:
    out = to_jsonable({"k": ["y" * 600, "z" * 600, "w"], "more": 1}, max_size=1000)
    assert out["k"][0] == "y" * 600
    assert is_truncated(out["k"][1])  # the budget ran out inside the second string
    assert out["k"][2].startswith("…[truncated: 1 more items]")
    assert out["…"] == "[truncated: 1 more keys]"
    assert len(orjson.dumps(out)) < 1200


def test_limit_is_configurable_through_the_manager() -> None:
    manager = TraceManager(max_value_size=5000)
    try:
        assert get_max_value_size() == 5000
        with pytest.raises(ValueError):
            set_max_value_size(1)
    finally:
        manager.configure(max_value_size=DEFAULT_MAX_VALUE_SIZE)
        manager.close()


def test_bad_input_is_stored_in_sqlite_and_read_back(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    manager = TraceManager(storage, max_value_size=1024 * 1024)
    try:
        big = "z" * (10 * 1024 * 1024)
        with manager.trace("bad-input", input=BAD_VALUES, metadata={"big": big}) as trace:
            with manager.run("step", inputs=BAD_VALUES) as record:
                record.output = big  # type: ignore[attr-defined]
            trace.output = {"set": {1}, "nan": float("nan")}
        assert manager.flush(10)
        stored = storage.get_trace_sync(trace.trace_id)
        assert stored is not None
        assert stored.input["set"] == [1, 2, 3]
        assert stored.input["nan"] == "NaN"
        assert stored.input["cycle"]["self"] == "<cycle>"
        assert stored.input["surrogate"] == "lone \\ud800 surrogate"
        assert is_truncated(stored.metadata["big"])
        assert len(stored.metadata["big"]) < 1024 * 1024 + 100
        assert is_truncated(stored.runs[0].output)  # type: ignore[attr-defined]
        assert stored.output == {"set": [1], "nan": "NaN"}
        assert manager.stats["faults"] == {}
        assert manager.stats["writer"]["dropped_total"] == 0
    finally:
        manager.configure(max_value_size=DEFAULT_MAX_VALUE_SIZE)
        manager.close()


def test_integers_past_64_bits_are_kept_as_text() -> None:
    huge = 2**70
    assert to_jsonable(huge) == str(huge)
    assert to_jsonable({"n": -(2**64)}) == {"n": str(-(2**64))}
    assert to_jsonable([2**63 - 1]) == [2**63 - 1]
    orjson.dumps(to_jsonable({"a": [huge, {"b": huge}]}))
