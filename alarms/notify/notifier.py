"""Send a ticket event to every channel that wants it; mark escalations on the ticket."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from alarms.model import Ticket
from alarms.notify.email import SmtpChannel
from alarms.notify.escalation import Escalation, due_for_escalation
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
    """``routes`` maps each channel to the events it receives."""

    routes: Sequence[tuple[Channel, Collection[str]]]

    def notify(
        self, event: TicketEvent, ticket: Ticket, now: datetime, escalation: Escalation | None = None
    ) -> list[Delivery]:
        did = delivery_id(ticket, event)
        return [ch.send(event, ticket, did, now, escalation) for ch, events in self.routes if event.value in events]

    def escalate(
        self,
        tickets: Sequence[Ticket],
        store: EscalationMarker,
        site_class: Callable[[str], str | None],
        settings: NotifySettings,
        now: datetime,
    ) -> list[Escalation]:
        """Notify every ticket due for escalation and mark it (marked even when a channel failed: the
        webhook has retried already, and a repeat every cycle would flood the NOC)."""
        due = due_for_escalation(
            tickets, site_class, settings.escalation.limits, settings.escalation.threshold_pct, now
        )
        for e in due:
            self.notify(TicketEvent.ESCALATED, e.ticket, now, e)
            store.mark_escalated(e.ticket.id, now, deadline=e.deadline.isoformat(), pct=f"{e.elapsed_pct:.1f}")
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


__all__ = ["Channel", "EscalationMarker", "Notifier", "build_notifier"]
