"""`@trace_run`: trace a sync or async function as a step record (or its own trace)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

from myagent.trace.manager import TraceManager
from myagent.trace.records import RunRecord, StepRecord
from myagent.trace.scopes import RunScope
from myagent.trace.setup import get_trace_manager

P = ParamSpec("P")
R = TypeVar("R")


@overload
def trace_run(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def trace_run(
    func: str | None = None,
    /,
    *,
    name: str | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
    run_type: str = StepRecord.run_type_default(),
    include_inputs: bool | None = None,
    include_outputs: bool | None = None,
    capture_errors: bool = True,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def trace_run(
    func: Callable[P, R] | str | None = None,
    /,
    *,
    name: str | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
    run_type: str = StepRecord.run_type_default(),
    include_inputs: bool | None = None,
    include_outputs: bool | None = None,
    capture_errors: bool = True,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Record each call of the function as a step record under the current record.

    Inside a trace it adds a step; outside one it opens and closes a trace of its own
    (which holds the arguments and the return value, stored once). Arguments and the
    return value are kept unless `capture_input`/`capture_output` is False. Exceptions
    are recorded (type, message, stack trace) and re-raised unchanged. Usable bare
    (`@trace_run`) or with arguments (`@trace_run(name="load")`).

    The earlier spellings are accepted: the name as the first argument, `run_type=` (an
    old `RunType`, kept on the step record), `include_inputs`/`include_outputs` (aliases
    of `capture_input`/`capture_output`); `capture_errors` is always on.
    """
    if isinstance(func, str):
        name, func = name or func, None
    inputs_on = capture_input if include_inputs is None else include_inputs
    outputs_on = capture_output if include_outputs is None else include_outputs

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        return traced(fn, name or fn.__qualname__, run_type, inputs_on, outputs_on)

    if func is not None:
        return decorate(func)
    return decorate


def traced(
    fn: Callable[P, R],
    name: str | Callable[[tuple[Any, ...]], str],
    kind: str,
    capture_input: bool = True,
    capture_output: bool = True,
) -> Callable[P, R]:
    """`fn` wrapped so each call is one record of `kind` (a step, tool or old run type).

    `name` may be a function of the call's positional arguments (e.g. a tool's name).
    """
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

    def open_scope(
        manager: TraceManager, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> RunScope:
        record_name = name if isinstance(name, str) else name(args)
        return manager.run(record_name, kind, inputs=inputs_of(args, kwargs))

    def close(scope: RunScope, record: RunRecord, result: Any) -> None:
        if capture_output and hasattr(record, "output"):
            record.output = result
        scope.__exit__(None, None, None)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            manager = get_trace_manager()
            if not manager.enabled:
                return await fn(*args, **kwargs)  # type: ignore[misc]
            scope = open_scope(manager, args, kwargs)
            record = scope.__enter__()
            try:
                result = await fn(*args, **kwargs)  # type: ignore[misc]
            except BaseException as exc:
                scope.__exit__(type(exc), exc, exc.__traceback__)
                raise
            close(scope, record, result)
            return result

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        manager = get_trace_manager()
        if not manager.enabled:
            return fn(*args, **kwargs)
        scope = open_scope(manager, args, kwargs)
        record = scope.__enter__()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            scope.__exit__(type(exc), exc, exc.__traceback__)
            raise
        close(scope, record, result)
        return result

    return wrapper


def _positional_names(fn: Callable[..., Any]) -> list[str]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in params if p.kind in kinds]


__all__ = ["trace_run"]
