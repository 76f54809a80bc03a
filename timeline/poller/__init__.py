"""Polling sources: the only `timeline` package that fetches from upstreams."""

from timeline.poller.ingest import Ingestor

__all__ = ["Ingestor"]
