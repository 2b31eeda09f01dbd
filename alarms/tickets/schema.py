"""The ticket tables (SQLAlchemy 2.x ORM). Migrations in ``migrations/versions`` must match this file
(a test compares them with Alembic's autogenerate)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

STATUSES = ("open", "acknowledged", "in_progress", "resolved", "closed")
OPEN_WHERE = "status <> 'closed'"


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: ticket times must be timezone-aware")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class TicketRow(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(512))
    region: Mapped[str] = mapped_column(String(64))
    site: Mapped[str] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(64))
    detected: Mapped[datetime] = mapped_column(UtcDateTime())
    reported: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acknowledged: Mapped[datetime | None] = mapped_column(UtcDateTime())
    restored: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cause_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    symptoms: Mapped[list[SymptomRow]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="SymptomRow.id"
    )
    services: Mapped[list[ServiceRow]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="ServiceRow.id"
    )
    notes: Mapped[list[NoteRow]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="NoteRow.id"
    )
    audit: Mapped[list[AuditRow]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="AuditRow.id"
    )

    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="ck_tickets_status"),
        # at most one not-closed ticket per dedup key: the database settles concurrent opens
        Index(
            "uq_tickets_open_dedup_key",
            "dedup_key",
            unique=True,
            sqlite_where=text(OPEN_WHERE),
            postgresql_where=text(OPEN_WHERE),
        ),
        Index("ix_tickets_status", "status"),
        Index("ix_tickets_team", "team"),
        Index("ix_tickets_region", "region"),
    )


class SymptomRow(Base):
    __tablename__ = "ticket_symptoms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    alarm_key: Mapped[str] = mapped_column(String(512))
    attached_at: Mapped[datetime] = mapped_column(UtcDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """When the symptom alarm cleared (None: still active); set again to None when it comes back."""
    ticket: Mapped[TicketRow] = relationship(back_populates="symptoms")

    __table_args__ = (UniqueConstraint("ticket_id", "alarm_key", name="uq_ticket_symptoms_key"),)


class ServiceRow(Base):
    __tablename__ = "ticket_services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    service_id: Mapped[str] = mapped_column(String(64))
    customer: Mapped[str] = mapped_column(String(256))
    service_class: Mapped[str] = mapped_column(String(64))
    subscribers: Mapped[int] = mapped_column(Integer)
    via: Mapped[str] = mapped_column(String(256))
    ticket: Mapped[TicketRow] = relationship(back_populates="services")

    __table_args__ = (UniqueConstraint("ticket_id", "service_id", name="uq_ticket_services_id"),)


class NoteRow(Base):
    __tablename__ = "ticket_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(128))
    time: Mapped[datetime] = mapped_column(UtcDateTime())
    text: Mapped[str] = mapped_column(Text)
    ticket: Mapped[TicketRow] = relationship(back_populates="notes")


class AuditRow(Base):
    __tablename__ = "ticket_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    time: Mapped[datetime] = mapped_column(UtcDateTime())
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    """JSON object of strings."""
    ticket: Mapped[TicketRow] = relationship(back_populates="audit")


class DispatchCursorRow(Base):
    """How far a consumer of the audit trail (e.g. the notification dispatcher) has read: the last
    ``ticket_audit.id`` it handled."""

    __tablename__ = "dispatch_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer)
