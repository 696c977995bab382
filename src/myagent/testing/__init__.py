"""Testing helpers: recorded runs as regression tests.

`assert_replays("failure.json", create_agent)` replays every trace in an exported file
and fails with the first divergence's diff; the pytest plugin's `--myagent-record DIR`
writes the traces each test produces into such files (cassettes). See docs/replay.md.
"""

from myagent.replay import NotReplayable, ReplayResult, replay
from myagent.testing.assertions import assert_replays, replay_trace
from myagent.testing.cassette import Cassette

__all__ = ["Cassette", "NotReplayable", "ReplayResult", "assert_replays", "replay", "replay_trace"]
