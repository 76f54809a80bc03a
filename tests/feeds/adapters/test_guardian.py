"""Guardian Content API adapter: the real clockwatch item (first 12 of 94 blocks) and items written here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import orjson
import pytest

from feeds.adapters import guardian
from feeds.errors import InvalidDocumentError
from feeds.types import ParsedSnapshot

FIXTURE = "guardian_capi_liveblog_clockwatch_2023-12-23_first12blocks.json"
API_URL = "https://content.guardianapis.com/football/live/2023/dec/23/clockwatch?show-blocks=all"
WEB_URL = "https://www.theguardian.com/football/live/2023/dec/23/tottenham-v-everton-luton-v-newcastle-and-more-updates-football-clockwatch"
KEY_EVENTS = {
    "658711a78f08dc9aada0d6d9": "Full time scores: Premier League",
    "658712088f081cfbc180af02": "Full time scores: Championship",
    "658711658f08abff3716c33d": "GOAL! Nottm Forest 2-3 Bournemouth (Solanke, 90)",
}


@pytest.fixture
def clockwatch(fixture_bytes: Callable[[str], bytes]) -> ParsedSnapshot:
    return guardian.parse(fixture_bytes(FIXTURE), API_URL)


def item(body_blocks: Sequence[object] = (), **content: object) -> bytes:
    """A Content API item response with these body blocks (or `blocks=` given whole)."""
    body = {"webUrl": "https://www.theguardian.com/live/x", "blocks": {"body": list(body_blocks)}, **content}
    return orjson.dumps({"response": {"status": "ok", "content": body}})


def block(block_id: str, minute: int, **fields: object) -> dict[str, object]:
    return {
        "id": block_id,
        "firstPublishedDate": f"2024-05-01T10:{minute:02d}:00Z",
        "bodyHtml": "<p>x</p>",
        **fields,
    }


def test_one_update_per_block_newest_first(clockwatch: ParsedSnapshot) -> None:
    assert len(clockwatch.updates) == 12
    assert clockwatch.updates[0].upstream_id == "658719378f08abff3716c37f"
    assert clockwatch.updates[-1].upstream_id == "658711658f08abff3716c33d"
    times = [u.published_at for u in clockwatch.updates]
    assert times == sorted(times, reverse=True)  # type: ignore[type-var]


def test_key_events_and_their_titles(clockwatch: ParsedSnapshot) -> None:
    keys = {u.upstream_id: u.title for u in clockwatch.updates if u.key_event}

    assert keys == KEY_EVENTS


def test_snapshot_is_incomplete_and_ended(clockwatch: ParsedSnapshot) -> None:
    # totalBodyBlocks is 94 but the file holds 12; liveBloggingNow is the string "false".
    assert clockwatch.adapter == "guardian"
    assert clockwatch.complete is False
    assert clockwatch.ended is True
    assert (
        clockwatch.title
        == "Tottenham 2-1 Everton, Luton 1-0 Newcastle and more clockwatch \u2013 as it happened"
    )
    assert clockwatch.url == WEB_URL
    assert clockwatch.warnings == ()


def test_block_fields(clockwatch: ParsedSnapshot) -> None:
    newest = clockwatch.updates[0]

    assert newest.published_at == datetime(2023, 12, 23, 17, 32, 57, tzinfo=UTC)
    assert newest.updated_at == datetime(2023, 12, 23, 17, 32, 57, tzinfo=UTC)
    assert newest.authors == ("Dominic Booth",)
    assert newest.title is None
    assert newest.body_html.startswith("<p><strong>Right, that\u2019s all for today\u2019s clockwatch")
    assert newest.url == f"{WEB_URL}?page=with:block-658719378f08abff3716c37f#block-658719378f08abff3716c37f"
    assert not any(u.pinned for u in clockwatch.updates)


def test_image_elements_become_media_at_a_sensible_width(clockwatch: ParsedSnapshot) -> None:
    goal = clockwatch.updates[-1]

    assert len(goal.media) == 3
    assert all(m.kind == "image" and m.url.endswith("/1000.jpg") for m in goal.media)
    assert goal.media[0].caption == "Bournemouth's Dominic Solanke rises up and sends a header goalwards …"


def test_pinned_block_listed_twice_is_one_pinned_update() -> None:
    pinned = block("b1", 1, attributes={"pinned": False})
    body = item(
        blocks={
            "body": [block("b2", 2), pinned],
            "requestedBodyBlocks": {"body:pinned": [pinned], "body:latest:2": [block("b2", 2), pinned]},
            "totalBodyBlocks": 2,
        },
    )

    snapshot = guardian.parse(body, API_URL)

    assert [(u.upstream_id, u.pinned) for u in snapshot.updates] == [("b2", False), ("b1", True)]
    assert snapshot.complete is True


def test_requested_body_blocks_alone_are_read() -> None:
    blocks = {"requestedBodyBlocks": {"body:latest:1": [block("b1", 1)]}, "totalBodyBlocks": 5}

    snapshot = guardian.parse(item(blocks=blocks), API_URL)

    assert [u.upstream_id for u in snapshot.updates] == ["b1"]
    assert snapshot.complete is False


def test_attributes_become_flags_and_tags() -> None:
    blocks = [
        block("s", 3, attributes={"summary": True, "title": "So far"}),
        block("k", 2, attributes={"keyEvent": True, "pinned": True}),
        block("w", 1, attributes={"keyEvent": "yes"}),
    ]

    updates = guardian.parse(item(blocks), API_URL).updates

    assert updates[0].tags == ("summary",) and updates[0].title == "So far" and not updates[0].key_event
    assert updates[1].key_event and updates[1].pinned
    assert not updates[2].key_event  # a wrong type is not a flag


def test_time_fallbacks_and_contributors() -> None:
    raw = {
        "id": "c",
        "createdDate": "2024-05-01T09:00:00Z",
        "contributors": ["Jane Doe", {"webTitle": "Al Roe"}],
    }

    update = guardian.parse(item([raw]), API_URL).updates[0]

    assert update.published_at == datetime(2024, 5, 1, 9, tzinfo=UTC)
    assert update.authors == ("Jane Doe", "Al Roe")


@pytest.mark.parametrize(("live", "ended"), [(True, False), ("true", False), (False, True), ("FALSE", True)])
def test_live_blogging_now(live: object, ended: bool) -> None:
    assert guardian.parse(item(fields={"liveBloggingNow": live}), API_URL).ended is ended


def test_same_time_blocks_are_ordered_from_the_oldest_end() -> None:
    blocks = [block("newer", 1), block("older", 1), block("first", 0)]

    positions = {u.upstream_id: u.position for u in guardian.parse(item(blocks), API_URL).updates}

    assert positions["newer"] > positions["older"]


def test_a_block_without_id_is_skipped_with_a_warning() -> None:
    snapshot = guardian.parse(item([block("ok", 1), {"bodyHtml": "<p>no id</p>"}, "junk"]), API_URL)

    assert [u.upstream_id for u in snapshot.updates] == ["ok"]
    assert len(snapshot.warnings) == 2


def test_api_error_response() -> None:
    body = orjson.dumps(
        {"response": {"status": "error", "message": "The requested resource could not be found."}}
    )

    with pytest.raises(InvalidDocumentError, match="could not be found"):
        guardian.parse(body, API_URL)


def test_item_without_blocks_says_how_to_ask_for_them() -> None:
    body = orjson.dumps({"response": {"status": "ok", "content": {"webTitle": "x"}}})

    with pytest.raises(InvalidDocumentError, match="show-blocks") as raised:
        guardian.parse(body, API_URL)
    assert raised.value.url == API_URL


def test_search_response_is_not_an_item() -> None:
    with pytest.raises(InvalidDocumentError, match=r"response\.content"):
        guardian.parse(orjson.dumps({"response": {"status": "ok", "results": []}}), API_URL)
