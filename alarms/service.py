"""The alarm pipeline's shell: detection → engine → actions carried out → state saved.

Everything with a decision in it is pure (:mod:`alarms.detect`, :mod:`alarms.engine`); this module only
feeds them, in order, one input at a time, and carries out their actions through the ports: the ticket
store, the notifier and the sink (alarm and ticket changes as points, for Grafana).

Crash safety: the actions of an input are carried out *before* the new state is saved. A crash in between
repeats them on restart — harmless, because the ticket store finds the open ticket by its dedup key
(``open_or_get``) and notifications carry a stable delivery id — instead of losing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from alarms.correlate import Topology
from alarms.detect import DetectorState, detect
from alarms.engine import EngineSettings, EngineState, step
from alarms.maintenance import MaintenanceCalendar
from alarms.model import (
    Action,
    Alarm,
    AlarmState,
    AttachSymptoms,
    Condition,
    OpenTicket,
    RecordAlarm,
    RestoreTicket,
    Tick,
    Ticket,
)
from alarms.notify.events import TicketEvent
from alarms.notify.notifier import Notifier
from alarms.state_store import Snapshot, StateStore
from alarms.tickets.assign import assign_team, required_skills
from alarms.tickets.store import SqlTicketStore
from collectors import measurements as m
from collectors.model import Clock, DeviceEvent, PollResult, Sample, Sink
from config.alarms import Rules
from config.models import Inventory
from config.tickets import NotifySettings

log = logging.getLogger("netqos.alarms")

_ACTIVE = (AlarmState.RAISED, AlarmState.CLEARING)


@dataclass(frozen=True, slots=True)
class AlarmStats:
    inputs: int = 0
    conditions: int = 0
    tickets_opened: int = 0
    symptoms_attached: int = 0
    tickets_restored: int = 0
    alarm_changes: int = 0


class AlarmService:
    """Feeds PollResults, DeviceEvents and ticks through detection and the engine, one at a time."""

    def __init__(
        self,
        *,
        inventory: Inventory,
        rules: Rules,
        settings: EngineSettings,
        topology: Topology,
        calendar: MaintenanceCalendar,
        tickets: SqlTicketStore,
        state_store: StateStore,
        sink: Sink,
        clock: Clock,
        notifier: Notifier | None = None,
        notify_settings: NotifySettings | None = None,
    ) -> None:
        self._inv = inventory
        self._rules = rules
        self._settings = settings
        self._topo = topology
        self._calendar = calendar
        self._tickets = tickets
        self._state_store = state_store
        self._sink = sink
        self._clock = clock
        self._notifier = notifier
        self._notify_settings = notify_settings or NotifySettings()
        snap = state_store.load()
        self._engine = snap.engine if snap else EngineState()
        self._detector = snap.detector if snap else DetectorState()
        self._lock = asyncio.Lock()
        self._seq = 0
        self._stats = AlarmStats()
        self._roles = {d.name: d.role.value for d in inventory.devices}
        self._site_class = {s.name: s.site_class.value for s in inventory.sites}

    @property
    def stats(self) -> AlarmStats:
        return self._stats

    def active_alarms(self) -> tuple[Alarm, ...]:
        return tuple(a for a in self._engine.alarms() if a.state in _ACTIVE)

    # --- inputs ----------------------------------------------------------------------------------------

    async def on_result(self, result: PollResult) -> None:
        await self._feed(result)

    async def on_event(self, event: DeviceEvent) -> None:
        await self._feed(event)

    async def tick(self) -> None:
        await self._feed(None)

    async def run_ticks(self, every_s: float, stop: asyncio.Event, escalate_every_s: float = 60.0) -> None:
        """Tick until ``stop`` is set (hold-down and grouping windows expire on ticks); escalate now and then.
        Stopping lets a tick in flight finish (its writes reach the sink before the sink closes)."""
        last_escalation = self._clock() - timedelta(seconds=escalate_every_s)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
                break
            try:
                await self.tick()
                now = self._clock()
                if self._notifier is not None and (now - last_escalation).total_seconds() >= escalate_every_s:
                    last_escalation = now
                    await asyncio.to_thread(self._escalate, now)
            except Exception:
                log.exception("alarm tick failed; the next tick retries")

    async def _feed(self, item: PollResult | DeviceEvent | None) -> None:
        async with self._lock:
            now = self._clock()
            detector, engine = self._detector, self._engine
            conditions: tuple[Condition, ...] = ()
            if item is not None:
                detector, conditions = detect(detector, item, self._rules, self._topo, now)
            actions: list[Action] = []
            for c in conditions:
                engine, acts = step(engine, c, self._topo, now, settings=self._settings, maintenance=self._calendar)
                actions.extend(acts)
            engine, acts = step(engine, Tick(now), self._topo, now, settings=self._settings, maintenance=self._calendar)
            actions.extend(acts)
            if actions:
                await asyncio.to_thread(self._carry_out, actions, now)
            changed = engine is not self._engine or detector is not self._detector
            self._engine, self._detector = engine, detector
            if changed:
                await asyncio.to_thread(self._state_store.save, Snapshot(engine, detector))
            s = self._stats
            self._stats = AlarmStats(
                s.inputs + (item is not None), s.conditions + len(conditions), s.tickets_opened,
                s.symptoms_attached, s.tickets_restored, s.alarm_changes,
            )  # fmt: skip
            if actions:
                await self._sink.write(self._samples(actions, now))

    # --- carrying out actions (in a worker thread: database and network I/O) ------------------------------

    def _carry_out(self, actions: Sequence[Action], now: datetime) -> None:
        for a in actions:
            if isinstance(a, OpenTicket):
                role = self._roles.get(a.root.key.device)
                team = assign_team(self._inv.teams, a.region, required_skills(a.root.key, role))
                ticket, created = self._tickets.open_or_get(a, team, now)
                if created:
                    self._count(tickets_opened=1)
                    log.warning(
                        "ticket %d opened: root %s, %d symptoms, %d services, priority %d, team %s",
                        ticket.id, a.root.key, len(a.symptoms), len(a.impact.services), ticket.priority, team,
                    )  # fmt: skip
                    self._notify(TicketEvent.OPENED, ticket, now)
            elif isinstance(a, AttachSymptoms):
                ticket_or_none = self._tickets.attach(a.root, [s.key for s in a.symptoms], a.impact, now)
                self._count(symptoms_attached=len(a.symptoms))
                if ticket_or_none is None:
                    log.info("symptoms of %s: no open ticket to attach them to", a.root)
            elif isinstance(a, RestoreTicket):
                restored = self._tickets.restore(a.root, a.restored_at)
                if restored is not None:
                    self._count(tickets_restored=1)
                    log.warning("ticket %d: service restored at %s (root %s cleared)", restored.id,
                                a.restored_at.isoformat(), a.root)
                    self._notify(TicketEvent.RESOLVED, restored, now)
            elif isinstance(a, RecordAlarm):
                self._count(alarm_changes=1)
                log.info("alarm %s %s (root %s)", a.alarm.key, a.change, a.alarm.root)

    def _notify(self, event: TicketEvent, ticket: Ticket, now: datetime) -> None:
        if self._notifier is None:
            return
        for d in self._notifier.notify(event, ticket, now):
            if not d.ok:
                log.error("ticket %d: %s notification on %s failed: %s", ticket.id, event, d.channel, d.error)

    def _escalate(self, now: datetime) -> None:
        if self._notifier is None:
            return
        open_tickets = self._tickets.list(limit=1000)
        due = self._notifier.escalate(open_tickets, self._tickets, self._site_class.get, self._notify_settings, now)
        for e in due:
            log.warning("ticket %d escalated: %.0f %% of its repair limit used", e.ticket.id, e.elapsed_pct)

    def _count(self, **delta: int) -> None:
        s = self._stats
        self._stats = AlarmStats(
            s.inputs, s.conditions,
            s.tickets_opened + delta.get("tickets_opened", 0),
            s.symptoms_attached + delta.get("symptoms_attached", 0),
            s.tickets_restored + delta.get("tickets_restored", 0),
            s.alarm_changes + delta.get("alarm_changes", 0),
        )  # fmt: skip

    # --- the Grafana feed ---------------------------------------------------------------------------------

    def _time(self, now: datetime) -> datetime:
        """Distinct times for points written in one step (same series + same time would overwrite)."""
        self._seq = (self._seq + 1) % 1000
        return now + timedelta(microseconds=self._seq)

    def _samples(self, actions: Sequence[Action], now: datetime) -> list[Sample]:
        out: list[Sample] = []
        for a in actions:
            if isinstance(a, RecordAlarm):
                out.append(alarm_sample(a, self._topo_tags(a.alarm.key.device), self._time(now)))
            elif isinstance(a, OpenTicket | RestoreTicket):
                root = a.root.key if isinstance(a, OpenTicket) else a.root
                t = self._tickets.find_open(str(root))
                if t is not None:
                    out.append(ticket_sample(t, self._time(now)))
        return out

    def _topo_tags(self, device: str) -> dict[str, str]:
        tags = {
            m.TAG_SITE: self._topo.site.get(device, ""),
            m.TAG_REGION: self._topo.region.get(device, ""),
            m.TAG_ROLE: self._roles.get(device, ""),
        }
        return {k: v for k, v in tags.items() if v}


def alarm_sample(record: RecordAlarm, tags: dict[str, str], at: datetime) -> Sample:
    """One alarm state change as an ``alarm`` point (active-alarms table and annotations in Grafana)."""
    a = record.alarm
    return Sample(
        m.ALARM,
        {
            m.TAG_DEVICE: a.key.device, m.TAG_KIND: a.key.kind, m.TAG_RESOURCE: a.key.resource,
            m.TAG_SEVERITY: a.severity.value, **tags,
        },
        {
            m.F_ACTIVE: int(a.state in _ACTIVE), m.F_CHANGE: record.change,
            m.F_ROOT: str(a.root) if a.root else "", m.F_MAINTENANCE: int(a.maintenance),
            m.F_OCCURRENCES: a.occurrences, m.F_TEXT: a.text,
        },
        at,
    )  # fmt: skip


def ticket_sample(t: Ticket, at: datetime) -> Sample:
    """A ticket's state as a ``ticket`` point."""
    return Sample(
        m.TICKET,
        {
            m.TAG_TICKET: str(t.id), m.TAG_DEVICE: t.root.device, m.TAG_KIND: t.root.kind,
            m.TAG_PRIORITY: str(t.priority), m.TAG_REGION: t.region, m.TAG_SITE: t.site,
        },
        {
            m.F_STATUS_TEXT: t.status.value, m.F_SERVICES: len(t.services),
            m.F_SUBSCRIBERS: sum(s.subscribers for s in t.services), m.F_TEXT: t.title,
        },
        at,
    )  # fmt: skip

