"""An editors' note travels with its event into every feed: at the head of the content, escaped (it is plain
text), and in JSON Feed's extension object; a hidden event is in none of them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import orjson

from timeline.render import atom_feed, json_feed, timelinejs
from timeline.render.atom import ATOM_NS

from .samples import T0, event, timeline

NOTE = 'Figures <b>from</b> the count & "more"'
ESCAPED = (
    "<p><strong>Editor's note:</strong> Figures &lt;b&gt;from&lt;/b&gt; the count &amp; &quot;more&quot;</p>"
)
NOTED = event("ev_noted", body_html="<p>Turnout 64%</p>", body_text="Turnout 64%", note=NOTE)
HIDDEN = event("ev_hidden", body_html="<p>SECRET</p>", body_text="SECRET", hidden=True)


def test_atom_puts_the_note_before_the_content() -> None:
    document = atom_feed(
        timeline(), [NOTED, HIDDEN], self_url="https://t.example/f", html_url=None, updated=T0
    )
    (entry,) = ET.fromstring(document).iterfind(f"{{{ATOM_NS}}}entry")
    assert entry.findtext(f"{{{ATOM_NS}}}content") == ESCAPED + "<p>Turnout 64%</p>"
    assert b"SECRET" not in document


def test_json_feed_carries_the_note_in_content_and_extension() -> None:
    document = orjson.loads(
        json_feed(timeline(), [NOTED, HIDDEN], feed_url="https://t.example/f", home_page_url=None)
    )
    (item,) = document["items"]
    assert item["content_html"] == ESCAPED + "<p>Turnout 64%</p>"
    assert item["content_text"] == f"Editor's note: {NOTE}\n\nTurnout 64%"
    assert item["_liveblog_timeline"]["note"] == NOTE


def test_timelinejs_slides_show_the_note() -> None:
    (slide,) = orjson.loads(timelinejs(timeline(), [NOTED, HIDDEN]))["events"]
    assert slide["text"]["text"] == ESCAPED + "<p>Turnout 64%</p>"
