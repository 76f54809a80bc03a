"""Shared test fixtures: where the real live-blog files are, the PostgreSQL server, a local upstream."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.upstream import Upstream


def _find_fixtures() -> Path:
    """`$TIMELINE_FIXTURES`, else `../shared/fixtures` beside the checkout, else the workspace's copy."""
    candidates = [
        os.environ.get("TIMELINE_FIXTURES", ""),
        Path(__file__).resolve().parents[2] / "shared" / "fixtures",
        "/work/shared/fixtures",
    ]
    existing = [Path(c) for c in candidates if c and Path(c).is_dir()]
    return existing[0] if existing else Path(candidates[1])


FIXTURES = _find_fixtures()
POSTGRES_URL = os.environ.get(
    "TIMELINE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """`../shared/fixtures`, read in place. Outside this workspace the tests skip; under CI they must run."""
    if not FIXTURES.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"shared fixtures missing at {FIXTURES}; CI must run the fixture tests")
        pytest.skip(f"shared fixtures not found at {FIXTURES} (a clone outside the workspace)")
    return FIXTURES


@pytest.fixture(scope="session")
def fixture_bytes(fixtures_dir: Path):  # type: ignore[no-untyped-def]
    """Read one shared fixture file by name."""

    def read(name: str) -> bytes:
        return (fixtures_dir / name).read_bytes()

    return read


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    """A real HTTP server on 127.0.0.1 with no routes yet (tests/upstream.py)."""
    async with Upstream() as serving:
        yield serving
