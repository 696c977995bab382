"""Testing helpers: recorded runs as regression tests.

`assert_replays("failure.json", create_agent)` replays every trace in an exported file
and fails with the first divergence's diff; the pytest plugin's `--myagent-record DIR`
writes the traces each test produces into such files (cassettes), and its
`myagent_cassette` fixture replays them. See docs/replay.md.

Names load lazily, so the pytest plugin (a module of this package, loaded by every
pytest run) imports nothing heavy until a test uses it.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from myagent.replay import NotReplayable, ReplayResult, replay
    from myagent.testing.assertions import assert_replays, replay_trace
    from myagent.testing.cassette import Cassette

_LAZY = {
    "Cassette": "myagent.testing.cassette",
    "NotReplayable": "myagent.replay",
    "ReplayResult": "myagent.replay",
    "replay": "myagent.replay",
    "assert_replays": "myagent.testing.assertions",
    "replay_trace": "myagent.testing.assertions",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'myagent.testing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = ["Cassette", "NotReplayable", "ReplayResult", "assert_replays", "replay", "replay_trace"]
