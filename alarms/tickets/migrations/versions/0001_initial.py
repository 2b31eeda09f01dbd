"""The ticket tables: tickets, symptoms, services, notes, audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alarms.tickets.schema import OPEN_WHERE, STATUSES, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dedup_key", sa.String(512), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("team", sa.String(64), nullable=True),
        sa.Column("detected", UtcDateTime(), nullable=False),
        sa.Column("reported", UtcDateTime(), nullable=True),
        sa.Column("acknowledged", UtcDateTime(), nullable=True),
        sa.Column("restored", UtcDateTime(), nullable=True),
        sa.Column("closed", UtcDateTime(), nullable=True),
        sa.Column("cause_code", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="ck_tickets_status"),
    )
    op.create_index(
        "uq_tickets_open_dedup_key",
        "tickets",
        ["dedup_key"],
        unique=True,
        sqlite_where=sa.text(OPEN_WHERE),
        postgresql_where=sa.text(OPEN_WHERE),
    )
    op.create_index("ix_tickets_status", "tickets", ["status"])
    op.create_index("ix_tickets_team", "tickets", ["team"])
    op.create_index("ix_tickets_region", "tickets", ["region"])
    op.create_table(
        "ticket_symptoms",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("alarm_key", sa.String(512), nullable=False),
        sa.Column("attached_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("ticket_id", "alarm_key", name="uq_ticket_symptoms_key"),
    )
    op.create_table(
        "ticket_services",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("customer", sa.String(256), nullable=False),
        sa.Column("service_class", sa.String(64), nullable=False),
        sa.Column("subscribers", sa.Integer(), nullable=False),
        sa.Column("via", sa.String(256), nullable=False),
        sa.UniqueConstraint("ticket_id", "service_id", name="uq_ticket_services_id"),
    )
    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("time", UtcDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("ix_ticket_notes_ticket_id", "ticket_notes", ["ticket_id"])
    op.create_table(
        "ticket_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("time", UtcDateTime(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_ticket_audit_ticket_id", "ticket_audit", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_audit_ticket_id", table_name="ticket_audit")
    op.drop_table("ticket_audit")
    op.drop_index("ix_ticket_notes_ticket_id", table_name="ticket_notes")
    op.drop_table("ticket_notes")
    op.drop_table("ticket_services")
    op.drop_table("ticket_symptoms")
    op.drop_index("ix_tickets_region", table_name="tickets")
    op.drop_index("ix_tickets_team", table_name="tickets")
    op.drop_index("ix_tickets_status", table_name="tickets")
    op.drop_index("uq_tickets_open_dedup_key", table_name="tickets")
    op.drop_table("tickets")
