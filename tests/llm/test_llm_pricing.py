"""Cost estimates from the genai-prices database."""

from __future__ import annotations

import pytest

from myagent.llm import estimate_cost


def test_known_model_has_a_price_per_token() -> None:
    cost = estimate_cost("gpt-4o-mini", 1_000_000, 1_000_000)

    # gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output tokens.
    assert cost == pytest.approx(0.75)


def test_cost_grows_with_tokens_and_output_costs_more() -> None:
    small = estimate_cost("gpt-4o", 1000, 500)
    double = estimate_cost("gpt-4o", 2000, 1000)
    input_only = estimate_cost("gpt-4o", 1000, 0)
    output_only = estimate_cost("gpt-4o", 0, 1000)

    assert small is not None and double is not None
    assert double == pytest.approx(2 * small)
    assert input_only is not None and output_only is not None and output_only > input_only
    assert estimate_cost("gpt-4o", 0, 0) == 0.0


def test_dated_and_routed_model_names_resolve() -> None:
    plain = estimate_cost("gpt-4o-mini", 1000, 1000)

    assert estimate_cost("gpt-4o-mini-2024-07-18", 1000, 1000) == pytest.approx(plain)
    assert estimate_cost("openai/gpt-4o-mini", 1000, 1000) == pytest.approx(plain)


def test_cached_prompt_tokens_are_cheaper() -> None:
    full = estimate_cost("gpt-4o", 10_000, 100)
    cached = estimate_cost("gpt-4o", 10_000, 100, cached_tokens=8_000)

    assert full is not None and cached is not None and cached < full


@pytest.mark.parametrize("model", ["scripted-offline", "my-local-llama-q4", "llama3.2:latest", ""])
def test_unknown_model_has_no_price(model: str) -> None:
    assert estimate_cost(model, 1000, 1000) is None
