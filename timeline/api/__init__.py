"""The HTTP API (Litestar): reads the store, never fetches upstreams itself."""

from timeline.api.app import create_app

__all__ = ["create_app"]
