"""Error bodies served with status 200 are parse errors quoting the upstream; empty snapshots stay valid."""

from __future__ import annotations

import orjson
import pytest

from feeds.adapters import NAMES, parse
from feeds.adapters._error_bodies import describe
from feeds.errors import FormatNotDetectedError, InvalidDocumentError, ParseError

BASE = "https://upstream.example/live"
NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
# Each error body, and what the parse error must say about it.
ERROR_BODIES = {
    "empty": (b"", "the source sent an empty body"),
    "whitespace": (b"\xef\xbb\xbf \r\n\t \n", "the source sent a body of only whitespace"),
    "nginx page": (NGINX_502, "502 Bad Gateway"),
    "framework page": (
        b"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>Site &amp; Co \xe2\x80\x93 "
        b"Page not found</title></head><body><h1>Oops</h1></body></html>",
        "Site & Co – Page not found",
    ),
    "guardian error": (
        b'{"response": {"status": "error", "message": "The requested resource could not be found."}}',
        "“The requested resource could not be found.”",
    ),
    "guardian key error": (
        b'{"response":{"status":"error","message":"Invalid authentication credentials"}}',
        "“Invalid authentication credentials”",
    ),
    "wordpress rest error": (
        orjson.dumps(
            {
                "code": "rest_no_route",
                "message": "No route was found matching the URL and request method.",
                "data": {"status": 404},
            }
        ),
        "“No route was found matching the URL and request method.” (code rest_no_route, status 404)",
    ),
    "api error object": (
        b'{"error": {"code": 429, "message": "Rate limit exceeded"}}',
        "“Rate limit exceeded” (code 429)",
    ),
    "problem details": (
        b'{"type": "about:blank", "title": "Gone", "status": 410, "detail": "This blog was removed."}',
        "“This blog was removed.” (status 410)",
    ),
    "s3 error": (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        b"<Message>Access Denied</Message></Error>",
        "“Access Denied”",
    ),
    "plain text": (b"Service Unavailable\n", "“Service Unavailable”"),
}


@pytest.mark.parametrize("adapter", NAMES)
@pytest.mark.parametrize("case", ERROR_BODIES)
def test_an_error_body_is_a_parse_error_that_says_what_came(adapter: str, case: str) -> None:
    body, said = ERROR_BODIES[case]

    with pytest.raises((FormatNotDetectedError, InvalidDocumentError)) as raised:
        parse(body, BASE, adapter=adapter, content_type="application/json")

    assert said in raised.value.message
    assert raised.value.url == BASE


@pytest.mark.parametrize("adapter", NAMES)
def test_a_long_upstream_message_is_cut(adapter: str) -> None:
    body = orjson.dumps({"error": "Maintenance.\n" + "We are sorry. " * 100})

    with pytest.raises(ParseError) as raised:
        parse(body, BASE, adapter=adapter)

    quote = raised.value.message.partition("“")[2].partition("”")[0]
    assert quote.startswith("Maintenance. We are sorry.")  # on one line
    assert len(quote) == 200 and quote.endswith("…")


@pytest.mark.parametrize(
    "body",
    [
        b'{"title": "Live", "home_page_url": "https://x.example/", "items": []}',  # no error, no format
        b"\x00\x01\x02 binary",
        b'<rss version="2.0"></rss>',
        b'{"status": "ok", "message": "success", "data": {"items": []}}',
    ],
)
def test_bodies_that_are_not_recognisably_errors_are_not_described(body: bytes) -> None:
    assert describe(body) is None


def test_an_error_page_under_auto_names_the_missing_json_ld_and_the_title() -> None:
    with pytest.raises(InvalidDocumentError) as raised:
        parse(NGINX_502, BASE, content_type="application/rss+xml")

    assert raised.value.message.startswith("no LiveBlogPosting found in the page titled “502 Bad Gateway”")


def test_utf16_error_pages_are_read_too() -> None:
    with pytest.raises(InvalidDocumentError, match="“Erreur 503”"):
        parse("<html><title>Erreur 503</title></html>".encode("utf-16"), BASE, adapter="guardian")


# --- genuinely empty snapshots stay snapshots ----------------------------------------------------------

EMPTY_SNAPSHOTS = {
    "guardian item without blocks": (
        orjson.dumps(
            {"response": {"status": "ok", "content": {"blocks": {"body": [], "totalBodyBlocks": 0}}}}
        ),
        "guardian",
    ),
    "rss without items": (b'<rss version="2.0"><channel><title>Live</title></channel></rss>', "syndication"),
    "atom without entries": (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Live</title></feed>',
        "syndication",
    ),
    "json feed without items": (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": []}',
        "syndication",
    ),
    "wordpress without entries": (b'{"entries": [], "latest_timestamp": null}', "wordpress"),
}


@pytest.mark.parametrize("adapter", ["auto", "pinned"])
@pytest.mark.parametrize("case", EMPTY_SNAPSHOTS)
def test_a_well_formed_empty_document_is_an_empty_snapshot(case: str, adapter: str) -> None:
    body, name = EMPTY_SNAPSHOTS[case]

    snapshot = parse(body, BASE, adapter=name if adapter == "pinned" else "auto")

    assert (snapshot.adapter, snapshot.updates, snapshot.warnings) == (name, (), ())


def test_an_empty_guardian_item_is_complete() -> None:
    # The store's deletion guard decides what a complete snapshot with no updates means.
    body, _ = EMPTY_SNAPSHOTS["guardian item without blocks"]

    assert parse(body, BASE).complete is True


@pytest.mark.parametrize(
    "body",
    [
        b"<!-- x -->" * 6_000 + b"text",
        b"<html><title>" * 20_000,
        b"<html><h1>" * 20_000,
        b"<p>" + b"<!--" * 50_000,
    ],
    ids=["comments", "titles", "headings", "open comments"],
)
def test_a_hostile_body_is_described_as_what_it_is(body: bytes) -> None:
    said = describe(body)

    assert said is None or said == "the source sent a web page, not a live blog"
