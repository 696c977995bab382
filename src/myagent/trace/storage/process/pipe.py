"""Length-prefixed frames over a pipe, each read and write under a deadline.

A frame is 4 bytes of big-endian length, then that many bytes. Waiting (in `select`)
and the reads and writes themselves release the GIL, so the traced program's threads
run meanwhile. Each system call costs the traced program a GIL hand-over when it
returns, so they are few: a write is tried before waiting, a read takes whatever is
there (header and answer at once), and the pipe is widened to hold a whole batch.
"""

from __future__ import annotations

import contextlib
import os
import select
import struct
import sys
import time

_HEADER = struct.Struct(">I")
_CHUNK = 1 << 20
_F_SETPIPE_SZ = 1031  # Linux fcntl: the pipe's buffer size


class PipeClosed(ConnectionError):
    """The other end closed its side (it exited, or was killed)."""


class PipeTimeout(TimeoutError):
    """The other end did not read or answer within the deadline."""


def widen(fd: int, size: int = _CHUNK) -> None:
    """Ask for a pipe buffer of `size` bytes (Linux; best effort, else unchanged)."""
    if sys.platform == "linux":
        import fcntl

        # Over /proc/sys/fs/pipe-max-size for this user: the default size stays.
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, _F_SETPIPE_SZ, size)


def send(fd: int, payload: bytes, deadline: float | None = None) -> None:
    """Write one frame to `fd` (set non-blocking when a deadline is given)."""
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        try:
            sent = os.write(fd, view[:_CHUNK])
        except BlockingIOError:
            _wait(fd, deadline, write=True)
            continue
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise PipeClosed("the writer process closed its pipe") from exc
        view = view[sent:]


def receive(fd: int, deadline: float | None = None) -> bytes:
    """Read one frame from `fd`."""
    data = _read(fd, _HEADER.size, deadline, hint=1 << 16)
    (size,) = _HEADER.unpack(data[: _HEADER.size])
    body = data[_HEADER.size :]
    if len(body) < size:
        body += _read(fd, size - len(body), deadline)
    return body


def _read(fd: int, size: int, deadline: float | None, hint: int = 0) -> bytes:
    """At least `size` bytes (up to `hint` when they are there): never past the frame,
    as the other end sends one frame and waits for the answer."""
    parts: list[bytes] = []
    while size > 0:
        _wait(fd, deadline, write=False)
        chunk = os.read(fd, max(size, hint) if not parts else size)
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
