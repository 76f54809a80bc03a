"""Re-syndication: a timeline's events as Atom, JSON Feed and TimelineJS documents (pure, bytes out)."""

from __future__ import annotations

from timeline.render.atom import atom_feed
from timeline.render.jsonfeed import json_feed
from timeline.render.timelinejs import timelinejs

__all__ = ["atom_feed", "json_feed", "timelinejs"]
