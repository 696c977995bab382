"""A weather agent written the way the earlier myagent's examples were (old import paths,
pydantic-style tool fields, `create_react_agent` without an llm, `arun`)."""

import asyncio
from typing import ClassVar

from myagent import create_react_agent
from myagent.logger import logger
from myagent.schema import AgentState, ToolChoice
from myagent.tool.base_tool import BaseTool, ToolResult
from myagent.tool.terminate import Terminate
from myagent.tool.tool_collection import ToolCollection


class WeatherTool(BaseTool):
    name: str = "get_weather"
    description: str = "Get the current weather for a city"
    parameters: ClassVar[dict] = {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    }

    async def execute(self, city: str) -> ToolResult:
        logger.info(f"looking up the weather in {city}")
        return ToolResult(output=f"{city}: sunny, 25°C")


def build_agent():
    return create_react_agent(
        name="weather_assistant",
        tools=ToolCollection(WeatherTool(), Terminate()),
        system_prompt="You are a weather assistant.",
        tool_choice=ToolChoice.AUTO,
        description="Answers weather questions",
    )


async def main(question: str) -> dict:
    agent = build_agent()
    assert agent.state == AgentState.IDLE
    result = await agent.arun(question)
    return {
        "result": result,
        "final_response": agent.final_response,
        "current_step": agent.current_step,
        "tool_calls": [call.function.name for call in agent.tool_calls],
        "max_steps": agent.max_steps,
        "state": agent.state,
    }


if __name__ == "__main__":
    print(asyncio.run(main("What's the weather in Beijing?")))
