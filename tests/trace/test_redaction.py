"""Redaction: secrets never reach storage or sinks, in any field; it fails closed."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from myagent.trace import (
    InMemoryTraceStorage,
    SQLiteTraceStorage,
    ThinkRecord,
    ToolRecord,
    TraceManager,
)
from myagent.trace.redaction import FAILED, REDACTED, Redactor
from myagent.trace.sync_bridge import run_sync

OPENAI_KEY = "sk-proj-CANARYabcdefghijklmnopqrstuvwxyz0123"
ANTHROPIC_KEY = "sk-ant-api03-CANARYabcdefghijklmnopqrstuv"
AWS_KEY = "AKIACANARY0123456789"
GITHUB_TOKEN = "ghp_CANARYabcdefghijklmnopqrstuvwxyz012345"
GOOGLE_KEY = "AIzaCANARY0123456789abcdefghijklmnopqrs"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJDQU5BUlkifQ.c2lnbmF0dXJlQ0FOQVJZ"
PASSWORD = "hunter2-CANARY-pw"
URL = "postgresql://admin:CANARY-db-pass@db.internal:5432/app"
QUERY_URL = "https://api.example.com/v1?api_key=CANARY-query-secret&q=1"
BEARER = "Bearer CANARYbearertoken123456"
SECRETS = [
    OPENAI_KEY,
    ANTHROPIC_KEY,
    AWS_KEY,
    GITHUB_TOKEN,
    GOOGLE_KEY,
    JWT,
    PASSWORD,
    "CANARY-db-pass",
    "CANARY-query-secret",
    "CANARYbearertoken123456",
]


def test_text_patterns_are_replaced_inside_strings() -> None:
    redactor = Redactor()
    text = f"use {OPENAI_KEY} or {AWS_KEY}, auth {BEARER}, jwt {JWT}, {URL} and {QUERY_URL}"
    out = redactor.value(text)
    for secret in SECRETS:
        assert secret not in out
    assert "use [REDACTED] or [REDACTED]" in out
    assert "postgresql://[REDACTED]@db.internal:5432/app" in out
    assert "q=1" in out  # the rest of the URL stays readable


def test_secret_keys_are_replaced_whole_and_counters_are_not() -> None:
    out = Redactor().value(
        {
            "password": PASSWORD,
            "Api-Key": "x" * 10,
            "headers": {"Authorization": "whatever", "Cookie": "c=1"},
            "client_secret": "s",
            "session_id": "s-1",
            "tokens_used": 150,
            "author": "ann",
            "note": "hello",
        }
    )
    assert out["password"] == REDACTED and out["Api-Key"] == REDACTED
    assert out["headers"] == {"Authorization": REDACTED, "Cookie": REDACTED}
    assert out["client_secret"] == REDACTED
    assert out["session_id"] == "s-1" and out["tokens_used"] == 150 and out["author"] == "ann"
    assert out["note"] == "hello"


def test_json_inside_strings_is_redacted() -> None:
    args = json.dumps({"location": "NYC", "api_key": "CANARY-in-json"})
    out = Redactor().value(args)
    assert "CANARY-in-json" not in out
    assert json.loads(out) == {"location": "NYC", "api_key": REDACTED}


def test_configurable_keys_patterns_and_callback() -> None:
    redactor = Redactor(
        extra_keys=["ssn"],
        extra_patterns=[r"ACME-\d{4}"],
        callback=lambda value, path: value.replace("internal", "[x]"),
    )
    out = redactor.value({"ssn": "123", "msg": "code ACME-1234 internal"})
    assert out == {"ssn": REDACTED, "msg": "code [REDACTED] [x]"}


def test_a_failing_callback_fails_closed() -> None:
    def boom(value: Any, path: str) -> Any:
        raise RuntimeError("bug in user callback")

    assert Redactor(callback=boom).value(f"key {OPENAI_KEY}") == FAILED


def _record_everywhere(manager: TraceManager) -> str:
    secret_args = json.dumps({"city": "NYC", "token": GITHUB_TOKEN})
    with manager.trace(
        "canary",
        agent_name="a",
        input=f"my key is {OPENAI_KEY}",
        metadata={"password": PASSWORD, "url": URL},
        session_id="s1",
    ) as trace:
        think = manager.start_run(
            ThinkRecord,
            "think",
            input=f"key {ANTHROPIC_KEY}",
            system_prompts=[f"Use {GOOGLE_KEY}"],
            messages=[{"role": "user", "content": f"jwt {JWT}"}],
        )
        manager.end_run(
            think,
            llm_response=f"calling with {BEARER}",
            tool_calls=[{"id": "c1", "name": "get_weather", "arguments": secret_args}],
        )
        try:
            with manager.run(
                "get_weather", ToolRecord, parent=think, input_params={"api_key": AWS_KEY}
            ) as tool:
                tool.output = QUERY_URL  # type: ignore[attr-defined]
                manager.add_log_entry(level="INFO", message=f"connecting to {URL}")
                raise ValueError(f"failed with key {OPENAI_KEY}")
        except ValueError:
            pass
        trace.output = {"answer": "ok", "secret": "CANARY-db-pass"}
    return trace.trace_id


def test_no_canary_reaches_sqlite_file_wal_or_sinks(tmp_path: Path) -> None:
    db = tmp_path / "canary.db"
    sink = InMemoryTraceStorage()
    manager = TraceManager(SQLiteTraceStorage(db))
    manager.add_sink(sink, "collector")
    trace_id = _record_everywhere(manager)
    assert manager.flush(10)
    stored = manager.storage
    assert isinstance(stored, SQLiteTraceStorage)
    trace = stored.get_trace_sync(trace_id)
    assert trace is not None
    assert len(trace.runs) == 2 and trace.tool_records[0].success is False
    raw_files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    in_sink_trace = run_sync(sink.get_trace(trace_id))
    assert in_sink_trace is not None
    in_sink = json.dumps(in_sink_trace.to_dict())
    for secret in SECRETS:
        assert secret.encode() not in raw_files, secret
        assert secret not in in_sink, secret
    manager.close()


def test_redaction_can_be_turned_off(tmp_path: Path) -> None:
    manager = TraceManager(InMemoryTraceStorage())
    manager.configure(redact=False)
    with manager.trace("t", input=f"key {OPENAI_KEY}") as trace:
        pass
    stored = manager.get_trace(trace.trace_id)
    assert stored is not None and OPENAI_KEY in str(stored.to_dict())
    manager.close()


def test_redaction_copies_and_leaves_the_callers_objects_alone() -> None:
    storage = InMemoryTraceStorage()
    manager = TraceManager(storage)
    params = {"password": PASSWORD}
    with manager.trace("t", input=params) as trace:
        pass
    assert manager.flush(5)
    assert params == {"password": PASSWORD}  # the program's own dict is untouched
    stored = run_sync(storage.get_trace(trace.trace_id))
    assert stored is not None and stored.input == {"password": REDACTED}
    manager.close()


# -- the fast paths (memo, prefilter, no paths without a callback) change no result -------

_NEVER = r"(?!x)x"
"""An extra pattern that never matches: it turns the substring prefilter off."""

_FRAGMENTS = [
    *SECRETS,
    BEARER,
    URL,
    QUERY_URL,
    "baſic QUJDREVGR0hJSktM",  # long s: (?i) matches "basic" here, so must the prefilter
    "BEARER abcdefgh12345678",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----",
    "a=b&c",
    "x?token=abc",
    "://",
    "sk-",
    "eyJ",
    "What's the weather in NYC?",
    "plain words",
    "{",
    '{"password": "pw", "note": "x"}',
    '["Bearer abcdefgh12345678"]',
    " ",
    "\n",
    # formats added with the linear patterns, and letters (?i) folds unlike str.lower
    "password=hunter2",
    "Pwd=x1;",
    "AccountKey=abc/def==;",
    "redis://:pw@h",
    "sk_live_abcdefghijklmnop1234",
    "hooks.slack.com/services/T0/B0/XXXXXXXX",
    "Authorization: Basic dXNlcjpwYXNz",
    "'password': 'x'",
    "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "?client_secret=c",
    "İ",
    "\u212a",
]


def _oracle() -> Redactor:
    """The redactor's plain algorithm: a callback (no memo, paths built) and an extra
    pattern (no prefilter), neither changing any value."""
    return Redactor(extra_patterns=[_NEVER], callback=lambda value, _path: value)


@settings(max_examples=300, deadline=None)
@given(
    data=st.recursive(
        st.lists(st.sampled_from(_FRAGMENTS), max_size=4).map("".join) | st.integers() | st.none(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    ["password", "api-key", "tokens_used", "session_id", "note", "Auth"]
                ),
                children,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_fast_paths_give_the_plain_algorithms_result(data: Any) -> None:
    fast = Redactor()
    want = _oracle().value(data)
    assert fast.value(data) == want
    assert fast.value(data) == want  # again: now from the memo


def test_clean_records_are_passed_on_uncopied_and_dirty_ones_copied() -> None:
    redactor = Redactor()
    clean = ToolRecord(tool_name="get_weather", input_params={"location": "NYC"}, output="Sunny")
    dirty = ToolRecord(tool_name="login", input_params={"password": PASSWORD}, output="ok")
    for _ in range(2):  # the second time from the memo
        assert redactor.redact_record(clean) is clean
        copied = redactor.redact_record(dirty)
        assert copied is not dirty and copied.input_params == {"password": REDACTED}
        assert dirty.input_params == {"password": PASSWORD}  # the caller's record untouched


_TEXTS = st.lists(st.sampled_from(_FRAGMENTS), max_size=3).map("".join)


@settings(max_examples=200, deadline=None)
@given(
    name=_TEXTS,
    error=st.none() | _TEXTS,
    model=st.none() | _TEXTS,
    messages=st.lists(
        st.fixed_dictionaries({"role": st.sampled_from(["user", "system"]), "content": _TEXTS}),
        max_size=3,
    ),
    reply=st.none() | _TEXTS,
    metadata=st.dictionaries(st.sampled_from(["note", "password", "Auth"]), _TEXTS, max_size=2),
)
def test_records_get_the_plain_algorithms_result_fresh_and_from_the_memo(
    name: str,
    error: str | None,
    model: str | None,
    messages: list[dict[str, str]],
    reply: str | None,
    metadata: dict[str, str],
) -> None:
    """`redact_record` clears names and errors with one set operation and looks payload
    containers up inline: field by field, it must answer what the plain walk answers."""
    record = ThinkRecord(
        name=name,
        error=error,
        model=model,
        messages=messages,
        llm_response=reply,
        metadata=metadata,
        tool_calls=[{"name": "get_weather", "arguments": {"location": name}}],
    )
    fields = ("name", "error", "model", "messages", "llm_response", "metadata", "tool_calls")
    want = _oracle().redact_record(record)
    fast = Redactor()
    for _ in range(2):  # the second time every verdict comes from the memos
        got = fast.redact_record(record)
        assert {f: getattr(got, f) for f in fields} == {f: getattr(want, f) for f in fields}


def test_a_secret_name_is_caught_among_names_seen_clean() -> None:
    redactor = Redactor()
    clean = ToolRecord(name="lookup", tool_name="get_weather", output="Sunny")
    assert redactor.redact_record(clean) is clean
    assert redactor.redact_record(clean) is clean  # names now cleared in one set operation
    leaky = ToolRecord(name="lookup", tool_name="get_weather", error=f"auth {OPENAI_KEY}")
    redacted = redactor.redact_record(leaky)
    assert OPENAI_KEY not in str(redacted.error) and "[REDACTED]" in str(redacted.error)


@dataclass(slots=True, kw_only=True, eq=False)
class _OwnThink(ThinkRecord):
    """A program's own record class (not one of `RECORD_TYPES`)."""

    note: str = ""


def test_a_record_subclass_has_its_names_redacted_too() -> None:
    record = _OwnThink(name="think", model=OPENAI_KEY, agent_name=BEARER)
    redacted = Redactor().redact_record(record)
    assert isinstance(redacted, ThinkRecord)
    assert OPENAI_KEY not in str(redacted.model)
    assert "CANARYbearertoken123456" not in str(redacted.agent_name)


def test_deeply_nested_containers_are_redacted_alike_but_not_remembered() -> None:
    """A container nested past the memo's depth allowance is walked every time (its result
    would depend on where it sits): same answer as the plain walk, nothing remembered."""
    deep: Any = {"password": PASSWORD, "note": OPENAI_KEY}
    for _ in range(70):
        deep = [deep]
    want = _oracle().value(deep)
    redactor = Redactor()
    assert redactor.value(deep) == want
    assert redactor.value(deep) == want
    assert all(key.count("[") + key.count("{") < 60 for key in redactor._json_memo.entries), (
        "a container that deep was remembered"
    )


def test_the_memos_stay_bounded_whatever_flows_through() -> None:
    import tracemalloc

    redactor = Redactor()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for i in range(20_000):  # unique texts, keys and containers: nothing repeats
            redactor.value({f"field{i}": f"value number {i}", "items": [i, f"x{i}"]})
        growth = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert growth < 1024 * 1024, f"the redactor kept {growth} bytes"


def test_a_redactor_pickles_as_its_arguments_for_the_writer_process() -> None:
    redactor = Redactor(extra_keys=(k for k in ["internal_id"]), extra_patterns=[r"ACME-\d+"])
    redactor.time_budget = 0.5
    copy = pickle.loads(pickle.dumps(redactor))
    value = {"internal_id": "x", "note": "ticket ACME-42", "password": "p"}
    assert copy.value(value) == redactor.value(value)
    assert copy.value(value)["internal_id"] == REDACTED
    assert copy.time_budget == 0.5
    copy.add_stats({"cut": 2, "unknown": 1})
    assert copy.stats["cut"] == 2 and "unknown" not in copy.stats

    class Custom(Redactor):
        pass

    with pytest.raises(TypeError):
        pickle.dumps(Custom())
