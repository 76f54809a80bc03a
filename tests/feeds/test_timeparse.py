"""Every time format the sources use (RFC 3339, RFC 822, epoch, `/Date(ms)/`…), as a table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from feeds.timeparse import parse_time

T = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # epoch 1700000000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # RFC 3339 / ISO 8601
        ("2023-11-14T22:13:20Z", T),
        ("2023-11-14T22:13:20z", T),
        ("2023-11-14t22:13:20Z", T),
        ("2023-11-14T23:13:20+01:00", T),
        ("2023-11-14T23:13:20+0100", T),
        ("2023-11-15T03:43:20+05:30", T),
        ("2023-11-14T17:13:20-05:00", T),
        ("2023-11-14 22:13:20+00:00", T),
        ("2023-11-14T22:13:20.000Z", T),
        ("2023-11-14T22:13:20.1234567Z", T.replace(microsecond=123456)),
        ("2023-11-14T22:13:20 UTC", T),
        ("  2023-11-14T22:13:20Z\n", T),
        # RFC 822 / 2822
        ("Tue, 14 Nov 2023 22:13:20 GMT", T),
        ("Tue, 14 Nov 2023 22:13:20 UT", T),
        ("Tue, 14 Nov 2023 22:13:20 Z", T),
        ("Tue, 14 Nov 2023 17:13:20 EST", T),
        ("Tue, 14 Nov 2023 15:13:20 PDT", T),
        ("Tue, 14 Nov 2023 23:13:20 +0100", T),
        ("14 Nov 2023 22:13:20 -0000", T),
        ("Tue, 14 Nov 23 22:13:20 GMT", T),
        ("Tuesday, 14 November 2023 22:13:20 GMT", T),
        ("14 Nov 2023 22:13 +00:00", T.replace(second=0)),
        # epoch seconds and milliseconds, as numbers or digit strings
        (1700000000, T),
        (1700000000.0, T),
        (1700000000000, T),
        (1700000000000.0, T),
        ("1700000000", T),
        ("1700000000000", T),
        ("1700000000.5", T.replace(microsecond=500000)),
        # Microsoft JSON dates (the number is UTC; the offset is informational)
        ("/Date(1700000000000)/", T),
        ("/Date(1700000000000+0100)/", T),
        ("/Date(1700000000000-0500)/", T),
        ("Date(1700000000000)", T),
    ],
)
def test_formats_with_a_zone(value: str | int | float, expected: datetime) -> None:
    parsed, warning = parse_time(value)

    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)
    assert warning is None


@pytest.mark.parametrize(
    ("value", "expected", "warned"),
    [
        ("2023-11-14T22:13:20", T, "without a UTC offset"),
        ("2023-11-14 22:13", T.replace(second=0), "without a UTC offset"),
        ("2023-11-14", datetime(2023, 11, 14, tzinfo=UTC), "date without a time"),
        ("Tue, 14 Nov 2023 22:13:20", T, "without a UTC offset"),
        ("Tue, 14 Nov 2023 22:13:20 IST", T, "unknown time zone 'IST'"),
    ],
)
def test_assumed_zone_is_reported(value: str, expected: datetime, warned: str) -> None:
    parsed, warning = parse_time(value)

    assert parsed == expected
    assert warning is not None and warned in warning and "UTC" in warning


def test_default_zone_applies_to_times_without_offset() -> None:
    parsed, warning = parse_time("2023-07-01T12:00:00", default_tz=ZoneInfo("Europe/London"))

    assert parsed == datetime(2023, 7, 1, 11, 0, tzinfo=UTC)
    assert warning is not None and "Europe/London" in warning


def test_default_zone_does_not_override_an_explicit_offset() -> None:
    parsed, warning = parse_time("2023-07-01T12:00:00+02:00", default_tz=timezone(timedelta(hours=-5)))

    assert parsed == datetime(2023, 7, 1, 10, 0, tzinfo=UTC)
    assert warning is None


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "2023-13-45T99:99:99Z",
        "Tue, 31 Feb 2023 10:00:00 GMT",
        "Tue, 14 Foo 2023 22:13:20 GMT",
        "2023-11-14T24:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:00:00-05:00",
        "/Date(abc)/",
        "1" * 40,
        "x" * 10_000,
        "\x00\x01\x02",
        float("nan"),
        float("inf"),
        10**30,
        True,
    ],
)
def test_garbage_gives_none_and_says_why(value: str | int | float) -> None:
    parsed, warning = parse_time(value)

    assert parsed is None
    assert warning


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_value_is_no_time_and_no_warning(value: str | None) -> None:
    assert parse_time(value) == (None, None)


def test_wrong_type_gives_none() -> None:
    parsed, warning = parse_time(["2023-11-14T22:13:20Z"])  # type: ignore[arg-type]

    assert parsed is None
    assert warning == "not a time: list"


def test_an_offset_of_a_day_or_more_is_an_unknown_zone_not_an_error() -> None:
    parsed, warning = parse_time("Tue, 14 Nov 2023 22:13:20 +2500")
    assert parsed == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert warning == "unknown time zone '+2500', assumed UTC"
