"""Derive a tool's OpenAI-function JSON Schema (and a validator) from a Python signature.

Used when a tool declares no `parameters`: the keyword parameters of `execute` (or of a
plain function), their type hints, defaults and docstring descriptions become the schema,
and the same pydantic model later coerces the model's JSON arguments to those types.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema, PydanticOmit

EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}

_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Params)\s*:\s*$", re.IGNORECASE)
_GOOGLE_ITEM = re.compile(r"^\s*\**(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_ITEM = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")


class _LenientSchema(GenerateJsonSchema):
    """Leave out what JSON Schema cannot describe (arbitrary classes) instead of failing."""

    def handle_invalid_for_json_schema(
        self, schema: CoreSchema, error_info: str
    ) -> JsonSchemaValue:
        raise PydanticOmit


@dataclass(frozen=True, slots=True)
class SignatureSchema:
    """A derived JSON Schema plus the model that validates arguments against it."""

    parameters: dict[str, Any]
    model: type[BaseModel]
    names: dict[str, str]
    """Model field name -> parameter name (fields are aliased so any name is allowed)."""
    accepts_extra: bool

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Coerce JSON arguments to the declared types; raises ToolArgumentsError when invalid."""
        try:
            parsed = self.model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentsError(_describe(exc)) from None
        values = {
            n: getattr(parsed, f) for f, n in self.names.items() if f in parsed.model_fields_set
        }
        if self.accepts_extra and parsed.model_extra:
            values.update(parsed.model_extra)
        return values


class ToolArgumentsError(ValueError):
    """The model's arguments do not fit the tool's parameters."""


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error.get("loc", ())) or "arguments"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "invalid arguments: " + "; ".join(parts)


def docstring_summary(doc: str | None) -> str:
    """The text of a docstring before its Args/Returns sections, dedented and stripped."""
    if not doc:
        return ""
    lines = inspect.cleandoc(doc).splitlines()
    kept: list[str] = []
    for line in lines:
        if _SECTION.match(line) or re.match(r"^\s*(Returns?|Raises|Yields|:param)\b", line):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def docstring_params(doc: str | None) -> dict[str, str]:
    """Parameter descriptions from a Google-style `Args:` section or Sphinx `:param x:` lines."""
    if not doc:
        return {}
    found: dict[str, str] = {}
    lines = inspect.cleandoc(doc).splitlines()
    in_section = False
    current: str | None = None
    section_indent = item_indent = 0
    for line in lines:
        sphinx = _SPHINX_ITEM.match(line)
        if sphinx:
            current = sphinx.group(1)
            found[current] = sphinx.group(2).strip()
            continue
        if _SECTION.match(line):
            in_section, current = True, None
            section_indent = len(line) - len(line.lstrip())
            continue
        if not in_section:
            continue
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent <= section_indent:
            in_section = False
            continue
        item = _GOOGLE_ITEM.match(line)
        if item and (current is None or indent <= item_indent):
            current = item.group(1)
            item_indent = indent
            found[current] = item.group(2).strip()
        elif current is not None:
            found[current] = f"{found[current]} {line.strip()}".strip()
    return found


def signature_schema(func: Callable[..., Any], *, skip_first: bool = False) -> SignatureSchema:
    """The JSON Schema and validator for `func`'s parameters (`self` skipped when asked)."""
    signature = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # unresolved forward references: fall back to Any for those
        hints = {}
    descriptions = docstring_params(inspect.getdoc(func))
    fields: dict[str, Any] = {}
    names: dict[str, str] = {}
    accepts_extra = False
    params = list(signature.parameters.values())
    if skip_first and params:
        params = params[1:]
    for index, param in enumerate(params):
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            accepts_extra = True
            continue
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        annotation = hints.get(param.name, Any)
        if param.annotation is inspect.Parameter.empty:
            annotation = Any
        default = ... if param.default is inspect.Parameter.empty else param.default
        field_name = f"p{index}"
        names[field_name] = param.name
        extra: dict[str, Any] = {}
        if param.name in descriptions:  # else keep an Annotated[..., Field(description=...)]
            extra["description"] = descriptions[param.name]
        fields[field_name] = (annotation, Field(default, alias=param.name, **extra))
    config = ConfigDict(arbitrary_types_allowed=True, extra="allow" if accepts_extra else "ignore")
    model_name = f"{getattr(func, '__qualname__', 'tool').replace('.', '_')}_arguments"
    model = create_model(model_name, __config__=config, **fields)
    schema = model.model_json_schema(by_alias=True, schema_generator=_LenientSchema)
    schema.pop("title", None)
    for prop in (schema.get("properties") or {}).values():
        if isinstance(prop, dict):
            prop.pop("title", None)
    schema.setdefault("properties", {})
    schema["type"] = "object"
    return SignatureSchema(parameters=schema, model=model, names=names, accepts_extra=accepts_extra)
