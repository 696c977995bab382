"""Tool schemas offered to a model, kept once per trace: each think record's metadata
holds a short digest (`tool_schemas`), the trace's metadata maps digests to the schema
lists. Replay compares them; the playground edits them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

KEY = "tool_schemas"
"""The metadata key, in think records (a digest) and in traces (digest -> schemas)."""


def schema_digest(schemas: list[dict[str, Any]]) -> str:
    """A short, stable fingerprint of a list of tool schemas."""
    text = json.dumps(schemas, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]


def remember(trace_metadata: dict[str, Any], schemas: list[dict[str, Any]]) -> str:
    """Keep `schemas` in a trace's metadata (once) and return their digest."""
    digest = schema_digest(schemas)
    kept = trace_metadata.setdefault(KEY, {})
    if isinstance(kept, dict) and digest not in kept:
        kept[digest] = schemas
    return digest


def schemas_of(trace_metadata: dict[str, Any], record_metadata: dict[str, Any]) -> list[Any] | None:
    """The schemas a think record offered, or None when its trace did not keep them."""
    digest = record_metadata.get(KEY)
    kept = trace_metadata.get(KEY)
    if isinstance(digest, str) and isinstance(kept, dict):
        found = kept.get(digest)
        return found if isinstance(found, list) else None
    return None
