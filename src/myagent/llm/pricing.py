"""USD cost of a model call: the price table lives with the trace records it fills
(`myagent.trace.pricing`, which OTLP ingest uses too); re-exported here for the LLM clients."""

from __future__ import annotations

from myagent.trace.pricing import estimate_cost

__all__ = ["estimate_cost"]
