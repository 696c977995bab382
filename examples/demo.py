"""The main job: example agents write traces to SQLite, then the trace viewer serves them.

`make demo` runs it. With OPENAI_API_KEY or OPENAI_BASE_URL set the agents call that
endpoint; without, they use the offline scripted model (and say so). Options:
`--db PATH` (default traces.db), `--port 8080`, `--no-viewer` (write traces and exit).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import operator
import random

from myagent import create_toolcall_agent
from myagent.agent import ToolCallAgent
from myagent.tool import BaseTool, ToolResult
from myagent.trace import SQLiteTraceStorage, TraceManager, set_trace_manager

_WEATHER = {"nyc": "Sunny, 72°F", "paris": "Cloudy, 15°C", "tokyo": "Rain, 18°C"}


class WeatherTool(BaseTool):
    name = "get_weather"
    description = "Get the current weather for a city"

    async def execute(self, city: str) -> ToolResult:
        """Look the city up in a small offline table.

        Args:
            city: the city name, e.g. NYC
        """
        await asyncio.sleep(random.uniform(0.02, 0.08))
        return ToolResult(output=_WEATHER.get(city.lower().strip(), "Windy, 10°C"))


_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.left), _evaluate(node.right))  # type: ignore[no-any-return]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.operand))  # type: ignore[no-any-return]
    raise ValueError("only arithmetic is allowed")


class CalculatorTool(BaseTool):
    name = "calculator"
    description = "Calculate an arithmetic expression such as 12 * (3 + 4)"

    async def execute(self, expression: str) -> ToolResult:
        """Evaluate arithmetic safely (no names, no calls).

        Args:
            expression: the arithmetic expression
        """
        return ToolResult(output=str(_evaluate(ast.parse(expression, mode="eval"))))


class StockPriceTool(BaseTool):
    name = "get_stock_price"
    description = "Get the latest stock price for a ticker symbol"

    async def execute(self, symbol: str) -> ToolResult:
        """A tool whose upstream is down: every call fails, and the agent must cope.

        Args:
            symbol: the ticker, e.g. ACME
        """
        await asyncio.sleep(0.03)
        raise ConnectionError(f"market data service unreachable for {symbol}")


QUESTIONS = {
    "weather-agent": ["What's the weather in NYC?", "What's the weather in Paris?"],
    "calculator-agent": ["Calculate 12 * (3 + 4)", "Calculate 7 * 6"],
    "stocks-agent": ["Get the stock price for ACME"],
}
TOOLS = {
    "weather-agent": [WeatherTool()],
    "calculator-agent": [CalculatorTool()],
    "stocks-agent": [StockPriceTool()],
}


def create_agent(name: str = "weather-agent") -> ToolCallAgent:
    """One of the example agents; its traces name this factory, so `myagent replay` can
    rebuild it (run from the repository root)."""
    return create_toolcall_agent(
        name=name,
        tools=TOOLS[name],
        system_prompt=f"You are the {name}. Use your tools.",
        agent_factory="examples.demo:create_agent",
    )


async def run_agents() -> None:
    for name, questions in QUESTIONS.items():
        agent = create_agent(name)
        for question in questions:
            answer = await agent.run(question)
            print(f"[{name}] {question}\n    -> {answer}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="traces.db")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--no-viewer", action="store_true")
    args = parser.parse_args()

    manager = TraceManager(SQLiteTraceStorage(args.db))
    set_trace_manager(manager)
    await run_agents()
    manager.flush()
    stats = manager.stats
    print(
        f"\n{stats['traces_finished']} traces, {stats['records']} records written to "
        f"{args.db} (dropped: {stats['writer']['dropped_total']})"
    )
    if args.no_viewer:
        manager.close()
        return
    from myagent.trace.viewer import start_trace_viewer

    print(f"Trace viewer: http://{args.host}:{args.port}  (Ctrl-C to stop)")
    await start_trace_viewer(
        port=args.port, host=args.host, storage=SQLiteTraceStorage(args.db), wait=True
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
