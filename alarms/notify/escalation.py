"""Which open tickets are close to their repair-time limit: a pure function of the tickets and ``now``.

The limit depends on the site class (urban / rural, from config) and counts from the customer's report
(``clock.reported``), else from detection — the MIIT rule. A ticket is escalated once (an ``escalated``
audit entry, reset by a reopening); restored, resolved and closed tickets are not escalated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from alarms.model import Ticket, TicketStatus
from config.tickets import RepairLimits

_DONE = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


@dataclass(frozen=True, slots=True)
class Escalation:
    ticket: Ticket
    site_class: str
    start: datetime
    """``reported`` or, without a customer report, ``detected``."""
    limit: timedelta
    deadline: datetime
    elapsed_pct: float
    breached: bool


def was_escalated(ticket: Ticket) -> bool:
    """An ``escalated`` audit entry after the last reopening."""
    for entry in reversed(ticket.audit):
        if entry.action == "escalated":
            return True
        if entry.action == "reopened":
            return False
    return False


def due_for_escalation(
    tickets: Iterable[Ticket],
    site_class: Callable[[str], str | None],
    limits: RepairLimits,
    threshold_pct: float,
    now: datetime,
) -> list[Escalation]:
    """The tickets that have used at least ``threshold_pct`` % of their repair limit and were not yet
    escalated, most urgent (largest share used) first. ``site_class(site)`` gives ``urban``/``rural``
    (None: unknown site, never escalated)."""
    out: list[Escalation] = []
    for t in tickets:
        if t.status in _DONE or t.clock.restored is not None or was_escalated(t):
            continue
        cls = site_class(t.site)
        hours = limits.hours(cls) if cls is not None else None
        if cls is None or hours is None:
            continue
        start = t.clock.reported or t.clock.detected
        limit = timedelta(hours=hours)
        pct = 100.0 * (now - start) / limit
        if pct >= threshold_pct:
            out.append(Escalation(t, cls, start, limit, start + limit, pct, now >= start + limit))
    out.sort(key=lambda e: (-e.elapsed_pct, e.ticket.id))
    return out
