"""Keep the coverage times a source declares (JSON-LD `coverageStartTime` / `coverageEndTime`).

Revision ID: 0007
Revises: 0006
Created: 2026-12-07

Written by every poll that reads a document, beside the rest of the poll's state, so the embed page can
say what the source itself says its coverage is. Existing sources start with none: their next read
document fills them in.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("coverage_start", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("coverage_end", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("coverage_end")
        batch.drop_column("coverage_start")
