"""pytest plugin: `--myagent-record DIR` writes the traces each test produces to
`DIR/<test id>.json` (a cassette in the trace file format), to replay offline later
with `assert_replays(path, agent_factory)` or the `myagent_cassette` fixture, which
runs the agent for real while recording and replays the cassette otherwise (cassettes
are read from the `myagent_cassettes` ini option, default `cassettes`).

Registered through the `pytest11` entry point, so installing myagent enables it; the
option does nothing unless given.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # myagent is imported only when the plugin is used: pytest starts fast
    from myagent.testing.cassette import Cassette

_SINK = "myagent-pytest-record"


def cassette_path(directory: str | Path, nodeid: str) -> Path:
    """The file a test's traces are recorded to: its id with unsafe characters replaced."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_") or "test"
    return Path(directory) / f"{name}.json"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("myagent")
    parser.addini(
        "myagent_cassettes",
        "directory the myagent_cassette fixture reads cassettes from (default: cassettes)",
        default="cassettes",
    )
    group.addoption(
        "--myagent-record",
        metavar="DIR",
        default=None,
        help="write the traces each test produces to DIR/<test id>.json (replay them "
        "offline with myagent.testing.assert_replays)",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    directory = item.config.getoption("--myagent-record")
    if not directory:
        yield
        return
    from myagent.replay.source import write_traces
    from myagent.testing.cassette import TraceCollector
    from myagent.trace.setup import get_trace_manager

    manager = get_trace_manager()
    collector = TraceCollector()
    manager.add_sink(collector, _SINK)
    try:
        yield
    finally:
        manager.remove_sink(_SINK)
        finished = [t for t in collector.traces if t.think_records]
        if finished:
            write_traces(cassette_path(directory, item.nodeid), finished)


@pytest.fixture
def myagent_cassette(request: pytest.FixtureRequest) -> Cassette:
    """This test's cassette: `myagent_cassette.run(create_agent, "question")` runs the
    agent for real under --myagent-record, and replays the recorded run otherwise."""
    from myagent.testing.cassette import Cassette

    config = request.config
    recording = config.getoption("--myagent-record")
    directory = Path(recording or config.getini("myagent_cassettes"))
    if not recording and not directory.is_absolute():  # the ini option: from the rootdir
        directory = Path(config.rootpath) / directory
    return Cassette(cassette_path(directory, request.node.nodeid), bool(recording))
