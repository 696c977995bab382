"""The writer process: redacts and stores the traces its parent hands over.

Run as `python -m myagent.trace.storage.process.child` by `ProcessStorage`, with frames
on stdin and answers on stdout (`pipe`). It answers each batch only after its storage
committed it, ignores Ctrl-C (its parent flushes at exit, then closes the pipe) and ends
when the pipe closes.

Frames from the parent, by their first byte:
- `C` + JSON {storage, max_value_size, redactor}: open the storage (`spec`) and take the
  redactor (base64 pickle, or null: the parent redacts); answers {ok, redacts, pid}.
- `T` / `P` + `1` (redacted already) or `0` + `handoff` JSON: store the finished
  (`store_traces`) or running (`store_partial`) traces; answers {ok, skipped, redaction}:
  the traces not stored as [index, reason, error] and the redactor's counts.
- `Q`: close the storage, answer {ok} and end.
A failed write answers {ok: false, error}.
"""

from __future__ import annotations

import asyncio
import base64
import os
import pickle
import signal
import sys
from typing import Any

import orjson

from myagent.trace.records import Trace
from myagent.trace.redaction import Redactor, redact_error
from myagent.trace.serialize import set_max_value_size
from myagent.trace.storage.base import TraceStorage, listen_to_conversions
from myagent.trace.storage.process import handoff, pipe
from myagent.trace.storage.process.spec import open_spec


class _Child:
    """One writer process's state: its storage, redactor and event loop."""

    def __init__(self, out: int) -> None:
        self.out = out
        self.storage: TraceStorage | None = None
        self.redactor: Redactor | None = None
        self.loop = asyncio.new_event_loop()

    def answer(self, **reply: Any) -> None:
        pipe.send(self.out, orjson.dumps(reply))

    def configure(self, config: dict[str, Any]) -> None:
        set_max_value_size(int(config["max_value_size"]))
        if self.storage is None:
            self.storage = open_spec(config["storage"])
        self.redactor = None
        if config.get("redactor"):
            try:
                self.redactor = pickle.loads(base64.b64decode(config["redactor"]))
            except Exception:  # e.g. a callback defined in the parent's __main__
                self.redactor = None
        self.answer(ok=True, redacts=self.redactor is not None, pid=os.getpid())

    def store(self, kind: int, frame: bytes) -> None:
        storage = self.storage
        assert storage is not None
        traces = handoff.decode(frame[2:])
        skipped: list[list[Any]] = []
        index = {id(trace): n for n, trace in enumerate(traces)}
        redactor = self.redactor if frame[1:2] == b"0" else None
        before = redactor.stats if redactor is not None else {}
        ready: list[Trace] = []
        for n, trace in enumerate(traces):
            if redactor is None:
                ready.append(trace)
                continue
            try:
                redacted = redactor.redact_trace(trace)
            except Exception as exc:  # fail closed: never stored unredacted
                skipped.append([n, "transform_failed", _error(exc)])
                continue
            index[id(redacted)] = n
            ready.append(redacted)

        def skip(trace: Trace, reason: str, error: BaseException | None) -> None:
            skipped.append([index.get(id(trace), -1), reason, error and _error(error)])

        listen_to_conversions(None, skip)
        write = storage.store_traces if kind == ord("T") else storage.store_partial
        try:
            self.loop.run_until_complete(write(ready))
        finally:
            listen_to_conversions(None)
        after = redactor.stats if redactor is not None else {}
        counts = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
        self.answer(ok=True, skipped=skipped, redaction=counts)

    def close(self) -> None:
        if self.storage is not None:
            self.loop.run_until_complete(self.storage.close())
        self.answer(ok=True)


def _error(exc: BaseException) -> str:
    return redact_error(f"{type(exc).__name__}: {exc}") or type(exc).__name__


def main() -> int:
    """Serve the parent until it closes the pipe or says `Q`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.dup(1)
    os.dup2(2, 1)  # anything printed goes to stderr, never into the answers
    sys.stdout = sys.stderr
    child = _Child(out)
    while True:
        try:
            frame = pipe.receive(0)
        except pipe.PipeClosed:
            break
        kind = frame[0]
        try:
            if kind == ord("C"):
                child.configure(orjson.loads(frame[1:]))
            elif kind in (ord("T"), ord("P")):
                child.store(kind, frame)
            elif kind == ord("Q"):
                child.close()
                return 0
        except pipe.PipeClosed:
            break
        except Exception as exc:
            child.answer(ok=False, error=_error(exc))
    if child.storage is not None:
        child.loop.run_until_complete(child.storage.close())
    return 0


if __name__ == "__main__":
    sys.exit(main())
