"""Secret redaction: applied by the writers before anything is stored or exported.

Values under secret-looking keys (password, token, api_key, authorization, cookie,
...) are replaced whole; secret-looking text (API keys, bearer tokens, JWTs,
`user:pass@` in URLs, `?key=` query secrets) is replaced inside any string, including
JSON held in strings. A redactor that raises fails closed: the value is replaced,
never stored raw.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from myagent.trace.records import LogEntry, RunRecord, Trace

REDACTED = "[REDACTED]"
FAILED = "[REDACTED: redaction failed]"

DEFAULT_KEYS = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "auth",
    "authorization",
    "credential",
    "private_key",
    "cookie",
    "session",
    "access_key",
    "signature",
)
"""Key-name fragments: a mapping key containing one (case and -/_ ignored) is secret.

`session_id`, `token_count`-style counters and similar harmless keys are exempt (see
`SAFE_KEYS`)."""

SAFE_KEYS = frozenset(
    {
        "session_id",
        "sessionid",
        "tokens",
        "tokens_used",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "max_tokens",
        "input_tokens",
        "output_tokens",
        "token_count",
        "author",
        "authors",
        "authored",
    }
)

DEFAULT_PATTERNS = (
    r"sk-(?:proj-|ant-(?:api\d+-)?)?[A-Za-z0-9_\-]{16,}",  # OpenAI / Anthropic keys
    r"(?:AKIA|ASIA)[0-9A-Z]{16}",  # AWS access key ids
    r"gh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{30,}",
    r"AIza[0-9A-Za-z_\-]{35}",  # Google API keys
    r"xox[abprs]-[A-Za-z0-9\-]{10,}",  # Slack tokens
    r"(?i:bearer|basic)\s+[A-Za-z0-9._~+/\-]{8,}=*",  # Authorization header values
    r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",  # JWTs
    r"(?<=://)[^\s/:@]+:[^\s/@]+(?=@)",  # user:pass@ in URLs
    r"(?<=[?&])(?i:api[_-]?key|key|token|access_token|secret|password|sig)=[^&\s\"']+",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
)
"""Text patterns redacted inside every string."""

Callback = Callable[[Any, str], Any]


class Redactor:
    """Replaces secrets in trace values; `redact_trace` returns a redacted copy.

    `extra_keys` / `extra_patterns` add to the defaults (`keys` / `patterns` replace
    them); `callback(value, path)` sees every string after the built-in rules and
    returns the value to keep.
    """

    def __init__(
        self,
        *,
        keys: Iterable[str] = DEFAULT_KEYS,
        patterns: Iterable[str] = DEFAULT_PATTERNS,
        extra_keys: Iterable[str] = (),
        extra_patterns: Iterable[str] = (),
        callback: Callback | None = None,
    ) -> None:
        fragments = [_norm(k) for k in (*keys, *extra_keys) if k]
        self._key_re = re.compile("|".join(re.escape(f) for f in fragments)) if fragments else None
        sources = [*patterns, *extra_patterns]
        self._text_re = re.compile("|".join(f"(?:{p})" for p in sources)) if sources else None
        # Scanning text with the combined pattern costs ~50 µs per KB; with the default
        # patterns only, a few substring checks first rule most text out (see _hinted).
        self._prefilter = tuple(sources) == DEFAULT_PATTERNS
        self._callback = callback
        # Agents repeat themselves: the same system prompt, tool schemas and message
        # history reach every record, and the same few keys every mapping. Verdicts on
        # keys and redacted texts are kept (bounded); a callback sees every string, so
        # texts are not kept when there is one.
        self._key_memo = _Memo(_KEY_MEMO_BYTES)
        self._text_memo = _Memo(_TEXT_MEMO_BYTES)
        self._json_memo = _Memo(_TEXT_MEMO_BYTES)

    # -- values --------------------------------------------------------------------

    def is_secret_key(self, key: str) -> bool:
        """Whether a mapping key names a secret."""
        verdict: bool | None = self._key_memo.get(key)
        if verdict is None:
            norm = _norm(key)
            verdict = (
                norm not in SAFE_KEYS
                and self._key_re is not None
                and bool(self._key_re.search(norm))
            )
            self._key_memo.put(key, verdict)
        return verdict

    def value(self, value: Any, path: str = "$") -> Any:
        """A redacted copy of `value` (the input is never modified); fails closed."""
        try:
            return self._value(value, path, 0, set())
        except Exception:
            return FAILED

    def _value(self, value: Any, path: str, depth: int, seen: set[int]) -> Any:
        kind = type(value)
        if kind is str:  # the common case first: no ABC checks for plain text
            return self._text(value, path, depth, seen)
        if value is None or kind is int or kind is float or kind is bool:
            return value
        if (kind is dict or kind is list) and self._callback is None:
            if not value:  # empty: nothing to redact (records' metadata mostly)
                return value
            key = _memo_key(value, depth)
            if key is not None:
                return self._json_memo.redacted(
                    key, value, lambda: self._container(value, path, depth, seen)
                )
        if isinstance(value, Mapping | list | tuple | set | frozenset):
            ident = id(value)
            if ident in seen:
                return "<cycle>"
            seen.add(ident)
            try:
                return self._container(value, path, depth, seen)
            finally:
                seen.discard(ident)
        return self._scalar(value, path, depth, seen)

    def _container(self, value: Any, path: str, depth: int, seen: set[int]) -> Any:
        if depth > 64:
            return "<max depth>"
        # Paths only matter to a callback: without one, none are built.
        paths = self._callback is not None
        if isinstance(value, Mapping):
            out = {}
            for key, item in value.items():
                if isinstance(key, str) and self.is_secret_key(key) and item not in (None, ""):
                    out[key] = REDACTED
                else:
                    out[key] = self._value(
                        item, f"{path}.{key}" if paths else path, depth + 1, seen
                    )
            return out
        if isinstance(value, list | tuple):
            if not paths:
                return [self._value(item, path, depth + 1, seen) for item in value]
            return [
                self._value(item, f"{path}[{i}]", depth + 1, seen) for i, item in enumerate(value)
            ]
        return [self._value(item, path, depth + 1, seen) for item in sorted(value, key=repr)]

    def _scalar(self, value: Any, path: str, depth: int, seen: set[int]) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self._text(value, path, depth, seen)
        if isinstance(value, bytes | bytearray):
            try:
                return self._text(bytes(value).decode("utf-8"), path, depth, seen)
            except UnicodeDecodeError:
                return value
        try:  # foreign objects: fail closed one value at a time, not the whole trace
            dump = getattr(value, "model_dump", None)
            if callable(dump) and not isinstance(value, type):
                return self._value(dump(mode="json"), path, depth + 1, seen)
            text = repr(value)
        except Exception:
            return FAILED
        return self._text(text, path, depth, seen) if self._looks_secret(text) else value

    def _looks_secret(self, text: str) -> bool:
        return self._scan(text) and bool(self._text_re.search(text))  # type: ignore[union-attr]

    def _scan(self, text: str) -> bool:
        """Whether `text` needs the full pattern scan (False: no pattern can match)."""
        return self._text_re is not None and (not self._prefilter or _hinted(text))

    def _text(self, text: str, path: str, depth: int, seen: set[int]) -> Any:
        if (
            self._callback is not None
            or len(text) > _MEMO_TEXT_CHARS
            or text.lstrip()[:1] in ("{", "[")  # JSON inside: its result depends on depth
        ):
            return self._redact_text(text, path, depth, seen)
        return self._text_memo.redacted(
            text, text, lambda: self._redact_text(text, path, depth, seen)
        )

    def _redact_text(self, text: str, path: str, depth: int, seen: set[int]) -> Any:
        stripped = text.lstrip()
        if stripped[:1] in ("{", "[") and depth < 64:
            try:
                parsed = orjson.loads(text)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict | list):
                redacted = self._value(parsed, path, depth + 1, seen)
                if redacted != parsed:
                    text = orjson.dumps(redacted).decode()
        if self._scan(text):
            text = self._text_re.sub(REDACTED, text)  # type: ignore[union-attr]
        if self._callback is not None:
            return self._callback(text, path)
        return text

    # -- traces --------------------------------------------------------------------

    def redact_trace(self, trace: Trace) -> Trace:
        """A copy of `trace` whose every user-supplied value is redacted."""
        out = copy.copy(trace)
        out.input = self.value(trace.input, "$.input")
        out.output = self.value(trace.output, "$.output")
        out.error = self._field(trace.error, "$.error")
        out.metadata = self.value(trace.metadata, "$.metadata")
        out.runs = [self.redact_record(run) for run in list(trace.runs)]
        out.logs = [
            LogEntry(
                level=log.level,
                message=self._field(log.message, "$.logs") or "",
                timestamp_us=log.timestamp_us,
                run_id=log.run_id,
            )
            for log in list(trace.logs)
        ]
        return out

    def redact_record(self, record: RunRecord) -> RunRecord:
        """One record with its payload, errors and metadata redacted: a copy when
        anything changed, else the record itself (a value the memo found clean comes
        back as the very object given, so clean records cost no copy)."""
        changed: dict[str, Any] = {}
        paths = self._callback is not None
        for name in ("error", "stacktrace", "metadata", *record._payload_fields):
            old = getattr(record, name)
            if old is None:
                continue
            new = self.value(old, f"$.{name}" if paths else "$")
            if new is not old:
                changed[name] = new
        if not changed:
            return record
        out = copy.copy(record)
        for name, new in changed.items():
            setattr(out, name, new)
        return out

    def _field(self, value: str | None, path: str) -> Any:
        return None if value is None else self.value(value, path)


_HINTS = (
    "sk-",
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "AIza",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "xoxr-",
    "xoxs-",
    "eyJ",
    "://",
    "-----BEGIN",
)
"""Each DEFAULT_PATTERNS entry needs one of these literally, except bearer/basic (any
case) and `?key=` secrets (a "=" after a "?" or "&"), checked in `_hinted`."""


def _hinted(text: str) -> bool:
    """False only when no default pattern can match `text` (a cheap prefilter)."""
    if any(hint in text for hint in _HINTS):
        return True
    if "=" in text and ("?" in text or "&" in text):
        return True
    folded = text.casefold()  # casefold, as (?i) does: "baſic" still counts as basic
    return "bearer" in folded or "basic" in folded


_KEY_MEMO_BYTES = 64 * 1024
_TEXT_MEMO_BYTES = 256 * 1024
"""How much a redactor remembers (keys, then texts and JSON containers): enough for an
agent's system prompt, tool schemas and recent messages, small enough not to matter."""
_MEMO_TEXT_CHARS = 16_384
"""Longer texts are redacted every time rather than kept."""
_MISSING = object()
_UNCHANGED = object()
"""Memo entry: redacting this value changes nothing (the value given is returned)."""


def _memo_key(value: dict[Any, Any] | list[Any], depth: int) -> str | None:
    """A plain JSON container's JSON, the key its redacted copy is remembered under;
    None when it cannot be (foreign types, cycles, too large, or nested deep enough
    to meet the depth limit, which would make the result depend on where it sits)."""
    try:
        key = orjson.dumps(value, option=_MEMO_JSON)
    except (orjson.JSONEncodeError, TypeError):
        return None
    if len(key) > _MEMO_TEXT_CHARS or key.count(b"[") + key.count(b"{") + depth >= 60:
        return None
    return key.decode()  # a right-sized copy: orjson's bytes keep a 4 KiB buffer


_MEMO_JSON = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
"""Anything but plain JSON types raises (no default), so such containers are not kept."""


class _Memo:
    """A bounded memo: forgets everything once its keys pass `budget` bytes (a cheap
    bound with no per-entry bookkeeping; racing writer threads only blur the count)."""

    __slots__ = ("_budget", "_entries", "_size")

    def __init__(self, budget: int) -> None:
        self._entries: dict[Any, Any] = {}
        self._size = 0
        self._budget = budget

    def get(self, key: Any, default: Any = None) -> Any:
        found: Any = self._entries.get(key, default)
        return found

    def redacted(self, key: str, value: Any, redact: Callable[[], Any]) -> Any:
        """`value` redacted: remembered under `key`, else `redact()` (then remembered);
        `value` itself when redacting changes nothing, so clean values are not copied."""
        found = self._entries.get(key, _MISSING)
        if found is _MISSING:
            found = redact()
            found = _UNCHANGED if found == value else found
            self.put(key, found)
        return value if found is _UNCHANGED else found

    def put(self, key: str | bytes, value: Any) -> None:
        # the key, the dict entry and headers, and a kept copy (Python objects take ~8x
        # the bytes of their JSON)
        cost = len(key) * (1 if value is _UNCHANGED or type(value) is bool else 9) + 100
        if self._size + cost > self._budget:
            self._entries.clear()
            self._size = 0
        self._entries[key] = value
        self._size += cost


def _norm(key: str) -> str:
    return key.lower().replace("-", "_").replace(" ", "_")
