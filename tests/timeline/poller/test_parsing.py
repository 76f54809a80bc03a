"""The parse pool: real worker processes, real documents, limits that hold and a pool that survives them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from feeds.errors import FormatNotDetectedError, ParseTimeoutError, ParseTooLargeError
from feeds.types import Limits
from timeline.poller.parsing import ParseJob, ParseLimits, ParsePool, ParserCrashedError, run_job

GUARDIAN = "guardian_capi_liveblog_clockwatch_2023-12-23_first12blocks.json"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def job(body: bytes, adapter: str = "auto") -> ParseJob:
    return ParseJob(body, "https://news.example/live", "src_test", NOW, adapter)


def rss(items: int, *, title: str = "Update") -> bytes:
    """A feed of `items` dated items: slow to parse in bulk, and every item valid."""
    entries = "".join(
        f"<item><guid>{n}</guid><title>{title} {n}</title><pubDate>Wed, 01 May 2024 12:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Item {n}&lt;/p&gt;</description></item>"
        for n in range(items)
    )
    channel = f"<channel><title>Big</title>{entries}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    opened = ParsePool(1, ParseLimits(timeout=1.0))
    yield opened
    opened.close()


async def test_a_worker_gives_what_parsing_here_gives(
    pool: ParsePool, fixture_bytes: Callable[[str], bytes]
) -> None:
    document = job(fixture_bytes(GUARDIAN))
    parsed = await pool.parse(document)
    assert parsed == run_job(document)
    assert (parsed.adapter, parsed.complete, len(parsed.drafts)) == (
        "guardian",
        False,
        12,
    )  # the first 12 blocks of more


async def test_a_long_answer_comes_back_whole_in_chunks(pool: ParsePool) -> None:
    document = job(rss(450))  # more drafts than one message of an answer carries
    parsed = await pool.parse(document)
    assert parsed == run_job(document) and len(parsed.drafts) == 450


async def test_an_unreadable_document_raises_its_own_error_and_the_worker_stays(pool: ParsePool) -> None:
    with pytest.raises(FormatNotDetectedError, match="not recognised"):
        await pool.parse(job(b"hello, world"))
    workers = set(pool._workers)
    assert len((await pool.parse(job(rss(3)))).drafts) == 3
    assert pool._workers == workers  # the same process answered: an ordinary refusal costs no fork


async def test_a_document_over_the_time_budget_is_stopped_and_its_worker_replaced(pool: ParsePool) -> None:
    with pytest.raises(ParseTimeoutError, match="longer than 1 s") as raised:
        await pool.parse(job(rss(100_000)))
    assert raised.value.kind == "parse.timeout" and raised.value.url == "https://news.example/live"
    assert pool._workers == set()  # killed, not left spinning
    assert len((await pool.parse(job(rss(3)))).drafts) == 3


async def test_a_document_over_the_memory_ceiling_is_stopped() -> None:
    """The body (50 MB, and as much again once decoded) is more than the worker may add to what it holds."""
    huge = rss(1, title="x" * 50_000_000)
    async with ParsePool(1, ParseLimits(memory_mb=64)) as pool:
        with pytest.raises(ParseTooLargeError, match="more than 64 MB") as raised:
            await pool.parse(job(huge))
        assert raised.value.kind == "parse.too_large"
        assert len((await pool.parse(job(rss(3)))).drafts) == 3


async def test_a_bug_in_parsing_is_reported_with_its_traceback(pool: ParsePool) -> None:
    with pytest.raises(ParserCrashedError) as raised:
        await pool.parse(job(rss(3), adapter="no-such-adapter"))
    assert raised.value.kind == "internal"
    assert "Traceback" in raised.value.details and "no-such-adapter" in raised.value.details
    assert len((await pool.parse(job(rss(3)))).drafts) == 3


async def test_closing_stops_a_busy_worker_at_once() -> None:
    pool = ParsePool(1, ParseLimits(timeout=60.0))
    task = asyncio.create_task(pool.parse(job(rss(100_000))))
    while not pool._workers:
        await asyncio.sleep(0.01)
    pool.close()
    with pytest.raises(ParseTooLargeError):
        await task


async def test_the_document_limits_hold_in_the_workers() -> None:
    async with ParsePool(1, ParseLimits(document=Limits(max_updates=5))) as pool:
        parsed = await pool.parse(job(rss(8)))
    assert len(parsed.drafts) == 5
    assert any("3" in warning for warning in parsed.warnings), parsed.warnings  # 3 of 8 left out
