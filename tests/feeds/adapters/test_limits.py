"""What every adapter does at its `Limits`: newest updates kept, long fields cut, deep documents refused."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson
import pytest

from feeds.adapters import ADAPTERS, parse
from feeds.errors import InvalidDocumentError
from feeds.types import DEFAULT_LIMITS, Limits, ParsedSnapshot

BASE = "https://live.example/blog"
# Update number → minute of publication: the document's order is not the order of time.
MINUTES = [5, 1, 7, 3, 6, 2, 4]


def stamp(minute: int | None) -> str | None:
    return None if minute is None else f"2024-05-01T10:{minute:02d}:00Z"


def guardian(minutes: Sequence[int | None], title: str = "t", body: str = "<p>b</p>") -> bytes:
    blocks = [
        {"id": f"u{n}", "firstPublishedDate": stamp(m), "title": title, "bodyHtml": body}
        for n, m in enumerate(minutes)
    ]
    content = {"webUrl": BASE, "blocks": {"body": blocks, "totalBodyBlocks": len(blocks)}}
    return orjson.dumps({"response": {"status": "ok", "content": content}})


def wordpress(minutes: Sequence[int | None], title: str = "t", body: str = "<p>b</p>") -> bytes:
    entries = [
        {"id": f"u{n}", "entry_time": None if m is None else 1714557600 + 60 * m, "render": body}
        for n, m in enumerate(minutes)
    ]
    return orjson.dumps({"entries": entries, "key_event_content": title})


def json_feed(minutes: Sequence[int | None], title: str = "t", body: str = "<p>b</p>") -> bytes:
    items = [
        {"id": f"u{n}", "date_published": stamp(m), "title": title, "summary": title, "content_html": body}
        for n, m in enumerate(minutes)
    ]
    return orjson.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items})


def rss(minutes: Sequence[int | None], title: str = "t", body: str = "<p>b</p>") -> bytes:
    dates = [
        f"<pubDate>Wed, 01 May 2024 10:{m:02d}:00 GMT</pubDate>" if m is not None else "" for m in minutes
    ]
    items = "".join(
        f"<item><guid isPermaLink='false'>u{n}</guid><title>{title}</title>{date}"
        f"<description><![CDATA[{body}]]></description></item>"
        for n, date in enumerate(dates)
    )
    return f'<rss version="2.0"><channel><title>Live</title>{items}</channel></rss>'.encode()


def jsonld(minutes: Sequence[int | None], title: str = "t", body: str = "<p>b</p>") -> bytes:
    updates = [
        {"@id": f"{BASE}#u{n}", "datePublished": stamp(m), "headline": title, "articleBody": body}
        for n, m in enumerate(minutes)
    ]
    script = orjson.dumps({"@type": "LiveBlogPosting", "liveBlogUpdate": updates}).decode()
    return f'<html><head><script type="application/ld+json">{script}</script></head></html>'.encode()


DOCUMENTS: dict[str, Callable[..., bytes]] = {
    "guardian": guardian,
    "wordpress": wordpress,
    "syndication": json_feed,
    "syndication (rss)": rss,
    "jsonld": jsonld,
}
ADAPTER_OF = {name: name.partition(" ")[0] for name in DOCUMENTS}


def ids(snapshot: ParsedSnapshot) -> list[str]:
    return [u.upstream_id.rpartition("#")[2] for u in snapshot.updates]


# --- max_updates --------------------------------------------------------------------------------------


@pytest.mark.parametrize("adapter", ["auto", "pinned"])
@pytest.mark.parametrize("kind", DOCUMENTS)
def test_the_newest_updates_are_kept_in_document_order(kind: str, adapter: str) -> None:
    body = DOCUMENTS[kind](MINUTES)

    snapshot = parse(
        body, BASE, adapter=ADAPTER_OF[kind] if adapter == "pinned" else "auto", limits=Limits(max_updates=4)
    )

    assert ids(snapshot) == ["u0", "u2", "u4", "u6"]  # minutes 5, 7, 6, 4 of 1–7
    assert snapshot.warnings[0] == (
        "the document holds 7 updates, more than the limit of 4: kept the newest 4 and left out 3 older ones"
    )


@pytest.mark.parametrize("kind", DOCUMENTS)
def test_at_the_limit_nothing_is_left_out(kind: str) -> None:
    snapshot = parse(DOCUMENTS[kind](MINUTES), BASE, limits=Limits(max_updates=len(MINUTES)))

    assert len(snapshot.updates) == len(MINUTES)
    assert snapshot.warnings == ()


@pytest.mark.parametrize("kind", ["guardian", "syndication", "jsonld"])
def test_updates_without_a_time_count_as_the_newest(kind: str) -> None:
    snapshot = parse(DOCUMENTS[kind]([1, None, 3, 2]), BASE, limits=Limits(max_updates=2))

    assert ids(snapshot) == ["u1", "u2"]


def test_same_time_updates_are_kept_by_the_documents_own_order() -> None:
    # All at one time, so the feed is read as newest first: the first two items are the newest.
    snapshot = parse(json_feed([3, 3, 3, 3]), BASE, limits=Limits(max_updates=2))

    assert ids(snapshot) == ["u0", "u1"]


def test_a_guardian_item_cut_short_is_not_complete() -> None:
    # A complete snapshot would delete the updates it left out.
    snapshot = parse(guardian(MINUTES), BASE, limits=Limits(max_updates=4))

    assert snapshot.complete is False
    assert parse(guardian(MINUTES), BASE).complete is True


def test_the_default_keeps_5000() -> None:
    snapshot = parse(wordpress(list(range(50)) * 101), BASE)

    assert len(snapshot.updates) == DEFAULT_LIMITS.max_updates == 5_000
    assert "left out 50 older ones" in snapshot.warnings[0]


# --- field sizes -----------------------------------------------------------------------------------------


def test_long_fields_are_cut_with_one_warning_per_document() -> None:
    limits = Limits(max_title_chars=10, max_summary_chars=20, max_body_chars=30)
    body = json_feed([1, 2, 3], title="x" * 25, body="<p>" + "y" * 40 + "</p>")

    snapshot = parse(body, BASE, limits=limits)

    for update in snapshot.updates:
        assert update.title == "x" * 9 + "…"
        assert update.summary == "x" * 19 + "…"
        assert update.body_html == "<p>" + "y" * 26 + "…"
    assert snapshot.warnings == (
        "9 fields were too long and cut to the limits (titles 10, summaries 20, bodies 30 characters)",
    )


@pytest.mark.parametrize("kind", DOCUMENTS)
def test_every_adapter_cuts(kind: str) -> None:
    snapshot = parse(DOCUMENTS[kind]([1, 2], body="z" * 50), BASE, limits=Limits(max_body_chars=40))

    assert {len(u.body_html) for u in snapshot.updates} == {40}
    assert any("2 fields were too long" in w for w in snapshot.warnings)


def test_fields_at_the_limit_and_a_100_kb_body_are_kept_whole() -> None:
    body_html = "<p>" + "word " * 20_000 + "</p>"
    title = "t" * DEFAULT_LIMITS.max_title_chars

    (update,) = parse(json_feed([1], title=title, body=body_html), BASE).updates

    assert (update.title, update.body_html) == (title, body_html)


def test_the_cut_warning_is_kept_past_the_warning_cap() -> None:
    entries = [{"type": "new"} for _ in range(40)] + [{"id": "long", "render": "x" * 50}]
    body = orjson.dumps({"entries": entries})

    warnings = parse(body, BASE, limits=Limits(max_body_chars=10)).warnings

    assert "1 field was too long and cut to the limits" in warnings[-2]
    assert warnings[-1] == "… and 20 more warnings"


# --- depth --------------------------------------------------------------------------------------------


def with_deep_field(document: bytes, levels: int) -> bytes:
    """A JSON object (or a page's JSON-LD object) with one more field, nested `levels` arrays deep."""
    deep = b"[" * levels + b"]" * levels
    if document.endswith(b"</script></head></html>"):
        return document.replace(b"}</script>", b',"extra":' + deep + b"}</script>")
    return document[:-1] + b',"extra":' + deep + b"}"


DEEP: dict[str, Callable[[int], bytes]] = {
    "guardian": lambda levels: with_deep_field(guardian([1]), levels),
    "wordpress": lambda levels: with_deep_field(wordpress([1]), levels),
    "syndication": lambda levels: with_deep_field(json_feed([1]), levels),
    "syndication (rss)": lambda levels: rss([1]).replace(
        b"<title>t", b"<title>" + b"<a>" * levels + b"</a>" * levels
    ),
    "jsonld": lambda levels: with_deep_field(jsonld([1]), levels),
    "jsonld (html)": lambda levels: jsonld([1]).replace(b"<head>", b"<head>" + b"<div>" * levels),
}


@pytest.mark.parametrize("kind", DEEP)
def test_documents_nested_too_deeply_are_refused(kind: str) -> None:
    adapter = kind.partition(" ")[0]
    limits = Limits(max_depth=40)

    with pytest.raises(InvalidDocumentError, match="nests more than 40 levels deep"):
        parse(DEEP[kind](45), BASE, adapter=adapter, limits=limits)
    assert parse(DEEP[kind](30), BASE, adapter=adapter, limits=limits).updates


@pytest.mark.parametrize("adapter", ["auto", *ADAPTERS])
@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("xml", b'<?xml version="1.0"?><rss version="2.0"><channel><item>' + b"<a>" * 3_300_000),
        ("html", b'<html><script type="application/ld+json">{}</script>' + b"<div>" * 2_000_000),
        ("json", b'{"response": {"content": {"blocks": ' + b"[" * 5_000_000),
    ],
)
def test_megabytes_of_nesting_are_refused_for_their_depth(adapter: str, kind: str, body: bytes) -> None:
    with pytest.raises(InvalidDocumentError) as raised:
        parse(body, BASE, adapter=adapter)

    # The others refuse it for what it is not (not JSON; no JSON-LD) before looking deeper.
    reads_it = adapter in ("auto", "syndication") or (adapter, kind) in {
        ("jsonld", "html"),
        ("guardian", "json"),
        ("wordpress", "json"),
    }
    assert ("levels deep" in raised.value.message) is reads_it
