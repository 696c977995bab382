"""Length-prefixed frames over a pipe, each read and write under a deadline.

A frame is 4 bytes of big-endian length, then that many bytes. Waiting (in `select`)
and the reads and writes themselves release the GIL, so the traced program's threads
run meanwhile.
"""

from __future__ import annotations

import os
import select
import struct
import time

_HEADER = struct.Struct(">I")
_CHUNK = 1 << 20


class PipeClosed(ConnectionError):
    """The other end closed its side (it exited, or was killed)."""


class PipeTimeout(TimeoutError):
    """The other end did not read or answer within the deadline."""


def send(fd: int, payload: bytes, deadline: float | None = None) -> None:
    """Write one frame to `fd` (non-blocking when a deadline is given)."""
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        _wait(fd, deadline, write=True)
        try:
            sent = os.write(fd, view[:_CHUNK])
        except BlockingIOError:
            continue
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise PipeClosed("the writer process closed its pipe") from exc
        view = view[sent:]


def receive(fd: int, deadline: float | None = None) -> bytes:
    """Read one frame from `fd`."""
    (size,) = _HEADER.unpack(_read(fd, _HEADER.size, deadline))
    return _read(fd, size, deadline)


def _read(fd: int, size: int, deadline: float | None) -> bytes:
    parts = []
    while size:
        _wait(fd, deadline, write=False)
        try:
            chunk = os.read(fd, min(size, _CHUNK))
        except BlockingIOError:
            continue
        if not chunk:
            raise PipeClosed("the other end of the pipe exited")
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _wait(fd: int, deadline: float | None, *, write: bool) -> None:
    if deadline is None:
        return
    left = deadline - time.monotonic()
    if left <= 0:
        raise PipeTimeout("the writer process did not answer in time")
    ready = select.select([], [fd], [], left) if write else select.select([fd], [], [], left)
    if not (ready[1] if write else ready[0]):
        raise PipeTimeout("the writer process did not answer in time")
