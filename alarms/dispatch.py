"""The ticket audit trail's readers: notices to people (cursor ``notify``) and ticket points for Grafana
(cursor ``grafana``).

Every change to a ticket — opened, symptoms attached, restored, escalated, acknowledged or resolved by a
technician through the API or the CLI — is one audit row. The dispatcher reads the rows after its cursor
(:meth:`~alarms.tickets.store.SqlTicketStore.changes_since`), handles each and only then records the
cursor (:meth:`set_cursor`), so a crash at any point repeats the last change instead of losing it: a
notice is sent at least once, with a delivery id derived from the audit row, so receivers drop the
repeat; a Grafana point is written again with the same time, so it overwrites itself.

Which changes deserve a notice (:func:`notice_for`; ``docs/notifications.md``):

==============================  ==============  ==========================================
audit action                    notice          why
==============================  ==============  ==========================================
``opened`` (system)             ``opened``      a new root cause: someone has to go
``recurred`` (system)           ``recurred``    the fault came back on a restored ticket
``restored`` (system)           ``resolved``    the root alarm cleared: service is back
``resolved`` (a person)         ``resolved``    a technician says it is repaired
``reopened`` (a person)         ``reopened``    the repair did not hold: someone has to go again
``escalated`` kind=escalated    ``escalated``   the repair limit is approaching
``escalated`` kind=breached     ``breached``    the repair limit is exceeded
``merged`` (system)             ``merged``      closed as a duplicate: the work goes on another ticket
==============================  ==============  ==========================================

Everything else (acknowledged, in progress, closed, notes, symptoms attached or cleared, assignment,
complaints, ``absorbed`` on the surviving ticket) goes to Grafana only: nobody has to act on it.

The dispatcher runs as its own task beside the alarm pipeline, never under its lock; blocking sends
(webhook retries sleep) run in worker threads. Each reader has its own loop, so a webhook that retries for
a minute delays neither the Grafana feed nor the alarm pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Protocol

from alarms.model import Ticket, TicketStatus
from alarms.notify.escalation import BREACHED, ESCALATED, escalation_from
from alarms.notify.events import TicketEvent
from alarms.notify.notifier import EscalationMarker, Notifier, mark_escalations
from alarms.tickets.store import TicketChange
from collectors import measurements as m
from collectors.model import Clock, Sample, Sink
from config.tickets import NotifySettings

log = logging.getLogger("netqos.dispatch")

NOTIFY_CURSOR = "notify"
GRAFANA_CURSOR = "grafana"

_NOTICES: MappingProxyType[str, TicketEvent] = MappingProxyType(
    {
        "opened": TicketEvent.OPENED,
        "recurred": TicketEvent.RECURRED,
        "restored": TicketEvent.RESOLVED,
        "resolved": TicketEvent.RESOLVED,
        "reopened": TicketEvent.REOPENED,
        "merged": TicketEvent.MERGED,
    }
)
_STATUS_AFTER: MappingProxyType[str, TicketStatus] = MappingProxyType(
    {
        "opened": TicketStatus.OPEN,
        "recurred": TicketStatus.OPEN,
        "reopened": TicketStatus.OPEN,
        "restored": TicketStatus.RESOLVED,
        "merged": TicketStatus.CLOSED,
        **{s.value: s for s in TicketStatus},
    }
)


# --- ports ----------------------------------------------------------------------------------------------------


class AuditTrail(Protocol):
    """The part of the ticket store the dispatcher reads (:class:`~alarms.tickets.store.SqlTicketStore`)."""

    def changes_since(self, after_id: int, limit: int = 500) -> list[TicketChange]: ...

    def cursor(self, name: str) -> int: ...

    def set_cursor(self, name: str, value: int) -> None: ...

    def get(self, ticket_id: int) -> Ticket | None: ...


class EscalationStore(EscalationMarker, Protocol):
    """What the escalation check needs: the tickets still to be worked on, and the mark."""

    def list_active(self) -> list[Ticket]: ...


class Reader(Protocol):
    """One consumer of the audit trail with its own cursor."""

    @property
    def cursor(self) -> str: ...

    @property
    def per_change(self) -> bool:
        """Record the cursor after every change (notices) or once per batch (points, which repeat harmlessly)."""
        ...

    async def handle(self, change: TicketChange, ticket: Ticket | None) -> bool:
        """Handle ``change``; False: not handled, stop here and retry it later."""
        ...


# --- pure decisions -------------------------------------------------------------------------------------------


def notice_for(change: TicketChange) -> TicketEvent | None:
    """The notice an audit row deserves (None: Grafana only). See the module's table."""
    if change.action == ESCALATED:
        return TicketEvent.BREACHED if change.detail.get("kind") == BREACHED else TicketEvent.ESCALATED
    return _NOTICES.get(change.action)


def _moved_to(action: str, detail: Mapping[str, str]) -> TicketStatus | None:
    to = detail.get("to", "")
    return _STATUS_AFTER[to] if to in _STATUS_AFTER else _STATUS_AFTER.get(action)


def status_after(change: TicketChange, current: TicketStatus) -> TicketStatus:
    """The ticket's status right after ``change`` when only the change is known: a lifecycle move's
    ``to``, the status the system's own moves set, else (notes, attachments, marks: no move) ``current``."""
    return _moved_to(change.action, change.detail) or current


def status_at(change: TicketChange, ticket: Ticket) -> TicketStatus:
    """The ticket's status right after ``change``, replayed from its audit trail (the dispatcher may read a
    change after later ones were made: the ticket's current status is not the one the change left)."""
    status: TicketStatus | None = None
    wanted = (change.time, change.action, change.actor, dict(change.detail))
    for e in ticket.audit:
        status = _moved_to(e.action, e.detail) or status
        if (e.time, e.action, e.actor, dict(e.detail)) == wanted:
            return status or ticket.status
    return status_after(change, ticket.status)


def point_time(change: TicketChange) -> datetime:
    """The change's time plus ``id mod 1000`` µs: the rows of one transaction share a time, and points of
    one series at one time would overwrite each other; a repeat of the same row gets the same time."""
    return change.time + timedelta(microseconds=change.id % 1000)


def ticket_point(change: TicketChange, ticket: Ticket) -> Sample:
    """One ticket change as a ``ticket`` point (Grafana annotations and the tickets table)."""
    return Sample(
        m.TICKET,
        {
            m.TAG_TICKET: str(ticket.id), m.TAG_DEVICE: ticket.root.device, m.TAG_KIND: ticket.root.kind,
            m.TAG_PRIORITY: str(ticket.priority), m.TAG_REGION: ticket.region, m.TAG_SITE: ticket.site,
        },
        {
            m.F_STATUS_TEXT: status_at(change, ticket).value, m.F_SERVICES: len(ticket.services),
            m.F_SUBSCRIBERS: sum(s.subscribers for s in ticket.services),
            m.F_TEXT: f"{change.action} ({change.actor}): {ticket.title}",
            m.F_CHANGE: change.action, m.F_ACTOR: change.actor,
        },
        point_time(change),
    )  # fmt: skip


def contiguous(
    changes: Sequence[TicketChange], after_id: int, gap_since: float | None, now: float, grace_s: float
) -> tuple[list[TicketChange], float | None]:
    """The changes to handle now, and when the gap that stopped them was first seen (None: no gap).

    Audit ids are handed out before commit: on PostgreSQL a row with a lower id can become visible after
    a higher one. A hole in the ids is waited for ``grace_s`` (the slower transaction commits, or it rolled
    back and the hole stays) before it is skipped, so a late row is not jumped over.
    """
    out: list[TicketChange] = []
    expected = after_id + 1
    for c in changes:
        if c.id != expected:
            if gap_since is None:
                return out, now
            if now - gap_since < grace_s:
                return out, gap_since
            log.info("audit ids %d..%d never appeared; going on", expected, c.id - 1)
            gap_since = None
        out.append(c)
        expected = c.id + 1
    return out, None


# --- the readers ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DispatchStats:
    notices_sent: int = 0
    notices_failed: int = 0
    notices_stale: int = 0
    points_written: int = 0
    escalations: int = 0


@dataclass(slots=True)
class _Counters:
    stats: DispatchStats = DispatchStats()

    def add(self, **delta: int) -> None:
        s = self.stats
        self.stats = replace(s, **{k: getattr(s, k) + v for k, v in delta.items()})


class NoticeReader:
    """Sends the notice a change deserves to every channel that wants it (cursor ``notify``).

    A delivery that fails after the channel's own retries is logged and counted, and the reader goes on
    (holding the trail for a dead webhook would hold every other notice, e-mail too). A delivery cut short
    because the process is stopping (``halt`` interrupts the retry waits) is not recorded: the next start
    sends it again.
    """

    cursor = NOTIFY_CURSOR
    per_change = True

    def __init__(
        self,
        notifier: Notifier,
        clock: Clock,
        counters: _Counters,
        halt: threading.Event,
        max_age: timedelta = timedelta(hours=24),
    ) -> None:
        self._notifier = notifier
        self._clock = clock
        self._counters = counters
        self._halt = halt
        self._max_age = max_age

    async def handle(self, change: TicketChange, ticket: Ticket | None) -> bool:
        event = notice_for(change)
        if event is None or ticket is None or not self._notifier.wants(event):
            return True
        now = self._clock()
        if now - change.time > self._max_age:
            log.warning("ticket %d: %s of %s is older than %s; no notice", ticket.id, change.action,
                        change.time.isoformat(), self._max_age)  # fmt: skip
            self._counters.add(notices_stale=1)
            return True
        escalation = escalation_from(ticket, change.detail) if change.action == ESCALATED else None
        deliveries = await asyncio.to_thread(self._notifier.notify, event, ticket, now, escalation, change.id)
        failed = [d for d in deliveries if not d.ok]
        if failed and self._halt.is_set():
            log.warning("ticket %d: %s notice interrupted by the stop; sent again on the next start", ticket.id, event)
            return False
        for d in failed:
            log.error("ticket %d: %s notice on %s failed after %d attempts: %s", ticket.id, event, d.channel,
                      d.attempts, d.error)  # fmt: skip
        for d in deliveries:
            if d.ok:
                log.info("ticket %d: %s notice delivered on %s (%s)", ticket.id, event, d.channel, d.delivery_id)
        self._counters.add(notices_sent=len(deliveries) - len(failed), notices_failed=len(failed))
        return True


class GrafanaReader:
    """Writes every ticket change, whoever made it, as a ``ticket`` point to the sink (cursor ``grafana``)."""

    cursor = GRAFANA_CURSOR
    per_change = False

    def __init__(self, sink: Sink, counters: _Counters) -> None:
        self._sink = sink
        self._counters = counters

    async def handle(self, change: TicketChange, ticket: Ticket | None) -> bool:
        if ticket is not None:
            await self._sink.write([ticket_point(change, ticket)])
            self._counters.add(points_written=1)
        return True


# --- the dispatcher -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    poll_s: float = 1.0
    """How often the audit trail is read when there is nothing to do."""
    batch: int = 500
    gap_grace_s: float = 5.0
    escalate_every_s: float = 60.0
    max_age: timedelta = timedelta(hours=24)
    """Changes older than this get no notice (e.g. after a long stop): stale news is noise."""


@dataclass(slots=True)
class _ReaderState:
    reader: Reader
    gap_since: float | None = None


class Dispatcher:
    """Reads the audit trail for its readers and records escalations; :meth:`run` until stopped."""

    def __init__(
        self,
        store: AuditTrail,
        *,
        clock: Clock,
        sink: Sink | None = None,
        notifier: Notifier | None = None,
        escalations: EscalationStore | None = None,
        site_class: Callable[[str], str | None] = lambda site: None,
        notify_settings: NotifySettings | None = None,
        settings: DispatchSettings = DispatchSettings(),
        halt: threading.Event | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._monotonic = monotonic
        self._counters = _Counters()
        self.halt = halt or threading.Event()
        """Set when stopping: the notifier's retry waits (``sleep=halt.wait``) end at once."""
        self._escalations = escalations
        self._site_class = site_class
        self._notify_settings = notify_settings or NotifySettings()
        readers: list[Reader] = []
        if notifier is not None:
            readers.append(NoticeReader(notifier, clock, self._counters, self.halt, settings.max_age))
        if sink is not None:
            readers.append(GrafanaReader(sink, self._counters))
        self._readers = [_ReaderState(r) for r in readers]

    @property
    def stats(self) -> DispatchStats:
        return self._counters.stats

    def reader(self, cursor: str) -> Reader:
        return next(r.reader for r in self._readers if r.reader.cursor == cursor)

    async def pump(self, cursor: str) -> int:
        """Handle one batch of changes for the reader ``cursor``; the number handled."""
        st = next(r for r in self._readers if r.reader.cursor == cursor)
        reader = st.reader
        after = await asyncio.to_thread(self._store.cursor, cursor)
        changes = await asyncio.to_thread(self._store.changes_since, after, self._settings.batch)
        ready, st.gap_since = contiguous(changes, after, st.gap_since, self._monotonic(), self._settings.gap_grace_s)
        done = 0
        last = after
        for c in ready:
            ticket = await asyncio.to_thread(self._store.get, c.ticket_id)
            if not await reader.handle(c, ticket):
                break
            last, done = c.id, done + 1
            if reader.per_change:
                await asyncio.to_thread(self._store.set_cursor, cursor, c.id)
        if not reader.per_change and last != after:
            await asyncio.to_thread(self._store.set_cursor, cursor, last)
        return done

    async def escalate(self) -> int:
        """Record every escalation due now (their notices follow from the audit trail); how many."""
        store = self._escalations
        if store is None:
            return 0
        tickets = await asyncio.to_thread(store.list_active)
        due = await asyncio.to_thread(
            mark_escalations, tickets, store, self._site_class, self._notify_settings, self._clock()
        )
        for e in due:
            log.warning("ticket %d %s: %.0f %% of its %s repair limit used (deadline %s)", e.ticket.id, e.kind,
                        e.elapsed_pct, e.site_class, e.deadline.isoformat())  # fmt: skip
        self._counters.add(escalations=len(due))
        return len(due)

    async def run(self, stop: asyncio.Event) -> None:
        """Every reader's loop and the escalation check, until ``stop`` is set; a change in flight is
        finished (or left for the next start) before this returns."""
        loops = [self._loop(r.reader.cursor, stop) for r in self._readers]
        if self._escalations is not None:
            loops.append(self._escalation_loop(stop))
        halter = asyncio.create_task(self._halt_on(stop))
        try:
            await asyncio.gather(*loops)
        finally:
            halter.cancel()

    async def _halt_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.halt.set()

    async def _loop(self, cursor: str, stop: asyncio.Event) -> None:
        while True:
            stopping = stop.is_set()  # one last round after the stop: the last changes are handled
            try:
                done = await self.pump(cursor)
            except Exception:
                log.exception("dispatch %s failed; retrying", cursor)
                done = 0
            if stopping:
                return
            if done < self._settings.batch:
                await _wait(stop, self._settings.poll_s)

    async def _escalation_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.escalate()
            except Exception:
                log.exception("escalation check failed; the next one retries")
            await _wait(stop, self._settings.escalate_every_s)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


__all__ = [
    "GRAFANA_CURSOR",
    "NOTIFY_CURSOR",
    "AuditTrail",
    "DispatchSettings",
    "DispatchStats",
    "Dispatcher",
    "EscalationStore",
    "GrafanaReader",
    "NoticeReader",
    "Reader",
    "contiguous",
    "notice_for",
    "point_time",
    "status_after",
    "status_at",
    "ticket_point",
]
