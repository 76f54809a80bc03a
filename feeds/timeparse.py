"""Every time format the sources use (RFC 3339 / ISO 8601 with or without an offset, RFC 822, epoch
seconds or milliseconds, `/Date(ms)/`) → an aware UTC datetime. Pure; never raises.

`parse_time` returns the time and, when something had to be assumed (no offset, an unknown zone name,
a date without a time), one human sentence saying what. Garbage gives `(None, sentence)`; no value
gives `(None, None)`.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

TimeResult = tuple[datetime | None, str | None]

_MAX_LENGTH = 64
_MS_THRESHOLD = 100_000_000_000  # 1e11: as seconds the year 5138, as milliseconds 1973
_EPOCH = re.compile(r"[+-]?\d+(?:\.\d+)?")
# Microsoft JSON dates: the number is UTC milliseconds; the optional offset is informational only.
_MS_DATE = re.compile(r"/?Date\(([+-]?\d+)(?:[+-]\d{4})?\)/?")
_RFC822 = re.compile(
    r"(?:[A-Za-z]{3,9},?\s*)?(\d{1,2})[\s-]+([A-Za-z]{3})[A-Za-z]*\.?[\s-]+(\d{2,4})"
    r"\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([+-]\d{2}:?\d{2}|[A-Za-z]{1,5})?"
)
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
# RFC 822 §5.1 names; anything else (IST, CET, …) is ambiguous or non-standard.
_ZONE_HOURS = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}  # fmt: skip
# Built once: creating a timezone per parse cost more than the rest of parsing a feed date.
_ZONES = {name: timezone(timedelta(hours=hours)) for name, hours in _ZONE_HOURS.items()}
_UTC_SUFFIX = re.compile(r"\s*(?:UTC|GMT)$")


def parse_time(value: str | int | float | None, *, default_tz: tzinfo = UTC) -> TimeResult:
    """Parse RFC 3339/ISO 8601, RFC 822/2822, epoch seconds or milliseconds, or `/Date(ms)/`.

    Times without an offset are taken in `default_tz`, with a warning saying so.
    """
    if value is None:
        return None, None
    if isinstance(value, bool):
        return None, f"not a time: {value!r}"
    if isinstance(value, int | float):
        return _from_epoch(value)
    if isinstance(value, str):
        return _from_string(value.strip(), default_tz)
    return None, f"not a time: {type(value).__name__}"


def _from_string(text: str, default_tz: tzinfo) -> TimeResult:
    if not text:
        return None, None
    if len(text) > _MAX_LENGTH:
        return None, f"not a time: {text[:_MAX_LENGTH]!r}…"
    if text[0].isdigit() and len(text) >= 10 and text[4] == "-":
        result = _from_iso(text, default_tz)
        if result is not None:
            return result
    return _from_other(text, default_tz)


def _from_other(text: str, default_tz: tzinfo) -> TimeResult:
    # RFC 822 first: feeds use it most, and no epoch or /Date()/ text can match it.
    if match := _RFC822.fullmatch(text):
        return _from_rfc822(match, default_tz)
    if _EPOCH.fullmatch(text):
        return _from_epoch(float(text) if "." in text else int(text))
    if match := _MS_DATE.fullmatch(text):
        return _from_epoch(int(match[1]) / 1000)
    result = _from_iso(_UTC_SUFFIX.sub("Z", text.upper()), default_tz)
    return result if result is not None else (None, f"not a time: {text!r}")


def _from_iso(text: str, default_tz: tzinfo) -> TimeResult | None:
    """ISO 8601 via `datetime.fromisoformat` (fast, and since 3.11 it takes `Z`, `+0100`, basic format)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return _in_utc(parsed)
    if len(text) <= 10:  # a date alone: 2020-10-02, 2020-W40-5
        return _assume(parsed, default_tz, "date without a time, assumed midnight")
    return _assume(parsed, default_tz)


def _from_rfc822(match: re.Match[str], default_tz: tzinfo) -> TimeResult:
    day, month_name, year_text, hour, minute, second, zone = match.groups()
    month = _MONTHS.get(month_name.lower())
    year = int(year_text)
    if len(year_text) == 2:
        year += 2000 if year < 50 else 1900  # RFC 2822 §4.3
    try:
        parsed = datetime(year, month or 0, int(day), int(hour), int(minute), int(second or 0))
    except ValueError:
        return None, f"not a time: {match[0]!r}"
    if zone is None:
        return _assume(parsed, default_tz)
    offset = _zone_offset(zone)
    if offset is None:
        return _assume(parsed, default_tz, f"unknown time zone {zone!r}, assumed")
    return _in_utc(parsed.replace(tzinfo=offset))


@functools.lru_cache(maxsize=256)  # a feed repeats its zone in every date
def _zone_offset(zone: str) -> timezone | None:
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        if minutes >= 24 * 60:  # `+2500`: no such zone (and `timezone` would raise)
            return None
        return timezone(timedelta(minutes=-minutes if zone[0] == "-" else minutes))
    return _ZONES.get(zone.upper())


def _from_epoch(number: float) -> TimeResult:
    if not math.isfinite(number):
        return None, f"not a time: {number!r}"
    seconds = number / 1000 if abs(number) >= _MS_THRESHOLD else number
    try:
        return datetime.fromtimestamp(seconds, UTC), None
    except (OverflowError, OSError, ValueError):
        return None, f"epoch time out of range: {number!r}"


def _assume(
    parsed: datetime, default_tz: tzinfo, what: str = "time without a UTC offset, assumed"
) -> TimeResult:
    return _in_utc(parsed.replace(tzinfo=default_tz), f"{what} {default_tz}")


def _in_utc(parsed: datetime, warning: str | None = None) -> TimeResult:
    try:
        return parsed.astimezone(UTC), warning
    except OverflowError:
        return None, f"time out of range: {parsed.isoformat()}"
