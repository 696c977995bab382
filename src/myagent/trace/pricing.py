"""USD cost of a model call, from the maintained ``genai-prices`` price database.

Used by the LLM clients (through `myagent.llm.pricing`) and by OTLP ingest for spans that
carry tokens but no cost. One ``genai-prices`` calculation takes about a millisecond, so
each model's price is probed once: when it is linear in tokens (no tiers), later calls
are two multiplications; tiered prices and prompt-cache discounts are always computed.
"""

from __future__ import annotations

import logging
import math

from genai_prices import Usage, calc_price

logger = logging.getLogger(__name__)

_PROBE = 1_000_000
_MAX_MODELS = 1024
_UNKNOWN = (-1.0, -1.0)
_rates: dict[str, tuple[float, float] | None] = {}
"""Per model: USD per input and per output token when its price is linear, `_UNKNOWN`
when it has no price, None when it must be computed call by call."""


def _calc(
    model: str, prompt_tokens: int, completion_tokens: int, cached_tokens: int
) -> float | None:
    usage = Usage(
        input_tokens=max(prompt_tokens, 0),
        output_tokens=max(completion_tokens, 0),
        cache_read_tokens=min(max(cached_tokens, 0), max(prompt_tokens, 0)) or None,
    )
    candidates = [model]
    if "/" in model:
        candidates.append(model.rsplit("/", 1)[1])
    for name in candidates:
        try:
            return float(calc_price(usage, name).total_price)
        except LookupError:
            continue
        except Exception:  # a pricing bug must never break a model call
            logger.debug("price lookup failed for %r", name, exc_info=True)
            return None
    return None


def _linear_rates(model: str) -> tuple[float, float] | None:
    """Per-token input and output prices when `model`'s price is linear in tokens."""
    per_input = _calc(model, _PROBE, 0, 0)
    per_output = _calc(model, 0, _PROBE, 0)
    if per_input is None or per_output is None:
        return _UNKNOWN if per_input is None and per_output is None else None
    rates = (per_input / _PROBE, per_output / _PROBE)
    for prompt, completion in ((1_000, 0), (0, 1_000), (300_000, 300_000), (3_000_000, 7)):
        exact = _calc(model, prompt, completion, 0)
        linear = rates[0] * prompt + rates[1] * completion
        if exact is None or not math.isclose(exact, linear, rel_tol=1e-9, abs_tol=1e-12):
            return None
    return rates


def estimate_cost(
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    *,
    cached_tokens: int = 0,
) -> float | None:
    """Return the call's price in USD, or None when the model's price is unknown.

    ``cached_tokens`` is the part of ``prompt_tokens`` served from the provider's prompt cache.
    Routed names such as ``openai/gpt-4o-mini`` (OpenRouter style) are tried without the prefix.
    """
    if not model:
        return None
    if cached_tokens <= 0:
        if model not in _rates:
            if len(_rates) >= _MAX_MODELS:
                _rates.clear()
            _rates[model] = _linear_rates(model)
        rates = _rates[model]
        if rates is _UNKNOWN:
            return None
        if rates is not None:
            return rates[0] * max(prompt_tokens, 0) + rates[1] * max(completion_tokens, 0)
    return _calc(model, prompt_tokens, completion_tokens, cached_tokens)
