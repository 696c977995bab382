"""Schemas derived from signatures: types, defaults, docstrings, odd names and odd types."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

import pytest
from pydantic import Field

from myagent.tool.schema import (
    ToolArgumentsError,
    docstring_params,
    docstring_summary,
    signature_schema,
)


class Unit(Enum):
    C = "celsius"
    F = "fahrenheit"


class Opaque:
    """A class JSON Schema cannot describe."""


def test_common_types_map_to_json_schema() -> None:
    def f(
        text: str,
        count: int,
        ratio: float,
        flag: bool,
        tags: list[str],
        unit: Literal["c", "f"] = "c",
        maybe: str | None = None,
    ) -> None: ...

    props = signature_schema(f).parameters["properties"]

    assert props["text"] == {"type": "string"}
    assert props["count"] == {"type": "integer"}
    assert props["ratio"] == {"type": "number"}
    assert props["flag"] == {"type": "boolean"}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["unit"]["enum"] == ["c", "f"]
    assert {"type": "null"} in props["maybe"]["anyOf"]
    assert signature_schema(f).parameters["required"] == ["text", "count", "ratio", "flag", "tags"]


def test_annotated_field_descriptions_and_enums() -> None:
    def f(city: Annotated[str, Field(description="City name")], unit: Unit = Unit.C) -> None: ...

    schema = signature_schema(f).parameters
    assert schema["properties"]["city"] == {"type": "string", "description": "City name"}
    assert schema["properties"]["unit"]["$ref"].endswith("Unit")
    assert schema["$defs"]["Unit"]["enum"] == ["celsius", "fahrenheit"]
    assert signature_schema(f).validate({"city": "Oslo", "unit": "fahrenheit"}) == {
        "city": "Oslo",
        "unit": Unit.F,
    }


def test_names_that_shadow_pydantic_attributes_work() -> None:
    def f(json: str, schema: int, model_config: bool = False) -> None: ...

    derived = signature_schema(f)
    assert set(derived.parameters["properties"]) == {"json", "schema", "model_config"}
    assert derived.validate({"json": "x", "schema": "3"}) == {"json": "x", "schema": 3}


def test_var_keyword_accepts_extra_arguments_and_others_drop_them() -> None:
    def open_ended(a: int, **rest: Any) -> None: ...

    def closed(a: int) -> None: ...

    assert signature_schema(open_ended).validate({"a": 1, "z": 2}) == {"a": 1, "z": 2}
    assert signature_schema(closed).validate({"a": 1, "z": 2}) == {"a": 1}


def test_types_without_json_schema_are_left_out_not_fatal() -> None:
    def f(thing: Opaque, name: str = "x") -> None: ...

    schema = signature_schema(f).parameters
    assert schema["properties"]["name"] == {"type": "string", "default": "x"}
    assert "thing" not in schema["properties"]


def test_missing_required_argument_is_reported_by_name() -> None:
    def f(city: str) -> None: ...

    with pytest.raises(ToolArgumentsError, match="city"):
        signature_schema(f).validate({})


def test_google_and_sphinx_docstrings() -> None:
    google = """Do it.

    Args:
        city (str): Where.
        days: How many days,
            at most seven.

    Returns:
        Something.
    """
    sphinx = """Do it.

    :param city: Where.
    :param int days: How many.
    """
    assert docstring_params(google) == {"city": "Where.", "days": "How many days, at most seven."}
    assert docstring_params(sphinx) == {"city": "Where.", "days": "How many."}
    assert docstring_summary(google) == "Do it."
    assert docstring_summary(sphinx) == "Do it."
