"""JSON-LD LiveBlogPosting adapter and its lenient JSON reader."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest

from feeds.adapters import _lenient_json, jsonld
from feeds.errors import InvalidDocumentError
from feeds.types import ParsedSnapshot

TOI = "html_jsonld_timesofindia_ipl2020_liveblog_HEAD_ONLY.html"
TOI_URL = "https://timesofindia.indiatimes.com/sports/cricket/ipl/live-blog/ipl-2020-live-cricket-score-chennai-super-kings-vs-sunrisers-hyderabad-match-14-dubai/liveblog/78447140.cms"
SCHEMA_ORG = "html_jsonld_schemaorg_eg-0424_liveblogposting.html"
PAGE = "https://news.example/live/page"


@pytest.fixture
def toi(fixture_bytes: Callable[[str], bytes]) -> ParsedSnapshot:
    return jsonld.parse(fixture_bytes(TOI), TOI_URL)


@pytest.fixture
def schema_org(fixture_bytes: Callable[[str], bytes]) -> ParsedSnapshot:
    return jsonld.parse(fixture_bytes(SCHEMA_ORG), "https://techcrunch.com/")


def page(*scripts: str, script_type: str = "application/ld+json") -> bytes:
    tags = "".join(f'<script type="{script_type}">{script}</script>' for script in scripts)
    return f"<!doctype html><html><head>{tags}</head><body><p>hi</p></body></html>".encode()


def blog(*updates: dict[str, object], **fields: object) -> str:
    return orjson.dumps({"@type": "LiveBlogPosting", "liveBlogUpdate": list(updates), **fields}).decode()


def at(minute: int, **fields: object) -> dict[str, object]:
    return {"@type": "BlogPosting", "datePublished": f"2024-05-01T10:{minute:02d}:00Z", **fields}


# --- the Times of India page (truncated after </head>) ---------------------------------------------


def test_toi_updates_with_fragment_ids(toi: ParsedSnapshot) -> None:
    assert [u.upstream_id for u in toi.updates] == [f"{TOI_URL}#post{n}" for n in range(1, 9)]
    assert [u.url for u in toi.updates] == [u.upstream_id for u in toi.updates]


def test_toi_times_converted_from_ist(toi: ParsedSnapshot) -> None:
    newest = toi.updates[0]  # #post1 is the newest: the numbering runs backwards

    assert newest.published_at == datetime(2020, 10, 2, 13, 32, 32, tzinfo=UTC)  # 19:02:32+05:30
    assert toi.updates[-1].published_at == datetime(2020, 10, 2, 12, 46, 25, tzinfo=UTC)
    assert toi.warnings == ()


def test_toi_headline_loses_its_zero_width_space(toi: ParsedSnapshot) -> None:
    title = toi.updates[1].title

    assert title is not None and title.startswith("18:32(IST) Hello and welcome")
    assert "\u200b" not in title


def test_toi_update_fields(toi: ParsedSnapshot) -> None:
    newest = toi.updates[0]

    assert newest.authors == ("Times Of India",)
    assert (
        newest.body_html
        == "<p>TOSS: Sunrisers Hyderabad win toss, opt to bat against Chennai Super Kings in Dubai</p>"
    )
    assert [m.kind for m in newest.media] == ["image"]
    assert newest.media[0].url.endswith("/63780242.jpg")


def test_toi_snapshot(toi: ParsedSnapshot) -> None:
    assert toi.title is not None and toi.title.startswith("IPL 2020 Live Score, CSK vs SRH")
    assert toi.url == TOI_URL
    assert toi.complete is False and toi.ended is False


# --- the schema.org example ------------------------------------------------------------------------


def test_schema_org_example_gets_ids_from_its_times(schema_org: ParsedSnapshot) -> None:
    assert [u.upstream_id for u in schema_org.updates] == [
        "datePublished:2015-03-09T20:08:00Z#0",
        "datePublished:2015-03-09T20:13:00Z#0",
        "datePublished:2015-03-09T20:17:00Z#0",
    ]
    assert [u.url for u in schema_org.updates] == [None, None, None]


def test_schema_org_example_fields(schema_org: ParsedSnapshot) -> None:
    hbo, iphone, store = schema_org.updates

    assert hbo.body_html == "It's $14.99 a month.<br> And for a limited time, …"  # HTML kept as-is
    assert iphone.body_html == ""
    assert [m.url for m in iphone.media] == [
        "http://images.apple.com/live/2015-mar-event/images/573cb_xlarge_2x.jpg"
    ]
    # the video has only a thumbnail: it becomes that image
    assert [(m.kind, m.url.rsplit("/", 1)[1]) for m in store.media] == [("image", "908d2e_large_2x.jpg")]


def test_schema_org_example_snapshot(schema_org: ParsedSnapshot) -> None:
    assert schema_org.title == "Apple Spring Forward Event Live Blog"
    assert schema_org.url == "http://techcrunch.com/2015/03/08/apple-watch-event-live-blog"
    assert schema_org.ended is False  # coverageEndTime (16:00) is after the newest update (13:17)


# --- where the blog may sit ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "script",
    [
        orjson.dumps(
            {"@context": "https://schema.org", "@graph": [{"@type": "WebPage"}, orjson.loads(blog(at(1)))]}
        ),
        orjson.dumps([{"@type": "Organization"}, orjson.loads(blog(at(1)))]),
        orjson.dumps({**orjson.loads(blog(at(1))), "@type": ["NewsArticle", "LiveBlogPosting"]}),
        orjson.dumps({**orjson.loads(blog(at(1))), "@type": "http://schema.org/LiveBlogPosting"}),
    ],
    ids=["graph", "top-level-list", "type-list", "type-iri"],
)
def test_blog_is_found(script: bytes) -> None:
    assert len(jsonld.parse(page(script.decode()), PAGE).updates) == 1


@pytest.mark.parametrize("script_type", ["APPLICATION/LD+JSON", "application/ld+json; charset=utf-8"])
def test_script_type_is_matched_loosely(script_type: str) -> None:
    assert len(jsonld.parse(page(blog(at(1)), script_type=script_type), PAGE).updates) == 1


def test_updates_from_a_single_object_and_relative_ids() -> None:
    script = blog(
        **{"liveBlogUpdate": at(1, url="#post-7", image={"url": "/img/a.jpg", "caption": "A &amp; B"})}
    )

    update = jsonld.parse(page(script), PAGE).updates[0]

    assert update.upstream_id == update.url == f"{PAGE}#post-7"
    assert update.media[0].url == "https://news.example/img/a.jpg"
    assert update.media[0].caption == "A & B"


def test_at_id_is_preferred_and_blank_nodes_are_not_ids() -> None:
    updates = jsonld.parse(
        page(blog(at(2, **{"@id": "urn:x:1", "url": "/a"}), at(1, **{"@id": "_:b1"}))), PAGE
    ).updates

    assert [u.upstream_id for u in updates] == ["urn:x:1", "datePublished:2024-05-01T10:01:00Z#0"]


# --- synthesized ids are stable ---------------------------------------------------------------------


def test_same_time_updates_are_numbered_from_the_oldest_end() -> None:
    newest_first = page(
        blog(at(1, headline="third"), at(1, headline="second"), at(1, headline="first"), at(0))
    )

    updates = jsonld.parse(newest_first, PAGE).updates

    assert [(u.title, u.position) for u in updates[:3]] == [("third", 2), ("second", 1), ("first", 0)]
    assert updates[2].upstream_id == "datePublished:2024-05-01T10:01:00Z#0"


def test_an_edit_or_a_newer_update_keeps_ids() -> None:
    before = jsonld.parse(page(blog(at(1, articleBody="draft"), at(0))), PAGE)
    after = jsonld.parse(page(blog(at(2), at(1, articleBody="edited text"), at(0))), PAGE)

    assert [u.upstream_id for u in before.updates] == [u.upstream_id for u in after.updates[1:]]
    assert after.updates[1].body_html == "<p>edited text</p>"


def test_update_with_neither_id_nor_date_is_skipped() -> None:
    snapshot = jsonld.parse(page(blog(at(1), {"headline": "undated"})), PAGE)

    assert len(snapshot.updates) == 1
    assert any("datePublished" in w for w in snapshot.warnings)


# --- text, times, ending ----------------------------------------------------------------------------


def test_plain_text_body_becomes_paragraphs_and_headline_entities_are_decoded() -> None:
    update = at(1, headline="Tom &amp; Jerry\u200b", articleBody="Line one\nline <two>\n\nSecond & last")

    parsed = jsonld.parse(page(blog(update)), PAGE).updates[0]

    assert parsed.title == "Tom & Jerry"
    assert parsed.body_html == "<p>Line one<br>line &lt;two&gt;</p><p>Second &amp; last</p>"


def test_times_without_offset_use_the_default_zone_with_a_warning() -> None:
    from zoneinfo import ZoneInfo

    script = blog({"datePublished": "2024-05-01T12:00:00", "url": "/a"})

    snapshot = jsonld.parse(page(script), PAGE, default_tz=ZoneInfo("Europe/Paris"))

    assert snapshot.updates[0].published_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert any("Europe/Paris" in w for w in snapshot.warnings)


@pytest.mark.parametrize(("end_minute", "ended"), [(5, False), (3, True), (1, True)])
def test_ended_when_an_update_is_at_or_after_coverage_end(end_minute: int, ended: bool) -> None:
    script = blog(at(3), at(2), coverageEndTime=f"2024-05-01T10:{end_minute:02d}:00Z")

    assert jsonld.parse(page(script), PAGE).ended is ended


def test_no_live_blog_is_an_invalid_document() -> None:
    with pytest.raises(InvalidDocumentError, match="LiveBlogPosting") as raised:
        jsonld.parse(page('{"@type": "NewsArticle"}'), PAGE)
    assert raised.value.url == PAGE


# --- lenient JSON -------------------------------------------------------------------------------------


BLOG = '"@type": "LiveBlogPosting", "liveBlogUpdate"'
UPDATE = '"url": "/a", "datePublished": "2024-05-01T10:00:00Z"'
BROKEN = {
    "trailing commas": f"{{{BLOG}: [{{{UPDATE},}},],}}",
    "comments": f"{{/* the blog */ {BLOG}: [ // one update\n {{{UPDATE}}}]}}",
    "control characters": f'{{{BLOG}: [{{{UPDATE}, "articleBody": "two\nlines\there"}}]}}',
    "HTML entities": f"{{{BLOG}: [{{{UPDATE}}}]}}".replace('"', "&quot;"),
    "HTML comment": f"<!-- {{{BLOG}: [{{{UPDATE}}}]}} -->",
    "CDATA": f"//<![CDATA[\n{{{BLOG}: [{{{UPDATE}}}]}}\n//]]>",
}


@pytest.mark.parametrize("script", BROKEN.values(), ids=BROKEN.keys())
def test_broken_json_is_repaired_and_reported(script: str) -> None:
    snapshot = jsonld.parse(page(script), PAGE)

    assert [u.upstream_id for u in snapshot.updates] == ["https://news.example/a"]
    assert len(snapshot.warnings) >= 1
    assert all(w.startswith("JSON-LD block 1: ") for w in snapshot.warnings)


def test_raw_newlines_are_kept_in_the_text() -> None:
    snapshot = jsonld.parse(page(BROKEN["control characters"]), PAGE)

    assert snapshot.updates[0].body_html == "<p>two<br>lines\there</p>"


def test_an_unrepairable_block_is_skipped_and_the_others_read() -> None:
    snapshot = jsonld.parse(page('{"@type": "Organization", "name": ', blog(at(1))), PAGE)

    assert len(snapshot.updates) == 1
    assert snapshot.warnings[0].startswith("JSON-LD block 1 skipped")


def test_lenient_loads_reports_each_repair_once() -> None:
    value, repairs = _lenient_json.loads('{"a": [1, 2,], // x\n "b": "c\nd", /* y */}')

    assert value == {"a": [1, 2], "b": "c\nd"}
    assert repairs == [
        "escaped raw control characters or newlines inside strings",
        "removed comments",
        "removed trailing commas",
    ]


def test_lenient_loads_leaves_string_content_alone() -> None:
    value, repairs = _lenient_json.loads('{"url": "http://x/y//z", "t": "a, ]", "c": "/* not a comment */",}')

    assert value == {"url": "http://x/y//z", "t": "a, ]", "c": "/* not a comment */"}
    assert repairs == ["removed trailing commas"]


def test_lenient_loads_gives_up_with_its_own_error() -> None:
    with pytest.raises(_lenient_json.LenientJSONError):
        _lenient_json.loads("{'single': 'quotes'}")


def test_declared_coverage_is_read_in_utc(schema_org: ParsedSnapshot, toi: ParsedSnapshot) -> None:
    assert schema_org.coverage_start == datetime(2015, 3, 9, 18, 30, tzinfo=UTC)
    assert schema_org.coverage_end == datetime(2015, 3, 9, 23, 0, tzinfo=UTC)
    assert (toi.coverage_start, toi.coverage_end) == (datetime(2020, 10, 2, 12, 46, 21, tzinfo=UTC), None)
