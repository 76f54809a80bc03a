"""`feeds.urls`: credentials redacted wherever a URL is written, host names as DNS asks for them."""

from __future__ import annotations

import re

import pytest

from feeds import redact_credentials
from feeds.urls import MAX_HOST_LENGTH, ascii_host, ascii_url


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://user:pw@host.example/feed", "https://user:***@host.example/feed"),
        ("https://token@host.example/feed", "https://***@host.example/feed"),
        ("https://user:p@ss@host.example/", "https://user:***@host.example/"),  # an unescaped @ in it
        ("https://user:@host.example/", "https://user:***@host.example/"),
        ("HTTP://U:P@HOST/", "HTTP://U:***@HOST/"),
        ("https://host.example/a@b?c=d@e#f@g", "https://host.example/a@b?c=d@e#f@g"),  # no userinfo
        ("https://host.example/feed", "https://host.example/feed"),
        ("write to a@b.example", "write to a@b.example"),
        (
            "https://a:1@x.example/ answered 404; then 'http://b:2@y.example:8080/p' failed",
            "https://a:***@x.example/ answered 404; then 'http://b:***@y.example:8080/p' failed",
        ),
        ("postgresql+asyncpg://timeline:secret@db:5432/x", "postgresql+asyncpg://timeline:***@db:5432/x"),
    ],
)
def test_credentials_are_redacted_wherever_a_url_is_written(text: str, shown: str) -> None:
    assert redact_credentials(text) == shown
    assert redact_credentials(shown) == shown  # redacting twice changes nothing


@pytest.mark.parametrize(
    ("url", "fetched"),
    [
        ("https://bücher.example/feed?q=ü", "https://xn--bcher-kva.example/feed?q=ü"),
        ("https://BÜCHER.example:8443/", "https://xn--bcher-kva.example:8443/"),
        ("https://user:pw@例え.テスト/live", "https://user:pw@xn--r8jz45g.xn--zckzah/live"),
        ("https://ｅｘａｍｐｌｅ。com/", "https://example.com/"),  # full-width, as a browser reads it
        ("https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"),
        ("https://my_host.example/", "https://my_host.example/"),  # underscores: resolvers take them
        ("https://example.com./", "https://example.com./"),
        ("http://127.0.0.1:8000/x", "http://127.0.0.1:8000/x"),
        ("http://[::1]:8000/x", "http://[::1]:8000/x"),
        ("not a url", "not a url"),  # no host: the fetcher says it is not an http(s) URL
    ],
)
def test_host_names_are_written_in_ascii(url: str, fetched: str) -> None:
    assert ascii_url(url) == fetched


@pytest.mark.parametrize(
    ("host", "said"),
    [
        ("☃.example", "U+2603"),  # a symbol: IDNA 2008 has no place for it
        ("xn--n3h.example", "U+2603"),  # the same, as an A-label
        ("xn--zz.example", "not a valid internationalized label"),
        ("a" * 64 + ".example", "1 to 63"),
        ("ü" + "a" * 70 + ".example", "too long"),
        ("a..example", "empty label"),
        (".example", "empty label"),
        ("exa mple.com", "not a DNS label"),
        (".".join(["a" * 60] * 5), f"DNS allows {MAX_HOST_LENGTH}"),
    ],
)
def test_invalid_host_names_are_refused_with_the_reason(host: str, said: str) -> None:
    with pytest.raises(ValueError, match=re.escape(said)):
        ascii_host(host)
    with pytest.raises(ValueError):
        ascii_url(f"https://{host}/feed")


def test_a_long_label_is_quoted_short() -> None:
    with pytest.raises(ValueError) as refused:
        ascii_host("a" * 300 + ".example")
    assert "300 characters" in str(refused.value) and "a" * 41 not in str(refused.value)
