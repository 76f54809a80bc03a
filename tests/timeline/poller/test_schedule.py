"""The poll schedule: one table test per rule, then properties over any state and outcome."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from timeline.models import SourceStatus
from timeline.poller.schedule import (
    Outcome,
    ScheduleSettings,
    is_due,
    is_stopped,
    late_by,
    next_state,
    reactivate,
)
from timeline.store.types import PollState

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
POLICY = ScheduleSettings()
EXACT = ScheduleSettings(jitter=0.0)  # no jitter: delays are exact

CHANGED = Outcome("changed", changes=2, etag='"v2"', last_modified="Wed, 01 May 2024", body_hash="h2")
UNCHANGED = Outcome("unchanged", etag='"v2"', body_hash="h2")
NOT_MODIFIED = Outcome("not_modified")
ENDED = Outcome("unchanged", ended=True)
TIMEOUT = Outcome("failed", error_kind="fetch.timeout", error_message="timed out")
SUCCESSES = (CHANGED, UNCHANGED, NOT_MODIFIED)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def http_error(status: int, retry_after: float | None = None) -> Outcome:
    message = f"https://example.com/blog answered {status}"
    return Outcome(
        "failed",
        error_kind="fetch.http_status",
        error_message=message,
        http_status=status,
        retry_after=retry_after,
    )


def ok(**fields: object) -> PollState:
    """A healthy source polled a moment ago, at a mid-range interval."""
    base = PollState(
        status="ok",
        etag='"v1"',
        last_modified="Tue",
        body_hash="h1",
        next_poll_at=NOW,
        interval_seconds=100.0,
        last_success_at=ago(100),
        last_change_at=ago(100),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def decide(
    state: PollState, outcome: Outcome, settings: ScheduleSettings = EXACT, seed: int = 0
) -> PollState:
    return next_state(state, outcome, NOW, settings, random.Random(seed))


def run(state: PollState, outcomes: list[Outcome], settings: ScheduleSettings = EXACT) -> PollState:
    for outcome in outcomes:
        state = decide(state, outcome, settings)
    return state


def delay(state: PollState) -> float:
    assert state.next_poll_at is not None
    return (state.next_poll_at - NOW).total_seconds()


# --- successes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", SUCCESSES)
def test_the_first_poll_of_a_new_source_starts_at_the_base_interval(outcome: Outcome) -> None:
    after = decide(PollState(next_poll_at=NOW), outcome)
    assert (after.status, after.interval_seconds, delay(after)) == ("ok", 30.0, 30.0)
    assert after.last_success_at == after.last_change_at == NOW


@pytest.mark.parametrize(
    ("interval", "outcome", "expected"),
    [
        (100.0, CHANGED, 50.0),
        (15.0, CHANGED, 10.0),  # floor
        (100.0, UNCHANGED, 150.0),
        (100.0, NOT_MODIFIED, 150.0),
        (500.0, NOT_MODIFIED, 600.0),  # ceiling
        (5000.0, UNCHANGED, 600.0),  # an interval from older settings comes back in range
    ],
)
def test_the_interval_adapts_to_the_blogs_pace(interval: float, outcome: Outcome, expected: float) -> None:
    after = decide(ok(interval_seconds=interval), outcome)
    assert (after.status, after.interval_seconds, delay(after)) == ("ok", expected, expected)


def test_a_change_is_remembered_and_quiet_polls_are_not() -> None:
    assert decide(ok(), CHANGED).last_change_at == NOW
    assert decide(ok(), UNCHANGED).last_change_at == ago(100)


@pytest.mark.parametrize("outcome", SUCCESSES)
def test_a_success_clears_the_failure_streak_but_keeps_the_last_error(outcome: Outcome) -> None:
    failing = run(ok(), [TIMEOUT, TIMEOUT])
    after = decide(failing, outcome)
    assert (after.status, after.consecutive_failures, after.last_success_at) == ("ok", 0, NOW)
    assert (after.last_error_kind, after.last_error_at) == ("fetch.timeout", NOW)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (CHANGED, ('"v2"', "Wed, 01 May 2024", "h2")),
        (UNCHANGED, ('"v2"', None, "h2")),  # the server stopped sending Last-Modified: forget it
        (NOT_MODIFIED, ('"v1"', "Tue", "h1")),  # a bare 304 keeps what we had
        (Outcome("not_modified", etag='"v3"'), ('"v3"', "Tue", "h1")),
        (TIMEOUT, ('"v1"', "Tue", "h1")),
    ],
)
def test_which_validators_are_remembered(outcome: Outcome, expected: tuple[str | None, ...]) -> None:
    after = decide(ok(), outcome)
    assert (after.etag, after.last_modified, after.body_hash) == expected


@pytest.mark.parametrize("outcome", [*SUCCESSES, TIMEOUT, http_error(404)])
def test_the_lease_is_released(outcome: Outcome) -> None:
    after = decide(ok(lease_owner="poller-1", lease_until=at(60)), outcome)
    assert (after.lease_owner, after.lease_until) == (None, None)


# --- the end of a blog ---------------------------------------------------------------------------------


def test_a_blog_that_says_it_ended_is_polled_hourly() -> None:
    after = decide(ok(), ENDED)
    assert (after.status, after.ended_at, after.interval_seconds, delay(after)) == (
        "ended",
        NOW,
        3600.0,
        3600.0,
    )


def test_the_first_end_is_kept() -> None:
    assert decide(ok(status="ended", ended_at=ago(7200)), ENDED).ended_at == ago(7200)


@pytest.mark.parametrize(
    ("last_change", "status"), [(ago(6 * 3600), "ended"), (ago(6 * 3600 - 1), "ok"), (None, "ok")]
)
def test_long_silence_counts_as_ended(last_change: datetime | None, status: SourceStatus) -> None:
    assert decide(ok(last_change_at=last_change), UNCHANGED).status == status


def test_silence_counts_from_the_first_success_when_nothing_ever_changed() -> None:
    first = next_state(PollState(next_poll_at=NOW), UNCHANGED, ago(6 * 3600), EXACT, random.Random(0))
    assert decide(first, UNCHANGED).status == "ended"


@pytest.mark.parametrize(("ended", "stopped"), [(ago(86400), True), (ago(86399), False)])
def test_polling_stops_a_day_after_the_end(ended: datetime, stopped: bool) -> None:
    after = decide(ok(status="ended", ended_at=ended), ENDED)
    assert (after.status, after.next_poll_at is None, is_stopped(after)) == ("ended", stopped, stopped)


def test_a_blog_ended_by_silence_revives_on_a_change() -> None:
    after = decide(ok(status="ended", ended_at=ago(3600), interval_seconds=3600.0), CHANGED)
    assert (after.status, after.ended_at, after.interval_seconds, delay(after)) == ("ok", None, 30.0, 30.0)


def test_a_change_does_not_revive_a_blog_that_still_says_it_ended() -> None:
    ended = replace(CHANGED, ended=True)
    assert decide(ok(status="ended", ended_at=ago(3600)), ended).status == "ended"


@pytest.mark.parametrize(("ended", "stopped"), [(ago(3600), False), (ago(86400), True)])
def test_errors_keep_an_ended_blog_on_its_course(ended: datetime, stopped: bool) -> None:
    after = decide(ok(status="ended", ended_at=ended), TIMEOUT)
    assert (after.status, after.consecutive_failures, after.last_error_kind) == ("ended", 1, "fetch.timeout")
    assert after.next_poll_at is None or delay(after) == 3600.0
    assert is_stopped(after) == stopped


# --- failures ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures_before", "expected"),
    [(0, 30.0), (1, 60.0), (2, 120.0), (6, 1920.0), (7, 3600.0), (10_000, 3600.0)],
)
def test_failures_back_off_exponentially_up_to_the_cap(failures_before: int, expected: float) -> None:
    after = decide(ok(status="failing", consecutive_failures=failures_before), TIMEOUT)
    assert (after.status, after.consecutive_failures, delay(after)) == (
        "failing",
        failures_before + 1,
        expected,
    )


def test_a_failure_is_recorded_and_leaves_the_interval_alone() -> None:
    after = decide(ok(), TIMEOUT)
    assert (after.last_error_kind, after.last_error_message, after.last_error_at) == (
        "fetch.timeout",
        "timed out",
        NOW,
    )
    assert (after.interval_seconds, after.last_success_at) == (100.0, ago(100))


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(120.0, 120.0), (5.0, 30.0), (10**9, 86400.0)],  # honoured; the backoff is a floor; absurd dates capped
)
def test_retry_after_backs_off_at_least_as_long_as_asked(retry_after: float, expected: float) -> None:
    after = decide(ok(), http_error(503, retry_after=retry_after))
    assert (after.status, delay(after)) == ("backing-off", expected)


@pytest.mark.parametrize(
    ("answers", "status"),
    [
        ([404, 404], "failing"),
        ([404, 404, 404], "gone"),
        ([410], "failing"),
        ([410, 410], "gone"),  # deliberate: one fewer confirms it
        ([404, 500, 404], "failing"),  # not in a row
        ([500, 500, 404], "failing"),
        ([404, 500, 404, 404], "failing"),  # two in a row after the 500, not three
        ([404, 500, 404, 404, 404], "gone"),
        ([404, 410, 404], "gone"),  # 404 and 410 both say "missing"
    ],
)
def test_a_missing_blog_is_gone_after_repeated_answers(answers: list[int], status: SourceStatus) -> None:
    after = run(ok(), [http_error(code) for code in answers])
    assert after.status == status
    assert (after.next_poll_at is None) == (status == "gone")


def test_a_success_restarts_the_count_towards_gone() -> None:
    assert run(ok(), [http_error(404), http_error(404), CHANGED, http_error(404)]).status == "failing"


def test_one_missing_answer_is_enough_when_configured() -> None:
    assert decide(ok(), http_error(404), ScheduleSettings(gone_after=1)).status == "gone"


# --- stopping and reactivating -------------------------------------------------------------------------

GONE = ok(status="gone", next_poll_at=None)
STOPPED = ok(status="ended", ended_at=ago(2 * 86400), next_poll_at=None)


@pytest.mark.parametrize("state", [GONE, STOPPED])
@pytest.mark.parametrize("outcome", [*SUCCESSES, TIMEOUT])
def test_gone_and_stopped_sources_stay_so(state: PollState, outcome: Outcome) -> None:
    assert decide(state, outcome) == state


def test_a_gone_source_polled_on_request_stays_gone() -> None:
    assert decide(replace(GONE, next_poll_at=NOW), CHANGED).next_poll_at is None


@pytest.mark.parametrize("state", [GONE, STOPPED, ok(status="ended", ended_at=ago(60))])
def test_reactivate_makes_a_source_due_now_at_the_base_interval(state: PollState) -> None:
    after = reactivate(
        replace(state, consecutive_failures=3, last_error_kind="fetch.http_status"), NOW, POLICY
    )
    assert (after.status, after.next_poll_at, after.interval_seconds) == ("ok", NOW, 30.0)
    assert (after.ended_at, after.consecutive_failures, after.last_error_kind) == (
        None,
        0,
        "fetch.http_status",
    )
    assert is_due(after, NOW) and not is_stopped(after)


def test_a_reactivated_source_needs_the_full_count_to_be_gone_again() -> None:
    revived = reactivate(run(ok(), [http_error(404)] * 3), NOW, EXACT)
    assert run(revived, [http_error(404)] * 2).status == "failing"


# --- due and late --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("next_poll_at", "lease_until", "due", "late"),
    [
        (None, None, False, 0.0),
        (at(5), None, False, 0.0),
        (NOW, None, True, 0.0),
        (ago(7), None, True, 7.0),
        (ago(7), at(30), False, 7.0),  # leased: a poller is on it
        (ago(7), ago(1), True, 7.0),  # the lease expired
    ],
)
def test_due_and_late(
    next_poll_at: datetime | None, lease_until: datetime | None, due: bool, late: float
) -> None:
    state = PollState(next_poll_at=next_poll_at, lease_until=lease_until)
    assert (is_due(state, NOW), late_by(state, NOW)) == (due, late)


@pytest.mark.parametrize(
    "fields",
    [
        {"min_interval": 0.0},
        {"base_interval": 5.0},
        {"max_interval": 20.0},
        {"jitter": 1.0},
        {"gone_after": 0},
    ],
)
def test_nonsense_settings_are_refused(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ScheduleSettings(**fields)  # type: ignore[arg-type]


# --- jitter --------------------------------------------------------------------------------------------


def test_jitter_spreads_sources_added_together() -> None:
    rng = random.Random(42)
    delays = [delay(next_state(PollState(next_poll_at=NOW), CHANGED, NOW, POLICY, rng)) for _ in range(100)]
    assert len(set(delays)) > 90
    assert all(27.0 <= d <= 33.0 for d in delays)
    assert min(delays) < 28.5 and max(delays) > 31.5  # both sides of the base are used


def test_the_same_seed_gives_the_same_decision() -> None:
    assert decide(ok(), CHANGED, POLICY, seed=7) == decide(ok(), CHANGED, POLICY, seed=7)


# --- properties ----------------------------------------------------------------------------------------

statuses = st.sampled_from(["new", "ok", "failing", "backing-off", "gone", "ended"])
offsets = st.floats(min_value=-3 * 86400, max_value=3 * 86400, allow_nan=False)
times = st.none() | offsets.map(at)


@st.composite
def states(draw: st.DrawFn, status: st.SearchStrategy[str] = statuses) -> PollState:
    return PollState(
        status=draw(status),  # type: ignore[arg-type]
        next_poll_at=draw(times),
        interval_seconds=draw(st.none() | st.floats(min_value=0.001, max_value=1e6)),
        consecutive_failures=draw(st.integers(min_value=0, max_value=10**6)),
        last_error_kind=draw(st.sampled_from([None, "fetch.timeout", "fetch.http_status"])),
        last_error_message=draw(
            st.sampled_from([None, "timed out", "https://example.com/blog answered 404"])
        ),
        last_change_at=draw(times),
        ended_at=draw(times),
        lease_owner=draw(st.none() | st.just("poller-1")),
        lease_until=draw(times),
    )


successes = st.builds(
    Outcome, kind=st.sampled_from(["changed", "unchanged", "not_modified"]), ended=st.booleans()
)
failures = st.builds(
    Outcome,
    kind=st.just("failed"),
    error_kind=st.sampled_from(["fetch.timeout", "fetch.http_status"]),
    error_message=st.sampled_from(["timed out", "https://example.com/blog answered 404"]),
    http_status=st.none() | st.sampled_from([404, 410, 429, 500, 503]),
    retry_after=st.none() | st.floats(min_value=0, max_value=1e12),
)
outcomes = successes | failures
seeds = st.integers(min_value=0, max_value=2**32)
live = states(st.sampled_from(["new", "ok", "failing", "backing-off"]))


@given(state=states(), outcome=outcomes, seed=seeds)
def test_next_poll_is_never_in_the_past_and_the_lease_is_always_released(
    state: PollState, outcome: Outcome, seed: int
) -> None:
    after = decide(state, outcome, POLICY, seed)
    assert after.next_poll_at is None or after.next_poll_at >= NOW
    assert (after.lease_owner, after.lease_until) == (None, None)


@given(state=live, outcome=successes, seed=seeds)
def test_successes_keep_the_interval_in_range_and_clear_failures(
    state: PollState, outcome: Outcome, seed: int
) -> None:
    after = decide(state, outcome, POLICY, seed)
    assert after.consecutive_failures == 0
    if after.status == "ok":
        assert after.interval_seconds is not None
        assert POLICY.min_interval <= after.interval_seconds <= POLICY.max_interval
    else:
        assert (after.status, after.interval_seconds) == ("ended", POLICY.ended_interval)


@given(state=live, outcome=failures.filter(lambda o: o.retry_after is None), seed=seeds)
def test_backoff_stays_between_the_floor_and_the_jittered_cap(
    state: PollState, outcome: Outcome, seed: int
) -> None:
    after = decide(state, outcome, POLICY, seed)
    assert after.consecutive_failures == state.consecutive_failures + 1
    if after.status != "gone":
        assert POLICY.min_interval <= delay(after) <= POLICY.backoff_cap * (1 + POLICY.jitter)


@given(
    state=st.sampled_from([GONE, STOPPED]),
    history=st.lists(outcomes, max_size=8),
    seed=seeds,
)
def test_gone_and_stopped_are_absorbing_until_reactivated(
    state: PollState, history: list[Outcome], seed: int
) -> None:
    rng = random.Random(seed)
    after = state
    for outcome in history:
        after = next_state(after, outcome, NOW, POLICY, rng)
    assert after == state
    assert is_due(reactivate(after, NOW, POLICY), NOW)
