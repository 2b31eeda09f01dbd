"""The alarm pipeline's shell: detection → engine → actions carried out → state saved.

Everything with a decision in it is pure (:mod:`alarms.detect`, :mod:`alarms.engine`); this module only
feeds them, in order, one input at a time, and carries out their actions through the ports: the ticket
store and the sink (alarm changes as points, for Grafana).

Notifications and the tickets' Grafana points are not sent from here: every ticket change is an audit row,
and :mod:`alarms.dispatch` reads the trail in its own task, outside this lock.

Crash safety: the actions of an input are carried out, and its alarm points written to the sink (which
spools them to disk before it returns), *before* the new state is saved. A crash in between repeats them
on restart — harmless, because the ticket store finds the open ticket by its dedup key (``open_or_get``)
and a repeated point is only a repeat — instead of losing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from alarms.correlate import Topology
from alarms.detect import DetectorState, detect
from alarms.engine import EngineSettings, EngineState, step
from alarms.maintenance import MaintenanceCalendar
from alarms.model import (
    ACTIVE_STATES,
    Action,
    Alarm,
    AttachSymptoms,
    Condition,
    MergeTicket,
    OpenTicket,
    RecordAlarm,
    RestoreTicket,
    Tick,
)
from alarms.state_store import Snapshot, StateStore
from alarms.tickets.assign import assign_team, required_skills
from alarms.tickets.store import SqlTicketStore
from collectors import measurements as m
from collectors.model import Clock, DeviceEvent, PollResult, Sample, Sink
from config.alarms import Rules
from config.models import Inventory

log = logging.getLogger("netqos.alarms")



@dataclass(frozen=True, slots=True)
class AlarmStats:
    inputs: int = 0
    conditions: int = 0
    tickets_opened: int = 0
    symptoms_attached: int = 0
    tickets_restored: int = 0
    alarm_changes: int = 0
    tickets_merged: int = 0
    """Duplicate tickets closed by a merge (their alarms moved to the ticket of the root that explains them)."""


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
        snap = state_store.load()
        self._engine = snap.engine if snap else EngineState()
        self._detector = snap.detector if snap else DetectorState()
        self._lock = asyncio.Lock()
        self._seq = 0
        self._stats = AlarmStats()
        self._roles = {d.name: d.role.value for d in inventory.devices}

    @property
    def stats(self) -> AlarmStats:
        return self._stats

    def active_alarms(self) -> tuple[Alarm, ...]:
        return tuple(a for a in self._engine.alarms() if a.state in ACTIVE_STATES)

    # --- inputs ----------------------------------------------------------------------------------------

    async def on_result(self, result: PollResult) -> None:
        await self._feed(result)

    async def on_event(self, event: DeviceEvent) -> None:
        await self._feed(event)

    async def tick(self) -> None:
        await self._feed(None)

    async def run_ticks(self, every_s: float, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set (hold-down and grouping windows expire on ticks). Stopping lets a tick
        in flight finish (its writes reach the sink before the sink closes)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
                break
            try:
                await self.tick()
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
                points = self._samples(actions, now)
                if points:  # spooled before the state is saved: a crash repeats a point, never loses one
                    await self._sink.write(points)
            changed = engine is not self._engine or detector is not self._detector
            self._engine, self._detector = engine, detector
            if changed:
                await asyncio.to_thread(self._state_store.save, Snapshot(engine, detector))
            s = self._stats
            self._stats = replace(s, inputs=s.inputs + (item is not None), conditions=s.conditions + len(conditions))

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
            elif isinstance(a, AttachSymptoms):
                ticket_or_none = self._tickets.attach(a.root, [s.key for s in a.symptoms], a.impact, now)
                self._count(symptoms_attached=len(a.symptoms))
                if ticket_or_none is None:
                    log.info("symptoms of %s: no open ticket to attach them to", a.root)
            elif isinstance(a, MergeTicket):
                self._merge(a, now)
            elif isinstance(a, RestoreTicket):
                restored = self._tickets.restore(a.root, a.restored_at)
                if restored is not None:
                    self._count(tickets_restored=1)
                    log.warning("ticket %d: service restored at %s (root %s cleared)", restored.id,
                                a.restored_at.isoformat(), a.root)  # fmt: skip
            elif isinstance(a, RecordAlarm):
                self._count(alarm_changes=1)
                log.info("alarm %s %s (root %s)", a.alarm.key, a.change, a.alarm.root)
                if a.change == "cleared":  # a symptom on a ticket: the ticket shows it cleared (else no-op)
                    self._tickets.mark_cleared(str(a.alarm.key), a.alarm.cleared_at or now)

    def _merge(self, a: MergeTicket, now: datetime) -> None:
        """``a.from_root``'s ticket is a duplicate: the store closes it (cause ``duplicate``) and moves its
        alarms and services to ``a.into_root``'s ticket in one transaction; then the action's symptoms and
        recomputed impact are attached as for any :class:`AttachSymptoms`. Both steps repeat harmlessly (a
        crash before the state is saved carries the action out again)."""
        survivor = self._tickets.merge_duplicate(a.from_root, a.into_root, now)
        into = self._tickets.attach(a.into_root, [s.key for s in a.symptoms], a.impact, now)
        if survivor is None:
            log.info("device=%s: merge of %s into %s: no duplicate ticket to close (already merged, or %s has "
                     "no ticket); ticket %s", a.from_root.device, a.from_root, a.into_root, a.into_root,
                     into.id if into else None)  # fmt: skip
            return
        self._count(tickets_merged=1, symptoms_attached=len(a.symptoms))
        log.warning("device=%s: the ticket of %s merged into ticket %d (root %s on %s): closed as a duplicate",
                    a.from_root.device, a.from_root, survivor.id, a.into_root, a.into_root.device)  # fmt: skip

    def _count(self, **delta: int) -> None:
        s = self._stats
        self._stats = replace(s, **{k: getattr(s, k) + v for k, v in delta.items()})

    # --- the Grafana feed ---------------------------------------------------------------------------------

    def _time(self, now: datetime) -> datetime:
        """Distinct times for points written in one step (same series + same time would overwrite)."""
        self._seq = (self._seq + 1) % 1000
        return now + timedelta(microseconds=self._seq)

    def _samples(self, actions: Sequence[Action], now: datetime) -> list[Sample]:
        return [
            alarm_sample(a, self._topo_tags(a.alarm.key.device), self._time(now))
            for a in actions
            if isinstance(a, RecordAlarm)
        ]

    def _topo_tags(self, device: str) -> dict[str, str]:
        tags = {
            m.TAG_SITE: self._topo.site.get(device, ""),
            m.TAG_REGION: self._topo.region.get(device, ""),
            m.TAG_ROLE: self._roles.get(device, ""),
        }
        return {k: v for k, v in tags.items() if v}


def alarm_text(a: Alarm) -> str:
    """The alarm point's ``text``: the alarm's text, and why it went away when detection said so
    (``"Gi0/0/1 down; clear reason: admin-down"``)."""
    reason = f"clear reason: {a.clear_reason}" if a.clear_reason else ""
    return "; ".join(x for x in (a.text, reason) if x)


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
            m.F_ACTIVE: int(a.state in ACTIVE_STATES), m.F_CHANGE: record.change,
            m.F_ROOT: str(a.root) if a.root else "", m.F_MAINTENANCE: int(a.maintenance),
            m.F_OCCURRENCES: a.occurrences, m.F_TEXT: alarm_text(a),
        },
        at,
    )  # fmt: skip
