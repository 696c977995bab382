"""Scores: judgements of a trace or of one of its records, stored as plain rows beside traces.

A score has a name and one value: a number, a boolean (stored as 1.0/0.0) or a
categorical label; or, when an evaluator failed, an error message instead of a value.
`source` says who judged: a person in the viewer (`human`), code (`api`) or an
evaluator of an experiment (`eval`). This module holds only plain data and its
validation, so every storage backend can keep scores without knowing about evaluation
(`myagent.eval` builds on it).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from myagent.trace.ids import new_run_id, now_us

ScoreType = Literal["numeric", "boolean", "categorical", "error"]
SCORE_TYPES: tuple[str, ...] = ("numeric", "boolean", "categorical", "error")
SCORE_SOURCES: tuple[str, ...] = ("human", "api", "eval")

MAX_NAME = 100
"""Longest score name (characters)."""
MAX_LABEL = 200
"""Longest categorical label (characters)."""
MAX_COMMENT = 10_000
"""Longest comment kept; a longer one is cut with a visible marker."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:\- ]{0,99}$")
"""Score names: letters, digits, `_ . : -` and spaces (so `score.NAME >= x` parses)."""

ScoreValue = bool | int | float | str


class ScoreError(ValueError):
    """A score that cannot be stored as given (bad name, NaN, label outside its set...)."""


@dataclass(slots=True, kw_only=True)
class ScoreConfig:
    """What values a score name takes: its type, the labels of a categorical score, the
    range of a numeric one. Optional: a name without a config takes any valid value."""

    name: str
    data_type: ScoreType = "numeric"
    categories: list[str] | None = None
    min_value: float | None = None
    max_value: float | None = None
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreConfig:
        fields: dict[str, Any] = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**fields)


@dataclass(slots=True, kw_only=True)
class Score:
    """One judgement of a trace (`run_id` None) or of one of its records."""

    trace_id: str
    name: str
    data_type: ScoreType = "numeric"
    value: float | None = None
    """The number (booleans: 1.0 true, 0.0 false); None for a label or an error."""
    label: str | None = None
    """The categorical label; None otherwise."""
    run_id: str | None = None
    comment: str | None = None
    source: str = "api"
    author: str | None = None
    error: str | None = None
    """Why an evaluator gave no value (data_type 'error')."""
    metadata: dict[str, Any] = field(default_factory=dict)
    score_id: str = field(default_factory=new_run_id)
    created_us: int = field(default_factory=now_us)

    @property
    def display(self) -> ScoreValue | None:
        """The value as given: a bool, a number, a label, or None for an error."""
        if self.data_type == "boolean":
            return None if self.value is None else self.value >= 0.5
        if self.data_type == "categorical":
            return self.label
        return self.value

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["display"] = self.display
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Score:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _cut(text: str | None, limit: int) -> str | None:
    """`text` within `limit` characters (a visible marker says how much was cut), with NUL
    characters replaced (no database text column takes them)."""
    if text is None:
        return None
    text = text.replace("\x00", "\ufffd")
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} characters cut]"


def make_score(
    trace_id: str,
    name: str,
    value: ScoreValue | None,
    *,
    run_id: str | None = None,
    comment: str | None = None,
    source: str = "api",
    author: str | None = None,
    error: str | None = None,
    metadata: dict[str, Any] | None = None,
    config: ScoreConfig | None = None,
) -> Score:
    """A validated Score from a plain value; raises ScoreError on bad input.

    bool -> boolean, int/float -> numeric (finite only), str -> categorical label (one of
    `config.categories` when the config names them). `error` without a value records a
    failed evaluation.
    """
    if not isinstance(trace_id, str) or not trace_id:
        raise ScoreError("a score needs the id of the trace it judges")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ScoreError(
            f"score name {name!r}: 1-{MAX_NAME} characters of letters, digits, '_.:- ' "
            "and not starting with a space or punctuation"
        )
    if source not in SCORE_SOURCES:
        raise ScoreError(f"score source must be one of {SCORE_SOURCES}, not {source!r}")
    if comment is not None and not isinstance(comment, str):
        raise ScoreError("a score comment must be text")
    data_type: ScoreType
    number: float | None = None
    label: str | None = None
    if value is None:
        if error is None:
            raise ScoreError(f"score {name!r} needs a value (number, boolean or label)")
        data_type = "error"
    elif isinstance(value, bool):
        data_type, number = "boolean", 1.0 if value else 0.0
    elif isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise ScoreError(f"score {name!r}: the value must be a finite number, not {value}")
        data_type = "numeric"
    elif isinstance(value, str):
        if not value or len(value) > MAX_LABEL:
            raise ScoreError(f"score {name!r}: a label has 1-{MAX_LABEL} characters")
        data_type, label = "categorical", value.replace("\x00", "\ufffd")
    else:
        raise ScoreError(
            f"score {name!r}: value must be a number, a boolean or a label, "
            f"not {type(value).__name__}"
        )
    if config is not None and data_type != "error":
        _check_config(config, data_type, number, label)
    return Score(
        trace_id=trace_id,
        name=name,
        data_type=data_type,
        value=number,
        label=label,
        run_id=run_id,
        comment=_cut(comment, MAX_COMMENT),
        source=source,
        author=_cut(None if author is None else str(author), MAX_LABEL),
        error=_cut(error, MAX_COMMENT),
        metadata=dict(metadata or {}),
    )


def _check_config(
    config: ScoreConfig, data_type: ScoreType, number: float | None, label: str | None
) -> None:
    name = config.name
    if config.data_type == "numeric" and data_type == "boolean":
        return  # a boolean is a number 0 or 1
    if config.data_type != data_type:
        raise ScoreError(f"score {name!r} is {config.data_type}, not {data_type}")
    if label is not None and config.categories is not None and label not in config.categories:
        raise ScoreError(f"score {name!r}: label {label!r} is not one of {config.categories}")
    if number is not None:
        if config.min_value is not None and number < config.min_value:
            raise ScoreError(f"score {name!r}: {number} is below its minimum {config.min_value}")
        if config.max_value is not None and number > config.max_value:
            raise ScoreError(f"score {name!r}: {number} is above its maximum {config.max_value}")


# -- filtering traces by their scores ------------------------------------------------

ScoreOp = Literal[">=", ">", "<=", "<", "==", "!=", "has", "missing"]
SCORE_OPS: tuple[str, ...] = (">=", ">", "<=", "<", "==", "!=", "has", "missing")


@dataclass(slots=True, frozen=True)
class ScoreCondition:
    """A trace filter on scores: some score named `name` (any name when None, of
    `source` when set) satisfies `op value`; `has` needs one to exist, `missing` none.

    A number compares with numeric and boolean scores (true is 1); a string compares
    with categorical labels (`==`, `!=` only)."""

    name: str | None
    op: ScoreOp = "has"
    value: float | str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if self.op not in SCORE_OPS:
            raise ScoreError(f"score condition op must be one of {SCORE_OPS}, not {self.op!r}")
        if self.op in ("has", "missing"):
            return
        if self.name is None:
            raise ScoreError("a score comparison needs a score name")
        if isinstance(self.value, bool):
            object.__setattr__(self, "value", 1.0 if self.value else 0.0)
        if isinstance(self.value, int | float):
            if not math.isfinite(self.value):
                raise ScoreError("a score comparison needs a finite number")
        elif isinstance(self.value, str):
            if self.op not in ("==", "!="):
                raise ScoreError("a label compares with == or != only")
        else:
            raise ScoreError("a score comparison needs a number or a label")

    def matches(self, scores: list[Score]) -> bool:
        """Whether a trace with these scores passes (the reference the SQL agrees with)."""
        found = [
            s
            for s in scores
            if (self.name is None or s.name == self.name)
            and (self.source is None or s.source == self.source)
        ]
        if self.op == "has":
            return bool(found)
        if self.op == "missing":
            return not found
        return any(_compare(s, self.op, self.value) for s in found)


def _compare(score: Score, op: str, wanted: float | str | None) -> bool:
    have: float | str | None = score.label if isinstance(wanted, str) else score.value
    if have is None or wanted is None:
        return False
    if op == "==":
        return have == wanted
    if op == "!=":
        return have != wanted
    assert isinstance(have, float) and isinstance(wanted, int | float)
    return {">=": have >= wanted, ">": have > wanted, "<=": have <= wanted, "<": have < wanted}[op]


_CONDITION = re.compile(
    r"^\s*(?:score\.(?P<name>[A-Za-z0-9_][A-Za-z0-9_.:\-]*)\s*(?P<op>>=|<=|==|!=|>|<|=)\s*"
    r"(?P<value>.+?)"
    r"|(?P<word>has|no)\s+(?P<src>human\s+|api\s+|eval\s+)?score(?:\s+(?P<name2>\S.*?))?)\s*$"
)


def parse_score_condition(text: str) -> ScoreCondition:
    """`score.helpfulness >= 0.8`, `score.verdict == good`, `has score helpfulness`,
    `no score helpfulness`, `no human score` (any name) as a ScoreCondition."""
    match = _CONDITION.match(text or "")
    if match is None:
        raise ScoreError(
            f"score filter {text!r}: expected 'score.NAME OP VALUE', 'has score NAME' "
            "or 'no [human|api|eval] score [NAME]'"
        )
    if match["word"]:
        source = match["src"].strip() if match["src"] else None
        return ScoreCondition(
            match["name2"], "has" if match["word"] == "has" else "missing", source=source
        )
    op = "==" if match["op"] == "=" else match["op"]
    raw = match["value"].strip().strip("'\"")
    value: float | str
    if raw in ("true", "false"):
        value = 1.0 if raw == "true" else 0.0
    else:
        try:
            value = float(raw)
        except ValueError:
            value = raw
    return ScoreCondition(match["name"], op, value)  # type: ignore[arg-type]
