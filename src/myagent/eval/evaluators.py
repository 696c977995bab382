"""Evaluators: judge one run of a dataset item and give a score.

An evaluator has a `name` (the score's name), a `timeout` in seconds, and is called as
`evaluator(item, trace)`; it returns a number, a boolean, a label or an `EvalResult`
(value plus comment), directly or as an awaitable. Any Python function
`(item, trace) -> score` becomes one with `evaluator(fn)`. The runner gives each call its
own timeout; one that raises or hangs records an error score and the experiment goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import orjson

from myagent.trace.records import ThinkRecord, ToolRecord, Trace
from myagent.trace.scores import ScoreValue
from myagent.trace.storage.eval_rows import DatasetItem

DEFAULT_TIMEOUT = 30.0
"""Seconds an evaluator may take before its score is recorded as an error."""


@dataclass(slots=True)
class EvalResult:
    """A score value with an optional comment and metadata."""

    value: ScoreValue
    comment: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


EvalOutput = ScoreValue | EvalResult


@runtime_checkable
class Evaluator(Protocol):
    """Anything with a name and a timeout, called as `evaluator(item, trace)`."""

    name: str
    timeout: float

    def __call__(self, item: DatasetItem, trace: Trace) -> EvalOutput | Awaitable[EvalOutput]: ...


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, default=str).decode()


class FunctionEvaluator:
    """Any Python function `(item, trace) -> score` (sync or async) as an evaluator."""

    def __init__(
        self,
        fn: Callable[[DatasetItem, Trace], Any],
        name: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "custom")
        self.timeout = timeout

    def __call__(self, item: DatasetItem, trace: Trace) -> Any:
        return self.fn(item, trace)

    def __repr__(self) -> str:
        return f"FunctionEvaluator({self.name!r})"


def evaluator(
    fn: Callable[[DatasetItem, Trace], Any] | None = None,
    *,
    name: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Any:
    """Make a function an evaluator: `evaluator(fn)`, or `@evaluator(name="x")`."""
    if fn is None:
        return lambda f: FunctionEvaluator(f, name, timeout)
    return FunctionEvaluator(fn, name, timeout)


class ExactMatch:
    """True when the output equals the expected output (text compared stripped;
    `ignore_case` optional)."""

    def __init__(
        self, *, name: str = "exact_match", ignore_case: bool = False, timeout: float = 5.0
    ) -> None:
        self.name, self.ignore_case, self.timeout = name, ignore_case, timeout

    def __call__(self, item: DatasetItem, trace: Trace) -> bool:
        got, want = _text(trace.output).strip(), _text(item.expected_output).strip()
        if self.ignore_case:
            got, want = got.lower(), want.lower()
        return got == want


class Contains:
    """True when the output contains `text` (default: the expected output)."""

    def __init__(
        self,
        text: str | None = None,
        *,
        name: str = "contains",
        ignore_case: bool = True,
        timeout: float = 5.0,
    ) -> None:
        self.text, self.name, self.ignore_case, self.timeout = text, name, ignore_case, timeout

    def __call__(self, item: DatasetItem, trace: Trace) -> bool:
        needle = self.text if self.text is not None else _text(item.expected_output)
        got = _text(trace.output)
        if self.ignore_case:
            needle, got = needle.lower(), got.lower()
        return needle.strip() in got


class Regex:
    """True when the output matches `pattern` (searched anywhere)."""

    def __init__(
        self, pattern: str, *, name: str = "regex", flags: int = 0, timeout: float = 5.0
    ) -> None:
        self.pattern = re.compile(pattern, flags)
        self.name, self.timeout = name, timeout

    def __call__(self, item: DatasetItem, trace: Trace) -> bool:
        return self.pattern.search(_text(trace.output)) is not None


class JsonSchemaValid:
    """True when the output is JSON valid against `schema` (needs `jsonschema`:
    pip install 'myagent[eval]'); the comment says what failed."""

    def __init__(
        self, schema: dict[str, Any], *, name: str = "json_schema", timeout: float = 5.0
    ) -> None:
        from jsonschema import Draft202012Validator

        Draft202012Validator.check_schema(schema)
        self.validator = Draft202012Validator(schema)
        self.name, self.timeout = name, timeout

    def __call__(self, item: DatasetItem, trace: Trace) -> EvalResult:
        output = trace.output
        if isinstance(output, str):
            try:
                output = orjson.loads(output)
            except orjson.JSONDecodeError as exc:
                return EvalResult(False, f"not JSON: {exc}")
        errors = sorted(self.validator.iter_errors(output), key=lambda e: list(e.path))
        if errors:
            return EvalResult(False, "; ".join(e.message for e in errors[:3]))
        return EvalResult(True)


class ToolCalled:
    """True when the run called tool `tool` (with `arguments` among its input, when
    given: each listed argument equal)."""

    def __init__(
        self,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.tool, self.arguments = tool, dict(arguments or {})
        self.name = name or f"tool_called.{tool}"
        self.timeout = timeout

    def __call__(self, item: DatasetItem, trace: Trace) -> bool:
        for run in trace.runs:
            if isinstance(run, ToolRecord) and run.tool_name == self.tool:
                params = run.input_params if isinstance(run.input_params, dict) else {}
                if all(params.get(k) == v for k, v in self.arguments.items()):
                    return True
        return False


class LatencyBudget:
    """True when the run took at most `seconds`; the comment gives the time taken."""

    def __init__(self, seconds: float, *, name: str = "latency_budget", timeout: float = 5.0):
        self.seconds, self.name, self.timeout = seconds, name, timeout

    def __call__(self, item: DatasetItem, trace: Trace) -> EvalResult:
        took = trace.total_duration
        if took is None:
            return EvalResult(False, "the run did not finish")
        return EvalResult(took <= self.seconds, f"{took:.3f} s (budget {self.seconds} s)")


class CostBudget:
    """True when the run's model cost is at most `usd` (unknown prices count as 0)."""

    def __init__(self, usd: float, *, name: str = "cost_budget", timeout: float = 5.0):
        self.usd, self.name, self.timeout = usd, name, timeout

    def __call__(self, item: DatasetItem, trace: Trace) -> EvalResult:
        cost = sum(r.cost_usd or 0.0 for r in trace.runs if isinstance(r, ThinkRecord))
        return EvalResult(cost <= self.usd, f"${cost:.6f} (budget ${self.usd})")


async def _in_daemon_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a daemon thread of its own: a call that never returns is abandoned
    at its timeout and keeps neither the event loop nor the interpreter from exiting
    (the default executor would wait for it)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(ok: bool, value: Any) -> None:
        if not future.done():
            future.set_result(value) if ok else future.set_exception(value)

    def work() -> None:
        try:
            value = context.run(fn, *args)
        except BaseException as exc:
            ok, value = False, exc
        else:
            ok = True
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(settle, ok, value)

    threading.Thread(target=work, name="myagent-evaluator", daemon=True).start()
    return await future


async def call_evaluator(ev: Any, item: DatasetItem, trace: Trace) -> EvalOutput:
    """Call an evaluator, awaiting it when it returns an awaitable. A plain function runs
    in a worker thread, so one that hangs cannot stall the event loop (its timeout
    abandons it)."""
    if isinstance(ev, FunctionEvaluator) and not inspect.iscoroutinefunction(ev.fn):
        result = await _in_daemon_thread(ev.fn, item, trace)
    else:
        result = ev(item, trace)
    if inspect.isawaitable(result):
        result = await result
    out: EvalOutput = result
    return out
