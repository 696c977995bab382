"""BaseTool: subclass it, set `name`/`description` (plain or annotated), write `execute`.

BaseTool is a pydantic model, so annotated fields (`name: str = "x"`, `api_key: str = ""`,
`parameters: ClassVar[dict] = {...}`) work as in pydantic; its metaclass also accepts the
plain-class style (`name = "x"` with no annotation) and wraps `execute` so every call is
traced once. Without `parameters`, the JSON Schema comes from `execute`'s signature.
"""

from __future__ import annotations

import copy
import inspect
import re
import weakref
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, PrivateAttr
from pydantic_core import PydanticUndefined

from myagent.tool.result import ToolFailure, ToolResult
from myagent.tool.schema import (
    EMPTY_PARAMETERS,
    SignatureSchema,
    docstring_summary,
    signature_schema,
)
from myagent.tool.tracing import TRACED_MARK, call_execute, traced_execute

if TYPE_CHECKING:
    from pydantic._internal._model_construction import ModelMetaclass as _PydanticMeta
else:
    _PydanticMeta = type(BaseModel)

ConfirmHandler = Callable[[Any, dict[str, Any]], Awaitable[bool] | bool]
"""`handler(tool, arguments) -> bool` (may be async): True lets a `user_confirm` tool run."""

_building: ContextVar[bool] = ContextVar("myagent_building_tool_class", default=False)
_SIGNATURES: weakref.WeakKeyDictionary[type, SignatureSchema | None] = weakref.WeakKeyDictionary()


def _is_behaviour(value: Any) -> bool:
    """Methods, descriptors and nested classes: class members that are never fields."""
    return (
        isinstance(value, type)
        or inspect.isroutine(value)
        or hasattr(type(value), "__get__")
        or type(value).__module__ == "functools"
    )


def _annotate_plain_attributes(bases: tuple[type[Any], ...], namespace: dict[str, Any]) -> None:
    """Give plain `name = "x"` class attributes the annotation pydantic requires.

    An override of a base field takes the base field's type; any other plain value
    becomes a ClassVar, i.e. an ordinary class attribute.
    """
    annotations: dict[str, Any] = namespace.setdefault("__annotations__", {})
    base_fields: dict[str, Any] = {}
    for base in reversed(bases):
        for field_name, info in (getattr(base, "__pydantic_fields__", None) or {}).items():
            base_fields[field_name] = info.annotation
    for attr, value in list(namespace.items()):
        if attr.startswith("_") or attr == "model_config" or attr in annotations:
            continue
        if _is_behaviour(value):
            continue
        annotations[attr] = base_fields.get(attr, ClassVar[Any])


class _ToolMeta(_PydanticMeta):
    """Pydantic's metaclass, plus the plain-attribute style and the traced `execute`."""

    def __new__(
        mcs,
        cls_name: str,
        bases: tuple[type[Any], ...],
        namespace: dict[str, Any],
        **kwargs: Any,
    ) -> type:
        _annotate_plain_attributes(bases, namespace)
        execute = namespace.get("execute")
        if (
            inspect.isfunction(execute)
            and not getattr(execute, "__isabstractmethod__", False)
            and not getattr(execute, TRACED_MARK, False)
        ):
            namespace["execute"] = traced_execute(execute)
        token = _building.set(True)
        try:
            return super().__new__(mcs, cls_name, bases, namespace, **kwargs)
        finally:
            _building.reset(token)

    def __getattr__(cls, item: str) -> Any:
        # Pydantic removes field defaults from the class; keep `MyTool.name` readable
        # (except while pydantic builds a subclass, which probes the bases with hasattr).
        if not item.startswith("__") and not _building.get():
            fields = cls.__dict__.get("__pydantic_fields__")
            if fields and item in fields:
                try:
                    default = fields[item].get_default(call_default_factory=True, validated_data={})
                except Exception:
                    default = PydanticUndefined
                if default is not PydanticUndefined:
                    return default
        return super().__getattr__(item)  # type: ignore[misc]


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _derived_signature(cls: type[BaseTool]) -> SignatureSchema | None:
    """The schema of `cls.execute`'s parameters, computed once per class."""
    if cls in _SIGNATURES:
        return _SIGNATURES[cls]
    execute = inspect.unwrap(cls.execute)
    try:
        derived: SignatureSchema | None = signature_schema(execute, skip_first=True)
    except Exception:  # an unusual signature: the model gets an open object schema
        derived = None
    _SIGNATURES[cls] = derived
    return derived


class BaseTool(BaseModel, metaclass=_ToolMeta):
    """A tool the agent can call. Subclass it and implement `async def execute(self, **kwargs)`.

    `name`, `description` and `parameters` (an OpenAI-function JSON Schema) describe it to
    the model; without `parameters` the schema comes from `execute`'s keyword parameters,
    type hints and docstring. `enable_tracing = False` skips its tool records;
    `user_confirm = True` asks the agent's confirmation hook before each run.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="allow")

    name: str = ""
    description: str = ""
    parameters: dict[str, Any] | None = None
    enable_tracing: bool = True
    user_confirm: bool = False

    _signature: SignatureSchema | None = PrivateAttr(default=None)
    _confirmation_handler: ConfirmHandler | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        """Fill a missing name (from the class), description (docstring) and parameters."""
        cls = type(self)
        if not self.name:
            self._fill("name", _snake_case(cls.__name__))
        if not self.description:
            own_doc = cls.__doc__ if "__doc__" in cls.__dict__ else None
            summary = docstring_summary(own_doc) or docstring_summary(inspect.getdoc(cls.execute))
            self._fill("description", summary)
        if self.parameters is None:
            derived = _derived_signature(cls)
            if derived is not None and self._fill("parameters", copy.deepcopy(derived.parameters)):
                self._signature = derived

    def _fill(self, attr: str, value: Any) -> bool:
        """Set a default; False when the subclass made `attr` a ClassVar (not per instance)."""
        try:
            setattr(self, attr, value)
        except (AttributeError, TypeError, ValueError):
            return False
        return True

    @abstractmethod
    async def execute(self, **kwargs: Any) -> Any:
        """Run the tool; return a ToolResult (or any value, used as its output)."""

    async def __call__(self, **kwargs: Any) -> Any:
        """Run the tool (asking the confirmation handler first for `user_confirm` tools)."""
        if self.user_confirm and self._confirmation_handler is not None:
            allowed = self._confirmation_handler(self, dict(kwargs))
            if inspect.isawaitable(allowed):
                allowed = await allowed
            if not allowed:
                return ToolFailure(error="Tool execution cancelled by user")
        return await call_execute(self, kwargs)

    def set_confirmation_handler(self, handler: ConfirmHandler | None) -> None:
        """Set the callable asked before this tool runs when `user_confirm` is True."""
        self._confirmation_handler = handler

    @property
    def confirmation_handler(self) -> ConfirmHandler | None:
        """The handler set by `set_confirmation_handler`, if any."""
        return self._confirmation_handler

    def validate_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Coerce the model's JSON arguments to `execute`'s types (derived schemas only)."""
        if self._signature is None:
            return arguments
        return self._signature.validate(arguments)

    def to_param(self) -> dict[str, Any]:
        """This tool in OpenAI function-calling format."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters or dict(EMPTY_PARAMETERS),
            },
        }


__all__ = ["BaseTool", "ConfirmHandler", "ToolResult"]
