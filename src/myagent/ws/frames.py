"""Turn a run's agent events (plain dicts) into WebSocket protocol frames for one session.

Tool calls get step ids `step_{n}_{tool}` (n counts the session's tool calls, so ids never
repeat within a session) and their results reuse them; streamed tokens become
`agent.partial_answer` chunks closed by one chunk with `is_final: true` (`is_streaming`
stays true on it, as earlier clients expect). The text the model writes beside its tool
calls goes out as `agent.thinking`; a finished run is followed by `agent.llm_message`
with the conversation.
"""

from __future__ import annotations

import os
from typing import Any

from myagent.ws.protocol import AgentEvents, ErrorCode, server_frame
from myagent.ws.runner import RUN_STARTED


class FrameMapper:
    """Maps one session's run events to frames; keeps the session's step numbering."""

    __slots__ = ("_agent", "_reasoned", "_step_ids", "_streaming", "_tool_count", "session_id")

    def __init__(self, session_id: str, agent: Any = None) -> None:
        self.session_id = session_id
        self._agent = agent
        self._tool_count = 0
        self._step_ids: dict[str, str] = {}
        self._streaming = False
        self._reasoned: set[int] = set()

    def _frame(
        self,
        event: str,
        trace_id: str | None,
        content: Any = None,
        *,
        step_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return server_frame(
            event,
            session_id=self.session_id,
            content=content,
            step_id=step_id,
            metadata=metadata,
            trace_id=trace_id,
        )

    def frames(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The frames for one agent event (often one, sometimes none or two)."""
        kind = event.get("type")
        trace_id = event.get("trace_id")
        step = int(event.get("step") or 0)
        out: list[dict[str, Any]] = []
        if self._streaming and kind != "partial_answer":
            self._streaming = False
            out.append(
                self._frame(
                    AgentEvents.PARTIAL_ANSWER,
                    trace_id,
                    "",
                    metadata={"is_streaming": True, "is_final": True, "step": step},
                )
            )
        if kind == RUN_STARTED:
            self._step_ids.clear()
            self._reasoned.clear()
        elif kind == "thinking":
            out.append(
                self._frame(
                    AgentEvents.THINKING,
                    trace_id,
                    f"Thinking (step {step})",
                    metadata={"step": step, "status": "started"},
                )
            )
        elif kind == "partial_answer":
            chunk = str(event.get("content") or "")
            if chunk:
                self._streaming = True
                out.append(
                    self._frame(
                        AgentEvents.PARTIAL_ANSWER,
                        trace_id,
                        chunk,
                        metadata={"is_streaming": True, "is_final": False, "step": step},
                    )
                )
        elif kind == "tool_call":
            reasoning = self._reasoning(step)
            if reasoning:
                out.append(
                    self._frame(
                        AgentEvents.THINKING,
                        trace_id,
                        reasoning,
                        metadata={"step": step, "status": "reasoning"},
                    )
                )
            out.append(self._tool_call(event, trace_id, step))
        elif kind == "tool_result":
            out.append(self._tool_result(event, trace_id, step))
        elif kind == "final_answer":
            metadata = {"stop_reason": event["stop_reason"]} if event.get("stop_reason") else None
            out.append(
                self._frame(
                    AgentEvents.FINAL_ANSWER,
                    trace_id,
                    str(event.get("content") or ""),
                    metadata=metadata,
                )
            )
            llm_message = self._llm_message(event, trace_id)
            if llm_message is not None:
                out.append(llm_message)
        elif kind == "error":
            out.append(
                self._frame(
                    AgentEvents.ERROR,
                    trace_id,
                    str(event.get("error") or "The run failed"),
                    metadata={
                        "error_code": ErrorCode.RUN_FAILED,
                        "error_type": event.get("error_type"),
                    },
                )
            )
        return out

    def _tool_call(self, event: dict[str, Any], trace_id: str | None, step: int) -> dict[str, Any]:
        name = str(event.get("name") or "tool")
        step_id = f"step_{self._tool_count}_{name}"
        self._tool_count += 1
        call_id = event.get("tool_call_id")
        if call_id is not None:
            self._step_ids[str(call_id)] = step_id
        return self._frame(
            AgentEvents.TOOL_CALL,
            trace_id,
            f"Calling tool: {name}",
            step_id=step_id,
            metadata={
                "tool": name,
                "args": event.get("arguments"),
                "status": "running",
                "tool_call_id": call_id,
                "step": step,
            },
        )

    def _tool_result(
        self, event: dict[str, Any], trace_id: str | None, step: int
    ) -> dict[str, Any]:
        name = str(event.get("name") or "tool")
        call_id = event.get("tool_call_id")
        step_id = self._step_ids.pop(str(call_id), None) if call_id is not None else None
        success = bool(event.get("success", True))
        metadata: dict[str, Any] = {
            **(event.get("extras") or {}),  # e.g. `data` of a ToolResult subclass, for charts
            "tool": name,
            "status": "success" if success else "failed",
            "success": success,
            "error": event.get("error"),
            "tool_call_id": call_id,
            "step": step,
        }
        if event.get("system"):
            metadata["system"] = event["system"]
        content = event.get("content", event.get("output"))
        return self._frame(
            AgentEvents.TOOL_RESULT,
            trace_id,
            str(content or ""),
            step_id=step_id or f"step_{self._tool_count}_{name}",
            metadata=metadata,
        )

    def _llm_message(self, event: dict[str, Any], trace_id: str | None) -> dict[str, Any] | None:
        """`agent.llm_message`: the conversation after a run (off with SEND_LLM_MESSAGE=0)."""
        if os.environ.get("SEND_LLM_MESSAGE", "").lower() in ("0", "false", "no", "off"):
            return None
        try:
            messages = [dict(m) for m in self._agent.messages]
        except Exception:
            return None
        state = getattr(self._agent, "state", None)
        return self._frame(
            AgentEvents.LLM_MESSAGE,
            trace_id,
            {"messages": messages, "total_messages": len(messages)},
            metadata={
                "agent_name": getattr(self._agent, "name", None),
                "agent_state": str(getattr(state, "value", state)) if state is not None else None,
                "final_response": event.get("content"),
            },
        )

    def _reasoning(self, step: int) -> str | None:
        """The text the model wrote beside its tool calls in this step, once per step."""
        if step in self._reasoned or self._agent is None:
            return None
        self._reasoned.add(step)
        try:
            messages = self._agent.messages
            last = messages[-1] if messages else None
        except Exception:
            return None
        if isinstance(last, dict) and last.get("role") == "assistant" and last.get("tool_calls"):
            content = last.get("content")
            if isinstance(content, str) and content.strip():
                return content
        return None

    def user_confirm(
        self, step_id: str, tool: Any, arguments: dict[str, Any], trace_id: str | None
    ) -> dict[str, Any]:
        """The `agent.user_confirm` frame asking whether `tool` may run with `arguments`."""
        name = str(getattr(tool, "name", "tool"))
        return self._frame(
            AgentEvents.USER_CONFIRM,
            trace_id,
            f"Confirm running tool: {name}",
            step_id=step_id,
            metadata={
                "tool_name": name,
                "tool_description": str(getattr(tool, "description", "") or ""),
                "tool_args": arguments,
                "requires_confirmation": True,
            },
        )
