"""How the `sqlite3` module binds our parameters: None and bytes without a failed lookup.

CPython's `sqlite3` binds int, float and str as they are, but looks every other value up
in its adapter registry first, and for a None or a bytes value (every record's JSON data,
most rows' empty columns) that lookup ends in an AttributeError raised, formatted and
cleared inside the module: about a third of binding such a row. Registering adapters
that hand both back unchanged (bytes stays a BLOB, None a NULL) skips that detour.
Registered only where no adapter exists, so one an application set up keeps working.
"""

from __future__ import annotations

import sqlite3


def _null(value: None) -> None:
    """None as itself: bound as NULL."""
    return value


def register_plain_adapters() -> None:
    """Identity adapters for None and bytes (idempotent; an existing adapter wins)."""
    if (bytes, sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(bytes, bytes)  # a C call: the very object back
    if (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(type(None), _null)
