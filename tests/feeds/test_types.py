"""The values `feeds` hands out and takes: here, the limits adapters read within."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from feeds.types import DEFAULT_LIMITS, Limits


def test_default_limits() -> None:
    assert Limits() == DEFAULT_LIMITS
    assert DEFAULT_LIMITS.model_dump() == {
        "max_updates": 5_000,
        "max_depth": 128,
        "max_title_chars": 1_000,
        "max_summary_chars": 10_000,
        "max_body_chars": 250_000,
    }


def test_limits_are_frozen_and_hashable() -> None:
    limits = Limits(max_updates=10)

    with pytest.raises(ValidationError):
        limits.max_updates = 20  # type: ignore[misc]
    assert hash(limits) == hash(Limits(max_updates=10))


@pytest.mark.parametrize("field", ["max_updates", "max_depth", "max_title_chars", "max_body_chars"])
@pytest.mark.parametrize("value", [0, -1])
def test_limits_must_be_positive(field: str, value: int) -> None:
    with pytest.raises(ValidationError, match=field):
        Limits(**{field: value})


def test_unknown_limits_are_refused() -> None:
    with pytest.raises(ValidationError, match="max_items"):
        Limits(max_items=3)  # type: ignore[call-arg]
