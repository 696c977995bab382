"""Sign-in throttling: after a few wrong tokens a client waits, twice as long each time.

Keyed by the client's address; bounded in memory (the oldest entries are forgotten).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Failures:
    count: int = 0
    blocked_until: float = 0.0


class SignInThrottle:
    """Counts wrong tokens per client; past `free` failures each one blocks the client for
    `base` seconds, doubled per further failure, at most `ceiling`."""

    def __init__(
        self,
        *,
        free: int = 3,
        base: float = 1.0,
        ceiling: float = 300.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.base = base
        self.ceiling = ceiling
        self.max_clients = max_clients
        self.clock = clock
        self._clients: OrderedDict[str, _Failures] = OrderedDict()

    def wait(self, client: str) -> float:
        """Seconds the client must still wait before its next try (0 when it may try)."""
        entry = self._clients.get(client)
        return 0.0 if entry is None else max(0.0, entry.blocked_until - self.clock())

    def failed(self, client: str) -> float:
        """Count a wrong token; returns the seconds the client is now blocked for."""
        entry = self._clients.pop(client, None) or _Failures()
        entry.count += 1
        delay = 0.0
        if entry.count > self.free:
            delay = min(self.ceiling, self.base * 2 ** (entry.count - self.free - 1))
            entry.blocked_until = self.clock() + delay
        self._clients[client] = entry
        while len(self._clients) > self.max_clients:
            self._clients.popitem(last=False)
        return delay

    def succeeded(self, client: str) -> None:
        """The client presented the right token: its failures are forgotten."""
        self._clients.pop(client, None)
