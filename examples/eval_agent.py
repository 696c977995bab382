"""An agent for trying experiments offline: a calculator tool on the scripted model.

    myagent dataset import examples/math.jsonl --name math
    myagent eval math --agent examples.eval_agent:create_agent --evaluator contains \
        --evaluator tool_called:calculator --fail-under contains=0.9

The scripted model is offline (no real LLM is called): it picks the calculator for
arithmetic questions and answers with its result. See docs/evaluate.md.
"""

from __future__ import annotations

import ast
import operator
from typing import Any

from myagent import create_toolcall_agent
from myagent.llm import ScriptedLLM
from myagent.tool import BaseTool

_OPS: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
}


def _calculate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _calculate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return float(_OPS[type(node.op)](_calculate(node.left), _calculate(node.right)))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return float(_OPS[type(node.op)](_calculate(node.operand)))
    raise ValueError("only + - * / on numbers")


class Calculator(BaseTool):
    name = "calculator"
    description = "Evaluate an arithmetic expression with + - * /."

    async def execute(self, expression: str) -> str:
        value = _calculate(ast.parse(expression, mode="eval"))
        return str(int(value)) if value == int(value) else str(value)


def create_agent() -> Any:
    """A fresh calculator agent on the offline scripted model."""
    return create_toolcall_agent(name="calc", tools=[Calculator()], llm=ScriptedLLM(), max_steps=4)
