"""Dispatch cursors start at the end of an existing audit trail: an upgrade does not replay history.

A database that already holds audit rows but no cursor row for a reader (it was written before the
dispatcher existed) gets the ``notify`` and ``grafana`` cursors set to the current ``MAX(ticket_audit.id)``;
otherwise the first start would send a notice for every change ever made. An empty trail, or a reader that
already has its cursor, is left alone. Data only: the schema does not change.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

READERS = ("notify", "grafana")
"""The cursor names of :mod:`alarms.dispatch` at this revision (frozen here, as a migration must be)."""


def upgrade() -> None:
    conn = op.get_bind()
    last = conn.execute(sa.text("SELECT MAX(id) FROM ticket_audit")).scalar()
    if last is None:
        return
    for name in READERS:
        conn.execute(
            sa.text(
                "INSERT INTO dispatch_cursors (name, last_id) "
                "SELECT CAST(:name AS VARCHAR(64)), CAST(:last AS INTEGER) "
                "WHERE NOT EXISTS (SELECT 1 FROM dispatch_cursors WHERE name = :name)"
            ),
            {"name": name, "last": int(last)},
        )


def downgrade() -> None:
    """Nothing to undo: the cursors stay where the dispatcher would have put them."""
