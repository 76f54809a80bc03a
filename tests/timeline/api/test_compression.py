"""Content codings: `Accept-Encoding` read by its weights, coded tags, and stored pages coded once."""

from __future__ import annotations

import gzip

import brotli
import pytest

from timeline.api.caching import Stored, matched
from timeline.api.compression import (
    MIN_SIZE,
    Accepted,
    accepted,
    coded_tag,
    compress,
    compressible,
    recode,
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, Accepted((), True)),
        ("", Accepted((), True)),
        ("gzip", Accepted(("gzip",), True)),
        ("gzip, deflate, br, zstd", Accepted(("br", "gzip"), True)),
        ("br;q=0.5, gzip", Accepted(("gzip", "br"), True)),
        ("gzip;q=0, br", Accepted(("br",), True)),
        ("gzip;q=0", Accepted((), True)),
        ("identity;q=0, gzip", Accepted(("gzip",), False)),
        ("*;q=0", Accepted((), False)),
        ("*;q=0, identity", Accepted((), True)),
        ("*", Accepted(("br", "gzip"), True)),
        ("br;q=0, *", Accepted(("gzip",), True)),
        ("gzip;q=0.5, identity;q=0.8", Accepted((), True)),
        ("gzip;q=0.8, identity;q=0.5", Accepted(("gzip",), True)),
        ("X-GZIP;Q=1.0", Accepted(("gzip",), True)),
        ("gzip;q=2", Accepted((), True)),  # not a qvalue: refused rather than guessed
        ("gzip;q=nan, br;q=0.001", Accepted(("br",), True)),
        (" gzip ; q=0.3 ,, deflate", Accepted(("gzip",), True)),
    ],
)
def test_accept_encoding_by_weight(header: str | None, expected: Accepted) -> None:
    assert accepted(header) == expected


def test_small_bodies_stay_as_they_are_unless_identity_is_refused() -> None:
    assert accepted("gzip").choose(MIN_SIZE - 1) is None
    assert accepted("gzip").choose(MIN_SIZE) == "gzip"
    assert accepted("gzip, identity;q=0").choose(10) == "gzip"
    assert accepted("identity;q=0").choose(MIN_SIZE) is None  # nothing else offered: as it is after all


@pytest.mark.parametrize(
    ("media_type", "expected"),
    [
        (b"application/json", True), (b"application/problem+json", True), (b"application/feed+json", True),
        (b"application/atom+xml; charset=utf-8", True), (b"text/html; charset=utf-8", True),
        (b"text/javascript; charset=utf-8", True), (b"text/css", True), (b"TEXT/PLAIN", True),
        (b"text/event-stream; charset=utf-8", False), (b"image/png", False), (b"", False),
    ],
)  # fmt: skip
def test_what_is_worth_compressing(media_type: bytes, expected: bool) -> None:
    assert compressible(media_type) is expected


def test_output_is_the_same_every_time() -> None:
    body = b'{"events": []}' * 200
    assert (
        compress(body, "gzip") == compress(body, "gzip") and gzip.decompress(compress(body, "gzip")) == body
    )
    assert brotli.decompress(compress(body, "br", best=True)) == body


TAG = '"1.tl_x.7.abc"'


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None), ("", None), (TAG, TAG), (f"W/{TAG}", TAG),
        ('"1.tl_x.7.abc-gzip"', '"1.tl_x.7.abc-gzip"'), ('W/"1.tl_x.7.abc-br"', '"1.tl_x.7.abc-br"'),
        (f'"other", {coded_tag(TAG, "br")}', '"1.tl_x.7.abc-br"'),
        ("*", TAG), ('"1.tl_x.7.abc-zstd"', None), ('"1.tl_x.7.ab-gzip"', None), ('"1.tl_x.6.abc"', None),
    ],
)  # fmt: skip
def test_if_none_match_names_a_representation(header: str | None, expected: str | None) -> None:
    assert matched(header, TAG) == expected


def test_a_coded_representation_has_its_own_length_tag_and_coding() -> None:
    headers = ((b"content-type", b"application/json"), (b"content-length", b"3000"), (b"etag", TAG.encode()))
    assert recode(headers, "br", 512) == (
        (b"content-type", b"application/json"),
        (b"content-length", b"512"),
        (b"etag", b'"1.tl_x.7.abc-br"'),
        (b"content-encoding", b"br"),
    )
    assert coded_tag('W/"abc"', "gzip") == 'W/"abc-gzip"'


def test_a_stored_page_is_coded_once_per_coding() -> None:
    body = b"x" * 5000
    stored = Stored(3, body, ((b"content-length", b"5000"), (b"etag", TAG.encode())))
    assert stored.representation(accepted(None)) is stored
    zipped = stored.representation(accepted("gzip"))
    assert stored.representation(accepted("gzip, deflate")) is zipped
    assert gzip.decompress(zipped.body) == body and (b"content-encoding", b"gzip") in zipped.headers
    assert stored.representation(accepted("br")) is stored.codings["br"]
    assert stored.body == body and stored.headers == ((b"content-length", b"5000"), (b"etag", TAG.encode()))
