"""An LLM judge: a model grades a run's output against a rubric you give.

The call goes through any `myagent.llm` model (the OpenAI-compatible client by default,
so any endpoint it reaches can judge) and is traced as a trace of its own, tagged
`evaluator` with the judged trace's id in its metadata, never mixed into the run.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from myagent.eval.evaluators import EvalResult, _text
from myagent.llm import LLM, OpenAICompatibleLLM
from myagent.trace.baggage import trace_attributes
from myagent.trace.manager import TraceManager
from myagent.trace.records import ThinkRecord, Trace
from myagent.trace.setup import get_trace_manager
from myagent.trace.storage.eval_rows import DatasetItem

DEFAULT_PROMPT = """You grade the answer of an AI assistant.

Rubric:
{rubric}

Question:
{input}

Expected answer (may be empty):
{expected}

Assistant's answer:
{output}

Reply with JSON only: {{"score": <a number from 0 to 1>, "reason": "<one sentence>"}}"""
"""The default prompt template; `{input}`, `{output}`, `{expected}`, `{rubric}` are filled."""

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class JudgeError(ValueError):
    """The judge's reply held no score."""


def parse_verdict(text: str, labels: list[str] | None = None) -> EvalResult:
    """A score from a judge's reply: JSON `{"score": ..., "reason": ...}` (possibly inside
    other text), else the first number, else (with `labels`) the first label named."""
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            data = orjson.loads(text[start : end + 1])
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict) and "score" in data:
            score = data["score"]
            reason = data.get("reason")
            if isinstance(score, bool | int | float) or (labels and score in labels):
                return EvalResult(score, None if reason is None else str(reason))
    if labels:
        for label in labels:
            if label.lower() in text.lower():
                return EvalResult(label, text.strip()[:500])
    match = _NUMBER.search(text)
    if match is not None:
        return EvalResult(float(match.group()), text.strip()[:500])
    raise JudgeError(f"no score in the judge's reply: {text[:200]!r}")


class LLMJudge:
    """Grades a run with a model: `LLMJudge(rubric="Is the answer correct and polite?")`.

    `prompt` is a template (see `DEFAULT_PROMPT`); `llm` any myagent model, or `model`
    (and `base_url`, `api_key`) for the OpenAI-compatible client. A numeric verdict is
    clamped to `[0, 1]`; with `labels` the judge may answer one of them instead.
    """

    def __init__(
        self,
        rubric: str,
        *,
        name: str = "judge",
        prompt: str = DEFAULT_PROMPT,
        llm: LLM | None = None,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        labels: list[str] | None = None,
        timeout: float = 120.0,
        manager: TraceManager | None = None,
    ) -> None:
        self.rubric, self.name, self.prompt, self.labels = rubric, name, prompt, labels
        self.llm: LLM = llm or OpenAICompatibleLLM(
            model=model, base_url=base_url, api_key=api_key, temperature=0
        )
        self.timeout = timeout
        self.manager = manager

    def render(self, item: DatasetItem, trace: Trace) -> str:
        """The prompt for one run."""
        return self.prompt.format(
            rubric=self.rubric,
            input=_text(item.input),
            output=_text(trace.output),
            expected=_text(item.expected_output),
        )

    async def __call__(self, item: DatasetItem, trace: Trace) -> EvalResult:
        manager = self.manager or get_trace_manager()
        prompt = self.render(item, trace)
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        metadata = {
            "evaluator": self.name,
            "evaluates_trace_id": trace.trace_id,
            **{k: v for k, v in trace.metadata.items() if k in ("experiment_id", "item_id")},
        }
        with trace_attributes():  # not one of the experiment's runs
            async with manager.trace(
                f"judge:{self.name}",
                agent_name="evaluator",
                input=prompt,
                tags=["evaluator"],
                metadata=metadata,
            ) as judged:
                record = manager.start_run(
                    ThinkRecord,
                    "judge",
                    messages=messages,
                    model=getattr(self.llm, "model", None),
                )
                try:
                    response = await self.llm.chat(messages)
                except BaseException as exc:
                    manager.end_run(record, error=exc)
                    raise
                usage = response.usage
                manager.end_run(
                    record,
                    llm_response=response.content,
                    model=response.model or getattr(self.llm, "model", None),
                    prompt_tokens=usage.prompt_tokens if usage else 0,
                    completion_tokens=usage.completion_tokens if usage else 0,
                    tokens_used=usage.total_tokens if usage else 0,
                    cost_usd=response.cost_usd,
                )
                judged.output = response.content
        result = parse_verdict(response.content or "", self.labels)
        if isinstance(result.value, int | float) and not isinstance(result.value, bool):
            result.value = min(1.0, max(0.0, float(result.value)))
        result.metadata["judge_trace_id"] = judged.trace_id
        return result
