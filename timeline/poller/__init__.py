"""Polling sources: the only `timeline` package that fetches from upstreams."""

from timeline.poller.parsing import ParseLimits, ParsePool
from timeline.poller.poll import Pipeline
from timeline.poller.reader import Reader

__all__ = ["ParseLimits", "ParsePool", "Pipeline", "Reader"]
