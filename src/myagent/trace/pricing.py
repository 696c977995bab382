"""USD cost of a model call, from the maintained ``genai-prices`` price database.

Used by the LLM clients (through `myagent.llm.pricing`) and by OTLP ingest for spans that
carry tokens but no cost."""

from __future__ import annotations

import logging

from genai_prices import Usage, calc_price

logger = logging.getLogger(__name__)


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
