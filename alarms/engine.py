"""The alarm engine (pure): ``step(state, input, topology, now, settings=..., maintenance=...) → (state, actions)``.

Life of an alarm (one per :class:`AlarmKey`):

- an active :class:`Condition` makes it PENDING; after its hold-down (``Condition.hold_s``) it is RAISED
  (``RecordAlarm "raised"``, or ``"updated"`` when it comes back within the occurrence window);
  an inactive one while PENDING drops it silently;
- an inactive Condition makes a RAISED alarm CLEARING; after the clear hold-down it is CLEARED
  (``RecordAlarm "cleared"``, ``RestoreTicket`` if it had a ticket); an active one meanwhile returns it to
  RAISED with nothing recorded; an inactive one whose clear hold-down would end sooner brings the clear
  forward (a trap alarm waiting out its auto-clear or stale limit, then its clearing trap arrives);
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
  window expires opens nothing. Only an alarm that did not go down after its symptom (beyond
  ``detection_lag_s``: one poll of the job that sees the root) explains it
  (:class:`alarms.correlate.Timing`, from each track's ``onset``): an ONU offline since the first poll is
  not a symptom of the aggregation router failing minutes later. When a root clears, its symptoms still
  raised are detached and settle again
  after a fresh group window (their own ticket if they are still down then);
- merging: whenever alarms settle, a root that already has a ticket and is now explained by another root
  (one found after its group window, or one an alarm settled now leads to) becomes that root's symptom
  together with its own symptoms: ``MergeTicket(into_root, from_root, symptoms, impact)``, after the
  ``OpenTicket`` of ``into_root`` when the same step opens it. Only into a root that has or opens a ticket;
- maintenance: an alarm raised on a device in a maintenance window, and every symptom of such a root, is
  marked ``maintenance=True`` and opens no ticket; ``maintenance_span`` records the interval. The window's
  end is a deadline: a root still up then loses the flag (``RecordAlarm "maintenance_ended"``) and settles a
  group window later as if raised then (first-seen and raised times kept), so it opens its ticket; a
  symptom loses it with its root (or its own window, whichever lasts longer);
- an inactive Condition's ``text`` is the clear reason (``admin-down``), kept on the alarm as ``clear_reason``.

Every input also advances time (hold-downs, windows) to ``now``; a :class:`Tick` only does that.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from alarms.correlate import DEFER, Timing, Topology, top_root
from alarms.impact import impact
from alarms.maintenance import MaintenanceCalendar
from alarms.model import (
    ACTIVE_STATES,
    Action,
    Alarm,
    AlarmKey,
    AlarmState,
    AttachSymptoms,
    Condition,
    EngineInput,
    Kind,
    MergeTicket,
    OpenTicket,
    RecordAlarm,
    RestoreTicket,
    Severity,
)
from config.alarms import AlarmsConfig, Priority, detection_lag_s
from config.models import Job

log = logging.getLogger(__name__)

_DOWN = (AlarmState.PENDING, AlarmState.RAISED, AlarmState.CLEARING)


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
    detection_lag_s: float = 60.0
    """How long after its symptoms a root may go down (be first seen) and still explain them: the poll
    interval of the jobs that see roots, times the failed polls ``device_unreachable`` needs."""

    @classmethod
    def from_config(
        cls, cfg: AlarmsConfig, poll_interval_s: float | None = None, *, jobs: Mapping[str, Job] | None = None
    ) -> EngineSettings:
        """The engine's settings from ``alarms.yaml``. An ``auto`` group window comes from ``jobs``
        (``netqos.yaml``'s jobs: :func:`config.alarms.auto_group_window_s`) or, without them, from
        ``poll_interval_s`` (the longest interval of the jobs that feed correlation); so does the detection
        lag (:func:`config.alarms.detection_lag_s`)."""
        f = cfg.rules.flap
        if jobs is not None:
            window = cfg.group_window_for(jobs)
            lag = detection_lag_s(cfg.rules, jobs)
        elif poll_interval_s is not None:
            window = cfg.group_window(poll_interval_s)
            lag = detection_lag_s(cfg.rules, {}, poll_interval_s)
        else:
            window = cfg.group_window_for({})
            lag = detection_lag_s(cfg.rules, {})
        return cls(
            group_window_s=window,
            occurrence_window_s=cfg.occurrence_window_s,
            flap_enabled=f.enabled,
            flap_transitions=f.transitions,
            flap_window_s=f.window_s,
            flap_quiet_s=f.quiet_s,
            flap_severity=Severity(f.severity),
            ticket_severities=frozenset(Severity(s) for s in cfg.ticket_severities),
            priority=cfg.priority,
            detection_lag_s=lag,
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
    onset: datetime | None = None
    """When the current occurrence went down (its first active Condition's time); None: ``first_seen``
    (which is the *first* occurrence's)."""

    @property
    def down_since(self) -> datetime:
        return self.alarm.first_seen if self.onset is None else self.onset


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
        "maintenance_span": None if a.maintenance_span is None else [_t(x) for x in a.maintenance_span],
        "clear_reason": a.clear_reason,
    }


def _alarm_from(d: Mapping[str, Any]) -> Alarm:
    first, last = _pt(d["first_seen"]), _pt(d["last_seen"])
    assert first is not None and last is not None
    span = d.get("maintenance_span")  # absent in states saved before it existed
    return Alarm(
        AlarmKey.parse(d["key"]), Severity(d["severity"]), AlarmState(d["state"]), first, last,
        int(d["occurrences"]), _pt(d["raised_at"]), _pt(d["cleared_at"]), str(d["text"]),
        None if d["root"] is None else AlarmKey.parse(d["root"]), bool(d["maintenance"]),
        None if span is None else (datetime.fromisoformat(span[0]), datetime.fromisoformat(span[1])),
        str(d.get("clear_reason", "")),
    )


def _track_doc(t: Track) -> dict[str, Any]:
    return {
        "alarm": _alarm_doc(t.alarm), "since": _t(t.since), "hold_s": t.hold_s, "clear_hold_s": t.clear_hold_s,
        "settle_at": _t(t.settle_at), "settled": t.settled, "ticketed": t.ticketed, "onset": _t(t.onset),
    }


def _track_from(d: Mapping[str, Any]) -> Track:
    since = _pt(d["since"])
    assert since is not None
    return Track(
        _alarm_from(d["alarm"]), since, float(d["hold_s"]), float(d["clear_hold_s"]),
        _pt(d["settle_at"]), bool(d["settled"]), bool(d["ticketed"]), _pt(d.get("onset")),
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
        return sorted(k for k in self._by_root.get(root, ()) if self.tracks[k].alarm.state in ACTIVE_STATES)

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
                self.put(Track(a, now, hold, clear_hold, onset=c.time))
            elif t.alarm.state == AlarmState.CLEARED:
                a = replace(t.alarm, state=AlarmState.PENDING, last_seen=c.time, severity=c.severity, text=c.text)
                self.put(Track(a, now, hold, clear_hold, onset=c.time))
            elif t.alarm.state == AlarmState.CLEARING:
                a = replace(t.alarm, state=AlarmState.RAISED, last_seen=c.time, clear_reason="")
                self.put(replace(t, alarm=a, clear_hold_s=clear_hold))
            else:
                self.put(replace(t, alarm=replace(t.alarm, last_seen=c.time), clear_hold_s=clear_hold))
        elif t is not None:
            if t.alarm.state == AlarmState.PENDING:
                self._drop_pending(t)
            elif t.alarm.state == AlarmState.RAISED:
                clear_hold = t.clear_hold_s if c.clear_hold_s is None else c.clear_hold_s
                a = replace(t.alarm, state=AlarmState.CLEARING, clear_reason=c.text)
                self.put(replace(t, alarm=a, since=now, clear_hold_s=clear_hold))
            elif (
                t.alarm.state == AlarmState.CLEARING
                and c.clear_hold_s is not None
                and now + _s(c.clear_hold_s) < t.since + _s(t.clear_hold_s)
            ):  # a clear sooner than the one under way (a clearing trap during a trap alarm's stale limit)
                a = replace(t.alarm, clear_reason=c.text or t.alarm.clear_reason)
                self.put(replace(t, alarm=a, since=now, clear_hold_s=c.clear_hold_s))

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
        if ft is not None and ft.alarm.state in ACTIVE_STATES:
            if changed:  # last_seen of a flapping alarm is its port's last change: the quiet time counts from it
                self.put(replace(ft, alarm=replace(ft.alarm, last_seen=c.time)))
            return True
        if len(f.changes) < cfg.flap_transitions:
            return False
        t = self.tracks.get(c.key)
        if t is not None and t.alarm.state == AlarmState.PENDING:
            self._drop_pending(t)
        elif t is not None and t.alarm.state in ACTIVE_STATES:
            self._clear(replace(t, since=now), "superseded by flapping")
        text = f"{c.key.resource} changed state {len(f.changes)} times in {cfg.flap_window_s:g} s"
        onset = min(c.time, f.changes[0])  # the port has been bouncing since its first change in the window
        if ft is None:
            a = Alarm(fk, cfg.flap_severity, AlarmState.PENDING, c.time, c.time, text=text)
            ft = Track(a, now, 0.0, 0.0, onset=onset)
        else:
            ft = replace(ft, alarm=replace(ft.alarm, last_seen=c.time, text=text), onset=onset)
        self._raise(ft, "flapping")
        return True

    # --- time ---

    def _raise(self, t: Track, change: str | None = None) -> None:
        a = t.alarm
        again = a.cleared_at is not None
        cov = self.cal.coverage(a.key.device, self.now)
        a = replace(
            a,
            state=AlarmState.RAISED,
            occurrences=a.occurrences + 1 if again else a.occurrences,
            raised_at=self.now,
            cleared_at=None,
            root=None,
            maintenance=cov is not None,
            maintenance_span=None if cov is None else (max(cov[0], t.since), cov[1]),
            clear_reason="",
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
            a2 = t2.alarm  # one clearing too went away within its root's maintenance: it keeps it
            a2 = replace(a2 if a2.state == AlarmState.CLEARING else self._own_maintenance(a2), root=None)
            self.put(replace(t2, alarm=a2, settle_at=settle, settled=False))

    def _own_maintenance(self, a: Alarm) -> Alarm:
        """``a`` with the maintenance of its own device now (its root's no longer counts): in a window, the
        span runs to that window's end; else an inherited span ends now."""
        cov = self.cal.coverage(a.key.device, self.now)
        if cov is not None:
            start = a.maintenance_span[0] if a.maintenance_span else max(cov[0], _down_since(a))
            return replace(a, maintenance=True, maintenance_span=(start, cov[1]))
        span = a.maintenance_span
        if span is not None and span[1] > self.now:
            span = (span[0], max(span[0], self.now))
        return replace(a, maintenance=False, maintenance_span=span)

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
        self._maintenance_ends(partial)
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

    def _maintenance_ends(self, partial: bool) -> None:
        """Alarms still up whose maintenance window ended: roots first (a symptom keeps maintenance while its
        root does), then their symptoms."""
        keys = self.touched if partial else self.tracks.keys()
        due = [k for k in keys if _maintenance_end(self.tracks[k]) is not None]
        due = [k for k in due if (_maintenance_end(self.tracks[k]) or self.now) <= self.now]
        for key in sorted(due, key=lambda k: (self.tracks[k].alarm.root is not None, k)):
            self._maintenance_over(self.tracks[key])

    def _maintenance_over(self, t: Track) -> None:
        """The window ``t`` was raised in has ended with the alarm still up. A root is then grouped and
        ticketed as if raised now (its first-seen and raised times stay); a symptom keeps maintenance while
        its root does. Another window covering the device now extends the span instead."""
        a = t.alarm
        cov = self.cal.coverage(a.key.device, self.now)
        root = self.tracks.get(a.root) if a.root is not None else None
        if root is not None and root.alarm.maintenance and root.alarm.maintenance_span is not None:
            end = root.alarm.maintenance_span[1]
            cov = (cov[0], max(cov[1], end)) if cov is not None else (self.now, end)
        span = a.maintenance_span
        assert span is not None
        if cov is not None and cov[1] > self.now:
            self.put(replace(t, alarm=replace(a, maintenance_span=(span[0], max(span[1], cov[1])))))
            return
        a = replace(a, maintenance=False)
        if a.root is None:
            settle = self.now + _s(self.cfg.group_window_s)
            log.info("device=%s alarm=%s still up when its maintenance window ended: grouped for a ticket",
                     a.key.device, a.key)
            self.record(replace(t, alarm=a, settle_at=settle, settled=False, ticketed=False), "maintenance_ended")
        else:
            self.record(replace(t, alarm=a), "maintenance_ended")

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
                self.put(Track(a, self.now, f.hold_s, f.clear_hold_s, onset=self.now))

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
            flapping = fk in self.tracks and self.tracks[fk].alarm.state in ACTIVE_STATES
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
            if t.alarm.state in ACTIVE_STATES and not t.settled and t.settle_at is not None and t.settle_at <= now
        )
        if not due:
            return
        down = {k: t for k, t in self.tracks.items() if t.alarm.state in _DOWN}
        pending = {k: True for k, t in down.items() if t.alarm.state == AlarmState.PENDING}
        settled: dict[AlarmKey, AlarmKey | None] = {k: t.alarm.root for k, t in down.items() if t.settled}
        timing = Timing({k: t.down_since for k, t in down.items()}, _s(self.cfg.detection_lag_s))
        new_roots: list[AlarmKey] = []
        attach: dict[AlarmKey, list[AlarmKey]] = {}
        now_settled: list[AlarmKey] = []
        for _, key in due:
            root = top_root(key, down, self.topo, is_pending=pending, settled_root=settled, timing=timing)
            if root == DEFER:
                continue
            t = self.tracks[key]
            if root == key:
                settled[key] = None
                self.put(replace(t, settled=True))
                new_roots.append(key)
                now_settled += [key, *self.pointing_at(key)]
                continue
            now_settled += self._join(key, root, settled, attach)
        # alarms not yet due whose root opens now join it at once (one ticket with all its symptoms)
        for key in sorted(k for k, t in self.tracks.items() if t.alarm.state in ACTIVE_STATES and not t.settled):
            root = top_root(key, down, self.topo, is_pending=pending, settled_root=settled, timing=timing)
            if root != key and root in new_roots:
                now_settled += self._join(key, root, settled, attach)
        merges = self._merges(now_settled, new_roots, down, pending, settled, timing)
        for key in new_roots:
            self._open(key)
        for into, frm, moved in merges:
            self._merge(into, frm, moved)
            attach.pop(frm, None)  # its new symptoms moved with it: in the MergeTicket
        for root, keys in sorted(attach.items()):
            self._attach(root, keys)

    def _merges(
        self,
        now_settled: list[AlarmKey],
        new_roots: list[AlarmKey],
        down: Mapping[AlarmKey, Track],
        pending: Mapping[AlarmKey, bool],
        settled: dict[AlarmKey, AlarmKey | None],
        timing: Timing,
    ) -> list[tuple[AlarmKey, AlarmKey, list[AlarmKey]]]:
        """Roots with a ticket that an alarm settled now explains (directly or along a chain, e.g. a root
        found after the group window): each becomes a symptom of the root it leads to when that root has or
        opens a ticket; (into, from, moved keys).

        Only ticketed roots near what settled now are looked at — on the same devices, the devices hanging
        off them, or at their sites (the only places :func:`alarms.correlate.explainer` looks) — with new
        roots' symptoms counted as settled now, so a chain through them is found too."""
        out: list[tuple[AlarmKey, AlarmKey, list[AlarmKey]]] = []
        near: set[str] = set()
        for k in now_settled:
            near.add(k.device)
            near.update(self.topo.children.get(k.device, ()))
            near.update(self.topo.devices_at(self.topo.site.get(k.device, "")))
        ticketed = sorted(
            k for k, t in self.tracks.items() if t.ticketed and t.alarm.root is None and k.device in near and k in down
        )
        for key in ticketed:
            if settled.get(key) is not None:
                continue  # merged into another root in this pass
            into = top_root(key, down, self.topo, is_pending=pending, settled_root=settled, timing=timing)
            if into in (key, DEFER) or into not in self.tracks or self.tracks[into].alarm.root is not None:
                continue
            target = self.tracks[into]
            if not (target.ticketed or (into in new_roots and self._ticketable(target))):
                continue
            log.warning("device=%s alarm=%s: its ticket merges into the ticket of %s, found to explain it",
                        key.device, key, into)
            out.append((into, key, self._join(key, into, settled, {})))
        return out

    def _merge(self, into: AlarmKey, frm: AlarmKey, moved: list[AlarmKey]) -> None:
        allsym = self._symptoms(into)
        imp = impact([into, *(s.key for s in allsym)], self.topo, self.cfg.priority)
        self.actions.append(MergeTicket(into, frm, tuple(self.tracks[k].alarm for k in sorted(moved)), imp))

    def _join(
        self,
        key: AlarmKey,
        root: AlarmKey,
        settled: dict[AlarmKey, AlarmKey | None],
        attach: dict[AlarmKey, list[AlarmKey]],
    ) -> list[AlarmKey]:
        """Make ``key`` (and whatever pointed at it) a symptom of ``root``; the keys moved."""
        moved = [key] + [k for k in self.pointing_at(key) if k != key]
        rt = self.tracks[root]
        for k in moved:
            x = self.tracks[k]
            a = replace(_inherit_maintenance(x.alarm, rt.alarm), root=root)
            settled[k] = root
            self.record(replace(x, alarm=a, settled=True, ticketed=False), "correlated")
        if rt.ticketed:
            attach.setdefault(root, []).extend(moved)
        return moved

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
    if st in ACTIVE_STATES and not t.settled and t.settle_at is not None:
        dues.append(t.settle_at)
    if st == AlarmState.CLEARING:
        dues.append(t.since + _s(t.clear_hold_s))
    if st == AlarmState.RAISED and a.key.kind == Kind.INTERFACE_FLAPPING:
        dues.append(a.last_seen + _s(cfg.flap_quiet_s))
    if st == AlarmState.CLEARED and a.cleared_at is not None:
        dues.append(a.cleared_at + _s(cfg.occurrence_window_s))
    end = _maintenance_end(t)
    if end is not None:
        dues.append(end)
    return min(dues, default=None)


def _inherit_maintenance(a: Alarm, root: Alarm) -> Alarm:
    """A symptom of a root in maintenance is in maintenance as long as that root is."""
    if not root.maintenance or root.maintenance_span is None:
        return a
    start, end = root.maintenance_span
    if a.maintenance and a.maintenance_span is not None:
        return replace(a, maintenance_span=(a.maintenance_span[0], max(a.maintenance_span[1], end)))
    return replace(a, maintenance=True, maintenance_span=(max(start, _down_since(a)), end))


def _maintenance_end(t: Track) -> datetime | None:
    """When the maintenance of an alarm still up ends (None: not in maintenance, or not up)."""
    a = t.alarm
    if not a.maintenance or a.maintenance_span is None or a.state not in ACTIVE_STATES:
        return None
    return a.maintenance_span[1]


def _down_since(a: Alarm) -> datetime:
    """When this occurrence went down, as far as the alarm tells (raised time, else first seen)."""
    return a.raised_at or a.first_seen
