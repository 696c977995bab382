"""Evaluate and improve agents: scores, datasets, experiments and evaluators.

Scores are plain rows beside traces (`myagent.trace.scores`, `TraceManager.score`);
this package builds datasets and experiments on the same storage. See docs/evaluate.md.
"""

from myagent.eval.datasets import Dataset, DatasetFileError, read_items_file
from myagent.eval.evaluators import (
    Contains,
    CostBudget,
    EvalResult,
    Evaluator,
    ExactMatch,
    FunctionEvaluator,
    JsonSchemaValid,
    LatencyBudget,
    Regex,
    ToolCalled,
    evaluator,
)
from myagent.eval.judge import LLMJudge, parse_verdict
from myagent.eval.runner import ExperimentResult, run_experiment
from myagent.trace.baggage import trace_attributes
from myagent.trace.eval_stats import compare_experiments, experiment_summary
from myagent.trace.scores import (
    Score,
    ScoreCondition,
    ScoreConfig,
    ScoreError,
    parse_score_condition,
)
from myagent.trace.storage.eval_rows import DatasetItem, ExperimentInfo

__all__ = [
    "Contains",
    "CostBudget",
    "Dataset",
    "DatasetFileError",
    "DatasetItem",
    "EvalResult",
    "Evaluator",
    "ExactMatch",
    "ExperimentInfo",
    "ExperimentResult",
    "FunctionEvaluator",
    "JsonSchemaValid",
    "LLMJudge",
    "LatencyBudget",
    "Regex",
    "Score",
    "ScoreCondition",
    "ScoreConfig",
    "ScoreError",
    "ToolCalled",
    "compare_experiments",
    "evaluator",
    "experiment_summary",
    "parse_score_condition",
    "parse_verdict",
    "read_items_file",
    "run_experiment",
    "trace_attributes",
]
