"""`timeline demo`'s publisher: a bundled live blog replayed step by step on a local upstream."""

from __future__ import annotations

from html import escape

from timeline.web.demo.replay import Replay, Script, load_script
from timeline.web.demo.upstream import DemoUpstream
from timeline.web.oembed import snippet
from timeline.web.page import EmbedUrls, template

__all__ = ["DemoUpstream", "Replay", "Script", "host_page", "load_script"]


def host_page(base: str, timeline: str, title: str) -> str:
    """A page of another origin embedding `timeline` of the service at `base`, both ways."""
    urls = EmbedUrls(base, timeline)
    return template("demo-host.html").substitute(
        base=escape(base),
        timeline=escape(timeline),
        iframe=snippet(urls, title, 600, 800),
    )
