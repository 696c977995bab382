"""`myagent eval DATASET --agent module:create_agent`: run an experiment, print its figures,
and exit non-zero when a `--fail-under` bar is missed (a CI gate).

Evaluators by name: `exact_match`, `contains`, `contains:TEXT`, `regex:PATTERN`,
`json_schema:FILE`, `tool_called:NAME`, `latency:SECONDS`, `cost:USD`,
`judge:RUBRIC` (the LLM judge; model from `--judge-model` or LLM_MODEL), or
`module:function` for any Python function `(item, trace) -> score`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from myagent.cli.dataset import _db_argument

EXIT_BELOW_BAR = 1
EXIT_INTERRUPTED = 130


def load_object(spec: str) -> Any:
    """`package.module:attribute` (the module importable from the current directory too)."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"{spec!r}: expected module:attribute")
    if "" not in sys.path:
        sys.path.insert(0, "")
    found: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


def parse_evaluator(spec: str, judge_model: str | None = None) -> Any:
    """An evaluator from its command-line spelling (see the module doc)."""
    from myagent.eval import evaluators as ev
    from myagent.eval.judge import LLMJudge

    kind, _, arg = spec.partition(":")
    simple: dict[str, Any] = {
        "exact_match": lambda: ev.ExactMatch(),
        "contains": lambda: ev.Contains(arg or None),
        "regex": lambda: ev.Regex(arg),
        "json_schema": lambda: ev.JsonSchemaValid(json.loads(Path(arg).read_text())),
        "tool_called": lambda: ev.ToolCalled(arg),
        "latency": lambda: ev.LatencyBudget(float(arg)),
        "cost": lambda: ev.CostBudget(float(arg)),
        "judge": lambda: LLMJudge(arg or "Is the answer correct?", model=judge_model),
    }
    if kind in simple and (arg or kind in ("exact_match", "contains", "judge")):
        return simple[kind]()
    found = load_object(spec)
    return found if hasattr(found, "name") else ev.FunctionEvaluator(found)


def parse_bar(text: str) -> tuple[str, float]:
    """`name=0.8` -> ("name", 0.8); the name `pass_rate` is the share of items passing."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=NUMBER")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {value!r} is not a number") from None


def _figure(summary: dict[str, Any], name: str) -> float | None:
    if name == "pass_rate":
        value: float | None = summary["pass_rate"]
        return value
    found = summary["scores"].get(name)
    return None if found is None else found["mean"]


def _report(result: Any, bars: list[tuple[str, float]]) -> int:
    summary = result.summary
    print(f"experiment {result.experiment_id} ({result.status}) on {result.dataset!r}")
    print(f"  items {summary['finished']}/{summary['items']}, failed runs {summary['failed_runs']}")
    rate = summary["pass_rate"]
    print(f"  pass rate {'-' if rate is None else f'{rate:.1%}'}")
    for name, row in summary["scores"].items():
        mean = "-" if row["mean"] is None else f"{row['mean']:.3f}"
        print(f"  {name}: mean {mean} over {row['count']} ({row['errors']} errors)")
    p50, p95 = summary["latency_p50"], summary["latency_p95"]
    if p50 is not None:
        print(f"  latency p50 {p50:.3f} s, p95 {p95:.3f} s; tokens {summary['tokens']}")
    failed = 0
    for name, bar in bars:
        value = _figure(summary, name)
        if value is None or value < bar:
            failed += 1
            shown = "no value" if value is None else f"{value:.3f}"
            print(f"FAIL {name}: {shown} < {bar}", file=sys.stderr)
    return EXIT_BELOW_BAR if failed else 0


async def _latest_unfinished(storage: Any, dataset: str, agent: str) -> str | None:
    for info in await storage.experiments(dataset=dataset):
        if info.status != "finished" and info.metadata.get("agent") == agent:
            return str(info.experiment_id)
    return None


async def _run(args: argparse.Namespace) -> int:
    from myagent.eval.progress import ProgressBar
    from myagent.eval.runner import run_experiment
    from myagent.trace.config import storage_for
    from myagent.trace.manager import TraceManager
    from myagent.trace.setup import get_trace_manager, set_trace_manager

    try:
        factory = load_object(args.agent)
        evaluators = [parse_evaluator(s, args.judge_model) for s in args.evaluator]
    except (ValueError, ImportError, AttributeError, OSError) as exc:
        print(f"myagent eval: {exc}", file=sys.stderr)
        return 2
    manager = TraceManager(storage_for(args.db))
    previous = get_trace_manager()
    set_trace_manager(manager)  # the agents trace into the experiment's storage
    bar = ProgressBar(args.dataset)
    try:
        items = await manager.storage.dataset_items(args.dataset)
        if not items:
            print(f"myagent eval: dataset {args.dataset!r} has no items", file=sys.stderr)
            return 2
        experiment_id = args.experiment
        if experiment_id is None and not args.new:
            experiment_id = await _latest_unfinished(manager.storage, args.dataset, args.agent)
            if experiment_id is not None:
                print(f"resuming experiment {experiment_id}", file=sys.stderr)
        try:
            result = await run_experiment(
                items,
                factory,
                evaluators,
                name=args.name,
                experiment_id=experiment_id,
                concurrency=args.concurrency,
                manager=manager,
                progress=None if args.quiet else bar,
                metadata={"agent": args.agent},
            )
        finally:
            bar.close()
        if args.report:
            report = {
                "experiment_id": result.experiment_id,
                "name": result.name,
                "dataset": result.dataset,
                "status": result.status,
                "summary": result.summary,
                "items": result.items,
            }
            Path(args.report).write_text(json.dumps(report, indent=2, default=str))
        return _report(result, args.fail_under)
    finally:
        set_trace_manager(previous)
        await asyncio.to_thread(manager.close)


def _main(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def register(commands: Any) -> None:
    """Add the `eval` subcommand."""
    parser = commands.add_parser(
        "eval", help="run an agent over a dataset, score it, gate on the scores"
    )
    parser.add_argument("dataset", help="the dataset's name")
    parser.add_argument("--agent", required=True, help="module:factory returning the agent")
    parser.add_argument("--concurrency", type=int, default=8, help="runs at a time (8)")
    parser.add_argument(
        "--evaluator", action="append", default=[], help="an evaluator (repeatable; see docs)"
    )
    parser.add_argument(
        "--fail-under",
        action="append",
        default=[],
        type=parse_bar,
        help="NAME=VALUE: exit 1 when the mean of score NAME (or pass_rate) is below",
    )
    parser.add_argument("--name", default=None, help="the experiment's display name")
    parser.add_argument("--experiment", default=None, help="resume this experiment id")
    parser.add_argument("--new", action="store_true", help="never resume; start afresh")
    parser.add_argument("--judge-model", default=None, help="model of the judge evaluator")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--report", default=None, help="also write the figures and every item as JSON here"
    )
    _db_argument(parser)
    parser.set_defaults(handler=_main)
