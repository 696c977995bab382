"""Tracing settings: defaults, the TRACE_* environment variables, and `configure(...)`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from myagent.trace.serialize import DEFAULT_MAX_VALUE_SIZE
from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.writer import STUCK_TIMEOUT


@dataclass(slots=True)
class TraceConfig:
    """Every tracing option. Durations accept a timedelta or a number of seconds."""

    enabled: bool = True
    storage: str = "memory"
    database_url: str = "sqlite:///traces.db"
    database_read_url: str | None = None
    """PostgreSQL: a streaming replica of `database_url` that serves the reads."""
    max_trace_age: timedelta | None = None
    max_trace_count: int | None = None
    auto_cleanup: bool = False
    cleanup_interval: timedelta = timedelta(hours=1)
    async_storage: bool = True
    batch_size: int = 256
    buffer_size: int = 10_000
    flush_interval: float = 0.5
    max_value_size: int = DEFAULT_MAX_VALUE_SIZE
    shutdown_timeout: float = 5.0
    stuck_timeout: float = STUCK_TIMEOUT
    write_retries: int = 3
    redact: bool = True
    writer_process: bool = False
    """Redact and write traces in a child process (SQLite file or PostgreSQL, POSIX):
    the traced program's process then only encodes each batch and writes it to a pipe."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TraceConfig:
        """Settings from the spec's TRACE_* variables (unset ones keep their defaults)."""
        env = os.environ if environ is None else environ
        config = cls()
        if "TRACE_ENABLED" in env:
            config.enabled = _parse_bool("TRACE_ENABLED", env["TRACE_ENABLED"])
        if "TRACE_STORAGE" in env:
            config.storage = env["TRACE_STORAGE"].strip().lower()
        if "TRACE_DATABASE_URL" in env:
            config.database_url = env["TRACE_DATABASE_URL"].strip()
            if "TRACE_STORAGE" not in env:
                config.storage = _scheme(config.database_url)
        if env.get("TRACE_DATABASE_READ_URL", "").strip():
            config.database_read_url = env["TRACE_DATABASE_READ_URL"].strip()
        if "TRACE_MAX_AGE_DAYS" in env:
            config.max_trace_age = timedelta(days=float(env["TRACE_MAX_AGE_DAYS"]))
            config.auto_cleanup = True
        if "TRACE_MAX_COUNT" in env:
            config.max_trace_count = int(env["TRACE_MAX_COUNT"])
            config.auto_cleanup = True
        for name, var, kind in (
            ("buffer_size", "TRACE_BUFFER_SIZE", int),
            ("batch_size", "TRACE_BATCH_SIZE", int),
            ("flush_interval", "TRACE_FLUSH_INTERVAL", float),
            ("max_value_size", "TRACE_MAX_VALUE_SIZE", int),
            ("stuck_timeout", "TRACE_STUCK_TIMEOUT", float),
        ):
            if var in env:
                try:
                    setattr(config, name, kind(env[var]))
                except ValueError:
                    raise ValueError(f"{var}={env[var]!r} is not a valid {kind.__name__}") from None
        if "TRACE_REDACT" in env:
            config.redact = _parse_bool("TRACE_REDACT", env["TRACE_REDACT"])
        if "TRACE_WRITER_PROCESS" in env:
            config.writer_process = _parse_bool("TRACE_WRITER_PROCESS", env["TRACE_WRITER_PROCESS"])
        if "TRACE_AUTO_CLEANUP" in env:
            config.auto_cleanup = _parse_bool("TRACE_AUTO_CLEANUP", env["TRACE_AUTO_CLEANUP"])
        config.validate()
        return config

    def update(self, **options: Any) -> None:
        """Apply `configure(...)` options; unknown names raise TypeError listing valid ones."""
        aliases = {"max_age": "max_trace_age", "buffer": "buffer_size"}
        valid = {f.name for f in fields(self)}
        for raw_name, value in options.items():
            name = aliases.get(raw_name, raw_name)
            if name not in valid:
                choices = ", ".join(sorted(valid | set(aliases)))
                raise TypeError(f"unknown tracing option {raw_name!r}; valid options: {choices}")
            if name in ("max_trace_age", "cleanup_interval") and value is not None:
                value = value if isinstance(value, timedelta) else timedelta(seconds=value)
            if name == "flush_interval" and isinstance(value, timedelta):
                value = value.total_seconds()
            setattr(self, name, value)
        self.validate()

    def validate(self) -> None:
        """Reject values that cannot work, with a clear message."""
        for name in ("batch_size", "buffer_size", "max_value_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be positive")
        if self.flush_interval <= 0:
            raise ValueError("flush_interval must be positive (seconds)")
        if self.stuck_timeout <= 0:
            raise ValueError("stuck_timeout must be positive (seconds)")
        if self.max_trace_count is not None and self.max_trace_count < 0:
            raise ValueError("max_trace_count must be >= 0")


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{name}={value!r}: expected true or false")


def _scheme(url: str) -> str:
    return url.split(":", 1)[0].split("+", 1)[0].lower() if ":" in url else "sqlite"


def sqlite_path(url: str) -> str:
    """The file path in `sqlite:///relative.db`, `sqlite:////abs.db` or a bare path."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :] or ":memory:"
    if url.startswith("sqlite://"):
        return url[len("sqlite://") :] or ":memory:"
    return url


def _libpq(url: str) -> str:
    """ "postgresql+psycopg://" (SQLAlchemy spelling) -> "postgresql://" for libpq."""
    _, sep, rest = url.partition("://")
    return "postgresql://" + rest if sep else url


def create_storage(config: TraceConfig) -> TraceStorage:
    """The storage backend that `config.storage` and `config.database_url` name."""
    kind = config.storage
    if kind == "memory":
        from myagent.trace.storage.memory import InMemoryTraceStorage

        return InMemoryTraceStorage()
    if kind == "sqlite":
        from myagent.trace.storage.sqlite import SQLiteTraceStorage

        return SQLiteTraceStorage(sqlite_path(config.database_url))
    if kind in ("postgres", "postgresql"):
        url = config.database_url
        if _scheme(url) not in ("postgres", "postgresql"):
            raise ValueError(
                f"TRACE_STORAGE={kind!r} needs TRACE_DATABASE_URL=postgresql://..., not {url!r}"
            )
        from myagent.trace.storage.postgres import PostgresTraceStorage

        read = config.database_read_url
        return PostgresTraceStorage(_libpq(url), read_url=_libpq(read) if read else None)
    raise ValueError(f"TRACE_STORAGE={kind!r} is not a known backend (memory, sqlite, postgres)")


def storage_for(db: str | None = None) -> TraceStorage:
    """The storage a command-line tool opens: `db` (a path or URL), else
    TRACE_DATABASE_URL, else `traces.db`; PostgreSQL reads go to TRACE_DATABASE_READ_URL
    when it is set (a streaming replica)."""
    url = db or os.environ.get("TRACE_DATABASE_URL") or "traces.db"
    if "://" in url and not url.startswith("sqlite:"):
        kind = url.split(":", 1)[0].split("+", 1)[0]
        read = os.environ.get("TRACE_DATABASE_READ_URL", "").strip() or None
        return create_storage(TraceConfig(storage=kind, database_url=url, database_read_url=read))
    from myagent.trace.storage.sqlite import SQLiteTraceStorage

    return SQLiteTraceStorage(sqlite_path(url))
