"""Turn a run's agent events (plain dicts) into AG-UI protocol events (camelCase dicts).

One mapper per run. RUN_STARTED carries threadId = session id and runId = trace id; each
LLM call is a STEP_STARTED/STEP_FINISHED pair; streamed tokens and answers are
TEXT_MESSAGE_START/CONTENT/END; tool calls are TOOL_CALL_START/ARGS/END then
TOOL_CALL_RESULT; the run ends with RUN_FINISHED or RUN_ERROR.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from myagent.ws.runner import RUN_STARTED


def _new_id() -> str:
    return uuid.uuid4().hex


class AguiEventMapper:
    """Maps one run's events to AG-UI events, keeping messages and steps well nested."""

    def __init__(self, thread_id: str, client_run_id: str) -> None:
        self.thread_id = thread_id
        self.client_run_id = client_run_id
        self.run_id: str = client_run_id
        self.started_metadata: dict[str, Any] = {}
        """Added to RUN_STARTED's metadata (the thread's token, for its own client)."""
        self.started = False
        self.ended = False
        self._message_id: str | None = None
        self._message_text: list[str] = []
        self._step_message_id: str | None = None
        self._streamed_text = ""
        self._step: str | None = None

    @staticmethod
    def _event(kind: str, **fields: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "timestamp": int(time.time() * 1000),
            **{k: v for k, v in fields.items() if v is not None},
        }

    # -- nesting ----------------------------------------------------------------------

    def _close_text(self) -> list[dict[str, Any]]:
        if self._message_id is None:
            return []
        message_id, self._message_id = self._message_id, None
        self._streamed_text = "".join(self._message_text)
        self._message_text = []
        return [self._event("TEXT_MESSAGE_END", messageId=message_id)]

    def _close_step(self) -> list[dict[str, Any]]:
        out = self._close_text()
        if self._step is not None:
            out.append(self._event("STEP_FINISHED", stepName=self._step))
            self._step = None
        return out

    def _text_message(self, text: str) -> list[dict[str, Any]]:
        message_id = _new_id()
        return [
            self._event("TEXT_MESSAGE_START", messageId=message_id, role="assistant"),
            self._event("TEXT_MESSAGE_CONTENT", messageId=message_id, delta=text),
            self._event("TEXT_MESSAGE_END", messageId=message_id),
        ]

    # -- events -----------------------------------------------------------------------

    def run_started(self, trace_id: str | None) -> list[dict[str, Any]]:
        """RUN_STARTED; the run id is the trace id (the client's run id when untraced)."""
        if self.started:
            return []
        self.started = True
        self.run_id = trace_id or self.client_run_id
        metadata = {
            **({"clientRunId": self.client_run_id} if self.run_id != self.client_run_id else {}),
            **self.started_metadata,
        }
        return [
            self._event(
                "RUN_STARTED",
                threadId=self.thread_id,
                runId=self.run_id,
                metadata=metadata or None,
            )
        ]

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The AG-UI events for one agent event."""
        kind = event.get("type")
        if kind == RUN_STARTED:
            return self.run_started(event.get("trace_id"))
        out: list[dict[str, Any]] = []
        if not self.started:
            out.extend(self.run_started(event.get("trace_id")))
        if kind == "thinking":
            out.extend(self._close_step())
            self._streamed_text = ""
            self._step_message_id = None
            self._step = f"step_{int(event.get('step') or 0)}"
            out.append(self._event("STEP_STARTED", stepName=self._step))
        elif kind == "partial_answer":
            chunk = str(event.get("content") or "")
            if chunk:
                if self._message_id is None:
                    self._message_id = self._step_message_id = _new_id()
                    out.append(
                        self._event(
                            "TEXT_MESSAGE_START", messageId=self._message_id, role="assistant"
                        )
                    )
                self._message_text.append(chunk)
                out.append(
                    self._event("TEXT_MESSAGE_CONTENT", messageId=self._message_id, delta=chunk)
                )
        elif kind == "tool_call":
            out.extend(self._close_text())
            out.extend(self._tool_call(event))
        elif kind == "tool_result":
            out.extend(self._close_text())
            out.append(
                self._event(
                    "TOOL_CALL_RESULT",
                    messageId=_new_id(),
                    toolCallId=str(event.get("tool_call_id") or ""),
                    content=str(event.get("output") or ""),
                    role="tool",
                )
            )
        elif kind == "final_answer":
            out.extend(self._close_text())
            answer = str(event.get("content") or "")
            if answer and answer != self._streamed_text:
                out.extend(self._text_message(answer))
            self._streamed_text = answer
        return out

    def _tool_call(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        call_id = str(event.get("tool_call_id") or _new_id())
        arguments = event.get("arguments")
        text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
        return [
            self._event(
                "TOOL_CALL_START",
                toolCallId=call_id,
                toolCallName=str(event.get("name") or "tool"),
                parentMessageId=self._step_message_id,
            ),
            self._event("TOOL_CALL_ARGS", toolCallId=call_id, delta=text),
            self._event("TOOL_CALL_END", toolCallId=call_id),
        ]

    def finished(self, answer: str | None) -> list[dict[str, Any]]:
        """RUN_FINISHED (with the answer as its result)."""
        return self._end("RUN_FINISHED", threadId=self.thread_id, runId=self.run_id, result=answer)

    def cancelled(self) -> list[dict[str, Any]]:
        """RUN_FINISHED with a cancelled outcome (the server stopped the run)."""
        return self._end(
            "RUN_FINISHED",
            threadId=self.thread_id,
            runId=self.run_id,
            outcome={"type": "cancelled"},
        )

    def failed(self, message: str, code: str | None = None) -> list[dict[str, Any]]:
        """RUN_ERROR."""
        return self._end("RUN_ERROR", message=message or "The run failed", code=code)

    def _end(self, kind: str, **fields: Any) -> list[dict[str, Any]]:
        if self.ended:
            return []
        self.ended = True
        out = [] if kind == "RUN_ERROR" or self.started else self.run_started(None)
        out.extend(self._close_step())
        out.append(self._event(kind, **fields))
        return out
