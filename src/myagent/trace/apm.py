"""Tracing beside an APM's OpenTelemetry SDK: `instrument`, one OTel span per function call.

opentelemetry-api offers `tracer.start_as_current_span` but no plain function decorator,
while the spec's APM example decorates with `opentelemetry.trace.instrument`. So when the
application has imported opentelemetry before `myagent.trace`, importing `myagent.trace`
adds this decorator to `opentelemetry.trace` under that name (never replacing an
attribute that is already there). `myagent.trace.apm.instrument` works in any order.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

P = ParamSpec("P")
R = TypeVar("R")

_log = logging.getLogger(__name__)


@overload
def instrument(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def instrument(
    func: None = None, /, *, name: str | None = None, tracer_name: str = "myagent"
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def instrument(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    tracer_name: str = "myagent",
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Run each call of the function (sync or async) inside an OpenTelemetry span.

    The span is named `name` or the function's qualified name and comes from the globally
    configured TracerProvider (your APM's SDK); exceptions are recorded on the span and
    re-raised unchanged. Needs opentelemetry-api (`pip install "myagent[otel]"`).
    """
    from opentelemetry import trace as otel_trace

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        span_name = name or fn.__qualname__

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                tracer = otel_trace.get_tracer(tracer_name)
                with tracer.start_as_current_span(span_name):
                    return await fn(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            tracer = otel_trace.get_tracer(tracer_name)
            with tracer.start_as_current_span(span_name):
                return fn(*args, **kwargs)

        return wrapper

    return decorate if func is None else decorate(func)


def alias_into_opentelemetry() -> bool:
    """Make `opentelemetry.trace.instrument` this decorator, if opentelemetry is loaded.

    Does nothing (returns False) when the application has not imported opentelemetry,
    when opentelemetry-api is missing, or when the name is already taken. Never raises:
    importing myagent must not fail because of another package.
    """
    if "opentelemetry" not in sys.modules:
        return False
    try:
        from opentelemetry import trace as otel_trace
    except ImportError:
        return False
    except Exception:  # a broken install must not break `import myagent.trace`
        _log.warning("myagent: could not import opentelemetry.trace", exc_info=True)
        return False
    existing = vars(otel_trace).get("instrument")
    if existing is not None:
        return existing is instrument
    setattr(otel_trace, "instrument", instrument)  # noqa: B010 - adding a new name on purpose
    return True
