"""Detection: PollResults and DeviceEvents in, Conditions out (table-driven, pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from alarms.correlate import Topology
from alarms.detect import DetectorState, detect
from alarms.model import Condition
from collectors import measurements as m
from collectors.model import DeviceEvent, FieldValue, PollResult, Sample
from config.alarms import Rules, load_alarms
from config.loader import load

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@cache
def topology() -> Topology:
    return Topology.from_inventory(load(ROOT / "inventory.yaml", ROOT / "config", env={}).inventory)


@cache
def rules() -> Rules:
    return load_alarms(ROOT / "config" / "alarms.yaml").rules


def poll(device: str, job: str = "system", error: str | None = None, *samples: Sample) -> PollResult:
    return PollResult(device, job, T0, 0.1, tuple(samples), error)


def sample(measurement: str, tags: Mapping[str, str], **fields: FieldValue) -> Sample:
    return Sample(measurement, dict(tags), fields, T0)


def iface(device: str, ifname: str, **fields: FieldValue) -> PollResult:
    return poll(device, "interfaces", None, sample(m.INTERFACE, {m.TAG_IFNAME: ifname}, **fields))


def onu(device: str, pon: str, onu_id: str, **fields: FieldValue) -> PollResult:
    return poll(device, "onu", None, sample(m.ONU, {m.TAG_PON: pon, m.TAG_ONU_ID: onu_id}, **fields))


def trap(device: str, kind: str, resource: str = "", clears: str | None = None) -> DeviceEvent:
    return DeviceEvent(device, kind, resource, T0, clears=clears)


Item = PollResult | DeviceEvent


def feed(items: Sequence[Item]) -> list[list[Condition]]:
    state = DetectorState()
    out = []
    for i, item in enumerate(items):
        state, conds = detect(state, item, rules(), topology(), T0 + timedelta(seconds=30 * i))
        out.append(list(conds))
        state = DetectorState.from_json(state.to_json())  # state survives a restart between polls
    return out


def brief(conds: list[Condition]) -> list[tuple[str, bool]]:
    return [(str(c.key), c.active) for c in conds]


OLT, AGG, MW, PWR = "olt-sh-pd-01", "agg-sh-pd-01", "mw-sh-pd-101a", "pwr-sh-pd-101"
ON_BATT, RUNTIME = f"{PWR}|on_battery|", f"{PWR}|threshold|battery_runtime_low"


def power(**fields: FieldValue) -> PollResult:
    return poll(PWR, "power", None, sample(m.POWER, {}, **fields))
RLT = "RadioLinkTerminal:slot=1;rltNumber=1"  # a monitored port of the lab radio
UNREACH = f"{OLT}|device_unreachable|"

CASES: dict[str, tuple[list[Item], list[list[tuple[str, bool]]]]] = {
    "unreachable after 2 failed system polls, cleared by an answer": (
        [poll(OLT, error="timeout"), poll(OLT, error="timeout"), poll(OLT, error="timeout"), poll(OLT)],
        [[], [(UNREACH, True)], [(UNREACH, True)], [(UNREACH, False)]],
    ),
    "a failed interfaces poll says nothing about reachability": (
        [poll(OLT, "interfaces", "timeout"), poll(OLT, "interfaces", "timeout"), poll(OLT, "interfaces", "timeout")],
        [[], [], []],
    ),
    "monitored port down / lowerLayerDown / up; admin-down is no fault; unmonitored ignored": (
        [iface(OLT, "GPON 0/1/0", oper_status=2, admin_status=1), iface(OLT, "GPON 0/1/0", oper_status=7),
         iface(OLT, "GPON 0/1/0", oper_status=1), iface(OLT, "GPON 0/1/0", oper_status=2, admin_status=2),
         iface(OLT, "GPON 0/9/9", oper_status=2)],
        [[(f"{OLT}|interface_down|GPON 0/1/0", True)], [(f"{OLT}|interface_down|GPON 0/1/0", True)],
         [(f"{OLT}|interface_down|GPON 0/1/0", False)], [(f"{OLT}|interface_down|GPON 0/1/0", False)], []],
    ),
    "a port down, then shut by an operator: the shut clears it (with or without an oper status)": (
        [iface(OLT, "GPON 0/1/0", oper_status=2, admin_status=1), iface(OLT, "GPON 0/1/0", oper_status=2,
                                                                        admin_status=2),
         iface(OLT, "GPON 0/1/0", admin_status=2)],
        [[(f"{OLT}|interface_down|GPON 0/1/0", True)], [(f"{OLT}|interface_down|GPON 0/1/0", False)],
         [(f"{OLT}|interface_down|GPON 0/1/0", False)]],
    ),
    "utilisation above 90 % for 3 polls": (
        [iface(AGG, "Eth-Trunk1", in_util_pct=95.0), iface(AGG, "Eth-Trunk1", out_util_pct=91.0),
         iface(AGG, "Eth-Trunk1", in_util_pct=99.0, out_util_pct=10.0), iface(AGG, "Eth-Trunk1", in_util_pct=50.0)],
        [[], [], [(f"{AGG}|threshold|util_high:Eth-Trunk1", True)],
         [(f"{AGG}|threshold|util_high:Eth-Trunk1", False)]],
    ),
    "utilisation streak broken by one normal poll starts again": (
        [iface(AGG, "Eth-Trunk1", in_util_pct=95.0), iface(AGG, "Eth-Trunk1", in_util_pct=95.0),
         iface(AGG, "Eth-Trunk1", in_util_pct=5.0), iface(AGG, "Eth-Trunk1", in_util_pct=95.0),
         iface(AGG, "Eth-Trunk1", in_util_pct=95.0)],
        [[], [], [(f"{AGG}|threshold|util_high:Eth-Trunk1", False)], [], []],
    ),
    "CPU above 90 % for 3 polls": (
        [poll(AGG, "system", None, sample(m.DEVICE, {}, cpu_pct=97.0))] * 3,
        [[(f"{AGG}|device_unreachable|", False)]] * 2
        + [[(f"{AGG}|device_unreachable|", False), (f"{AGG}|threshold|cpu_high", True)]],
    ),
    "ONU Rx on a C+ OLT: -29 dBm is fine, -31 is out after 2 polls": (
        [onu(OLT, "0/1/0", "1", rx_dbm=-29.0), onu(OLT, "0/1/0", "1", rx_dbm=-31.0),
         onu(OLT, "0/1/0", "1", rx_dbm=-31.0)],
        [[(f"{OLT}|onu_rx_power|0/1/0:1", False)], [], [(f"{OLT}|onu_rx_power|0/1/0:1", True)]],
    ),
    "ONU Rx on a B+ OLT: -28 dBm is out": (
        [onu("olt-sh-mh-01", "1/1/1", "2", rx_dbm=-28.0)] * 2,
        [[], [("olt-sh-mh-01|onu_rx_power|1/1/1:2", True)]],
    ),
    "ONU Rx overload above -8 dBm": (
        [onu(OLT, "0/1/0", "3", rx_dbm=-7.0)] * 2,
        [[], [(f"{OLT}|onu_rx_power|0/1/0:3", True)]],
    ),
    "ONU offline is LOS, but not after a dying gasp": (
        [onu(OLT, "0/1/0", "2", status=2, last_down_cause="LOS"),
         onu(OLT, "0/1/0", "2", status=2, last_down_cause="dying-gasp")],
        [[(f"{OLT}|onu_los|0/1/0:2", True)], [(f"{OLT}|onu_los|0/1/0:2", False)]],
    ),
    "PON port down": (
        [poll(OLT, "pon", None, sample(m.PON_PORT, {m.TAG_PON: "0/1/0"}, oper_status=2))],
        [[(f"{OLT}|pon_down|0/1/0", True)]],
    ),
    "radio: fade margin below 10 dB for 2 polls; link down": (
        [poll(MW, "radio", None, sample(m.RADIO, {m.TAG_LINK: RLT}, rsl_dbm=-70.0, status=1)),
         poll(MW, "radio", None, sample(m.RADIO, {m.TAG_LINK: RLT}, rsl_dbm=-70.0, status=2))],
        [[(f"{MW}|radio_down|{RLT}", False)],
         [(f"{MW}|radio_down|{RLT}", True), (f"{MW}|radio_rsl_low|{RLT}", True)]],
    ),
    "radio: a link the radio's monitored ports do not name raises nothing": (
        [poll(MW, "radio", None, sample(m.RADIO, {m.TAG_LINK: "spare"}, rsl_dbm=-99.0, status=2))] * 2,
        [[], []],
    ),
    "PON: an unused port (no ONUs, not listed) raises nothing; one with ONUs does": (
        [poll(OLT, "onu", None, sample(m.PON_PORT, {m.TAG_PON: "0/0/7"}, oper_status=2, onus_total=0)),
         poll(OLT, "onu", None, sample(m.PON_PORT, {m.TAG_PON: "0/0/7"}, oper_status=2, onus_total=3))],
        [[], [(f"{OLT}|pon_down|0/0/7", True)]],
    ),
    "site on battery, battery low": (
        [poll(PWR, "power", None, sample(m.POWER, {}, mains_ok=0, battery_v=46.0))] * 2,
        [[(f"{PWR}|on_battery|", True)],
         [(f"{PWR}|on_battery|", True), (f"{PWR}|threshold|battery_low", True)]],
    ),
    "battery runtime below 60 min on battery for 2 polls; on mains it clears; no mains reading: runtime alone": (
        [power(mains_ok=0, battery_runtime_min=45.0), power(mains_ok=0, battery_runtime_min=40.0),
         power(mains_ok=1, battery_runtime_min=40.0), power(battery_runtime_min=30.0),
         power(battery_runtime_min=30.0), power(mains_ok=0, battery_runtime_min=90.0)],
        [[(ON_BATT, True)], [(ON_BATT, True), (RUNTIME, True)], [(ON_BATT, False), (RUNTIME, False)],
         [], [(RUNTIME, True)], [(ON_BATT, True), (RUNTIME, False)]],
    ),
    "traps: linkDown on a monitored port raises, linkUp clears it, unmonitored ignored": (
        [trap(OLT, "linkDown", "GPON 0/1/0"), trap(OLT, "linkUp", "GPON 0/1/0", clears="linkDown"),
         trap(OLT, "linkDown", "GPON 0/7/7")],
        [[(f"{OLT}|interface_down|GPON 0/1/0", True)], [(f"{OLT}|interface_down|GPON 0/1/0", False)], []],
    ),
    "traps: coldStart is an event alarm that clears by itself; BGP down and up": (
        [trap(AGG, "coldStart"), trap(AGG, "bgpBackwardTransition", "10.0.0.1"),
         trap(AGG, "bgpEstablished", "10.0.0.1")],
        [[(f"{AGG}|trap:coldStart|", True), (f"{AGG}|trap:coldStart|", False)],
         [(f"{AGG}|bgp_down|10.0.0.1", True)], [(f"{AGG}|bgp_down|10.0.0.1", False)]],
    ),
    "traps: a vendor alarm and its clearing trap; ignored kinds": (
        [trap(MW, "radioLinkFailure", "RLT1"), trap(MW, "radioLinkRestored", "RLT1", clears="radioLinkFailure"),
         trap(MW, "authenticationFailure")],
        [[(f"{MW}|trap:radioLinkFailure|RLT1", True), (f"{MW}|trap:radioLinkFailure|RLT1", False)],
         [(f"{MW}|trap:radioLinkFailure|RLT1", False)], []],
    ),
}


@pytest.mark.parametrize(("items", "expected"), CASES.values(), ids=CASES.keys())
def test_detect(items: list[Item], expected: list[list[tuple[str, bool]]]) -> None:
    assert [brief(c) for c in feed(items)] == expected


def test_conditions_carry_the_rule() -> None:
    (conds,) = feed([iface(OLT, "GPON 0/1/0", oper_status=2)])
    (c,) = conds
    assert (c.severity.value, c.hold_s, c.clear_hold_s) == ("major", 30.0, 60.0)
    (_, cold) = feed([trap(AGG, "coldStart")])[0]
    assert (cold.active, cold.clear_hold_s) == (False, 300)
    (down,) = feed([trap(OLT, "linkDown", "GPON 0/1/0")])[0]
    assert down.hold_s == 30.0  # a trap raising a polled kind waits that rule's hold-down
    (shut,) = feed([iface(OLT, "GPON 0/1/0", oper_status=2, admin_status=2)])[0]
    assert (shut.active, shut.text) == (False, "admin-down")
    _, (_, low) = feed([power(mains_ok=0, battery_runtime_min=45.0)] * 2)
    assert (low.severity.value, low.active, low.text) == (
        "critical", True, "battery runtime 45 min (limit 60 min), site on battery")


# --- detection feeding the engine: failed polls of an aggregation router and its OLT → one ticket ---------------

PIPELINE = {
    "OLT fails first": [("olt-sh-pd-01", 0), ("agg-sh-pd-01", 20)],
    "aggregation router fails first": [("agg-sh-pd-01", 0), ("olt-sh-pd-01", 25)],
}


@pytest.mark.parametrize("offsets", PIPELINE.values(), ids=PIPELINE.keys())
def test_polls_to_one_ticket(offsets: list[tuple[str, int]]) -> None:
    from alarms.engine import EngineSettings, EngineState, step
    from alarms.model import OpenTicket, Tick

    cfg = load_alarms(ROOT / "config" / "alarms.yaml")
    settings = EngineSettings.from_config(cfg, poll_interval_s=30)
    det, eng = DetectorState(), EngineState()
    timeline: list[tuple[int, PollResult | Tick]] = []
    for device, off in offsets:
        timeline += [(off + 30 * i, poll(device, error="timeout")) for i in range(8)]
    timeline += [(t, Tick(T0 + timedelta(seconds=t))) for t in range(0, 300, 5)]
    timeline.sort(key=lambda x: (x[0], isinstance(x[1], Tick)))
    opened: list[OpenTicket] = []
    for t, item in timeline:
        now = T0 + timedelta(seconds=t)
        conds: tuple[Condition, ...] = ()
        if isinstance(item, PollResult):
            det, conds = detect(det, item, cfg.rules, topology(), now)
        inputs: list[Condition | Tick] = [*conds, Tick(now)]
        for x in inputs:
            eng, actions = step(eng, x, topology(), now, settings=settings)
            opened += [a for a in actions if isinstance(a, OpenTicket)]
    assert [(str(o.root.key), [str(s.key) for s in o.symptoms]) for o in opened] == [
        ("agg-sh-pd-01|device_unreachable|", ["olt-sh-pd-01|device_unreachable|"])
    ]
    assert opened[0].impact.priority == 1 and "ENT-PD-0003" in [s.service_id for s in opened[0].impact.services]


# --- trap alarms over days: a kind a trap clears stands until that trap (or the stale limit) ----------------

H, D = 3600, 86400
FEED = "huawei-u2000-nbi"  # emsFeedLost / emsFeedRestored: resource = the traps.yaml mapping's name
ERI = "ManagedElement=1,Equipment=1 [9175.1]"


def event(t: float, device: str, kind: str, resource: str, severity: str = "major",
          clears: str | None = None) -> tuple[float, DeviceEvent]:
    return t, DeviceEvent(device, kind, resource, T0 + timedelta(seconds=t), severity=severity, clears=clears)


def feed_lost(t: float) -> tuple[float, DeviceEvent]:
    return event(t, AGG, "emsFeedLost", FEED)


def feed_restored(t: float) -> tuple[float, DeviceEvent]:
    return event(t, AGG, "emsFeedRestored", FEED, "cleared", clears="emsFeedLost")


def eri(t: float, clear: bool = False) -> tuple[float, DeviceEvent]:
    return event(t, MW, "eriAlarm", ERI, "cleared" if clear else "major", clears="eriAlarm" if clear else None)


def shipped_rules() -> Rules:
    return rules()


def rules_from_traps_yaml() -> Rules:
    """The built-in defaults (no ``cleared_kinds`` listed) completed from traps.yaml's mappings."""
    import os

    from config.alarms import AlarmsConfig, with_trap_clears
    from config.traps import load_traps

    mappings = load_traps(ROOT / "config" / "traps.yaml", os.environ).mappings
    return with_trap_clears(AlarmsConfig(), mappings).rules


def builtin_rules() -> Rules:
    from config.alarms import AlarmsConfig

    return AlarmsConfig().rules


# events (t s, event), the rules, the alarm key, its changes [(t s, change)], severity
LIFETIME = {
    "EMS feed lost stands past the 1 h default auto-clear until emsFeedRestored (3 h)": (
        [feed_lost(0), feed_restored(3 * H)], shipped_rules, f"{AGG}|trap:emsFeedLost|{FEED}",
        [(0, "raised"), (3 * H, "cleared")], "major"),
    "EMS feed lost and never restored: taken as stale after 7 days": (
        [feed_lost(0)], shipped_rules, f"{AGG}|trap:emsFeedLost|{FEED}", [(0, "raised"), (7 * D, "cleared")],
        "major"),
    "EMS feed lost again after 6 days: the stale limit counts from the repeat": (
        [feed_lost(0), feed_lost(6 * D)], shipped_rules, f"{AGG}|trap:emsFeedLost|{FEED}",
        [(0, "raised"), (13 * D, "cleared")], "major"),
    "Ericsson alarm (a mapping with a clear trap) stands 2 h until eriAlarmCleared": (
        [eri(0), eri(2 * H, clear=True)], shipped_rules, f"{MW}|trap:eriAlarm|{ERI}",
        [(0, "raised"), (2 * H, "cleared")], "major"),
    "Huawei EMS alarm with rules derived from traps.yaml: stands until the stale limit": (
        [event(0, OLT, "emsAlarm", "frame=0,slot=1 [LOS]")], rules_from_traps_yaml,
        f"{OLT}|trap:emsAlarm|frame=0,slot=1 [LOS]", [(0, "raised"), (7 * D, "cleared")], "major"),
    "Ericsson alarm with rules that do not know its clear trap: the 1 h default auto-clear": (
        [eri(0)], builtin_rules, f"{MW}|trap:eriAlarm|{ERI}", [(0, "raised"), (H, "cleared")], "major"),
    "a vendor kind nothing clears: the 1 h default auto-clear": (
        [event(0, MW, "radioLinkFailure", "RLT1", "minor")], shipped_rules, f"{MW}|trap:radioLinkFailure|RLT1",
        [(0, "raised"), (H, "cleared")], "minor"),
    "coldStart: its own 300 s auto-clear": (
        [event(0, AGG, "coldStart", "", "warning")], shipped_rules, f"{AGG}|trap:coldStart|",
        [(0, "raised"), (300, "cleared")], "warning"),
}


@pytest.mark.parametrize(("events", "rule_set", "key", "changes", "severity"), LIFETIME.values(),
                         ids=LIFETIME.keys())
def test_trap_alarm_lifetime(
    events: list[tuple[float, DeviceEvent]],
    rule_set: Callable[[], Rules],
    key: str,
    changes: list[tuple[float, str]],
    severity: str,
) -> None:
    """DeviceEvents through detection and the engine, a Tick every 5 min for 14 days (fake clock)."""
    from alarms.engine import EngineSettings, EngineState, step
    from alarms.model import RecordAlarm, Tick

    rs = rule_set()
    settings = EngineSettings.from_config(load_alarms(ROOT / "config" / "alarms.yaml"), poll_interval_s=30)
    timeline: list[tuple[float, DeviceEvent | Tick]] = [*events]
    timeline += [(t, Tick(T0 + timedelta(seconds=t))) for t in range(0, 14 * D + 1, 300)]
    timeline.sort(key=lambda x: (x[0], isinstance(x[1], Tick)))
    det, eng = DetectorState(), EngineState()
    got: list[tuple[float, str]] = []
    severities: set[str] = set()
    for t, item in timeline:
        now = T0 + timedelta(seconds=t)
        inputs: list[Condition | Tick] = [item] if isinstance(item, Tick) else []
        if isinstance(item, DeviceEvent):
            det, conds = detect(det, item, rs, topology(), now)
            inputs = [*conds, Tick(now)]
        for x in inputs:
            eng, actions = step(eng, x, topology(), now, settings=settings)
            mine = [a for a in actions if isinstance(a, RecordAlarm) and str(a.alarm.key) == key]
            got += [(t, a.change) for a in mine if a.change != "correlated"]
            severities.update(a.alarm.severity.value for a in mine)
    assert got == changes
    assert severities == {severity}
