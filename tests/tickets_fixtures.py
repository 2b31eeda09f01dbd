"""Shared helpers for the ticket tests: database URLs on SQLite and PostgreSQL, and ticket actions."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alarms.model import AffectedService, Alarm, AlarmKey, AlarmState, Impact, OpenTicket, Severity
from tests.servers.postgres import PgAdmin

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def alarm(device: str, kind: str = "device_unreachable", resource: str = "", raised: datetime = T0) -> Alarm:
    return Alarm(AlarmKey(device, kind, resource), Severity.MAJOR, AlarmState.RAISED, raised, raised, raised_at=raised)


def service(sid: str, customer: str = "cust", via: str = "dev") -> AffectedService:
    return AffectedService(sid, customer, "enterprise_line", 1, via)


def open_action(
    device: str = "sh-olt-01",
    *,
    symptoms: tuple[str, ...] = (),
    services: tuple[str, ...] = ("svc-1",),
    priority: int = 2,
    raised: datetime = T0,
) -> OpenTicket:
    return OpenTicket(
        root=alarm(device, raised=raised),
        symptoms=tuple(alarm(s, raised=raised) for s in symptoms),
        impact=Impact(tuple(service(s, via=device) for s in services), priority),
        region="sh-east",
        site="pudong-1",
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database: a SQLite file in a private temp dir, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        with tempfile.TemporaryDirectory(prefix="netqos-tickets-") as tmp:
            yield f"sqlite:///{tmp}/tickets.db"
    else:
        pg: PgAdmin = request.getfixturevalue("postgres")
        yield pg.new_database()
