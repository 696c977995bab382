"""Shared fixtures that start real servers for the tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.openai_server import OpenAITestServer


@pytest.fixture
def openai_server() -> Iterator[OpenAITestServer]:
    """A real OpenAI-compatible HTTP server on 127.0.0.1 with a scripted reply queue."""
    server = OpenAITestServer().start()
    try:
        yield server
    finally:
        server.stop()
