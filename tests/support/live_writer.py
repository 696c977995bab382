"""A separate process that writes one trace slowly into a SQLite file, step by step.

`python -m tests.support.live_writer DB CONTROL_DIR`: it opens a trace with a running
LLM call, then waits for CONTROL_DIR/go1 before starting a tool, and for
CONTROL_DIR/go2 before finishing; so a test can watch each stage arrive live.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from myagent.trace import SQLiteTraceStorage, ThinkRecord, ToolRecord, TraceManager


def wait_for(path: Path, timeout: float = 60.0) -> None:
    """Block until `path` exists (or give up after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(str(path))
        time.sleep(0.02)


def main(db: str, control: str) -> None:
    """Write the trace in three observable stages."""
    control_dir = Path(control)
    manager = TraceManager(SQLiteTraceStorage(db), flush_interval=0.2)
    with manager.trace("live", agent_name="live_agent", input="watch me run") as trace:
        (control_dir / "trace_id").write_text(trace.trace_id)
        think = manager.start_run(ThinkRecord, "think", model="gpt-4o-mini")
        wait_for(control_dir / "go1")
        manager.end_run(think, llm_response="calling the slow tool", tokens_used=12)
        tool = manager.start_run(
            ToolRecord, "slow_tool", parent=think, tool_name="slow_tool", input_params={"n": 1}
        )
        wait_for(control_dir / "go2")
        manager.end_run(tool, output="finished")
        trace.output = "all done"
    manager.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
