"""estimate_cost's per-model linear fast path gives what genai-prices computes, and tiered
prices (long-context surcharges) are still computed call by call."""

from __future__ import annotations

import pytest

from myagent.trace import pricing


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-4o", "gemini-2.5-pro", "claude-sonnet-4-5"])
def test_fast_path_matches_genai_prices(model: str) -> None:
    for prompt, completion in ((1, 0), (1_234, 567), (150_000, 9), (250_000, 500), (2_000_000, 1)):
        got = pricing.estimate_cost(model, prompt, completion)
        assert got == pytest.approx(pricing._calc(model, prompt, completion, 0), rel=1e-9)


def test_tiered_prices_are_not_taken_for_linear() -> None:
    pricing.estimate_cost("gemini-2.5-pro", 10, 10)
    pricing.estimate_cost("gpt-4o", 10, 10)
    assert pricing._rates["gemini-2.5-pro"] is None  # > 200k tokens costs more per token
    assert pricing._rates["gpt-4o"] == (2.5e-06, 1e-05)


def test_unknown_models_and_cached_tokens() -> None:
    assert pricing.estimate_cost("no-such-model-xyz", 100, 100) is None
    assert pricing.estimate_cost("", 100, 100) is None
    cached = pricing.estimate_cost("gpt-4o-mini", 10_000, 100, cached_tokens=8_000)
    assert cached == pricing._calc("gpt-4o-mini", 10_000, 100, 8_000)
    assert cached is not None and cached < pricing.estimate_cost("gpt-4o-mini", 10_000, 100)  # type: ignore[operator]
