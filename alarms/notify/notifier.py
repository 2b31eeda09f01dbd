"""Send a ticket event to every channel that wants it; record due escalations on the tickets.

Nothing here runs under the alarm pipeline's lock: :mod:`alarms.dispatch` calls :meth:`Notifier.notify`
(in a worker thread) for each audit row that deserves a notice, and :func:`mark_escalations` only writes
audit rows — the dispatcher sends their notices like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from alarms.model import Ticket
from alarms.notify.email import SmtpChannel
from alarms.notify.escalation import Escalation, due_for_escalation, escalation_detail
from alarms.notify.events import Delivery, TicketEvent, delivery_id
from alarms.notify.webhook import WebhookChannel
from config.tickets import NotifySettings


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    def send(
        self, event: TicketEvent, ticket: Ticket, delivery_id: str, now: datetime, escalation: Escalation | None
    ) -> Delivery: ...


class EscalationMarker(Protocol):
    """The part of the ticket store escalation needs (:meth:`SqlTicketStore.mark_escalated`)."""

    def mark_escalated(self, ticket_id: int, now: datetime, **detail: str) -> Ticket: ...


@dataclass(frozen=True, slots=True)
class Notifier:
    """``routes`` maps each channel to the events it receives (``notify.yaml`` names: an event is sent
    when its name or its :attr:`TicketEvent.family` is among them)."""

    routes: Sequence[tuple[Channel, Collection[str]]]

    def wants(self, event: TicketEvent) -> bool:
        """Whether any channel receives ``event``."""
        return any(_routed(event, events) for _, events in self.routes)

    def notify(
        self,
        event: TicketEvent,
        ticket: Ticket,
        now: datetime,
        escalation: Escalation | None = None,
        change_id: int | None = None,
    ) -> list[Delivery]:
        """Send to every channel that wants ``event`` (blocking: webhook retries sleep)."""
        did = delivery_id(ticket, event, change_id)
        return [ch.send(event, ticket, did, now, escalation) for ch, events in self.routes if _routed(event, events)]


def _routed(event: TicketEvent, events: Collection[str]) -> bool:
    return event.value in events or event.family in events


def mark_escalations(
    tickets: Sequence[Ticket],
    store: EscalationMarker,
    site_class: Callable[[str], str | None],
    settings: NotifySettings,
    now: datetime,
) -> list[Escalation]:
    """Record every escalation due now as an ``escalated`` audit entry (detail ``kind`` = ``escalated`` or
    ``breached``, with the deadline): the dispatcher notifies from the audit trail, so a crash right after
    the mark still sends the notice, and a mark is never repeated."""
    due = due_for_escalation(tickets, site_class, settings.escalation.limits, settings.escalation.threshold_pct, now)
    for e in due:
        store.mark_escalated(e.ticket.id, now, **escalation_detail(e))
    return due


def build_notifier(settings: NotifySettings, sleep: Callable[[float], None]) -> Notifier:
    """The channels ``settings`` configure (secrets already resolved by the loader)."""
    routes: list[tuple[Channel, Collection[str]]] = []
    for w in settings.webhooks:
        channel = WebhookChannel(w.name, w.url, w.secret.get_secret_value().encode(), w.retry, sleep, w.timeout_s)
        routes.append((channel, frozenset(w.events)))
    if settings.email is not None:
        e = settings.email
        smtp = SmtpChannel(
            e.host, e.port, e.sender, e.recipients, settings.language, settings.timezone, e.security, e.username,
            e.password.get_secret_value() if e.password is not None else None, e.timeout_s,
        )  # fmt: skip
        routes.append((smtp, frozenset(e.events)))
    return Notifier(tuple(routes))


__all__ = ["Channel", "EscalationMarker", "Notifier", "build_notifier", "mark_escalations"]
