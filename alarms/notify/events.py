"""What a notification is about, its delivery id, and the ticket as JSON (times in UTC, ISO 8601)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from alarms.model import Ticket

_NAMESPACE = uuid.UUID("6f1c8a52-3b0e-4c53-9a4e-2d8f0b7c1e11")


class TicketEvent(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one notification on one channel."""

    channel: str
    delivery_id: str
    ok: bool
    attempts: int
    status: int | None = None
    error: str = ""


def delivery_id(ticket: Ticket, event: TicketEvent) -> str:
    """A stable id for (ticket, event, occurrence): a retry or a restart re-sends the same id, so a
    receiver can drop duplicates. The occurrence counts reopenings, so a second resolve is a new id."""
    occurrence = sum(1 for a in ticket.audit if a.action == "reopened")
    return str(uuid.uuid5(_NAMESPACE, f"{ticket.id}|{ticket.dedup_key}|{event.value}|{occurrence}"))


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    """The ticket as a JSON-able dict (used in webhook bodies)."""
    c = ticket.clock
    return {
        "id": ticket.id,
        "dedup_key": ticket.dedup_key,
        "status": ticket.status.value,
        "priority": ticket.priority,
        "title": ticket.title,
        "root": {"device": ticket.root.device, "kind": ticket.root.kind, "resource": ticket.root.resource},
        "symptoms": [str(k) for k in ticket.symptoms],
        "services": [
            {
                "service_id": s.service_id,
                "customer": s.customer,
                "service_class": s.service_class,
                "subscribers": s.subscribers,
                "via": s.via,
            }
            for s in ticket.services
        ],
        "region": ticket.region,
        "site": ticket.site,
        "team": ticket.team,
        "clock": {
            "detected": _t(c.detected),
            "reported": _t(c.reported),
            "acknowledged": _t(c.acknowledged),
            "restored": _t(c.restored),
            "closed": _t(c.closed),
        },
        "cause_code": ticket.cause_code,
    }
