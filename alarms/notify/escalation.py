"""Which open tickets are close to or past their repair-time limit: pure functions of the tickets and ``now``.

The limit depends on the site class (urban / rural, from config) and counts from the customer's report
(``clock.reported``), else from detection — the MIIT rule. A ticket gets at most two escalations per
episode: a warning (kind ``escalated``) once the configured share of the limit has elapsed, and a notice
that the limit is exceeded (kind ``breached``). Each is recorded as an ``escalated`` audit entry whose
detail ``kind`` says which (:func:`escalation_detail`); a reopening or a recurrence starts a new episode.
Restored, resolved and closed tickets are not escalated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from alarms.model import Ticket, TicketStatus
from config.tickets import RepairLimits

_DONE = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
ESCALATED = "escalated"
"""The audit action of both escalations, and the ``kind`` of the warning."""
BREACHED = "breached"
"""The ``kind`` of the notice that the repair limit is exceeded."""
_NEW_EPISODE = ("reopened", "recurred")


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

    @property
    def kind(self) -> str:
        """``breached`` when the limit is exceeded, else ``escalated`` (the warning)."""
        return BREACHED if self.breached else ESCALATED


def escalation_detail(e: Escalation) -> dict[str, str]:
    """The audit detail recording ``e`` (what :func:`escalation_from` reads back)."""
    return {
        "kind": e.kind,
        "site_class": e.site_class,
        "start": e.start.isoformat(),
        "limit_h": f"{e.limit.total_seconds() / 3600:g}",
        "deadline": e.deadline.isoformat(),
        "pct": f"{e.elapsed_pct:.1f}",
    }


def escalation_from(ticket: Ticket, detail: Mapping[str, str]) -> Escalation | None:
    """The escalation an ``escalated`` audit entry recorded (None when its detail is incomplete)."""
    try:
        limit = timedelta(hours=float(detail["limit_h"]))
        return Escalation(
            ticket, detail["site_class"], datetime.fromisoformat(detail["start"]), limit,
            datetime.fromisoformat(detail["deadline"]), float(detail["pct"]),
            detail.get("kind", ESCALATED) == BREACHED,
        )  # fmt: skip
    except (KeyError, ValueError):
        return None


def escalation_marks(ticket: Ticket) -> frozenset[str]:
    """The kinds of escalation recorded since the last reopening or recurrence."""
    kinds: set[str] = set()
    for entry in reversed(ticket.audit):
        if entry.action in _NEW_EPISODE:
            break
        if entry.action == ESCALATED:
            kinds.add(entry.detail.get("kind", ESCALATED))
    return frozenset(kinds)


def was_escalated(ticket: Ticket) -> bool:
    """Any escalation recorded since the last reopening or recurrence."""
    return bool(escalation_marks(ticket))


def due_for_escalation(
    tickets: Iterable[Ticket],
    site_class: Callable[[str], str | None],
    limits: RepairLimits,
    threshold_pct: float,
    now: datetime,
) -> list[Escalation]:
    """The tickets due for an escalation, most urgent (largest share used) first: a ``breached`` one when
    the limit is exceeded and that was not yet recorded, else an ``escalated`` warning when at least
    ``threshold_pct`` % of the limit has elapsed and no escalation was recorded yet. ``site_class(site)``
    gives ``urban``/``rural`` (None: unknown site, never escalated)."""
    out: list[Escalation] = []
    for t in tickets:
        if t.status in _DONE or t.clock.restored is not None:
            continue
        cls = site_class(t.site)
        hours = limits.hours(cls) if cls is not None else None
        if cls is None or hours is None:
            continue
        marks = escalation_marks(t)
        start = t.clock.reported or t.clock.detected
        limit = timedelta(hours=hours)
        pct = 100.0 * (now - start) / limit
        breached = now >= start + limit
        if BREACHED in marks or (not breached and (ESCALATED in marks or pct < threshold_pct)):
            continue
        out.append(Escalation(t, cls, start, limit, start + limit, pct, breached))
    out.sort(key=lambda e: (-e.elapsed_pct, e.ticket.id))
    return out
