"""Error fingerprints: one group for one error, whatever values its message carries.

"unknown city 'Paris'" and "unknown city 'Lima'" are one error; so are two timeouts
after 30 s and 31 s. The message is normalised the way Sentry fingerprints events:
quoted values, URLs, paths, ids (UUIDs, hex and mixed letter-digit tokens) and numbers
are masked. The type prefix a message repeats ("ValueError: bad" of a ValueError) is
dropped first. Every backend groups by this one function (SQL backends join the
fingerprints of the distinct messages back), so the groups agree everywhere.
"""

from __future__ import annotations

import re

MAX_CHARS = 2000
"""Characters of a message a fingerprint reads (longer messages are cut first)."""

_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"'[^'\n]{0,300}'|\"[^\"\n]{0,300}\"|`[^`\n]{0,300}`"), "<str>"),
    (re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]{0,20}://[^\s'\"<>]+"), "<url>"),
    (re.compile(r"(?:\b[A-Za-z]:)?(?:[\\/][\w.\-]+){2,}[\\/]?"), "<path>"),
    (re.compile(r"\b[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}\b", re.IGNORECASE), "<id>"),
    (re.compile(r"\b0[xX][0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b(?=[A-Za-z_]*\d)(?=\d*[A-Za-z_])[A-Za-z0-9_\-]{6,}\b"), "<id>"),
    (re.compile(r"(?<![\w<])-?\d+(?:[.,:]\d+)*(?![\w>])"), "<num>"),
)


def strip_type(error_type: str, message: str) -> str:
    """`message` without the leading "`error_type`: " it repeats (if it does)."""
    prefix = f"{error_type}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def normalise(message: str) -> str:
    """The message with its variable parts masked (<str>, <url>, <path>, <id>, <hex>,
    <num>) and runs of white space made one space."""
    text = message[:MAX_CHARS]
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return " ".join(text.split())


def fingerprint(error_type: str, message: str) -> str:
    """The grouping key of a failure with this type and (raw) message."""
    return normalise(strip_type(error_type, message))
