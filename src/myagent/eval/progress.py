"""A one-line progress bar on the terminal (stderr), redrawn in place; plain lines when
stderr is not a terminal (CI logs), one every 10 %."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """`bar(done, total)` after each item; `bar.close()` ends the line."""

    def __init__(self, label: str = "", *, stream: TextIO | None = None, width: int = 30) -> None:
        self.label, self.width = label, width
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._tty = self.stream.isatty()
        self._last_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        elapsed = time.monotonic() - self.started
        rate = f"{done / elapsed:.1f}/s" if elapsed > 0 and done else "-"
        filled = int(share * self.width)
        line = (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{done}/{total} {share:4.0%} {rate}"
        )
        if self._tty:
            self.stream.write("\r" + line)
        elif int(share * 10) != self._last_tenth or done == total:
            self._last_tenth = int(share * 10)
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()
