"""The default secret patterns, and a scanner whose cost grows linearly with the text.

Every default pattern examines a bounded stretch of text from any start position
(bounded repetitions, possessive where a requirement follows a run, and a "no token
character before" guard where a run could restart inside itself), so one scan is
linear in the text. Patterns run one after another, each only on text holding the
literal or word it needs. Long texts are scanned in windows (`WINDOW` characters plus
an overlap longer than any match), which keeps each regex call short: the GIL is
given up between windows and a time budget is checked between them. A pattern may
name a group `secret`: only that part is replaced, else the whole match.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import NamedTuple

REDACTED = "[REDACTED]"

MAX_MATCH = 20_000
"""No default pattern examines more than this many characters from where it starts."""
WINDOW = 128 * 1024
"""Texts longer than this are scanned in windows of it (plus `MAX_MATCH` of overlap)."""

_KV_ANY = (
    "aws_secret_access_key",
    "secret_access_key",
    "client_secret",
    "secret_key",
    "api_key",
    "api-key",
    "apikey",
    "access_token",
    "refresh_token",
    "id_token",
    "auth_token",
    "accountkey",
    "sharedaccesskey",
    "private_key",
    "dsn_pass",
    "dsn_password",
    "db_pass",
    "db_password",
)
"""Key names that are never prose: `name=value` and `name: value` both hide the value."""
_KV_EQ = ("password", "passwd", "pwd", "passphrase", "secret", "token")
"""Words that also occur in prose: only `word=value` hides the value."""
_QUERY_KEYS = (
    "api_key",
    "api-key",
    "apikey",
    "key",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "secret",
    "password",
    "passwd",
    "pwd",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "code_verifier",
)
_QUOTED_KEYS = "|".join(re.escape(k) for k in (*_KV_ANY, *_KV_EQ, "authorization", "cookie"))
_VALUE = r"\s{0,4}(?:\"[^\"\r\n]{0,1024}\"|'[^'\r\n]{0,1024}'|[^\s;&,\"'<>]{1,4096})"


def _token_start(literal: str, token_chars: str = "A-Za-z0-9") -> str:
    """`literal` where a token starts: no token character before it (a `\\n`-style
    escape counts as a gap). The literal comes first so the regex engine can look for it
    quickly; the guard looks back over it."""
    return rf"{literal}(?:(?<![{token_chars}]{literal})|(?<=\\[nrt]{literal}))"


def _after_key(names: tuple[str, ...], sign: str, before: str = "") -> str:
    """`sign` right after one of `names` (any case; one space allowed between unless
    `before`, a class the name must follow): the sign comes first, so the engine looks
    for it and checks the names behind it, one look-behind per length."""
    gaps = ("",) if before else ("", " ")
    by_width: dict[int, list[str]] = {}
    for name in names:
        for gap in gaps:
            by_width.setdefault(len(name) + len(gap), []).append(re.escape(name + gap))
    behind = "|".join(
        f"(?<={before}(?:{'|'.join(group)}){re.escape(sign)})" for group in by_width.values()
    )
    return f"{re.escape(sign)}(?i:{behind})"


class _Spec(NamedTuple):
    """A default pattern, the literals or (casefolded) words one of which it needs, and
    its replacement when fixed (else `[REDACTED]`, or the `secret` group replaced)."""

    source: str
    literals: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    replacement: str | None = None


_AWS = ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA")
_KV_WORDS = ("key", "secret", "token", "pass", "pwd")
_SPECS = (
    # OpenAI / Anthropic keys (sk-proj-, sk-ant-api03-, sk-svcacct-, plain sk-)
    _Spec(
        _token_start("sk-")
        + r"(?:proj-|ant-(?:api\d{1,4}-|admin\d{1,4}-)?|svcacct-|admin-)?[A-Za-z0-9_\-]{16,512}",
        ("sk-",),
    ),
    # AWS access key ids, with a secret access key standing next to one
    _Spec(
        r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)[0-9A-Z]{16}"
        r"(?:[\s\"',:;=|]{1,8}(?:[A-Za-z_]{1,32}[\s\"',:;=|]{1,8}){0,3}"
        r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=]))?",
        _AWS,
    ),
    _Spec(r"gh[pousr]_[A-Za-z0-9]{30,255}", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    _Spec(r"github_pat_[A-Za-z0-9_]{30,255}", ("github_pat_",)),
    _Spec(r"AIza[0-9A-Za-z_\-]{35}", ("AIza",)),  # Google API keys
    _Spec(
        r"xox[abeprs]-[A-Za-z0-9\-]{10,255}",  # Slack tokens
        ("xoxa-", "xoxb-", "xoxe-", "xoxp-", "xoxr-", "xoxs-"),
    ),
    _Spec(  # Slack webhooks
        r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_\-]{8,255}",
        ("hooks.slack.com",),
    ),
    _Spec(  # Stripe secret and restricted keys, webhook secrets
        r"[sr]k_(?:live|test)_[A-Za-z0-9]{16,255}",
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
    ),
    _Spec(r"whsec_[A-Za-z0-9]{16,255}", ("whsec_",)),
    # Authorization headers in text (any scheme), then bare bearer / basic credentials
    _Spec(
        r"(?i:authorization)[\"']?\s{0,8}[:=]\s{0,8}[\"']?"
        r"(?P<secret>(?i:bearer|basic|digest|token|negotiate|ntlm|aws4-hmac-sha256)\s{1,8}"
        r"[A-Za-z0-9._~+/=\-]{4,4096}|(?=[A-Za-z._~+/=\-]{0,64}[0-9])[A-Za-z0-9._~+/=\-]{8,4096})",
        words=("authorization",),
    ),
    _Spec(
        r"(?i:bearer)\s{1,8}"
        r"(?P<secret>(?=[A-Za-z._~+/\-]{0,64}[0-9])[A-Za-z0-9._~+/\-]{12,4096}={0,3})",
        words=("bearer",),
    ),
    _Spec(
        r"(?i:basic)\s{1,8}(?P<secret>(?=[A-Za-z+/]{0,64}[0-9])[A-Za-z0-9+/]{8,4096}={0,3})",
        words=("basic",),
    ),
    # JWTs: each run is possessive and starts a token, so no start position rescans it
    _Spec(
        _token_start("eyJ", r"A-Za-z0-9_\-")
        + r"[A-Za-z0-9_\-]{8,4096}+\.eyJ[A-Za-z0-9_\-]{8,8192}+\.[A-Za-z0-9_\-]{8,4096}",
        ("eyJ",),
    ),
    # user:pass@ in URLs (the user may be empty: redis://:pw@host)
    _Spec(r"://[^\s/:@\"'<>]{0,256}:[^\s/@\"'<>]{1,1024}@", ("://",), (), "://[REDACTED]@"),
    # secrets in query strings
    _Spec(
        _after_key(_QUERY_KEYS, "=", before="[?&]") + r"[^&\s\"'#<>]{1,4096}",
        words=("key", "token", "secret", "pass", "pwd", "sig", "credential", "code_verifier"),
        replacement="=[REDACTED]",
    ),
    # name=value in logs, env files and `;`-separated connection strings
    _Spec(_after_key(_KV_ANY, "=") + _VALUE, words=_KV_WORDS, replacement="=[REDACTED]"),
    _Spec(_after_key(_KV_ANY, ":") + _VALUE, words=_KV_WORDS, replacement=":[REDACTED]"),
    _Spec(_after_key(_KV_EQ, "=") + _VALUE, words=_KV_WORDS, replacement="=[REDACTED]"),
    # "password": "..." in JSON or a dict's repr that was not parsed (escaped quotes too)
    _Spec(
        r"[\"'](?i:" + _QUOTED_KEYS + r")\\{0,7}[\"']\s{0,4}:\s{0,4}\\{0,7}[\"']"
        r"(?P<secret>[^\"'\\\r\n]{1,1024})",
        words=("key", "secret", "token", "pass", "pwd", "authorization", "cookie"),
    ),
    # PEM private keys; a missing END redacts the body up to where it stops
    _Spec(
        r"-----BEGIN[A-Z0-9 ]{0,64} PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[A-Za-z0-9+/=\s:,.]|-(?!----)){0,16384}+"
        r"(?:-----END[A-Z0-9 ]{0,64} PRIVATE KEY(?: BLOCK)?-----)?",
        ("-----BEGIN",),
    ),
)

DEFAULT_PATTERNS = tuple(spec.source for spec in _SPECS)
"""Text patterns redacted inside every string."""


_HINT_RE = re.compile(
    "|".join(re.escape(literal) for spec in _SPECS for literal in spec.literals)
    + "|(?i:"
    + "|".join(re.escape(word) for spec in _SPECS for word in spec.words)
    + ")"
)
"""Any literal a default pattern needs, or any word in any case (as its `(?i)` does)."""


def hinted(text: str) -> bool:
    """False only when no default pattern can match `text` (a cheap prefilter, one
    regex call; for texts of up to a few KiB)."""
    return _HINT_RE.search(text) is not None


class OverBudget(Exception):
    """Redacting a value took longer than its budget."""


class _Pattern:
    """One compiled pattern, what it needs to appear in a text, and how it replaces."""

    __slots__ = ("fixed", "literals", "regex", "secret", "words")

    def __init__(self, spec: _Spec, gate: bool) -> None:
        self.regex = re.compile(spec.source)
        self.secret = "secret" in self.regex.groupindex
        self.literals = spec.literals if gate else ()
        self.words = spec.words if gate else ()
        self.fixed = spec.replacement or (None if self.secret else REDACTED)

    def replace(self, match: re.Match[str]) -> str:
        text = match.string
        if match.start("secret") < 0:
            return REDACTED
        return (
            text[match.start() : match.start("secret")]
            + REDACTED
            + text[match.end("secret") : match.end()]
        )

    def sub(self, text: str, deadline: float | None) -> str:
        """`text` with every match replaced, in windows when long (see the module doc)."""
        regex = self.regex
        fixed = self.fixed
        if len(text) <= WINDOW + MAX_MATCH:  # a fixed text is replaced by C code alone
            return regex.sub(fixed or self.replace, text)
        out: list[str] = []
        done = 0  # text[:done] is in out
        pos = 0
        n = len(text)
        while pos < n:
            if deadline is not None and time.monotonic() > deadline:
                raise OverBudget
            edge = pos + WINDOW
            end = min(n, edge + MAX_MATCH)
            last = pos
            for match in regex.finditer(text, pos, end):
                if match.start() >= edge and end < n:
                    break  # found again, whole, from the next window
                out.append(text[done : match.start()])
                out.append(fixed or self.replace(match))
                done = last = match.end()
            pos = max(last, edge) if end < n else n
        out.append(text[done:])
        return "".join(out)


class TextPatterns:
    """Patterns applied one after another; with `gate`, a default pattern whose
    literals or words do not occur in the text is skipped (it cannot match)."""

    def __init__(self, patterns: Iterable[str], *, gate: bool = False) -> None:
        specs = {spec.source: spec for spec in _SPECS}
        self.patterns = [_Pattern(specs.get(p) or _Spec(p), gate) for p in patterns]

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def search(self, text: str) -> bool:
        """Whether any pattern matches somewhere in `text`."""
        return any(p.regex.search(text) is not None for p in self.patterns)

    def sub(self, text: str, deadline: float | None = None) -> str:
        """`text` with every match replaced; raises `OverBudget` past `deadline`
        (a `time.monotonic()` value), checked between patterns and windows."""
        present: set[str] | None = None
        for pattern in self.patterns:
            if pattern.literals:
                if not any(literal in text for literal in pattern.literals):
                    continue
            elif pattern.words:
                # Replacing a secret never makes a word appear, so one look serves.
                present = _words_in(text) if present is None else present
                if present.isdisjoint(pattern.words):
                    continue
            if deadline is not None and time.monotonic() > deadline:
                raise OverBudget
            text = pattern.sub(text, deadline)
        return text


_ALL_WORDS = frozenset(word for spec in _SPECS for word in spec.words)
_CHUNK = 256 * 1024


def _words_in(text: str) -> set[str]:
    """The gating words that occur in `text` as the patterns' `(?i)` would find them. ASCII
    text is lowered a chunk at a time (so no single call holds the GIL long); other
    text is searched with `(?i)` itself, whose case rules differ from `str.lower`'s."""
    found: set[str] = set()
    if not text.isascii():
        return {word for word, regex in _WORD_RES.items() if regex.search(text)}
    overlap = max(map(len, _ALL_WORDS)) - 1
    for start in range(0, max(len(text), 1), _CHUNK):
        lowered = text[max(0, start - overlap) : start + _CHUNK].lower()
        found.update(word for word in _ALL_WORDS - found if word in lowered)
        if len(found) == len(_ALL_WORDS):
            break
    return found


_WORD_RES = {word: re.compile(f"(?i:{re.escape(word)})") for word in _ALL_WORDS}


def safe_cut(text: str, limit: int) -> int:
    """Where to cut `text` to at most `limit` characters without splitting a token: a
    secret cut in half would no longer match its pattern and its head would be kept."""
    if len(text) <= limit:
        return len(text)
    floor = max(0, limit - 512)
    for index in range(limit, floor, -1):
        if text[index - 1].isspace():
            return index
    return floor
