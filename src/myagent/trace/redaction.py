"""Secret redaction: applied by the writers before anything is stored or exported.

Values under secret-looking keys (password, token, api_key, authorization, cookie,
...) are replaced whole; secret-looking text (API keys, bearer tokens, JWTs,
`user:pass@` in URLs, `?key=` query secrets, `password=` in logs, ...) is replaced
inside any string, including JSON held in strings, mapping keys and names. Scanning is
linear in the text (see `redaction_patterns`) and each value has a time budget; past
it the value becomes `OVER_BUDGET`. A redactor that raises fails closed: the value is
replaced, never stored raw.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from myagent.trace.records import LogEntry, RunRecord, Trace
from myagent.trace.redaction_fields import record_fields
from myagent.trace.redaction_memo import (
    KEY_MEMO_BYTES,
    MEMO_DEPTH,
    MEMO_KEY_CHARS,
    MEMO_TEXT_CHARS,
    MISSING,
    TEXT_MEMO_BYTES,
    UNCHANGED,
    Memo,
    memo_key,
    shallow,
)
from myagent.trace.redaction_patterns import (
    DEFAULT_PATTERNS,
    REDACTED,
    OverBudget,
    TextPatterns,
    hinted,
    safe_cut,
)
from myagent.trace.serialize import cut_text, get_max_value_size

__all__ = [
    "DEFAULT_KEYS",
    "DEFAULT_PATTERNS",
    "FAILED",
    "OVER_BUDGET",
    "REDACTED",
    "SAFE_KEYS",
    "Redactor",
    "redact_error",
]

FAILED = "[REDACTED: redaction failed]"
OVER_BUDGET = "[REDACTED: over the redaction time budget]"
TIME_BUDGET = 2.0
"""Default seconds one value (one field of a record) may take to redact."""
TRACE_BUDGET = 4.0
"""Default seconds one whole trace may take: below the writer's watchdog (5 s), so a
trace full of hostile values loses those values to the marker, not the whole trace."""
JSON_LEVELS = 8
"""JSON held in strings is parsed this many levels deep; deeper text gets the text
patterns only (which include quoted `"password": "..."` pairs)."""

DEFAULT_KEYS = (
    "password",
    "passwd",
    "passphrase",
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
    "accountkey",
    "signature",
    "_pass",
)
"""Key-name fragments: a mapping key containing one (case and -/_ ignored) is secret,
as is a key named `pass` (`dsn_pass`, `db_pass` contain `_pass`).

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

Callback = Callable[[Any, str], Any]


class _Walk:
    """One value's redaction: containers on the path (cycles), the deadline, the
    characters left to scan, and how deep JSON held in strings is being parsed."""

    __slots__ = ("chars", "deadline", "json_level", "seen")

    def __init__(self, deadline: float, chars: int) -> None:
        self.seen: set[int] = set()
        self.deadline = deadline
        self.chars = chars
        self.json_level = 0


class Redactor:
    """Replaces secrets in trace values; `redact_trace` returns a redacted copy.

    `extra_keys` / `extra_patterns` add to the defaults (`keys` / `patterns` replace
    them); `callback(value, path)` sees every string after the built-in rules and
    returns the value to keep. `time_budget` bounds the seconds spent on one value,
    `trace_budget` on one trace (below the writer's watchdog, which gives up a trace
    whose redaction hangs); `max_chars` the characters scanned in one value (default:
    the max value size, as nothing past it is stored); longer text is cut first, as
    storage would cut it.
    `stats` counts values over budget, cut and failed.
    """

    def __init__(
        self,
        *,
        keys: Iterable[str] = DEFAULT_KEYS,
        patterns: Iterable[str] = DEFAULT_PATTERNS,
        extra_keys: Iterable[str] = (),
        extra_patterns: Iterable[str] = (),
        callback: Callback | None = None,
        time_budget: float = TIME_BUDGET,
        trace_budget: float = TRACE_BUDGET,
        max_chars: int | None = None,
    ) -> None:
        self._recipe: dict[str, Any] = {
            "keys": tuple(keys),
            "patterns": tuple(patterns),
            "extra_keys": tuple(extra_keys),
            "extra_patterns": tuple(extra_patterns),
            "callback": callback,
            "time_budget": time_budget,
            "trace_budget": trace_budget,
            "max_chars": max_chars,
        }
        recipe = self._recipe  # iterables read once: a generator is exhausted after
        keys, patterns = recipe["keys"], recipe["patterns"]
        extra_keys, extra_patterns = recipe["extra_keys"], recipe["extra_patterns"]
        fragments = [_norm(k) for k in (*keys, *extra_keys) if k]
        alternatives = [re.escape(f) for f in fragments]
        if tuple(keys) == DEFAULT_KEYS:
            alternatives.append("^pass$")
        self._key_re = re.compile("|".join(alternatives)) if alternatives else None
        sources = [*patterns, *extra_patterns]
        # With the default patterns only, a few substring checks first rule most text out
        # (see hinted), and each pattern runs only on text holding what it needs.
        self._prefilter = tuple(sources) == DEFAULT_PATTERNS
        self._patterns = TextPatterns(sources, gate=self._prefilter)
        self._callback = callback
        self.time_budget = time_budget
        self.trace_budget = trace_budget
        self.max_chars = max_chars
        self._local = threading.local()  # the deadline of the trace this thread redacts
        self._counts = {"over_budget": 0, "cut": 0, "failed": 0}
        self._count_lock = threading.Lock()
        # Agents repeat themselves: the same system prompt, tool schemas and message
        # history reach every record, and the same few keys every mapping. Verdicts on
        # keys and redacted texts are kept (bounded); a callback sees every string, so
        # texts are not kept when there is one.
        self._key_memo = Memo(KEY_MEMO_BYTES)
        self._text_memo = Memo(TEXT_MEMO_BYTES)
        self._json_memo = Memo(TEXT_MEMO_BYTES)

    @property
    def stats(self) -> dict[str, int]:
        """Values replaced for going over the time budget, texts cut to the size
        budget before scanning, and values that failed (replaced, fail closed)."""
        return dict(self._counts)

    def _count(self, what: str) -> None:
        with self._count_lock:
            self._counts[what] += 1

    def add_stats(self, counts: dict[str, int]) -> None:
        """Add counts made by a copy of this redactor elsewhere (the writer process)."""
        with self._count_lock:
            for what, count in counts.items():
                if what in self._counts:
                    self._counts[what] += count

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its arguments (a new redactor, counters at zero): for the writer
        process. A subclass is not picklable this way (it may redact differently)."""
        if type(self) is not Redactor:
            raise TypeError(f"{type(self).__name__} is not picklable")
        recipe = {
            **self._recipe,
            "time_budget": self.time_budget,
            "trace_budget": self.trace_budget,
            "max_chars": self.max_chars,
        }
        return (_rebuild, (recipe,))

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
            if len(key) <= MEMO_KEY_CHARS:
                self._key_memo.put(key, verdict)
        return verdict

    def value(self, value: Any, path: str = "$") -> Any:
        """A redacted copy of `value` (the input is never modified); fails closed."""
        kind = type(value)
        if value is None or kind is int or kind is float or kind is bool:
            return value  # nothing to redact (as `_value` would answer)
        if self._callback is not None:  # a callback sees every string: no memo
            return self._unseen(value, path, None)
        found, key = _memo_verdict(value, self._text_memo.entries, self._json_memo.entries)
        if found is MISSING:
            return self._unseen(value, path, key)
        return value if found is UNCHANGED else found

    def _unseen(self, value: Any, path: str, key: bytes | None) -> Any:
        """`value` redacted by a walk (the memo did not hold it); `key`: its memo key
        when it is a container whose key was computed already."""
        deadline = time.monotonic() + self.time_budget
        trace_deadline: float | None = getattr(self._local, "deadline", None)
        if trace_deadline is not None and trace_deadline < deadline:
            deadline = trace_deadline
        walk = _Walk(deadline, self._char_budget())
        try:
            if key is not None:  # a container the memo does not hold yet (key computed)
                return self._json_memo.redacted(
                    key, value, lambda: self._container(value, path, 0, walk), shallow
                )
            return self._value(value, path, 0, walk)
        except OverBudget:
            self._count("over_budget")
            return OVER_BUDGET
        except Exception:
            self._count("failed")
            return FAILED

    def text(self, text: str) -> str:
        """`text` with the text patterns applied (no key rules, no JSON): for messages
        such as storage errors."""
        result = self.value(text, "$")
        return result if isinstance(result, str) else str(result)

    def _char_budget(self) -> int:
        return self.max_chars if self.max_chars is not None else get_max_value_size()

    def _value(self, value: Any, path: str, depth: int, walk: _Walk) -> Any:
        kind = type(value)
        if kind is str:  # the common case first: no ABC checks for plain text
            return self._text(value, path, depth, walk)
        if value is None or kind is int or kind is float or kind is bool:
            return value
        if (kind is dict or kind is list) and self._callback is None:
            if not value:  # empty: nothing to redact (records' metadata mostly)
                return value
            key = memo_key(value) if depth <= MEMO_DEPTH else None
            if key is not None:
                return self._json_memo.redacted(
                    key, value, lambda: self._container(value, path, depth, walk), shallow
                )
        if isinstance(value, Mapping | list | tuple | set | frozenset):
            ident = id(value)
            if ident in walk.seen:
                return "<cycle>"
            walk.seen.add(ident)
            try:
                return self._container(value, path, depth, walk)
            finally:
                walk.seen.discard(ident)
        return self._scalar(value, path, depth, walk)

    def _container(self, value: Any, path: str, depth: int, walk: _Walk) -> Any:
        if depth > 64:
            return "<max depth>"
        if time.monotonic() > walk.deadline:
            raise OverBudget
        # Paths only matter to a callback: without one, none are built.
        paths = self._callback is not None
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            for key, item in value.items():
                name, secret = self._key(key, walk)
                if name in out and name is not key:
                    name = _unique(out, name)
                if secret and item not in (None, ""):
                    out[name] = REDACTED
                else:
                    out[name] = self._value(
                        item, f"{path}.{name}" if paths else path, depth + 1, walk
                    )
            return out
        if isinstance(value, list | tuple):
            if not paths:
                return [self._value(item, path, depth + 1, walk) for item in value]
            return [
                self._value(item, f"{path}[{i}]", depth + 1, walk) for i, item in enumerate(value)
            ]
        return [self._value(item, path, depth + 1, walk) for item in sorted(value, key=repr)]

    def _key(self, key: Any, walk: _Walk) -> tuple[Any, bool]:
        """A mapping key as stored (secrets in its text replaced) and whether it names
        a secret. Bytes keys are read as text; numbers and None stay as they are."""
        if type(key) is not str:
            if key is None or isinstance(key, bool | int | float):
                return key, False
            if isinstance(key, bytes | bytearray):
                key = bytes(key).decode("utf-8", "backslashreplace")
            else:
                try:
                    key = str(key)
                except Exception:
                    return FAILED, False
        secret = self.is_secret_key(key)
        found = self._text_memo.get(key, MISSING)
        if found is MISSING:
            redacted = self._patterns_only(key, walk)
            if len(key) <= MEMO_TEXT_CHARS:
                self._text_memo.put(key, UNCHANGED if redacted == key else redacted)
            return redacted, secret
        return (key if found is UNCHANGED else found), secret

    def _scalar(self, value: Any, path: str, depth: int, walk: _Walk) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self._text(str(value), path, depth, walk)
        if isinstance(value, bytes | bytearray):
            raw = bytes(value)
            try:
                return self._text(raw.decode("utf-8"), path, depth, walk)
            except UnicodeDecodeError:  # stored as base64: a secret inside is kept as text
                text = raw.decode("utf-8", "backslashreplace")
                return self._text(text, path, depth, walk) if self._looks_secret(text) else value
        try:  # foreign objects: fail closed one value at a time, not the whole trace
            if not isinstance(value, type):
                fields = _fields(value)
                if fields is not None:  # what storage would keep of it, keys checked
                    return self._value(fields, path, depth + 1, walk)
            text = repr(value)
        except Exception:
            return FAILED
        return self._text(text, path, depth, walk) if self._looks_secret(text) else value

    def _looks_secret(self, text: str) -> bool:
        return self._scan(text) and self._patterns.search(text)

    def _scan(self, text: str) -> bool:
        """Whether `text` needs the full pattern scan (False: no pattern can match)."""
        if not self._patterns:
            return False
        # Long texts go straight to the patterns, which check their own hints.
        return not self._prefilter or len(text) > MEMO_TEXT_CHARS or hinted(text)

    def _text(self, text: str, path: str, depth: int, walk: _Walk) -> Any:
        if (
            self._callback is not None
            or len(text) > MEMO_TEXT_CHARS
            or text.lstrip()[:1] in ("{", "[")  # JSON inside: its result depends on depth
        ):
            return self._redact_text(text, path, depth, walk)
        return self._text_memo.redacted(
            text, text, lambda: self._redact_text(text, path, depth, walk)
        )

    def _redact_text(self, text: str, path: str, depth: int, walk: _Walk) -> Any:
        if len(text) > walk.chars:  # past the size budget: cut as storage would
            text = _cut(text, max(walk.chars, 0))
            self._count("cut")
        parsed = None
        if text.lstrip()[:1] in ("{", "[") and depth < 64 and walk.json_level < JSON_LEVELS:
            try:
                parsed = orjson.loads(text)
            except orjson.JSONDecodeError:
                parsed = None
        if isinstance(parsed, dict | list):
            # every string and key in it is scanned (and counted) on its own
            walk.json_level += 1
            try:
                redacted = self._value(parsed, path, depth + 1, walk)
            finally:
                walk.json_level -= 1
            if redacted != parsed:
                text = orjson.dumps(redacted).decode()
        else:
            walk.chars -= len(text)
            text = self._patterns_only(text, walk)
        if self._callback is not None:
            return self._callback(text, path)
        return text

    def _patterns_only(self, text: str, walk: _Walk) -> str:
        if not self._scan(text):
            return text
        if time.monotonic() > walk.deadline:
            raise OverBudget
        return self._patterns.sub(text, walk.deadline)

    # -- traces --------------------------------------------------------------------

    def redact_trace(self, trace: Trace) -> Trace:
        """A copy of `trace` whose every user-supplied value is redacted: values,
        keys, names, tags, session id, errors, stack traces and logs. Past
        `trace_budget` seconds the values left become the over-budget marker."""
        self._local.deadline = time.monotonic() + self.trace_budget
        try:
            out = copy.copy(trace)
            out.name = self._name(trace.name) or ""
            out.agent_name = self._name(trace.agent_name)
            out.session_id = self._name(trace.session_id)
            out.tags = self.value(trace.tags, "$.tags") if trace.tags else trace.tags
            out.input = self.value(trace.input, "$.input")
            out.output = self.value(trace.output, "$.output")
            out.error = self._name(trace.error)
            out.metadata = self.value(trace.metadata, "$.metadata")
            out.runs = [self.redact_record(run) for run in list(trace.runs)]
            out.logs = [self._log(log) for log in list(trace.logs)]
        finally:
            self._local.deadline = None
        return out

    def _log(self, log: LogEntry) -> LogEntry:
        message = self._name(log.message) or ""
        level = self._name(log.level) or ""
        if message is log.message and level is log.level:
            return log
        return LogEntry(
            level=level, message=message, timestamp_us=log.timestamp_us, run_id=log.run_id
        )

    def redact_record(self, record: RunRecord) -> RunRecord:
        """One record with its names, payload, errors and metadata redacted: a copy when
        anything changed, else the record itself (a value the memo found clean comes
        back as the very object given, so clean records cost no copy)."""
        spec = record_fields(type(record))
        changed: dict[str, Any] = {}
        if self._callback is not None:  # a callback sees each field with its path
            for name, path, old in zip(spec.names, spec.paths, spec.values(record), strict=True):
                new = self.value(old, path)
                if new is not old:
                    changed[name] = new
        else:
            # Names and errors, nearly always texts seen before or None, are first
            # cleared together: one set operation against the texts the memo holds clean.
            try:
                names_clean = self._text_memo.clean.issuperset(spec.text_values(record))
            except TypeError:  # something unhashable where a name goes
                names_clean = False
            at = spec.texts if names_clean else 0
            texts, containers = self._text_memo.entries, self._json_memo.entries
            for name, old in zip(spec.names[at:], spec.values(record)[at:], strict=True):
                if old is None:
                    continue
                found, key = _memo_verdict(old, texts, containers)
                if found is UNCHANGED:
                    continue
                new = self._unseen(old, "$", key) if found is MISSING else found
                if new is not old:
                    changed[name] = new
        if not changed:
            return record
        out = copy.copy(record)
        for name, new in changed.items():
            setattr(out, name, new)
        return out

    def _name(self, value: Any) -> Any:
        """A name-like field (agent, trace, tool, model, session, error...): the value
        patterns only, so a plain name stays searchable and groupable."""
        if value is None:
            return None
        return self.value(value, "$")


def _rebuild(recipe: dict[str, Any]) -> Redactor:
    return Redactor(**recipe)


def _fields(value: Any) -> Any:
    """What storage keeps of a foreign object, when it has fields: a dataclass's fields,
    a pydantic model's dump, a `to_dict()`; else None (its repr is used)."""
    if dataclasses.is_dataclass(value):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return None


def _unique(out: dict[Any, Any], name: Any) -> str:
    """A key not yet in `out`: two keys redacted to the same text both stay."""
    index = 2
    while f"{name} #{index}" in out:
        index += 1
    return f"{name} #{index}"


def _cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a token boundary, with storage's
    truncation marker (so storage keeps it as it is)."""
    cut = safe_cut(text, limit)
    return cut_text(text, cut)


def _norm(key: str) -> str:
    return key.lower().replace("-", "_").replace(" ", "_")


def _memo_verdict(
    value: Any, texts: dict[Any, Any], containers: dict[Any, Any]
) -> tuple[Any, bytes | None]:
    """What the memos say of `value` (not None): `UNCHANGED` (also for numbers and empty
    containers), its redacted copy, or `MISSING` (walk it); and, for a plain JSON
    container, its memo key, computed once for the walk that follows a miss."""
    kind = type(value)
    if kind is str:
        return texts.get(value, MISSING), None
    if kind is dict or kind is list:
        if not value:  # empty: nothing to redact (records' metadata mostly)
            return UNCHANGED, None
        key = memo_key(value)
        return (MISSING if key is None else containers.get(key, MISSING)), key
    if kind is int or kind is float or kind is bool:
        return UNCHANGED, None
    return MISSING, None


_ERRORS = Redactor()


def redact_error(message: str | None) -> str | None:
    """An error message (storage, sink, exporter) with secrets it quotes redacted; cut
    first to `ERROR_CHARS` at a token boundary, so a huge message costs little wherever
    it is read (a viewer route on its event loop included)."""
    if message is None:
        return None
    return _ERRORS.text(_cut(message, ERROR_CHARS) if len(message) > ERROR_CHARS else message)


ERROR_CHARS = 4096
"""Longest error message kept (the rest is cut before redaction)."""
