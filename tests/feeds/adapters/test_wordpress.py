"""WordPress liveblog plugin adapter: the plugin's own mock responses and entries written here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest

from feeds.adapters import wordpress
from feeds.errors import InvalidDocumentError

BASE = "https://blog.example/wp-json/liveblog/v1/1/entries/0/0"
Fixture = Callable[[str], bytes]


def entries(*items: object) -> bytes:
    return orjson.dumps({"entries": list(items), "latest_timestamp": 1700000000})


def test_polling_response(fixture_bytes: Fixture) -> None:
    snapshot = wordpress.parse(fixture_bytes("wordpress_liveblog_polling_response.json"), BASE)

    (entry,) = snapshot.updates
    assert entry.upstream_id == "3250"
    assert entry.published_at == datetime(2017, 11, 28, 15, 24, 34, tzinfo=UTC)  # entry_time 1511882674
    assert entry.body_html == "<p>test</p>\n"  # `render`, not the raw `content`
    assert (entry.key_event, entry.deleted, entry.position) == (False, False, 3250)
    assert (snapshot.adapter, snapshot.complete, snapshot.ended, snapshot.warnings) == (
        "wordpress",
        False,
        False,
        (),
    )


def test_key_events_response_is_a_bare_list(fixture_bytes: Fixture) -> None:
    (entry,) = wordpress.parse(fixture_bytes("wordpress_liveblog_key_events.json"), BASE).updates

    assert entry.upstream_id == "3251"
    assert entry.key_event is True
    assert entry.summary is not None and entry.summary.endswith("This is a test Key Event")
    assert entry.published_at == datetime(2017, 11, 28, 16, 17, tzinfo=UTC)


def test_delete_update_and_numeric_ids() -> None:
    body = entries(
        {"id": 7, "type": "delete", "entry_time": 1700000000},
        {"id": "8", "type": "update", "entry_time": "1700000000", "content": "<p>edited</p>"},
    )

    deleted, updated = wordpress.parse(body, BASE).updates

    assert (deleted.upstream_id, deleted.deleted, deleted.position) == ("7", True, 7)
    assert (updated.upstream_id, updated.deleted, updated.body_html) == ("8", False, "<p>edited</p>")


def test_timestamp_fallback_authors_and_key_class() -> None:
    entry = {
        "id": "9",
        "timestamp": 1700000000,
        "authors": [{"name": "Ann"}, {"name": ""}, "junk"],
        "css_classes": "liveblog-entry type-key",
        "share_link": "/live#9",
    }

    (update,) = wordpress.parse(entries(entry), "https://blog.example/live").updates

    assert update.published_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert update.authors == ("Ann",)
    assert update.key_event is True
    assert update.url == "https://blog.example/live#9"


def test_non_numeric_ids_are_ordered_by_document_position() -> None:
    body = entries({"id": "b", "entry_time": 1700000000}, {"id": "a", "entry_time": 1700000000})

    positions = {u.upstream_id: u.position for u in wordpress.parse(body, BASE).updates}

    assert positions == {"b": 1, "a": 0}


def test_bad_entries_are_skipped_with_warnings() -> None:
    body = entries({"id": True}, {"type": "new"}, None, {"id": "ok", "entry_time": "soon", "render": 5})

    snapshot = wordpress.parse(body, BASE)

    (ok,) = snapshot.updates
    assert (ok.upstream_id, ok.published_at, ok.body_html) == ("ok", None, "")
    assert snapshot.warnings == (
        "not a time: 'soon'",
        "update #1 skipped: the entry has no id",
        "update #2 skipped: the entry has no id",
        "update #3 skipped: the entry has no id",
    )


@pytest.mark.parametrize("body", [b'{"entries": {}}', b'{"posts": []}', b'"entries"', b"{"])
def test_wrong_document_is_invalid(body: bytes) -> None:
    with pytest.raises(InvalidDocumentError, match="WordPress"):
        wordpress.parse(body, BASE)
