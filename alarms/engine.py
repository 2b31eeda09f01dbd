"""The alarm engine (pure): ``step(state, input, topology, now, settings=..., maintenance=...) → (state, actions)``.

Life of an alarm (one per :class:`AlarmKey`):

- an active :class:`Condition` makes it PENDING; after its hold-down (``Condition.hold_s``) it is RAISED
  (``RecordAlarm "raised"``, or ``"updated"`` when it comes back within the occurrence window);
  an inactive one while PENDING drops it silently;
- an inactive Condition makes a RAISED alarm CLEARING; after the clear hold-down it is CLEARED
  (``RecordAlarm "cleared"``, ``RestoreTicket`` if it had a ticket); an active one meanwhile returns it to
  RAISED with nothing recorded;
- repeated active Conditions on a RAISED alarm only move ``last_seen``. ``occurrences`` counts raises: a
  CLEARED alarm raised again within ``occurrence_window_s`` is the same alarm, ``occurrences + 1``; after
  that window the cleared alarm is forgotten and a new one starts at 1;
- flapping: ``flap_transitions`` up/down changes of a flap-kind key (``interface_down``) within
  ``flap_window_s`` raise one ``interface_flapping`` alarm at once (a pending port-down is dropped, a raised
  one cleared); while it stands, that port's Conditions are absorbed; it clears after ``flap_quiet_s``
  without a change, and a port still down then starts a fresh hold-down;
- correlation: a RAISED alarm waits ``group_window_s`` (``settle_at``); on expiry its root is computed
  (:func:`alarms.correlate.top_root`) — waiting longer while an alarm on the way is still PENDING. A symptom
  gets ``root`` set (``RecordAlarm "correlated"``) and, when its root already has a ticket,
  ``AttachSymptoms``; a root opens a ticket (``OpenTicket``, with every symptom pointing at it and the
  impact) unless it is in maintenance or of a severity that opens no ticket. A root that clears before its
  window expires opens nothing. When a root clears, its symptoms still raised are detached and settle again
  after a fresh group window (their own ticket if they are still down then);
- maintenance: an alarm raised on a device in a maintenance window, and every symptom of such a root, is
  marked ``maintenance=True`` and opens no ticket.

Every input also advances time (hold-downs, windows) to ``now``; a :class:`Tick` only does that.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from alarms.correlate import DEFER, Topology, top_root
from alarms.impact import impact
from alarms.maintenance import MaintenanceCalendar
from alarms.model import (
    Action,
    Alarm,
    AlarmKey,
    AlarmState,
    AttachSymptoms,
    Condition,
    EngineInput,
    Kind,
    OpenTicket,
    RecordAlarm,
    RestoreTicket,
    Severity,
)
from config.alarms import AlarmsConfig, Priority

log = logging.getLogger(__name__)

_DOWN = (AlarmState.PENDING, AlarmState.RAISED, AlarmState.CLEARING)
_UP = (AlarmState.RAISED, AlarmState.CLEARING)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    group_window_s: float = 90.0
    occurrence_window_s: float = 3600.0
    default_hold_s: float = 0.0
    default_clear_hold_s: float = 0.0
    flap_enabled: bool = True
    flap_kinds: frozenset[str] = frozenset({Kind.INTERFACE_DOWN.value})
    flap_transitions: int = 4
    flap_window_s: float = 600.0
    flap_quiet_s: float = 900.0
    flap_severity: Severity = Severity.MAJOR
    ticket_severities: frozenset[Severity] = frozenset({Severity.CRITICAL, Severity.MAJOR})
    priority: Priority = field(default_factory=Priority)

    @classmethod
    def from_config(cls, cfg: AlarmsConfig, poll_interval_s: float) -> EngineSettings:
        """``poll_interval_s``: the longest job interval (netqos.yaml), for an ``auto`` group window."""
        f = cfg.rules.flap
        return cls(
            group_window_s=cfg.group_window(poll_interval_s),
            occurrence_window_s=cfg.occurrence_window_s,
            flap_enabled=f.enabled,
            flap_transitions=f.transitions,
            flap_window_s=f.window_s,
            flap_quiet_s=f.quiet_s,
            flap_severity=Severity(f.severity),
            ticket_severities=frozenset(Severity(s) for s in cfg.ticket_severities),
            priority=cfg.priority,
        )


@dataclass(frozen=True, slots=True)
class Track:
    """The engine's bookkeeping around one alarm."""

    alarm: Alarm
    since: datetime
    """When the current PENDING or CLEARING state began."""
    hold_s: float
    clear_hold_s: float
    settle_at: datetime | None = None
    settled: bool = False
    ticketed: bool = False
    """This alarm is the root of a ticket that has not been restored."""


@dataclass(frozen=True, slots=True)
class Flap:
    """Up/down changes of one flap-kind key (e.g. a port)."""

    active: bool
    changes: tuple[datetime, ...] = ()
    hold_s: float = 0.0
    clear_hold_s: float = 0.0
    severity: Severity = Severity.MAJOR


@dataclass(frozen=True, slots=True)
class EngineState:
    tracks: Mapping[AlarmKey, Track] = field(default_factory=dict)
    flaps: Mapping[AlarmKey, Flap] = field(default_factory=dict)
    next_due: datetime | None = None
    """The earliest time a timer may fire (None: look at every track on the next step)."""

    def alarms(self) -> tuple[Alarm, ...]:
        return tuple(t.alarm for _, t in sorted(self.tracks.items()))

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": 1,
                "tracks": [_track_doc(t) for _, t in sorted(self.tracks.items())],
                "flaps": [_flap_doc(k, f) for k, f in sorted(self.flaps.items())],
                "next_due": _t(self.next_due),
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> EngineState:
        doc = json.loads(text)
        if doc.get("version") != 1:
            raise ValueError(f"unknown engine state version {doc.get('version')!r}")
        tracks = [_track_from(d) for d in doc["tracks"]]
        flaps = dict(_flap_from(d) for d in doc["flaps"])
        return cls({t.alarm.key: t for t in tracks}, flaps, _pt(doc.get("next_due")))


# --- JSON ---------------------------------------------------------------------------------------------------


def _t(v: datetime | None) -> str | None:
    return None if v is None else v.isoformat()


def _pt(v: Any) -> datetime | None:
    return None if v is None else datetime.fromisoformat(str(v))


def _alarm_doc(a: Alarm) -> dict[str, Any]:
    return {
        "key": str(a.key), "severity": a.severity.value, "state": a.state.value,
        "first_seen": _t(a.first_seen), "last_seen": _t(a.last_seen), "occurrences": a.occurrences,
        "raised_at": _t(a.raised_at), "cleared_at": _t(a.cleared_at), "text": a.text,
        "root": None if a.root is None else str(a.root), "maintenance": a.maintenance,
    }


def _alarm_from(d: Mapping[str, Any]) -> Alarm:
    first, last = _pt(d["first_seen"]), _pt(d["last_seen"])
    assert first is not None and last is not None
    return Alarm(
        AlarmKey.parse(d["key"]), Severity(d["severity"]), AlarmState(d["state"]), first, last,
        int(d["occurrences"]), _pt(d["raised_at"]), _pt(d["cleared_at"]), str(d["text"]),
        None if d["root"] is None else AlarmKey.parse(d["root"]), bool(d["maintenance"]),
    )


def _track_doc(t: Track) -> dict[str, Any]:
    return {
        "alarm": _alarm_doc(t.alarm), "since": _t(t.since), "hold_s": t.hold_s, "clear_hold_s": t.clear_hold_s,
        "settle_at": _t(t.settle_at), "settled": t.settled, "ticketed": t.ticketed,
    }


def _track_from(d: Mapping[str, Any]) -> Track:
    since = _pt(d["since"])
    assert since is not None
    return Track(
        _alarm_from(d["alarm"]), since, float(d["hold_s"]), float(d["clear_hold_s"]),
        _pt(d["settle_at"]), bool(d["settled"]), bool(d["ticketed"]),
    )


def _flap_doc(k: AlarmKey, f: Flap) -> dict[str, Any]:
    return {
        "key": str(k), "active": f.active, "changes": [c.isoformat() for c in f.changes],
        "hold_s": f.hold_s, "clear_hold_s": f.clear_hold_s, "severity": f.severity.value,
    }


def _flap_from(d: Mapping[str, Any]) -> tuple[AlarmKey, Flap]:
    changes = tuple(datetime.fromisoformat(c) for c in d["changes"])
    flap = Flap(bool(d["active"]), changes, float(d["hold_s"]), float(d["clear_hold_s"]), Severity(d["severity"]))
    return AlarmKey.parse(d["key"]), flap


# --- the step -----------------------------------------------------------------------------------------------


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


class _Work:
    """One step's working copy of the state and the actions it produced (local to :func:`step`)."""

    def __init__(
        self,
        state: EngineState,
        topo: Topology,
        now: datetime,
        settings: EngineSettings,
        cal: MaintenanceCalendar,
    ) -> None:
        self.tracks = dict(state.tracks)
        self.flaps = dict(state.flaps)
        self.topo, self.now, self.cfg, self.cal = topo, now, settings, cal
        self.actions: list[Action] = []
        self.next_due = state.next_due
        self.base_due = state.next_due
        self.touched: set[AlarmKey] = set()
        self._by_root: dict[AlarmKey, set[AlarmKey]] | None = None

    def freeze(self) -> EngineState:
        return EngineState(self.tracks, self.flaps, self.next_due)

    def put(self, t: Track) -> None:
        """Store a track, keeping the root index and the next deadline up to date."""
        key = t.alarm.key
        old = self.tracks.get(key)
        self.tracks[key] = t
        self.touched.add(key)
        if self._by_root is not None:
            if old is not None and old.alarm.root is not None:
                self._by_root.get(old.alarm.root, set()).discard(key)
            if t.alarm.root is not None:
                self._by_root.setdefault(t.alarm.root, set()).add(key)
        due = _deadline(t, self.cfg)
        if due is not None and self.next_due is not None:
            self.next_due = min(self.next_due, due)

    def remove(self, key: AlarmKey) -> None:
        old = self.tracks.pop(key)
        self.touched.discard(key)
        if self._by_root is not None and old.alarm.root is not None:
            self._by_root.get(old.alarm.root, set()).discard(key)

    def pointing_at(self, root: AlarmKey) -> list[AlarmKey]:
        """Keys of alarms raised or clearing whose root is ``root``, sorted."""
        if self._by_root is None:
            self._by_root = {}
            for k, t in self.tracks.items():
                if t.alarm.root is not None:
                    self._by_root.setdefault(t.alarm.root, set()).add(k)
        return sorted(k for k in self._by_root.get(root, ()) if self.tracks[k].alarm.state in _UP)

    def record(self, t: Track, change: str) -> None:
        self.put(t)
        self.actions.append(RecordAlarm(t.alarm, change))

    # --- conditions ---

    def condition(self, c: Condition) -> None:
        if self.cfg.flap_enabled and c.key.kind in self.cfg.flap_kinds and self._flap(c):
            return
        self._apply(c)

    def _apply(self, c: Condition) -> None:
        key, now = c.key, self.now
        t = self.tracks.get(key)
        hold = self.cfg.default_hold_s if c.hold_s is None else c.hold_s
        if c.active:
            clear_hold = self.cfg.default_clear_hold_s if c.clear_hold_s is None else c.clear_hold_s
            if t is None:
                a = Alarm(key, c.severity, AlarmState.PENDING, c.time, c.time, text=c.text)
                self.put(Track(a, now, hold, clear_hold))
            elif t.alarm.state == AlarmState.CLEARED:
                a = replace(t.alarm, state=AlarmState.PENDING, last_seen=c.time, severity=c.severity, text=c.text)
                self.put(Track(a, now, hold, clear_hold))
            elif t.alarm.state == AlarmState.CLEARING:
                a = replace(t.alarm, state=AlarmState.RAISED, last_seen=c.time)
                self.put(replace(t, alarm=a, clear_hold_s=clear_hold))
            else:
                self.put(replace(t, alarm=replace(t.alarm, last_seen=c.time), clear_hold_s=clear_hold))
        elif t is not None:
            if t.alarm.state == AlarmState.PENDING:
                self._drop_pending(t)
            elif t.alarm.state == AlarmState.RAISED:
                clear_hold = t.clear_hold_s if c.clear_hold_s is None else c.clear_hold_s
                a = replace(t.alarm, state=AlarmState.CLEARING)
                self.put(replace(t, alarm=a, since=now, clear_hold_s=clear_hold))

    def _drop_pending(self, t: Track) -> None:
        if t.alarm.cleared_at is None:
            self.remove(t.alarm.key)
        else:
            self.put(replace(t, alarm=replace(t.alarm, state=AlarmState.CLEARED)))

    def _flap(self, c: Condition) -> bool:
        """Count the change; True when the condition is absorbed by a (new or standing) flapping alarm."""
        cfg, now = self.cfg, self.now
        f = self.flaps.get(c.key)
        hold = cfg.default_hold_s if c.hold_s is None else c.hold_s
        clear_hold = cfg.default_clear_hold_s if c.clear_hold_s is None else c.clear_hold_s
        changed = f is not None and f.active != c.active
        if f is None:
            if not c.active:
                return False
            f = Flap(True, (), hold, clear_hold, c.severity)
        elif changed:
            recent = tuple(x for x in f.changes if now - x < _s(cfg.flap_window_s))
            f = Flap(c.active, (*recent, now), f.hold_s, f.clear_hold_s, f.severity)
        if c.active:
            f = replace(f, hold_s=hold, clear_hold_s=clear_hold, severity=c.severity)
        self.flaps[c.key] = f
        fk = AlarmKey(c.key.device, Kind.INTERFACE_FLAPPING, c.key.resource)
        ft = self.tracks.get(fk)
        if ft is not None and ft.alarm.state in _UP:
            if changed:  # last_seen of a flapping alarm is its port's last change: the quiet time counts from it
                self.put(replace(ft, alarm=replace(ft.alarm, last_seen=c.time)))
            return True
        if len(f.changes) < cfg.flap_transitions:
            return False
        t = self.tracks.get(c.key)
        if t is not None and t.alarm.state == AlarmState.PENDING:
            self._drop_pending(t)
        elif t is not None and t.alarm.state in _UP:
            self._clear(replace(t, since=now), "superseded by flapping")
        text = f"{c.key.resource} changed state {len(f.changes)} times in {cfg.flap_window_s:g} s"
        if ft is None:
            a = Alarm(fk, cfg.flap_severity, AlarmState.PENDING, c.time, c.time, text=text)
            ft = Track(a, now, 0.0, 0.0)
        else:
            ft = replace(ft, alarm=replace(ft.alarm, last_seen=c.time, text=text))
        self._raise(ft, "flapping")
        return True

    # --- time ---

    def _raise(self, t: Track, change: str | None = None) -> None:
        a = t.alarm
        again = a.cleared_at is not None
        a = replace(
            a,
            state=AlarmState.RAISED,
            occurrences=a.occurrences + 1 if again else a.occurrences,
            raised_at=self.now,
            cleared_at=None,
            root=None,
            maintenance=self.cal.in_window(a.key.device, self.now),
        )
        settle = self.now + _s(self.cfg.group_window_s)
        self.record(replace(t, alarm=a, settle_at=settle, settled=False, ticketed=False),
                    change or ("updated" if again else "raised"))

    def _clear(self, t: Track, why: str = "") -> None:
        a = replace(t.alarm, state=AlarmState.CLEARED, cleared_at=t.since)
        self.record(replace(t, alarm=a, settle_at=None, settled=False, ticketed=False), "cleared")
        key = a.key
        if t.ticketed:
            self.actions.append(RestoreTicket(key, t.since))
        elif not t.settled and a.root is None and not a.maintenance:
            log.info("device=%s alarm=%s cleared within its group window: no ticket %s", key.device, key, why)
        settle = self.now + _s(self.cfg.group_window_s)
        for k2 in self.pointing_at(key):
            t2 = self.tracks[k2]
            own_maint = t2.alarm.raised_at is not None and self.cal.in_window(k2.device, t2.alarm.raised_at)
            a2 = replace(t2.alarm, root=None, maintenance=own_maint)
            self.put(replace(t2, alarm=a2, settle_at=settle, settled=False))

    def advance(self) -> None:
        """Fire the timers due at ``now``: every track's when a stored deadline is due, else only those of
        the tracks this step touched (the rest cannot be due before ``base_due``)."""
        now = self.now
        if self.next_due is not None and now < self.next_due:
            return
        partial = self.base_due is not None and now < self.base_due
        for key in sorted(self.touched if partial else self.tracks):
            t = self.tracks.get(key)
            if t is None:
                continue
            st = t.alarm.state
            if st == AlarmState.PENDING and t.since + _s(t.hold_s) <= now:
                self._raise(t)
            elif st == AlarmState.CLEARING and t.since + _s(t.clear_hold_s) <= now:
                self._clear(t)
            elif st == AlarmState.RAISED and key.kind == Kind.INTERFACE_FLAPPING:
                self._flap_quiet(t)
        if not partial:
            self._purge()
        self._settle(partial)
        if partial:
            assert self.base_due is not None
            dues = [d for d in (_deadline(self.tracks[k], self.cfg) for k in self.touched) if d is not None]
            self.next_due = min([self.base_due, *dues])
            return
        dues = [d for d in (_deadline(t, self.cfg) for t in self.tracks.values()) if d is not None]
        self.next_due = min(dues, default=None)
        if self.next_due is None:
            self.next_due = now + _s(max(self.cfg.occurrence_window_s, 1.0))

    def _flap_quiet(self, t: Track) -> None:
        key = t.alarm.key
        port = AlarmKey(key.device, Kind.INTERFACE_DOWN, key.resource)
        f = self.flaps.get(port)
        if t.alarm.last_seen + _s(self.cfg.flap_quiet_s) > self.now:
            return
        self._clear(replace(t, since=self.now))
        if f is not None:
            self.flaps[port] = replace(f, changes=())
            if f.active:
                pt = self.tracks.get(port)
                a = Alarm(port, f.severity, AlarmState.PENDING, self.now, self.now, text=f"{key.resource} down")
                if pt is not None:
                    a = replace(pt.alarm, state=AlarmState.PENDING, last_seen=self.now)
                self.put(Track(a, self.now, f.hold_s, f.clear_hold_s))

    def _purge(self) -> None:
        keep = _s(self.cfg.occurrence_window_s)
        for key, t in list(self.tracks.items()):
            a = t.alarm
            if a.state == AlarmState.CLEARED and a.cleared_at is not None and a.cleared_at + keep <= self.now:
                self.remove(key)
        window = _s(self.cfg.flap_window_s)
        for key, f in list(self.flaps.items()):
            recent = tuple(x for x in f.changes if self.now - x < window)
            fk = AlarmKey(key.device, Kind.INTERFACE_FLAPPING, key.resource)
            flapping = fk in self.tracks and self.tracks[fk].alarm.state in _UP
            if not recent and not f.active and not flapping:
                del self.flaps[key]
            elif recent != f.changes and not flapping:
                self.flaps[key] = replace(f, changes=recent)

    # --- correlation ---

    def _settle(self, partial: bool) -> None:
        now = self.now
        candidates = ((k, self.tracks[k]) for k in self.touched) if partial else self.tracks.items()
        due = sorted(
            (t.settle_at, k)
            for k, t in candidates
            if t.alarm.state in _UP and not t.settled and t.settle_at is not None and t.settle_at <= now
        )
        if not due:
            return
        down = {k: t for k, t in self.tracks.items() if t.alarm.state in _DOWN}
        pending = {k: True for k, t in down.items() if t.alarm.state == AlarmState.PENDING}
        settled: dict[AlarmKey, AlarmKey | None] = {k: t.alarm.root for k, t in down.items() if t.settled}
        new_roots: list[AlarmKey] = []
        attach: dict[AlarmKey, list[AlarmKey]] = {}
        for _, key in due:
            root = top_root(key, down, self.topo, is_pending=pending, settled_root=settled)
            if root == DEFER:
                continue
            t = self.tracks[key]
            if root == key:
                settled[key] = None
                self.put(replace(t, settled=True))
                new_roots.append(key)
                continue
            self._join(key, root, settled, attach)
        # alarms not yet due whose root opens now join it at once (one ticket with all its symptoms)
        for key in sorted(k for k, t in self.tracks.items() if t.alarm.state in _UP and not t.settled):
            root = top_root(key, down, self.topo, is_pending=pending, settled_root=settled)
            if root != key and root in new_roots:
                self._join(key, root, settled, attach)
        for key in new_roots:
            self._open(key)
        for root, keys in sorted(attach.items()):
            self._attach(root, keys)

    def _join(
        self,
        key: AlarmKey,
        root: AlarmKey,
        settled: dict[AlarmKey, AlarmKey | None],
        attach: dict[AlarmKey, list[AlarmKey]],
    ) -> None:
        """Make ``key`` (and whatever pointed at it) a symptom of ``root``."""
        moved = [key] + [k for k in self.pointing_at(key) if k != key]
        rt = self.tracks[root]
        for k in moved:
            x = self.tracks[k]
            a = replace(x.alarm, root=root, maintenance=x.alarm.maintenance or rt.alarm.maintenance)
            settled[k] = root
            self.record(replace(x, alarm=a, settled=True, ticketed=False), "correlated")
        if rt.ticketed:
            attach.setdefault(root, []).extend(moved)

    def _symptoms(self, root: AlarmKey) -> tuple[Alarm, ...]:
        return tuple(self.tracks[k].alarm for k in self.pointing_at(root))

    def _ticketable(self, t: Track) -> bool:
        return not t.alarm.maintenance and t.alarm.severity in self.cfg.ticket_severities

    def _open(self, key: AlarmKey) -> None:
        t = self.tracks[key]
        if not self._ticketable(t):
            return
        symptoms = self._symptoms(key)
        imp = impact([key, *(s.key for s in symptoms)], self.topo, self.cfg.priority)
        dev = key.device
        self.actions.append(
            OpenTicket(t.alarm, symptoms, imp, self.topo.region.get(dev, ""), self.topo.site.get(dev, ""))
        )
        self.put(replace(t, ticketed=True))

    def _attach(self, root: AlarmKey, keys: list[AlarmKey]) -> None:
        new = tuple(self.tracks[k].alarm for k in sorted(set(keys)))
        allsym = self._symptoms(root)
        imp = impact([root, *(s.key for s in allsym)], self.topo, self.cfg.priority)
        self.actions.append(AttachSymptoms(root, new, imp))


def step(
    state: EngineState,
    item: EngineInput,
    topology: Topology,
    now: datetime,
    *,
    settings: EngineSettings,
    maintenance: MaintenanceCalendar | None = None,
) -> tuple[EngineState, tuple[Action, ...]]:
    """Apply one Condition or Tick at ``now``; return the next state and the actions to carry out.

    Carry the actions out (idempotently) *before* persisting the returned state: a crash in between then
    repeats them on restart instead of losing them.
    """
    if (
        isinstance(item, Condition)
        and not item.active
        and item.key not in state.tracks
        and item.key not in state.flaps
        and state.next_due is not None
        and now < state.next_due
    ):
        return state, ()  # nothing to clear and no timer due: the common "all is well" poll
    w = _Work(state, topology, now, settings, maintenance or MaintenanceCalendar())
    if isinstance(item, Condition):
        w.condition(item)
    w.advance()
    return w.freeze(), tuple(w.actions)


def _deadline(t: Track, cfg: EngineSettings) -> datetime | None:
    """When this track's next timer fires (hold-down, clear hold-down, group window, flap quiet, purge)."""
    a = t.alarm
    st = a.state
    if st == AlarmState.PENDING:
        return t.since + _s(t.hold_s)
    dues = []
    if st in _UP and not t.settled and t.settle_at is not None:
        dues.append(t.settle_at)
    if st == AlarmState.CLEARING:
        dues.append(t.since + _s(t.clear_hold_s))
    if st == AlarmState.RAISED and a.key.kind == Kind.INTERFACE_FLAPPING:
        dues.append(a.last_seen + _s(cfg.flap_quiet_s))
    if st == AlarmState.CLEARED and a.cleared_at is not None:
        dues.append(a.cleared_at + _s(cfg.occurrence_window_s))
    return min(dues, default=None)
