"""Detection (pure): PollResults and DeviceEvents → :class:`Condition` s for the engine.

``detect(state, item, rules, topology, now) -> (state, conditions)``. The only memory is
:class:`DetectorState`: consecutive failed polls per device and consecutive out-of-limit polls per
threshold. Every poll that sees a condition gone says so (an inactive Condition): the engine ignores it
for keys it does not know. Each Condition carries its rule's severity, hold-down and clear hold-down; an
inactive one may carry the reason in ``text`` (a port shut by an operator: ``admin-down``).

Resources: interfaces by ifName (monitored ports only), PON ports by ``frame/slot/port``, ONUs by
``pon:onu_id``, radios by link, BGP sessions by the peer's address (the resource the BGP traps carry, so a
polled ``bgp_down`` and a ``bgpBackwardTransition`` are one alarm), thresholds by ``rule`` or
``rule:object`` (kind ``threshold``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from alarms.correlate import Topology
from alarms.model import AlarmKey, Condition, Kind, Severity
from collectors import measurements as m
from collectors.model import DeviceEvent, PollResult, Sample
from config.alarms import BatteryRuntimeRule, BgpRule, Rule, Rules, ThresholdRule

_DOWN_OPER = frozenset({2, 7})  # down, lowerLayerDown
_ADMIN_DOWN = 2
_BGP_ESTABLISHED = 6
_BGP_ADMIN_STOP = 1
_BGP_STATES = {1: "idle", 2: "connect", 3: "active", 4: "opensent", 5: "openconfirm", 6: "established"}
ADMIN_DOWN = "admin-down"
"""The reason an inactive ``interface_down`` Condition carries (its ``text``) when the port was shut."""


@dataclass(frozen=True, slots=True)
class DetectorState:
    failures: Mapping[str, int] = field(default_factory=dict)
    """Consecutive failed polls of the reachability job, by device."""
    streaks: Mapping[str, int] = field(default_factory=dict)
    """Consecutive out-of-limit polls, by ``str(AlarmKey)``."""

    def to_json(self) -> str:
        return json.dumps({"failures": dict(self.failures), "streaks": dict(self.streaks)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DetectorState:
        doc = json.loads(text)
        return cls({str(k): int(v) for k, v in doc["failures"].items()},
                   {str(k): int(v) for k, v in doc["streaks"].items()})


def _cond(key: AlarmKey, active: bool, rule: Rule, now: datetime, text: str = "") -> Condition:
    return Condition(key, active, now, Severity(rule.severity), text, rule.clear_hold_down_s, rule.hold_down_s)


class _Acc:
    """Collects conditions and streak updates during one detect call (local, never shared)."""

    def __init__(self, state: DetectorState, now: datetime) -> None:
        self.streaks = dict(state.streaks)
        self.failures = dict(state.failures)
        self.out: list[Condition] = []
        self.now = now

    def state(self) -> DetectorState:
        return DetectorState(self.failures, self.streaks)

    def flag(self, key: AlarmKey, bad: bool, rule: Rule, text: str = "") -> None:
        if rule.enabled:
            self.out.append(_cond(key, bad, rule, self.now, text))

    def streak(self, key: AlarmKey, bad: bool, rule: Rule, polls: int, text: str) -> None:
        if not rule.enabled:
            return
        k = str(key)
        if bad:
            n = self.streaks.get(k, 0) + 1
            self.streaks[k] = n
            if n >= polls:
                self.out.append(_cond(key, True, rule, self.now, text))
        else:
            self.streaks.pop(k, None)
            self.out.append(_cond(key, False, rule, self.now))

    def threshold(self, device: str, name: str, obj: str, value: float | None, rule: ThresholdRule) -> None:
        if value is None:
            return
        key = AlarmKey(device, Kind.THRESHOLD, f"{name}:{obj}" if obj else name)
        limit = rule.above if rule.above is not None else rule.below
        self.streak(key, rule.breached(value), rule, rule.polls, f"{name} {value:g} (limit {limit:g})")


def _num(s: Sample, name: str) -> float | None:
    v = s.fields.get(name)
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v)


def _max(a: float | None, b: float | None) -> float | None:
    vals = [v for v in (a, b) if v is not None]
    return max(vals) if vals else None


def _sum(a: float | None, b: float | None) -> float | None:
    vals = [v for v in (a, b) if v is not None]
    return sum(vals) if vals else None


def _pon_in_service(s: Sample, device: str, pon: str, topo: Topology) -> bool:
    """A PON port raises ``pon_down`` only in service: listed in the inventory (``pon_ports`` or
    ``monitored_ports``, as ``0/1/3`` or ``GPON 0/1/3``) or with ONUs registered on it. Unused ports of an
    OLT are down by nature."""
    watched = topo.monitored.get(device, frozenset())
    if pon in watched or any(w.endswith(f" {pon}") for w in watched):
        return True
    total = _num(s, m.F_ONUS_TOTAL)
    return total is not None and total > 0


def _sample(acc: _Acc, s: Sample, device: str, rules: Rules, topo: Topology) -> None:
    t = s.tags
    if s.measurement == m.DEVICE:
        acc.threshold(device, "cpu_high", "", _num(s, m.F_CPU_PCT), rules.cpu_high)
        acc.threshold(device, "mem_high", "", _num(s, m.F_MEM_PCT), rules.mem_high)
    elif s.measurement == m.INTERFACE:
        ifname = t.get(m.TAG_IFNAME, "")
        if ifname not in topo.monitored.get(device, frozenset()):
            return
        oper, admin = _num(s, m.F_OPER_STATUS), _num(s, m.F_ADMIN_STATUS)
        key = AlarmKey(device, Kind.INTERFACE_DOWN, ifname)
        if admin is not None and int(admin) == _ADMIN_DOWN:
            acc.flag(key, False, rules.interface_down, ADMIN_DOWN)  # shut by an operator: not a fault
        elif oper is not None:
            down = int(oper) in _DOWN_OPER
            acc.flag(key, down, rules.interface_down, f"{ifname} oper status {int(oper)}" if down else "")
        util = _max(_num(s, m.F_IN_UTIL_PCT), _num(s, m.F_OUT_UTIL_PCT))
        acc.threshold(device, "util_high", ifname, util, rules.util_high)
        errs = _sum(_num(s, m.F_IN_ERRORS_PS), _num(s, m.F_OUT_ERRORS_PS))
        acc.threshold(device, "errors_high", ifname, errs, rules.errors_high)
    elif s.measurement == m.PON_PORT:
        pon, oper = t.get(m.TAG_PON, ""), _num(s, m.F_OPER_STATUS)
        if oper is not None and _pon_in_service(s, device, pon, topo):
            down = int(oper) in _DOWN_OPER
            acc.flag(AlarmKey(device, Kind.PON_DOWN, pon), down, rules.pon_down, f"PON {pon} down" if down else "")
    elif s.measurement == m.ONU:
        _onu(acc, s, device, rules)
    elif s.measurement == m.RADIO:
        link = t.get(m.TAG_LINK, "")
        watched = topo.monitored.get(device, frozenset())
        if watched and link not in watched:
            return  # a radio that names its monitored links: the others (spare carriers, unused RFUs) raise nothing
        status = _num(s, m.F_STATUS)
        if status is not None:
            acc.flag(AlarmKey(device, Kind.RADIO_DOWN, link), int(status) == 2, rules.radio_down, f"radio {link} down")
        rsl = _num(s, m.F_RSL_DBM)
        if rsl is not None:
            r = rules.radio_rsl_low
            margin = rsl - r.threshold(device, link)
            acc.streak(AlarmKey(device, Kind.RADIO_RSL_LOW, link), margin < r.min_fade_margin_db, r, r.polls,
                       f"RSL {rsl:g} dBm, fade margin {margin:g} dB < {r.min_fade_margin_db:g} dB")
    elif s.measurement == m.BGP_PEER:
        _bgp(acc, s, device, rules.bgp_down)
    elif s.measurement == m.POWER:
        mains = _num(s, m.F_MAINS_OK)
        if mains is not None:
            acc.flag(AlarmKey(device, Kind.ON_BATTERY), int(mains) == 0, rules.on_battery, "site on battery")
        acc.threshold(device, "battery_low", "", _num(s, m.F_BATTERY_V), rules.battery_low)
        _runtime(acc, device, _num(s, m.F_BATTERY_RUNTIME_MIN), mains, rules.battery_runtime_low)


def _runtime(acc: _Acc, device: str, minutes: float | None, mains: float | None, rule: BatteryRuntimeRule) -> None:
    """``battery_runtime_low``: the runtime left below the limit while on battery (no mains reading: the
    runtime alone); on mains the condition is gone."""
    if minutes is None:
        return
    on_battery = mains is None or int(mains) == 0
    bad = rule.breached(minutes) and (on_battery or not rule.on_battery_only)
    key = AlarmKey(device, Kind.THRESHOLD, "battery_runtime_low")
    limit = rule.below if rule.below is not None else rule.above
    where = ", site on battery" if mains is not None and int(mains) == 0 else ""
    acc.streak(key, bad, rule, rule.polls, f"battery runtime {minutes:g} min (limit {limit:g} min){where}")


def _onu(acc: _Acc, s: Sample, device: str, rules: Rules) -> None:
    pon, onu = s.tags.get(m.TAG_PON, ""), s.tags.get(m.TAG_ONU_ID, "")
    res = f"{pon}:{onu}"
    status = _num(s, m.F_STATUS)
    if status is not None:
        cause = str(s.fields.get(m.F_LAST_DOWN_CAUSE, "")).lower()
        excused = any(c in cause for c in rules.onu_los.ignore_causes)
        los = int(status) == 2 and not excused
        acc.flag(AlarmKey(device, Kind.ONU_LOS, res), los, rules.onu_los, f"ONU {res} offline ({cause or 'LOS'})")
    rx = _num(s, m.F_RX_DBM)
    if rx is not None:
        r = rules.onu_rx_power
        w = r.window(device, pon)
        bad = not (w.min_dbm <= rx <= w.max_dbm)
        acc.streak(AlarmKey(device, Kind.ONU_RX_POWER, res), bad, r, r.polls,
                   f"ONU {res} Rx {rx:g} dBm outside {w.min_dbm:g}…{w.max_dbm:g}")


def _bgp(acc: _Acc, s: Sample, device: str, rule: BgpRule) -> None:
    """A peer admin-started (or with no admin status) and not established for ``rule.polls`` polls raises
    ``bgp_down``; established clears it, and so does admin-stopped (an operator's choice raises nothing)."""
    peer, state, admin = s.tags.get(m.TAG_PEER, ""), _num(s, m.F_STATE), _num(s, m.F_ADMIN_STATUS)
    watched = rule.peers.get(device)
    if not peer or state is None or (watched is not None and peer not in watched):
        return
    down = int(state) != _BGP_ESTABLISHED and (admin is None or int(admin) != _BGP_ADMIN_STOP)
    remote = s.tags.get(m.TAG_REMOTE_AS)
    name = _BGP_STATES.get(int(state), str(int(state)))
    text = f"BGP peer {peer}{f' (AS {remote})' if remote else ''} {name}"
    acc.streak(AlarmKey(device, Kind.BGP_DOWN, peer), down, rule, rule.polls, text)


def _poll(acc: _Acc, p: PollResult, rules: Rules, topo: Topology) -> None:
    r = rules.device_unreachable
    if p.job == r.job:
        key = AlarmKey(p.device, Kind.DEVICE_UNREACHABLE)
        if p.ok:
            acc.failures.pop(p.device, None)
            acc.flag(key, False, r)
        else:
            n = acc.failures.get(p.device, 0) + 1
            acc.failures[p.device] = n
            if n >= r.failures:
                acc.flag(key, True, r, f"{n} failed polls ({p.error})")
    if p.ok:
        for s in p.samples:
            _sample(acc, s, p.device, rules, topo)


def _event(acc: _Acc, e: DeviceEvent, rules: Rules, topo: Topology) -> None:
    traps = rules.traps
    rule = traps.kinds.get(e.kind)
    if rule is not None and rule.ignore:
        return
    cleared = {c for c in (e.clears, rule.clears if rule else None) if c}
    for kind in sorted(cleared):
        cr = traps.kinds.get(kind)
        alarm = cr.alarm if cr is not None and cr.alarm else f"trap:{kind}"
        base = getattr(rules, alarm, None)  # a polled kind keeps its rule's clear hold-down; else clear now
        hold = base.clear_hold_down_s if isinstance(base, Rule) else 0.0
        acc.out.append(Condition(AlarmKey(e.device, alarm, e.resource), False, acc.now, clear_hold_s=hold))
    if cleared and (rule is None or rule.alarm is None):
        return  # a clearing event raises nothing itself
    if rule is not None and rule.monitored_only and e.resource not in topo.monitored.get(e.device, frozenset()):
        return
    alarm = rule.alarm if rule is not None and rule.alarm else f"trap:{e.kind}"
    sev_name = (rule.severity if rule else None) or traps.default_severity or e.severity
    try:
        severity = Severity(sev_name)
    except ValueError:
        severity = Severity.WARNING
    key = AlarmKey(e.device, alarm, e.resource)
    text = e.text or f"{e.kind} {e.resource}".strip()
    base = getattr(rules, alarm, None)  # a trap raising a polled kind keeps that rule's hold-downs
    hold, clear_hold = (base.hold_down_s, base.clear_hold_down_s) if isinstance(base, Rule) else (0.0, None)
    acc.out.append(Condition(key, True, acc.now, severity, text, clear_hold, hold))
    auto = traps.auto_clear(e.kind)  # an event auto-clears; a kind a trap clears waits for it (or goes stale)
    if auto is not None and (rule is None or rule.alarm is None):
        acc.out.append(Condition(key, False, acc.now, severity, text, auto, 0.0))


def detect(
    state: DetectorState, item: PollResult | DeviceEvent, rules: Rules, topology: Topology, now: datetime
) -> tuple[DetectorState, tuple[Condition, ...]]:
    """The conditions one PollResult or DeviceEvent reports, and the detector's next state."""
    acc = _Acc(state, now)
    if isinstance(item, PollResult):
        _poll(acc, item, rules, topology)
    else:
        _event(acc, item, rules, topology)
    return acc.state(), tuple(acc.out)
