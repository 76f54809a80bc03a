"""The live tests' databases, for webhook deliveries by real `timeline` processes."""

from tests.timeline.live.conftest import postgres_url, sqlite_url

__all__ = ["postgres_url", "sqlite_url"]
