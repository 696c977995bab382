"""The origin rules every server shares (myagent.origins), case by case."""

from __future__ import annotations

import pytest

from myagent.origins import allowed_origins, normalize_origin, origin_allowed, same_origin


def test_origins_are_normalized_with_an_explicit_port() -> None:
    assert normalize_origin("http://LOCALHOST") == "http://localhost:80"
    assert normalize_origin("https://app.example.com/") == "https://app.example.com:443"
    assert normalize_origin("http://[::1]:8080") == "http://[::1]:8080"
    for bad in ("null", "file:///x.html", "app.example.com", "http://", "http://h:99999"):
        assert normalize_origin(bad) is None, bad


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1:8080", True),
        ("http://127.0.0.1:8081", "127.0.0.1:8080", False),  # another port
        ("http://localhost:8080", "127.0.0.1:8080", False),  # another name
        ("http://localhost", "localhost:80", True),
        ("http://localhost", "localhost", True),
        ("https://viewer.example.com", "viewer.example.com", True),
        ("http://[::1]:8080", "[::1]:8080", True),
        ("null", "127.0.0.1:8080", False),
        ("http://127.0.0.1:8080", "", False),
    ],
)
def test_same_origin(origin: str, host: str, same: bool) -> None:
    assert same_origin(origin, host) is same


def test_allowed_origins_and_the_wildcard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYAGENT_ALLOWED_ORIGINS", " https://a.example , http://localhost:3000,")
    allowed = allowed_origins()
    assert allowed == {"https://a.example:443", "http://localhost:3000"}
    assert origin_allowed("https://a.example", "127.0.0.1:8765", allowed)
    assert not origin_allowed("https://b.example", "127.0.0.1:8765", allowed)
    assert origin_allowed(None, "127.0.0.1:8765", allowed)  # not a browser
    everyone = allowed_origins(["*"])
    assert origin_allowed("https://b.example", "h", everyone)
    assert not origin_allowed("null", "h", everyone)
    with pytest.raises(ValueError, match="not an origin"):
        allowed_origins("a.example")
