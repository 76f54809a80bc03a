"""Fetching live-blog sources and parsing their formats; knows nothing of the service around it."""

from feeds.adapters import ADAPTERS, NAMES, detect, parse
from feeds.errors import FeedsError, FetchError, FormatNotDetectedError, InvalidDocumentError, ParseError
from feeds.types import Limits, Media, ParsedSnapshot, ParsedUpdate
from feeds.urls import redact_credentials

__all__ = [
    "ADAPTERS",
    "NAMES",
    "FeedsError",
    "FetchError",
    "FormatNotDetectedError",
    "InvalidDocumentError",
    "Limits",
    "Media",
    "ParseError",
    "ParsedSnapshot",
    "ParsedUpdate",
    "detect",
    "parse",
    "redact_credentials",
]
