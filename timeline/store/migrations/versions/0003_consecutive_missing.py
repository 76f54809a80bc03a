"""Count 404/410 answers in a row, so a source is marked gone only after that many in a row.

Revision ID: 0003
Revises: 0002
Created: 2026-11-25

Before, the poller inferred "in a row" from the failure streak and the last error's message, which a
different error between two 404s could fool. Existing sources start at 0: at worst one source that was
already answering 404 takes a few more polls to be marked gone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("consecutive_missing", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("consecutive_missing")
