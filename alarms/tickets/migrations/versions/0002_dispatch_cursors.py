"""Dispatch cursors: how far each reader of the audit trail has got.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "dispatch_cursors",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("last_id", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dispatch_cursors")
