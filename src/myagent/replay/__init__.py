"""Replay: a recorded agent run answered again from its trace, offline and deterministic.

`await replay(trace, agent_factory)` rebuilds the run with a recorded model and recorded
tools and reports the first divergence with a diff. Uses `agent`, `llm`, `tool` and
`trace`; nothing imports it back. See docs/replay.md.
"""

from myagent.replay.divergence import Divergence
from myagent.replay.recorded import RecordedLLM, RecordedTool, ReplayDiverged, ReplayState
from myagent.replay.runner import AgentFactory, ReplayResult, replay, resolve_factory
from myagent.replay.source import (
    NotReplayable,
    check_replayable,
    fetch_trace,
    load_trace,
    read_traces,
    write_traces,
)

__all__ = [
    "AgentFactory",
    "Divergence",
    "NotReplayable",
    "RecordedLLM",
    "RecordedTool",
    "ReplayDiverged",
    "ReplayResult",
    "ReplayState",
    "check_replayable",
    "fetch_trace",
    "load_trace",
    "read_traces",
    "replay",
    "resolve_factory",
    "write_traces",
]
