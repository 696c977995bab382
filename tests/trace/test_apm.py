"""The spec's "With APM Tools" snippet, run as written in a fresh interpreter.

A subprocess, because the alias depends on what was imported before `myagent.trace`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from myagent.trace.apm import instrument

_SNIPPET = """
import opentelemetry
from myagent.trace import trace_run

@trace_run
@opentelemetry.trace.instrument
async def instrumented_function():
    # Function traced by both MyAgent and OpenTelemetry
    pass
"""

_HARNESS = """
import asyncio, json
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
otel_trace.set_tracer_provider(provider)
"""

_RUN = """
from myagent.trace import InMemoryTraceStorage, TraceManager, set_trace_manager
manager = TraceManager(storage=InMemoryTraceStorage())
set_trace_manager(manager)
asyncio.run(instrumented_function())
manager.flush()
traces = manager.get_all_traces()
print(json.dumps({
    "otel_spans": [span.name for span in exporter.get_finished_spans()],
    "myagent_steps": [run.name for trace in traces for run in trace.runs],
}))
"""


def _run(source: str, tmp_path: Path) -> dict[str, list[str]]:
    script = tmp_path / "apm_snippet.py"
    script.write_text(source)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_spec_apm_snippet_runs_as_written_and_both_tracers_record(tmp_path: Path) -> None:
    result = _run(_HARNESS + textwrap.dedent(_SNIPPET) + _RUN, tmp_path)
    assert result["otel_spans"] == ["instrumented_function"]
    assert result["myagent_steps"] == ["instrumented_function"]


def test_alias_never_replaces_an_existing_attribute(tmp_path: Path) -> None:
    source = (
        "import opentelemetry.trace\n"
        "opentelemetry.trace.instrument = 'theirs'\n"
        "import myagent.trace\n"
        'print(\'{"value": ["%s"]}\' % opentelemetry.trace.instrument)\n'
    )
    assert _run(source, tmp_path) == {"value": ["theirs"]}


def test_instrument_wraps_sync_functions_and_records_exceptions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opentelemetry import trace as otel_trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    @instrument(name="boom", tracer_name="tests")
    def boom(x: int) -> int:
        raise ValueError(f"bad {x}")

    # The global provider can be set once per process; this test's provider stays local.
    monkeypatch.setattr(otel_trace, "get_tracer", lambda name, *_a, **_k: provider.get_tracer(name))
    with pytest.raises(ValueError, match="bad 3"):
        boom(3)
    (span,) = exporter.get_finished_spans()
    assert span.name == "boom"
    assert not span.status.is_ok
    assert span.events[0].name == "exception"
