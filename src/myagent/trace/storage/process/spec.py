"""Which storage the writer process opens: the same SQLite file or PostgreSQL database
as the traced program's storage, described in plain JSON data."""

from __future__ import annotations

from typing import Any

from myagent.trace.storage.base import TraceStorage


def spec_of(storage: TraceStorage) -> dict[str, Any] | None:
    """JSON data from which another process opens a storage writing where `storage`
    writes; None when that cannot be done (in-memory data, another backend, arguments
    that are not plain data)."""
    from myagent.trace.storage.sqlite import SQLiteTraceStorage

    kind = type(storage)
    if kind is SQLiteTraceStorage:
        assert isinstance(storage, SQLiteTraceStorage)
        if storage.path == ":memory:" or storage.path.startswith("file:"):
            return None
        return {"kind": "sqlite", "path": storage.path, "options": dict(storage.options)}
    if kind.__name__ == "PostgresTraceStorage" and kind.__module__.endswith(".postgres"):
        pg: Any = storage
        if pg.connect_kwargs:
            return None  # may hold objects; keep the writer in this process
        return {
            "kind": "postgres",
            "url": pg.url,
            "schema": pg.schema,
            "channel": pg.channel,
            "write_method": pg.write_method,
            "connect_timeout": pg.connect_timeout,
            "options": dict(pg.options),
        }
    return None


def open_spec(spec: dict[str, Any]) -> TraceStorage:
    """The storage `spec_of` described (in the writer process)."""
    if spec["kind"] == "sqlite":
        from myagent.trace.storage.sqlite import SQLiteTraceStorage

        storage: TraceStorage = SQLiteTraceStorage(spec["path"])
    else:
        from myagent.trace.storage.postgres import PostgresTraceStorage

        storage = PostgresTraceStorage(
            spec["url"],
            schema=spec["schema"],
            channel=spec["channel"],
            write_method=spec["write_method"],
            connect_timeout=spec["connect_timeout"],
            max_connections=1,
            read_url=None,
        )
    storage.options.update(spec["options"])  # type: ignore[attr-defined]
    return storage
