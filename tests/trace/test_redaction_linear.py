"""Redaction is linear in its input, bounded per value, and exact when it scans in windows.

Hostile inputs (repeated PEM BEGIN lines with no END, `eyJ` repeated, long runs of
key-like characters, `password=` runs, URLs that never reach `@`, JSON nested 64 deep)
used to take time quadratic in their length (0.21 s at 28 KB, 45 s at 448 KB). Here
each is redacted at 2 MiB and at 8 MiB (the default value size limit): 4x the input
must take at most ~5x the time, measured side by side in this test.
"""

from __future__ import annotations

import json
import random
import re
import time

import pytest

from myagent.trace import InMemoryTraceStorage, TraceManager
from myagent.trace import redaction_patterns as patterns
from myagent.trace.redaction import OVER_BUDGET, REDACTED, Redactor

MIB = 1024 * 1024


def _hostile(kind: str, size: int) -> str:
    units = {
        "begin": "-----BEGIN RSA PRIVATE KEY-----\n",
        "jwt": "eyJ",
        "jwt_dots": "eyJhbGciOiJIUzI1NiJ9.",
        "keychars": "sk-Ab0_",
        "b64run": "A",
        "url": "://a:",
        "kv": "password=x&",
        "bearer": "Bearer ",
        "quoted": '"password": "',
    }
    if kind == "json64":
        note = _hostile("kv", size - 700)
        inner = json.dumps(json.dumps({"note": note, "api_key": "k"}))
        return '{"a":' * 60 + inner + "}" * 60
    unit = units[kind]
    return (unit * (size // len(unit) + 1))[:size]


def _seconds(redactor: Redactor, text: str) -> float:
    """This thread's CPU seconds (other processes on a shared machine do not count),
    best of two."""
    best = float("inf")
    for _ in range(2):
        start = time.thread_time()
        out = redactor.value(text)
        best = min(best, time.thread_time() - start)
        assert out != OVER_BUDGET
    return best


@pytest.mark.parametrize(
    "kind",
    ["begin", "jwt", "jwt_dots", "keychars", "b64run", "url", "kv", "bearer", "quoted", "json64"],
)
def test_hostile_input_costs_linear_time_up_to_the_value_limit(kind: str) -> None:
    """Guarantee: 4x the hostile input (2 -> 8 MiB) costs at most ~5x the time."""
    redactor = Redactor(time_budget=600)  # the budget is tested on its own below
    small = _seconds(redactor, _hostile(kind, 2 * MIB))
    large = _seconds(redactor, _hostile(kind, 8 * MIB))
    floor = 0.002  # below this, timer noise is the figure
    assert large <= 5.0 * max(small, floor), (kind, small, large)


def test_a_value_over_the_time_budget_becomes_a_marker_and_is_counted() -> None:
    redactor = Redactor(time_budget=0.0)
    text = _hostile("kv", 4 * MIB)
    assert redactor.value({"note": text}) == OVER_BUDGET
    assert redactor.value(text) == OVER_BUDGET
    assert redactor.stats["over_budget"] == 2
    assert Redactor().value("password=hunter2") == f"password={REDACTED}"  # normal budget


def test_a_trace_has_a_budget_too_so_the_watchdog_never_drops_it() -> None:
    """Values redacted after the trace's budget is spent become the marker: a trace
    full of hostile values keeps its records, ids and clean fields."""
    from myagent.trace import ToolRecord, Trace

    redactor = Redactor(time_budget=600, trace_budget=0.0)
    trace = Trace(
        name="t",
        input=_hostile("kv", MIB),
        runs=[ToolRecord(tool_name="get_weather", output=_hostile("kv", MIB))],
    )
    out = redactor.redact_trace(trace)
    assert out.input == OVER_BUDGET and out.runs[0].output == OVER_BUDGET  # type: ignore[attr-defined]
    assert out.trace_id == trace.trace_id and out.runs[0].run_id == trace.runs[0].run_id
    assert redactor.value(_hostile("kv", 1000)) != OVER_BUDGET  # outside a trace: its own


def test_over_budget_values_are_counted_in_the_managers_stats() -> None:
    manager = TraceManager(InMemoryTraceStorage(), redactor=Redactor(time_budget=0.0))
    with manager.trace("t", input=_hostile("kv", MIB)) as trace:
        pass
    assert manager.flush(10)
    stored = manager.get_trace(trace.trace_id)
    assert stored is not None and stored.input == OVER_BUDGET
    assert manager.stats["redaction"]["over_budget"] >= 1
    manager.close()


def test_text_past_the_size_budget_is_cut_before_it_is_scanned() -> None:
    secret = "sk-proj-" + "a1" * 20
    text = "x " * 600 + secret + " tail"
    redactor = Redactor(max_chars=1200 + 10)  # the limit falls inside the secret
    out = redactor.value(text)
    assert secret[:12] not in out and out.endswith("chars]") and "truncated" in out
    assert redactor.stats["cut"] == 1


def _random_text(rng: random.Random, size: int) -> str:
    pieces = [
        "plain words and more plain words ",
        "sk-proj-abcdefghijklmnopqrstuvwxyz0123 ",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlMTIz ",
        "password=hunter2 ",
        "https://u:p@host/ ",
        "?api_key=abc&x=1 ",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY----- ",
        "AKIAIOSFODNN7EXAMPLE ",
        "Authorization: Bearer abc123def456ghi ",
    ]
    out: list[str] = []
    while sum(map(len, out)) < size:
        out.append(rng.choice(pieces) * rng.randint(1, 3))
    return "".join(out)


def test_scanning_in_windows_gives_the_same_text_as_one_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The windows overlap by more than any match spans, so secrets across a window's
    edge are found whole; the result equals one `re.sub` over the whole text."""
    rng = random.Random(7)
    texts = [_random_text(rng, 60_000) for _ in range(4)]
    spec_patterns = patterns.TextPatterns(patterns.DEFAULT_PATTERNS)
    whole = []
    for text in texts:
        for pattern in spec_patterns.patterns:
            text = pattern.regex.sub(pattern.fixed or pattern.replace, text)
        whole.append(text)
    monkeypatch.setattr(patterns, "WINDOW", 997)  # odd, so edges fall everywhere
    monkeypatch.setattr(patterns, "MAX_MATCH", 20_000)
    windowed = [spec_patterns.sub(text) for text in texts]
    assert windowed == whole
    assert all("hunter2" not in text and "abc123def456ghi" not in text for text in windowed)


def test_every_default_pattern_is_bounded() -> None:
    """No default pattern has an unbounded repetition: each examines at most
    `MAX_MATCH` characters from a start, which the windows rely on."""
    for source in patterns.DEFAULT_PATTERNS:
        bare = re.sub(r"\\.", "", source)  # escapes out
        bare = re.sub(r"\[[^\]]*\]", "", bare).replace("}+", "}")  # classes, possessives out
        assert not re.search(r"[*+]|\{\d+,\}", bare), source


def test_words_are_found_across_chunk_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    """The word gate reads long texts a chunk at a time; a word across an edge counts."""
    monkeypatch.setattr(patterns, "_CHUNK", 7)
    for offset in range(12):
        text = "x" * offset + "PassWord=1 and a BEARER" + "y" * 20
        assert {"pass", "bearer"} <= patterns._words_in(text), offset
    assert patterns._words_in("nothing here") == set()


def test_the_word_gate_matches_as_the_patterns_case_rules_do() -> None:
    """`(?i)` matches some letters `str.lower` maps elsewhere (the dotted capital I, the
    long s, the Kelvin sign): the gate must not skip a pattern that would match."""
    redactor = Redactor()
    plain = Redactor(extra_patterns=[r"(?!x)x"])  # no gate, no prefilter
    for text in ("Basİc QUJD12345678", "baſic QUJD12345678", "passwordK=1 Bearer ab12cd34ef56gh"):
        assert redactor.value(text) == plain.value(text), text
