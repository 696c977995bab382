"""`@trace_run`: trace a sync or async function as a step record (or its own trace)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

from myagent.trace.records import StepRecord
from myagent.trace.setup import get_trace_manager

P = ParamSpec("P")
R = TypeVar("R")


@overload
def trace_run(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def trace_run(
    func: None = None,
    /,
    *,
    name: str | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def trace_run(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Record each call of the function as a step record under the current record.

    Inside a trace it adds a step; outside one it opens and closes a trace of its own.
    Arguments and the return value are kept unless `capture_input`/`capture_output` is
    False. Exceptions are recorded (type, message, stack trace) and re-raised unchanged.
    Usable bare (`@trace_run`) or with arguments (`@trace_run(name="load")`).
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        step_name = name or fn.__qualname__
        arg_names = _positional_names(fn)

        def inputs_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if not capture_input:
                return None
            data = dict(zip(arg_names, args, strict=False))
            data.pop("self", None)
            data.pop("cls", None)
            if len(args) > len(arg_names):
                data["args"] = args[len(arg_names) :]
            data.update(kwargs)
            return data

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                manager = get_trace_manager()
                if not manager.enabled:
                    return await fn(*args, **kwargs)  # type: ignore[misc]
                scope = manager.run(step_name, StepRecord, inputs=inputs_of(args, kwargs))
                record = scope.__enter__()
                try:
                    result = await fn(*args, **kwargs)  # type: ignore[misc]
                except BaseException as exc:
                    scope.__exit__(type(exc), exc, exc.__traceback__)
                    raise
                if capture_output and isinstance(record, StepRecord):
                    record.output = result
                scope.__exit__(None, None, None)
                return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            manager = get_trace_manager()
            if not manager.enabled:
                return fn(*args, **kwargs)
            scope = manager.run(step_name, StepRecord, inputs=inputs_of(args, kwargs))
            record = scope.__enter__()
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                scope.__exit__(type(exc), exc, exc.__traceback__)
                raise
            if capture_output and isinstance(record, StepRecord):
                record.output = result
            scope.__exit__(None, None, None)
            return result

        return wrapper

    if func is not None:
        return decorate(func)
    return decorate


def _positional_names(fn: Callable[..., Any]) -> list[str]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in params if p.kind in kinds]


__all__ = ["trace_run"]
