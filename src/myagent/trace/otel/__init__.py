"""OpenTelemetry export: every finished trace as GenAI spans over OTLP/HTTP (optional extra).

Needs `pip install "myagent[otel]"`. One line turns it on beside any storage:

    from myagent.trace.otel import enable_otlp_export
    enable_otlp_export()  # OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ... or arguments
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

try:
    from myagent.trace.otel.exporter import OTLPExportError, OTLPTraceExporter
    from myagent.trace.otel.mapping import SpanOptions, trace_to_spans
    from myagent.trace.otel.settings import OTLPSettings, env_flag
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    if exc.name and exc.name.split(".")[0] in ("opentelemetry", "google"):
        raise ImportError(
            "OTLP export needs the 'otel' extra: pip install \"myagent[otel]\""
        ) from exc
    raise

from myagent.trace.manager import TraceManager
from myagent.trace.setup import get_trace_manager

__all__ = [
    "OTLPExportError",
    "OTLPSettings",
    "OTLPTraceExporter",
    "SpanOptions",
    "enable_otlp_export",
    "trace_to_spans",
]


def enable_otlp_export(
    manager: TraceManager | None = None,
    endpoint: str | None = None,
    *,
    name: str = "otlp",
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> OTLPTraceExporter | None:
    """Send every finished trace of `manager` (default: the global one) to an OTLP receiver.

    `options` go to `OTLPTraceExporter` (headers, timeout, service_name, capture_content,
    ...). Returns the exporter (its counters are in `manager.stats["sinks"][name]` and
    `exporter.stats`), or None when OTEL_SDK_DISABLED=true and no endpoint was given.
    """
    env = os.environ if environ is None else environ
    if endpoint is None and env_flag(env, "OTEL_SDK_DISABLED"):
        return None
    exporter = OTLPTraceExporter(endpoint, environ=env, **options)
    (manager or get_trace_manager()).add_sink(exporter, name)
    return exporter
