"""Ready-made tools: `Terminate`, which ends an agent run."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import Field

from myagent.tool.base import BaseTool
from myagent.tool.result import ToolResult

TERMINATE_DESCRIPTION = (
    "Finish the interaction. Call this when the request is done or cannot be done; "
    "put the answer for the user in `message`."
)
TERMINATE_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {
            "type": "string",
            "description": "The finish status of the interaction.",
            "enum": ["success", "failure"],
        },
        "message": {
            "type": "string",
            "description": "The final answer or closing message for the user.",
        },
    },
    "required": ["status"],
}


class Terminate(BaseTool):
    """Ends the agent's run; its `message` argument, when given, is the run's answer."""

    name: str = "terminate"
    description: str = TERMINATE_DESCRIPTION
    parameters: dict[str, Any] | None = Field(
        default_factory=lambda: copy.deepcopy(TERMINATE_PARAMETERS)
    )

    async def execute(
        self, status: str = "success", message: str | None = None, **extra: Any
    ) -> ToolResult:
        """Report the finish status (and message) back; unknown arguments are ignored."""
        text = f"The interaction has been completed with status: {status}"
        return ToolResult(output=f"{text}. {message}" if message else text)
