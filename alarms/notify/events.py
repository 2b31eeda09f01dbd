"""What a notification is about, its delivery id, and the ticket as JSON (times in UTC, ISO 8601)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from alarms.model import Ticket

_NAMESPACE = uuid.UUID("6f1c8a52-3b0e-4c53-9a4e-2d8f0b7c1e11")


class TicketEvent(StrEnum):
    """What a notice is about. Each event belongs to one of the three families a channel subscribes to in
    ``notify.yaml`` (``opened``, ``escalated``, ``resolved``): a channel that wants ``opened`` also gets
    ``recurred``, ``reopened`` and ``merged``, one that wants ``escalated`` also gets ``breached``. A channel
    may also list one of those by its own name alone."""

    OPENED = "opened"
    """The system opened a ticket for a new root cause."""
    RECURRED = "recurred"
    """The root alarm of a restored ticket came back: the system reopened it."""
    REOPENED = "reopened"
    """A person reopened a resolved or closed ticket."""
    ESCALATED = "escalated"
    """The repair limit is approaching (the configured share of it has elapsed)."""
    BREACHED = "breached"
    """The repair limit is exceeded."""
    RESOLVED = "resolved"
    """Service restored: the root alarm cleared, or a person resolved the ticket."""
    MERGED = "merged"
    """The system closed the ticket as a duplicate: its alarms moved to another root's ticket."""

    @property
    def family(self) -> str:
        """The ``notify.yaml`` event name that routes this event."""
        return _FAMILY.get(self.value, self.value)


_FAMILY: MappingProxyType[str, str] = MappingProxyType(
    {"recurred": "opened", "reopened": "opened", "merged": "opened", "breached": "escalated"}
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one notification on one channel."""

    channel: str
    delivery_id: str
    ok: bool
    attempts: int
    status: int | None = None
    error: str = ""


def delivery_id(ticket: Ticket, event: TicketEvent, change_id: int | None = None) -> str:
    """A stable id for one notice: a retry or a restart re-sends the same id, so a receiver can drop
    duplicates. The dispatcher passes the id of the audit row the notice is about (``change_id``): the
    same row always gives the same id, another row (a second resolve after a reopening) another one.
    Without it the occurrence is the number of reopenings (and recurrences) so far."""
    if change_id is not None:
        occurrence = f"change:{change_id}"
    else:
        occurrence = str(sum(1 for a in ticket.audit if a.action in ("reopened", "recurred")))
    return str(uuid.uuid5(_NAMESPACE, f"{ticket.id}|{ticket.dedup_key}|{event.value}|{occurrence}"))


def merged_into(ticket: Ticket) -> int | None:
    """The id of the ticket this one was merged into (its last ``merged`` audit entry), if any."""
    into = next((a.detail.get("into") for a in reversed(ticket.audit) if a.action == "merged"), None)
    return int(into) if into is not None and into.isdigit() else None


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
