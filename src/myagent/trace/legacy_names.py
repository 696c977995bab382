"""The earlier API's attribute names on traces and records, read from today's fields.

Mixed into `Trace` and `RunRecord` (no state of their own): `trace.id`, `trace.request`,
`trace.response`, `trace.duration_ms`, `trace.total_tokens`, `trace.total_cost`;
`run.id`, `run.parent_run_id`, `run.inputs`, `run.outputs`, `run.status`,
`run.duration_ms`, `run.latency_ms`, `run.token_usage`, `run.cost`. `run.outputs` is the
record's output as a dict that old code may fill in (`run.outputs["x"] = ...`);
`token_usage` and `cost` of records other than LLM calls are kept in their metadata
(`usage`, `cost`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class RunStatus(StrEnum):
    """A record's (or trace's) outcome, as the earlier API named it."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"
    CANCELLED = "cancelled"


USAGE_KEY = "usage"
"""Metadata key of the token counts set on a record other than an LLM call (not
"token_usage": the redactor hides values under keys naming a token)."""


class LegacyRunNames:
    """Old names for a record's fields."""

    __slots__ = ()

    _io_fields: ClassVar[tuple[str, str] | None]
    run_id: str
    parent_id: str | None
    end_us: int | None
    success: bool
    metadata: dict[str, Any]

    @property
    def id(self) -> str:
        """Alias of `run_id`."""
        return self.run_id

    @property
    def parent_run_id(self) -> str | None:
        """Alias of `parent_id`."""
        return self.parent_id

    @property
    def duration_ms(self) -> float | None:
        """Milliseconds from start to end, or None while it runs."""
        seconds: float | None = getattr(self, "duration", None)
        return None if seconds is None else seconds * 1000

    latency_ms = duration_ms

    @property
    def status(self) -> Any:
        """`RunStatus`: running, success or error."""
        if self.end_us is None:
            return RunStatus.RUNNING
        return RunStatus.SUCCESS if self.success else RunStatus.ERROR

    @property
    def inputs(self) -> Any:
        """The record's input: a step's inputs, a tool's parameters, an LLM call's input."""
        return None if self._io_fields is None else getattr(self, self._io_fields[0])

    @property
    def outputs(self) -> dict[str, Any]:
        """The output as a dict; when unset, a fresh dict that becomes the output."""
        if self._io_fields is None:
            return {}
        value = getattr(self, self._io_fields[1])
        if value is None:
            value = {}
            setattr(self, self._io_fields[1], value)
        return value if isinstance(value, dict) else {"output": value}

    @property
    def token_usage(self) -> dict[str, int] | None:
        """Token counts: an LLM call's own, else what was set on the record."""
        total = getattr(self, "tokens_used", None)
        if total is not None:
            return {
                "prompt_tokens": getattr(self, "prompt_tokens", 0),
                "completion_tokens": getattr(self, "completion_tokens", 0),
                "total_tokens": total,
            }
        usage: dict[str, int] | None = self.metadata.get(USAGE_KEY)
        return usage

    @token_usage.setter
    def token_usage(self, value: dict[str, int] | None) -> None:
        if hasattr(self, "tokens_used") and value is not None:
            prompt, completion = value.get("prompt_tokens", 0), value.get("completion_tokens", 0)
            setattr(self, "prompt_tokens", prompt)  # noqa: B010 (fields of the LLM-call record)
            setattr(self, "completion_tokens", completion)  # noqa: B010
            setattr(self, "tokens_used", value.get("total_tokens", prompt + completion))  # noqa: B010
        else:
            self.metadata[USAGE_KEY] = value

    @property
    def cost(self) -> float | None:
        """USD: an LLM call's own cost, else what was set on the record."""
        if hasattr(self, "cost_usd"):
            own: float | None = getattr(self, "cost_usd")  # noqa: B009
            return own
        value: float | None = self.metadata.get("cost")
        return value

    @cost.setter
    def cost(self, value: float | None) -> None:
        if hasattr(self, "cost_usd"):
            setattr(self, "cost_usd", value)  # noqa: B010
        else:
            self.metadata["cost"] = value

    def fail(self, error: str, error_type: str | None = None, stacktrace: str | None = None) -> Any:
        """Mark the record failed (the old `Run.fail`); it still ends with its block."""
        outcome = {"success": False, "error": error, "error_type": error_type or "Error"}
        for key, value in {**outcome, "stacktrace": stacktrace}.items():
            setattr(self, key, value)
        return self


def usage_total(usage: dict[str, int] | None) -> int:
    """Tokens in a token_usage dict: its total, else the sum of its parts."""
    if not usage:
        return 0
    total = usage.get("total_tokens")
    return int(total) if total is not None else sum(int(v) for v in usage.values())


class LegacyTraceNames:
    """Old names for a trace's fields."""

    __slots__ = ()

    trace_id: str
    input: Any
    output: Any
    runs: list[Any]

    @property
    def id(self) -> str:
        """Alias of `trace_id`."""
        return self.trace_id

    @property
    def request(self) -> Any:
        """Alias of `input`."""
        return self.input

    @property
    def response(self) -> Any:
        """Alias of `output`."""
        return self.output

    @property
    def duration_ms(self) -> float | None:
        """Milliseconds from start to end, or None while it runs."""
        seconds: float | None = getattr(self, "total_duration", None)
        return None if seconds is None else seconds * 1000

    @property
    def total_tokens(self) -> int | None:
        """Tokens over every record (LLM calls and records given a token_usage), or None."""
        total = sum(usage_total(run.token_usage) for run in self.runs)
        return total or None

    @property
    def total_cost(self) -> float | None:
        """USD over every record whose cost is known, or None."""
        costs = [run.cost for run in self.runs if run.cost]
        return sum(costs) if costs else None
