"""Redaction reaches every field and every known secret format, and leaves prose alone.

Names (agent, trace, record, tool, model, tags, session id) get the value patterns only,
so plain names stay searchable; keys (str and bytes) and dataclass fields get the key
rules too; storage and sink errors are redacted before logs and stats; a value changed
after `end_trace` changes nothing stored.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import httpx
import pytest

from myagent.trace import InMemoryTraceStorage, ThinkRecord, ToolRecord, Trace, TraceManager
from myagent.trace.filters import TraceFilter
from myagent.trace.freeze import freeze_trace
from myagent.trace.redaction import REDACTED, Redactor, redact_error

# Each case: text holding a secret, the secret, and text around it that must stay.
GAPS = {
    "stripe live key": (
        "charge with sk_live_4eC39HqLyjWDarjtT1zdp7dc now",
        "4eC39HqLyjWDarjtT1zdp7dc",
        "charge with",
    ),
    "stripe restricted key": (
        "rk_live_51H8abcdefghijklmnopqrstuv",
        "51H8abcdefghijklmnopqrstuv",
        "",
    ),
    "aws secret next to its key id": (
        "creds AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ok",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "ok",
    ),
    "aws secret after its key id and a label": (
        "AKIAIOSFODNN7EXAMPLE, secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "",
    ),
    "aws_secret_access_key=": (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_access_key",
    ),
    "Password= in a connection string": (
        "Server=db.internal;Database=app;User Id=sa;Password=Sup3r-S3cret!;Encrypt=true",
        "Sup3r-S3cret!",
        "Encrypt=true",
    ),
    "Pwd= in a connection string": ("Driver={ODBC};Uid=sa;Pwd=Pa55word;", "Pa55word", "Uid=sa"),
    "google api key": (
        "key AIzaSyA1234567890abcdefghijklmnopqrstuv",
        "AIzaSyA1234567890abcdefghijklmnopqrstuv",
        "key",
    ),
    "anthropic key": (
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345",
        "abcdefghijklmnopqrstuvwxyz012345",
        "",
    ),
    "azure AccountKey=": (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYmFyYmF6cXV4+/abc==;EndpointSuffix=core.windows.net",
        "Zm9vYmFyYmF6cXV4+/abc==",
        "EndpointSuffix=core.windows.net",
    ),
    "url with an empty user": ("redis://:r3dis-pw@cache:6379/0", "r3dis-pw", "@cache:6379/0"),
    "client_secret=": (
        "grant_type=x&client_secret=cl13nt-s3cret&scope=a",
        "cl13nt-s3cret",
        "scope=a",
    ),
    "refresh_token=": ("?refresh_token=r3fresh-t0ken&x=1", "r3fresh-t0ken", "x=1"),
    "X-Amz-Signature=": (
        "https://b.s3.amazonaws.com/k?X-Amz-Date=20260101&X-Amz-Signature=f00dbabe1234&x=1",
        "f00dbabe1234",
        "X-Amz-Date=20260101",
    ),
    "slack webhook": (
        "post to https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXXXXXXXXXX",
        "XXXXXXXXXXXXXXXXXXXXXXXX",
        "post to",
    ),
    "password= in a log line": (
        "login failed for bob password=hunter2 retry=3",
        "hunter2",
        "retry=3",
    ),
    "Authorization: Basic": (
        "Authorization: Basic dXNlcjpwYXNzd29yZA==",
        "dXNlcjpwYXNzd29yZA==",
        "Authorization",
    ),
    "PEM without END": (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        "",
    ),
    "quoted key in a repr": ("{'db_password': 'pr0d-pw', 'host': 'h'}", "pr0d-pw", "'host': 'h'"),
}


@pytest.mark.parametrize("case", list(GAPS))
def test_each_listed_secret_format_is_redacted_and_its_context_kept(case: str) -> None:
    text, secret, kept = GAPS[case]
    out = Redactor().value(text)
    assert secret not in out and REDACTED in out, out
    assert kept in out


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        ({"passphrase": "correct horse"}, "correct horse"),
        ({"dsn_pass": "d5n-pw"}, "d5n-pw"),
        ({b"password": "bytes-key-pw"}, "bytes-key-pw"),
        ({b"sk-proj-abcdefghijklmnopqrstuvwxyz": 1}, "abcdefghijklmnopqrstuvwxyz"),
        (
            {"ghp_abcdefghijklmnopqrstuvwxyz0123456789": "owner"},
            "abcdefghijklmnopqrstuvwxyz0123456789",
        ),
    ],
)
def test_keys_are_checked_and_redacted_bytes_keys_too(value: Any, secret: str) -> None:
    assert secret not in repr(Redactor().value(value))


def test_dataclass_fields_get_the_key_rules() -> None:
    @dataclasses.dataclass
    class Login:
        user: str
        password: str

    out = Redactor().value({"login": Login("bob", "dc-pw-123")})
    assert out == {"login": {"user": "bob", "password": REDACTED}}


def test_binary_values_holding_a_secret_are_redacted_and_clean_ones_kept() -> None:
    redactor = Redactor()
    dirty = redactor.value(b"\xff\xfe token=s3cr3t-bin and more")
    assert isinstance(dirty, str) and "s3cr3t-bin" not in dirty
    clean = b"\xff\xfe just bytes"
    assert redactor.value(clean) is clean


def test_two_keys_redacted_alike_both_stay() -> None:
    out = Redactor().value(
        {"sk-proj-aaaaaaaaaaaaaaaaaaaaaaaa": 1, "sk-proj-bbbbbbbbbbbbbbbbbbbbbbbb": 2}
    )
    assert sorted(out.values()) == [1, 2]


PROSE = """\
The basic idea is simple: a bearer of good news is always welcome. Our basic plan
costs nothing, and the key to success is a good token budget (max_tokens is 512).
Users sign in with a password; forgotten passwords are reset by email. The secret
of a good agent is patience. See https://example.com/docs?page=2&lang=en for more.

    def connect(host: str, port: int = 5432) -> Connection:
        # Open a connection; retries=3 by default, timeout in seconds.
        url = f"postgresql://{host}:{port}/app"
        if tokens_used > max_tokens:
            raise ValueError("over budget: use a smaller prompt")
        return Connection(url, timeout=30, key_field="id")
"""


def test_ordinary_prose_and_code_come_back_unchanged() -> None:
    """Guarantee: no over-redaction: words like basic, bearer, key, token, password and
    secret in sentences, and ordinary code, stay as they are."""
    redactor = Redactor()
    assert redactor.value(PROSE) == PROSE
    assert redactor.value(PROSE * 200) == PROSE * 200  # the long-text path too


def _names_trace(manager: TraceManager, secret: str) -> Trace:
    with manager.trace(
        f"trace {secret}",
        agent_name=f"agent-{secret}",
        session_id=f"session {secret}",
        tags=["plain-tag", f"tag {secret}"],
        metadata={secret: "value under a secret key", "plain": "x"},
    ) as trace:
        think = manager.start_run(
            ThinkRecord, f"think {secret}", model=f"model {secret}", agent_name=f"a {secret}"
        )
        manager.end_run(think)
        tool = manager.start_run(
            ToolRecord, "get_weather", tool_name=f"tool {secret}", tool_call_id=f"call {secret}"
        )
        manager.end_run(tool)
        manager.add_log_entry(level="INFO", message=f"log {secret}")
    return trace


def test_names_tags_session_and_keys_are_redacted_and_plain_names_kept() -> None:
    secret = "sk-proj-NAMECANARYabcdefghijklmnop"
    manager = TraceManager(InMemoryTraceStorage())
    trace = _names_trace(manager, secret)
    with manager.trace("weather-agent", agent_name="weather-agent", tags=["prod"]) as plain:
        pass
    assert manager.flush(10)
    stored = manager.get_trace(trace.trace_id)
    assert stored is not None
    assert secret not in repr(stored.to_dict())
    assert stored.name == f"trace {REDACTED}" and stored.tags[0] == "plain-tag"
    assert stored.metadata["plain"] == "x"
    kept = manager.get_trace(plain.trace_id)
    assert kept is not None and kept.agent_name == "weather-agent" and kept.tags == ["prod"]
    found = manager.query_traces(TraceFilter(agent_names=["weather-agent"]))
    assert [t.trace_id for t in found] == [plain.trace_id]  # still searchable
    manager.close()


class _LeakyStorage(InMemoryTraceStorage):
    async def store_traces(self, traces: list[Trace]) -> None:
        raise RuntimeError("could not connect to postgresql://app:LEAKY-db-pw@db:5432/x")


def test_a_storage_error_quoting_a_secret_is_redacted_in_log_and_stats(
    caplog: pytest.LogCaptureFixture,
) -> None:
    manager = TraceManager(_LeakyStorage(), write_retries=0)
    with caplog.at_level(logging.WARNING, logger="myagent.trace"):
        with manager.trace("t"):
            pass
        manager.flush(5)
    last = manager.stats["writer"]["last_error"]
    assert last is not None and "could not connect" in last
    assert "LEAKY-db-pw" not in last
    assert caplog.records and "LEAKY-db-pw" not in caplog.text
    assert "could not connect" in caplog.text
    manager.close(1)
    assert redact_error("token=abc123secret") == f"token={REDACTED}"
    huge = redact_error("password=hunter2 " + "x" * 10_000_000)  # cut before it is scanned
    assert huge is not None and len(huge) < 5000 and "hunter2" not in huge


def test_a_value_changed_after_end_trace_changes_nothing_stored() -> None:
    manager = TraceManager(InMemoryTraceStorage(), flush_interval=30)
    params = {"city": "NYC", "nested": {"units": "F"}}
    messages = [{"role": "user", "content": "hi"}]
    with manager.trace("t", input=params) as trace:
        think = manager.start_run(ThinkRecord, "think", messages=messages)
        manager.end_run(think)
    params["city"] = "changed"
    params["nested"]["units"] = "changed"
    params["password"] = "added-after-end"
    messages.append({"role": "user", "content": "changed"})
    messages[0]["content"] = "changed"
    assert manager.flush(10)
    stored = manager.get_trace(trace.trace_id)
    assert stored is not None
    assert stored.input == {"city": "NYC", "nested": {"units": "F"}}
    assert stored.runs[0].messages == [{"role": "user", "content": "hi"}]  # type: ignore[attr-defined]
    manager.close()


def test_freezing_copies_only_what_the_program_still_holds() -> None:
    held = {"role": "user", "content": "hi"}
    record = ThinkRecord(messages=[held], tool_calls=[{"id": "c1"}])
    trace = Trace(runs=[record])
    private_calls = record.tool_calls
    del held  # nothing but the record holds these now... except `private_calls`
    freeze_trace(trace)
    assert record.tool_calls is not private_calls  # still held here: copied
    owned = ThinkRecord(messages=[{"role": "user", "content": "x"}])
    before = id(owned.messages)
    freeze_trace(Trace(runs=[owned]))
    assert id(owned.messages) == before  # held by the record alone: not copied


def test_the_in_process_viewer_redacts_running_traces_and_writer_errors(
    viewer_factory: Any,
) -> None:
    secret = "sk-proj-LIVECANARYabcdefghijklmnop"
    manager = TraceManager(_LeakyStorage(), write_retries=0)
    manager._writer._stats.note("write", RuntimeError(f"failed with {secret}"))
    viewer = viewer_factory(manager=manager)
    scope = manager.trace(f"live {secret}", input={"api_key": secret, "q": f"use {secret}"})
    trace = scope.__enter__()
    think = manager.start_run(ThinkRecord, "think", messages=[{"content": secret}])
    try:
        with httpx.Client(base_url=viewer.url, timeout=10) as client:
            detail = client.get(f"/api/traces/{trace.trace_id}")
            assert detail.status_code == 200 and trace.trace_id in detail.text
            record = client.get(f"/api/traces/{trace.trace_id}/records/{think.run_id}")
            assert record.status_code == 200
            writers = client.get("/api/writers")
            assert writers.status_code == 200 and "failed with" in writers.text
            for response in (detail, record, writers):
                assert secret not in response.text
    finally:
        manager.end_run(think)
        scope.__exit__(None, None, None)
        manager.close(1)


def test_live_redaction_runs_off_the_event_loop_thread(viewer_factory: Any) -> None:
    import threading

    seen: list[str] = []
    redactor = Redactor()
    original = redactor.redact_trace

    def spy(trace: Trace) -> Trace:
        seen.append(threading.current_thread().name)
        return original(trace)

    redactor.redact_trace = spy  # type: ignore[method-assign]
    manager = TraceManager(InMemoryTraceStorage(), redactor=redactor)
    viewer = viewer_factory(manager=manager)
    with manager.trace("live") as trace:
        with httpx.Client(base_url=viewer.url, timeout=10) as client:
            assert client.get(f"/api/traces/{trace.trace_id}").status_code == 200
    loop_thread = viewer._thread.name
    assert seen and all(name != loop_thread for name in seen)
    manager.close()
