"""Cheap ids and clock readings for the hot path (no uuid, no datetime per field)."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

# `random` reseeds itself in a forked child, so ids stay unique across fork().
_getrandbits = random.getrandbits
_time_ns = time.time_ns


def new_trace_id() -> str:
    """A 32-hex-digit trace id (the width OpenTelemetry uses)."""
    return _getrandbits(128).to_bytes(16).hex()


def new_run_id() -> str:
    """A 16-hex-digit record id (the width of an OpenTelemetry span id)."""
    return _getrandbits(64).to_bytes(8).hex()


def now_us() -> int:
    """Wall-clock time in integer microseconds since the epoch."""
    return _time_ns() // 1000


def us_to_datetime(us: int) -> datetime:
    """Microseconds since the epoch to a tz-aware UTC datetime (exact, no float rounding)."""
    seconds, micros = divmod(us, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def datetime_to_us(value: datetime) -> int:
    """A datetime to microseconds since the epoch; naive datetimes are local time."""
    if value.tzinfo is None:
        value = value.astimezone()
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
