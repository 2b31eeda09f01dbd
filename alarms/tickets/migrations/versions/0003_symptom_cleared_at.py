"""Symptom rows say when their alarm cleared (``cleared_at``; NULL while active).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alarms.tickets.schema import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_symptoms") as batch:
        batch.add_column(sa.Column("cleared_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_symptoms") as batch:
        batch.drop_column("cleared_at")
