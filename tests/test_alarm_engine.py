"""Scenario tests of the pure alarm engine with a fake clock: (t, input) in, actions out.

The topology is the lab's inventory.yaml. Time advances by Ticks every 5 s between the scripted inputs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alarms.correlate import Topology, cut_off
from alarms.engine import EngineSettings, EngineState, step
from alarms.impact import services_of
from alarms.maintenance import MaintenanceCalendar, Window
from alarms.model import (
    Action,
    AlarmKey,
    AttachSymptoms,
    Condition,
    Kind,
    MergeTicket,
    OpenTicket,
    RecordAlarm,
    RestoreTicket,
    Severity,
    Tick,
)
from config.alarms import CORRELATION_JOBS, AlarmsConfig
from config.loader import load
from config.models import Job

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
CFG = EngineSettings(group_window_s=90, occurrence_window_s=3600, flap_transitions=4, flap_window_s=600,
                     flap_quiet_s=900, detection_lag_s=120)  # a root seen up to 2 failed 60 s polls late


@cache
def topology() -> Topology:
    return Topology.from_inventory(load(ROOT / "inventory.yaml", ROOT / "config", env={}).inventory)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


@dataclass(frozen=True)
class C:
    """A scripted condition: device, kind, resource, active, hold-down, clear hold-down."""

    device: str
    kind: str = Kind.DEVICE_UNREACHABLE
    resource: str = ""
    active: bool = True
    hold: float = 0.0
    clear_hold: float = 60.0
    severity: Severity = Severity.CRITICAL
    text: str = ""

    def at(self, t: float) -> Condition:
        return Condition(AlarmKey(self.device, self.kind, self.resource), self.active, at(t), self.severity,
                         self.text, self.clear_hold, self.hold)


def down(device: str) -> C:
    return C(device)


def up(device: str) -> C:
    return C(device, active=False)


def port(device: str, name: str, active: bool = True) -> C:
    return C(device, Kind.INTERFACE_DOWN, name, active, hold=30, severity=Severity.MAJOR)


Script = Sequence[tuple[float, C]]


def run(
    script: Script,
    until: float,
    *,
    state: EngineState | None = None,
    start: float = 0.0,
    cal: MaintenanceCalendar | None = None,
    cfg: EngineSettings = CFG,
) -> tuple[EngineState, list[tuple[float, Action]]]:
    inputs: list[tuple[float, int, Condition | Tick]] = [(t, 0, c.at(t)) for t, c in script]
    t = start
    while t <= until:
        inputs.append((t, 1, Tick(at(t))))
        t += 5
    inputs.sort(key=lambda x: (x[0], x[1]))
    s = state or EngineState()
    out: list[tuple[float, Action]] = []
    for t, _, item in inputs:
        s, actions = step(s, item, topology(), at(t), settings=cfg, maintenance=cal)
        out.extend((t, a) for a in actions)
    return s, out


def summary(a: Action) -> tuple[object, ...]:
    if isinstance(a, OpenTicket):
        return ("open", str(a.root.key), tuple(sorted(str(s.key) for s in a.symptoms)), a.impact.priority)
    if isinstance(a, AttachSymptoms):
        return ("attach", str(a.root), tuple(sorted(str(s.key) for s in a.symptoms)))
    if isinstance(a, RestoreTicket):
        return ("restore", str(a.root))
    if isinstance(a, MergeTicket):
        return ("merge", str(a.into_root), str(a.from_root), tuple(sorted(str(s.key) for s in a.symptoms)))
    return ("record", str(a.alarm.key), a.change)


def tickets(out: list[tuple[float, Action]]) -> list[tuple[float, tuple[object, ...]]]:
    return [(t, summary(a)) for t, a in out if not isinstance(a, RecordAlarm)]


def records(out: list[tuple[float, Action]]) -> list[tuple[float, tuple[object, ...]]]:
    return [(t, summary(a)) for t, a in out if isinstance(a, RecordAlarm)]


AGG, AGG2, OLT, DIST = "agg-sh-pd-01", "agg-sh-mh-01", "olt-sh-pd-01", "dist-sh-01"
MW, CSR, PWR, CORE = "mw-sh-pd-101a", "csr-sh-pd-101", "pwr-sh-pd-101", "core-sh-01"
CARRIER = "CarrierTermination:slot=1;ctNumber=1"  # the radio link csr-sh-pd-101 hangs off (inventory.yaml)


def radio(device: str, link: str, active: bool = True) -> C:
    return C(device, Kind.RADIO_DOWN, link, active, hold=15)


def runtime_low(device: str) -> C:
    return C(device, Kind.THRESHOLD, "battery_runtime_low")


def on_battery(device: str) -> C:
    return C(device, Kind.ON_BATTERY, severity=Severity.MAJOR)


def k(device: str, kind: str = Kind.DEVICE_UNREACHABLE, resource: str = "") -> str:
    return str(AlarmKey(device, kind, resource))


# --- hold-down, clear hold-down, occurrences, flapping (records) ----------------------------------------

RECORD_CASES = {
    "hold-down: raised after 30 s of a port staying down": (
        [(0, port(OLT, "GPON 0/1/0")), (10, port(OLT, "GPON 0/1/0")), (25, port(OLT, "GPON 0/1/0"))],
        60,
        [(30, ("record", k(OLT, Kind.INTERFACE_DOWN, "GPON 0/1/0"), "raised"))],
    ),
    "hold-down: down for 20 s only, nothing raised": (
        [(0, port(OLT, "GPON 0/1/0")), (20, port(OLT, "GPON 0/1/0", False))],
        120,
        [],
    ),
    "clear hold-down: back down within it keeps the alarm, clears 60 s after the last up": (
        [(0, down(OLT)), (100, up(OLT)), (130, down(OLT)), (200, up(OLT))],
        400,
        [(0, ("record", k(OLT), "raised")), (260, ("record", k(OLT), "cleared"))],
    ),
    "occurrence: raised again within the occurrence window is updated, not new": (
        [(0, down(OLT)), (10, up(OLT)), (300, down(OLT))],
        320,
        [(0, ("record", k(OLT), "raised")), (70, ("record", k(OLT), "cleared")),
         (300, ("record", k(OLT), "updated"))],
    ),
    "flap: 4 changes in 10 min make one flapping alarm, it clears after 15 min quiet, port still down raises": (
        [(0, port(OLT, "GPON 0/1/0")), (10, port(OLT, "GPON 0/1/0", False)), (20, port(OLT, "GPON 0/1/0")),
         (30, port(OLT, "GPON 0/1/0", False)), (40, port(OLT, "GPON 0/1/0"))],
        1000,
        [(40, ("record", k(OLT, Kind.INTERFACE_FLAPPING, "GPON 0/1/0"), "flapping")),
         (940, ("record", k(OLT, Kind.INTERFACE_FLAPPING, "GPON 0/1/0"), "cleared")),
         (970, ("record", k(OLT, Kind.INTERFACE_DOWN, "GPON 0/1/0"), "raised"))],
    ),
    "flap: a raised port-down is superseded by the flapping alarm": (
        [(0, port(OLT, "GPON 0/1/0")), (40, port(OLT, "GPON 0/1/0", False)), (50, port(OLT, "GPON 0/1/0")),
         (60, port(OLT, "GPON 0/1/0", False)), (70, port(OLT, "GPON 0/1/0")), (80, port(OLT, "GPON 0/1/0", False))],
        1100,
        [(30, ("record", k(OLT, Kind.INTERFACE_DOWN, "GPON 0/1/0"), "raised")),
         (70, ("record", k(OLT, Kind.INTERFACE_DOWN, "GPON 0/1/0"), "cleared")),
         (70, ("record", k(OLT, Kind.INTERFACE_FLAPPING, "GPON 0/1/0"), "flapping")),
         (980, ("record", k(OLT, Kind.INTERFACE_FLAPPING, "GPON 0/1/0"), "cleared"))],
    ),
    "flap: 3 changes only, no flapping": (
        [(0, port(OLT, "GPON 0/1/0")), (10, port(OLT, "GPON 0/1/0", False)), (20, port(OLT, "GPON 0/1/0")),
         (30, port(OLT, "GPON 0/1/0", False))],
        300,
        [],
    ),
}


@pytest.mark.parametrize(("script", "until", "expected"), RECORD_CASES.values(), ids=RECORD_CASES.keys())
def test_records(script: Script, until: float, expected: list[tuple[float, tuple[object, ...]]]) -> None:
    _, out = run(script, until)
    got = [r for r in records(out) if r[1][2] != "correlated"]
    assert got == expected


def test_occurrence_count_and_times() -> None:
    s, _ = run([(0, down(OLT)), (10, up(OLT)), (300, down(OLT))], 320)
    a = s.tracks[AlarmKey(OLT, Kind.DEVICE_UNREACHABLE)].alarm
    assert (a.occurrences, a.first_seen, a.raised_at, a.cleared_at) == (2, at(0), at(300), None)


# --- correlation and tickets -------------------------------------------------------------------------------

HBB_PD = ("HBB-PD-000101", "HBB-PD-000102", "HBB-PD-000103")

TICKET_CASES = {
    "root first: the OLT behind the aggregation router is its symptom, one ticket": (
        [(0, down(AGG)), (30, down(OLT))],
        200,
        [(90, ("open", k(AGG), (k(OLT),), 1))],
    ),
    "root last (within the window): the root still wins": (
        [(0, down(OLT)), (60, down(AGG))],
        200,
        [(150, ("open", k(AGG), (k(OLT),), 1))],
    ),
    "root after the window: the symptom's ticket merges into the root's": (
        [(0, down(OLT)), (120, down(AGG))],
        300,
        [(90, ("open", k(OLT), (), 3)), (210, ("open", k(AGG), (k(OLT),), 1)),
         (210, ("merge", k(AGG), k(OLT), (k(OLT),)))],
    ),
    "symptom later than the root's window: attached to its ticket": (
        [(0, down(AGG)), (100, down(OLT))],
        300,
        [(90, ("open", k(AGG), (), 1)), (190, ("attach", k(AGG), (k(OLT),)))],
    ),
    "dual-homed, one upstream down: the distribution switch is a root of its own": (
        [(0, down(AGG)), (10, down(DIST))],
        200,
        [(90, ("open", k(AGG), (), 1)), (100, ("open", k(DIST), (), 4))],
    ),
    "dual-homed, both upstreams down: symptom of the primary upstream's root, with its CPE": (
        [(0, down(DIST)), (5, down("ent-sh-pd-01")), (20, down(AGG2)), (30, down(AGG))],
        200,
        [(110, ("open", k(AGG2), (), 1)),
         (120, ("open", k(AGG), (k(DIST), k("ent-sh-pd-01")), 1))],
    ),
    "dual-homed, the primary uplink port down and the other router down": (
        [(0, down(DIST)), (0, port(AGG, "40GE0/3/1")), (10, down(AGG2))],
        250,
        [(100, ("open", k(AGG2), (), 1)),
         (120, ("open", k(AGG, Kind.INTERFACE_DOWN, "40GE0/3/1"), (k(DIST),), 4))],
    ),
    "chain: aggregation → microwave → cell-site router → power, one ticket": (
        [(0, down(PWR)), (5, down(CSR)), (10, down(MW)), (40, down(AGG))],
        200,
        [(130, ("open", k(AGG), (k(CSR), k(MW), k(PWR)), 1))],
    ),
    "site on battery explains the site's gear going down later": (
        [(0, C(PWR, Kind.ON_BATTERY, severity=Severity.MAJOR)), (600, down(MW)), (605, down(CSR)),
         (610, down(PWR))],
        800,
        [(90, ("open", k(PWR, Kind.ON_BATTERY), (), 1)),
         (690, ("attach", k(PWR, Kind.ON_BATTERY), (k(MW),))),
         (695, ("attach", k(PWR, Kind.ON_BATTERY), (k(CSR),))),
         (700, ("attach", k(PWR, Kind.ON_BATTERY), (k(PWR),)))],
    ),
    "PON port down explains its ONUs' LOS": (
        [(0, C(OLT, Kind.ONU_LOS, "0/1/0:1", severity=Severity.MINOR)),
         (0, C(OLT, Kind.ONU_LOS, "0/1/0:2", severity=Severity.MINOR)),
         (20, C(OLT, Kind.PON_DOWN, "0/1/0")),
         (30, C(OLT, Kind.ONU_LOS, "0/1/0:3", severity=Severity.MINOR))],
        200,
        [(110, ("open", k(OLT, Kind.PON_DOWN, "0/1/0"),
                (k(OLT, Kind.ONU_LOS, "0/1/0:1"), k(OLT, Kind.ONU_LOS, "0/1/0:2"), k(OLT, Kind.ONU_LOS, "0/1/0:3")),
                3))],
    ),
    "root still in its hold-down when the symptom's window ends: the symptom waits for it": (
        [(0, down(OLT)), (80, C(AGG, hold=60))],
        300,
        [(230, ("open", k(AGG), (k(OLT),), 1))],
    ),
    "a root that clears within its window opens nothing": (
        [(0, down(OLT)), (10, up(OLT))],
        300,
        [],
    ),
    "root clears: ticket restored; its symptom still down gets its own ticket a window later": (
        [(0, down(AGG)), (10, down(OLT)), (200, up(AGG))],
        500,
        [(90, ("open", k(AGG), (k(OLT),), 1)), (260, ("restore", k(AGG))), (350, ("open", k(OLT), (), 3))],
    ),
    "warning severity: recorded, no ticket": (
        [(0, C(AGG, "trap:coldStart", severity=Severity.WARNING))],
        200,
        [],
    ),
    # --- a microwave link down: the radio is reachable, what hangs off its link is not -----------------
    "microwave: radio_down first, the cell-site router and power plant behind it unreachable, one ticket": (
        [(0, radio(MW, CARRIER)), (20, down(CSR)), (25, down(PWR))],
        300,
        [(105, ("open", k(MW, Kind.RADIO_DOWN, CARRIER), (k(CSR), k(PWR)), 1))],
    ),
    "microwave: radio_down last (within the window), still one ticket with the radio as root": (
        [(0, down(PWR)), (5, down(CSR)), (30, radio(MW, CARRIER))],
        300,
        [(135, ("open", k(MW, Kind.RADIO_DOWN, CARRIER), (k(CSR), k(PWR)), 1))],
    ),
    "microwave: the carrier's interface_down is the radio_down seen again, a symptom": (
        [(0, radio(MW, CARRIER)), (0, port(MW, CARRIER)), (20, down(CSR))],
        300,
        [(105, ("open", k(MW, Kind.RADIO_DOWN, CARRIER), (k(CSR), k(MW, Kind.INTERFACE_DOWN, CARRIER)), 1))],
    ),
    "microwave: a flapping carrier explains the router behind it": (
        [(0, port(MW, CARRIER)), (10, port(MW, CARRIER, False)), (20, port(MW, CARRIER)),
         (30, port(MW, CARRIER, False)), (40, port(MW, CARRIER)), (50, down(CSR))],
        300,
        [(130, ("open", k(MW, Kind.INTERFACE_FLAPPING, CARRIER), (k(CSR),), 1))],
    ),
    "microwave: another link of the radio down explains nothing behind this one": (
        [(0, radio(MW, "RadioLinkTerminal:slot=1;rltNumber=1")), (20, down(CSR))],
        300,
        [(105, ("open", k(MW, Kind.RADIO_DOWN, "RadioLinkTerminal:slot=1;rltNumber=1"), (), 4)),
         (110, ("open", k(CSR), (), 1))],
    ),
    # --- battery --------------------------------------------------------------------------------------
    "battery runtime low while on battery: a symptom of the site on battery, one ticket": (
        [(0, on_battery(PWR)), (60, runtime_low(PWR))],
        300,
        [(90, ("open", k(PWR, Kind.ON_BATTERY), (k(PWR, Kind.THRESHOLD, "battery_runtime_low"),), 1))],
    ),
    "battery runtime low with mains present (no on_battery): a ticket of its own": (
        [(0, runtime_low(PWR))],
        300,
        [(90, ("open", k(PWR, Kind.THRESHOLD, "battery_runtime_low"), (), 4))],
    ),
    # --- a root found after the group window: the older ticket merges into the root's ---------------------
    "root after the window, the old root's own symptoms move with it": (
        [(0, down(OLT)), (0, C(OLT, Kind.PON_DOWN, "0/1/0")), (120, down(AGG))],
        300,
        [(90, ("open", k(OLT), (k(OLT, Kind.PON_DOWN, "0/1/0"),), 3)),
         (210, ("open", k(AGG), (k(OLT), k(OLT, Kind.PON_DOWN, "0/1/0")), 1)),
         (210, ("merge", k(AGG), k(OLT), (k(OLT), k(OLT, Kind.PON_DOWN, "0/1/0"))))],
    ),
    "dual-homed: a root of its own until its second upstream goes down, then merged into the primary's": (
        [(0, down(AGG)), (10, down(DIST)), (120, down(AGG2))],  # within the 120 s detection lag of DIST
        400,
        [(90, ("open", k(AGG), (), 1)), (100, ("open", k(DIST), (), 4)), (210, ("open", k(AGG2), (), 1)),
         (210, ("merge", k(AGG), k(DIST), (k(DIST),)))],
    ),
    "the explaining alarm settles as a symptom of an older ticketed root: merged into that one": (
        [(0, down(CORE)), (10, down(OLT)), (120, down(AGG))],  # within the 120 s detection lag of the OLT
        400,
        [(90, ("open", k(CORE), (), 4)), (100, ("open", k(OLT), (), 3)),
         (210, ("merge", k(CORE), k(OLT), (k(OLT),))), (210, ("attach", k(CORE), (k(AGG),)))],
    ),
}


@pytest.mark.parametrize(("script", "until", "expected"), TICKET_CASES.values(), ids=TICKET_CASES.keys())
def test_tickets(script: Script, until: float, expected: list[tuple[float, tuple[object, ...]]]) -> None:
    _, out = run(script, until)
    assert tickets(out) == expected


# --- time: an alarm down before a root went down is not its symptom ----------------------------------------

POLL_30S = {name: Job(interval_s=30) for name in CORRELATION_JOBS}
CFG_30S = EngineSettings.from_config(AlarmsConfig(), jobs=POLL_30S)
"""The lab's defaults with every job polled each 30 s: group window 30 + 60 (onu_los hold-down) = 90 s,
detection lag 2 failed polls × 30 s = 60 s."""


def los(onu: str, hold: float = 0.0) -> C:
    return C(OLT, Kind.ONU_LOS, onu, hold=hold, severity=Severity.MINOR)


TIMING_CASES = {
    "ONU LOS first seen 5 min before the agg went down (still in its hold-down): not attached": (
        [(0, los("0/1/0:1", hold=240)), (300, down(AGG)), (310, down(OLT))],
        500,
        [(390, ("open", k(AGG), (k(OLT),), 1))],
        {k(OLT, Kind.ONU_LOS, "0/1/0:1"): None, k(OLT): k(AGG)},
    ),
    "OLT unreachable first seen 20 s before the agg's first failed poll (30 s polls): attached": (
        [(80, down(OLT)), (130, down(AGG))],  # the agg's 1st failed poll at 100, its 2nd (the condition) at 130
        400,
        [(220, ("open", k(AGG), (k(OLT),), 1))],
        {k(OLT): k(AGG)},
    ),
    "OLT unreachable first seen 40 s before the agg's first failed poll: not attached, its own ticket": (
        [(60, down(OLT)), (130, down(AGG))],
        400,
        [(150, ("open", k(OLT), (), 3)), (220, ("open", k(AGG), (), 1))],
        {k(OLT): None, k(AGG): None},
    ),
    "ONU LOS first seen 20 s before its OLT went down: attached through it to the agg": (
        [(290, los("0/1/0:1", hold=60)), (300, down(AGG)), (310, down(OLT))],
        500,
        [(390, ("open", k(AGG), (k(OLT), k(OLT, Kind.ONU_LOS, "0/1/0:1")), 1))],
        {k(OLT, Kind.ONU_LOS, "0/1/0:1"): k(AGG)},
    ),
    "a PON down since before the agg failed keeps its ticket and its ONUs: no merge": (
        [(0, C(OLT, Kind.PON_DOWN, "0/1/0")), (0, los("0/1/0:1")), (600, down(AGG)), (610, down(OLT))],
        800,
        [(90, ("open", k(OLT, Kind.PON_DOWN, "0/1/0"), (k(OLT, Kind.ONU_LOS, "0/1/0:1"),), 3)),
         (690, ("open", k(AGG), (k(OLT),), 1))],
        {k(OLT, Kind.ONU_LOS, "0/1/0:1"): k(OLT, Kind.PON_DOWN, "0/1/0"), k(OLT, Kind.PON_DOWN, "0/1/0"): None},
    ),
    "an OLT down before the agg keeps its ticket when the agg goes down under a down core": (
        [(0, down(CORE)), (10, down(OLT)), (200, down(AGG))],
        400,
        [(90, ("open", k(CORE), (), 4)), (100, ("open", k(OLT), (), 3)), (290, ("attach", k(CORE), (k(AGG),)))],
        {k(OLT): None, k(AGG): k(CORE)},
    ),
    "dual-homed, down while its second upstream was up: stays its own root when that one fails later": (
        [(0, down(AGG)), (10, down(DIST)), (200, down(AGG2))],
        400,
        [(90, ("open", k(AGG), (), 1)), (100, ("open", k(DIST), (), 4)), (290, ("open", k(AGG2), (), 1))],
        {k(DIST): None},
    ),
    "a flapping carrier counts from its first change: the router behind it, down since then, is attached": (
        [(0, port(MW, CARRIER)), (0, C(CSR, hold=100)), (30, port(MW, CARRIER, False)), (60, port(MW, CARRIER)),
         (90, port(MW, CARRIER, False)), (120, port(MW, CARRIER))],  # flapping from 120, its first change at 30
        400,
        [(210, ("open", k(MW, Kind.INTERFACE_FLAPPING, CARRIER), (k(CSR),), 1))],
        {k(CSR): k(MW, Kind.INTERFACE_FLAPPING, CARRIER)},
    ),
    "a repeat occurrence counts from its own onset, not the first occurrence's first_seen": (
        [(0, down(OLT)), (10, up(OLT)), (990, down(AGG)), (1000, down(OLT))],
        1200,
        [(1080, ("open", k(AGG), (k(OLT),), 1))],
        {k(OLT): k(AGG)},
    ),
}


@pytest.mark.parametrize(("script", "until", "expected", "roots"), TIMING_CASES.values(), ids=TIMING_CASES.keys())
def test_symptom_must_not_predate_its_root(
    script: Script, until: float, expected: list[tuple[float, tuple[object, ...]]], roots: dict[str, str | None]
) -> None:
    s, out = run(script, until, cfg=CFG_30S)
    assert (CFG_30S.group_window_s, CFG_30S.detection_lag_s) == (90, 60)
    assert tickets(out) == expected
    got = {key: s.tracks[AlarmKey.parse(key)].alarm.root for key in roots}
    assert got == {key: None if r is None else AlarmKey.parse(r) for key, r in roots.items()}


def test_impact_lists_services_and_customers() -> None:
    _, out = run([(0, C(OLT, Kind.PON_DOWN, "0/1/0")), (5, C(OLT, Kind.ONU_LOS, "0/1/0:2"))], 200)
    (ticket,) = [a for _, a in out if isinstance(a, OpenTicket)]
    assert [s.service_id for s in ticket.impact.services] == list(HBB_PD)
    assert ticket.impact.subscribers == 3
    assert (ticket.region, ticket.site) == ("sh-east", "sh-pd-co")
    vias = {s.service_id: s.via for s in ticket.impact.services}
    assert vias["HBB-PD-000101"] == f"{OLT}:0/1/0"


def test_radio_down_lists_the_mobile_backhaul_behind_it() -> None:
    _, out = run([(0, radio(MW, CARRIER)), (20, down(CSR)), (25, down(PWR))], 300)
    (ticket,) = [a for _, a in out if isinstance(a, OpenTicket)]
    assert [(s.service_id, s.service_class, s.via) for s in ticket.impact.services] == [
        ("MBH-PD-101-4G", "mobile_backhaul", f"{MW}:{CARRIER}"),
        ("MBH-PD-101-5G", "mobile_backhaul", f"{MW}:{CARRIER}"),
    ]
    alone = [s.service_id for s, _ in services_of(AlarmKey(MW, Kind.RADIO_DOWN, CARRIER), topology())]
    assert alone == ["MBH-PD-101-4G", "MBH-PD-101-5G"]  # the radio alarm alone names them, before any symptom


CUT_OFF = {
    "the radio's carrier: the cell-site router and the power plant behind it": (MW, CARRIER, (CSR, PWR)),
    "another link of the radio: nothing": (MW, "RadioLinkTerminal:slot=1;rltNumber=1", ()),
    "the aggregation router's port towards core: nothing hangs off it": (AGG, "40GE0/3/0", ()),
    "core's port towards agg-sh-pd-01: that router and all that hangs only off it": (
        CORE, "TenGigE0/0/0/0", (AGG, CSR, MW, OLT, PWR)),
    "a dual-homed switch's primary uplink port: it stays (its other uplink)": (AGG, "40GE0/3/1", ()),
}


@pytest.mark.parametrize(("device", "port_", "expected"), CUT_OFF.values(), ids=CUT_OFF.keys())
def test_cut_off(device: str, port_: str, expected: tuple[str, ...]) -> None:
    assert cut_off(device, port_, topology()) == tuple(sorted(expected))


# --- maintenance --------------------------------------------------------------------------------------------

Windows = tuple[tuple[float, float], ...]
OUTAGE: Script = [(0, down(AGG)), (30, down(OLT))]
RECOVERS: Script = [*OUTAGE, (100, up(AGG)), (100, up(OLT))]

# script, windows on AGG (start, end s), until, tickets, the last maintenance flag of each alarm
MAINT_CASES: dict[str, tuple[Script, Windows, float, list[tuple[float, tuple[object, ...]]], dict[str, bool]]] = {
    "in the window: recorded with maintenance, symptom too, no ticket": (
        OUTAGE, ((-60, 3600),), 300, [], {k(AGG): True, k(OLT): True},
    ),
    "window over before the alarm: a ticket as usual": (
        OUTAGE, ((-7200, -60),), 300, [(90, ("open", k(AGG), (k(OLT),), 1))], {k(AGG): False, k(OLT): False},
    ),
    "window ends, still down: a ticket a group window after the end, symptom with it": (
        OUTAGE, ((-60, 120),), 300, [(210, ("open", k(AGG), (k(OLT),), 1))], {k(AGG): False, k(OLT): False},
    ),
    "window ends while clearing: cleared within its new group window, no ticket": (
        RECOVERS, ((-60, 120),), 300, [], {k(AGG): False, k(OLT): False},
    ),
    "window ends after the device recovered: no ticket": (
        RECOVERS, ((-60, 200),), 300, [], {k(AGG): True, k(OLT): True},
    ),
    "back-to-back windows are one: the ticket waits for the second's end": (
        OUTAGE, ((-60, 120), (120, 600)), 800, [(690, ("open", k(AGG), (k(OLT),), 1))],
        {k(AGG): False, k(OLT): False},
    ),
    "a later root in maintenance takes no ticket over until its window ends, then merges the old one": (
        [(0, down(OLT)), (120, down(AGG))], ((100, 300),), 500,
        [(90, ("open", k(OLT), (), 3)), (390, ("open", k(AGG), (k(OLT),), 1)),
         (390, ("merge", k(AGG), k(OLT), (k(OLT),)))],
        {k(AGG): False, k(OLT): False},
    ),
}


def calendar(windows: Windows) -> MaintenanceCalendar:
    return MaintenanceCalendar(tuple(Window(at(a), at(b), frozenset({AGG}), "board swap") for a, b in windows))


@pytest.mark.parametrize(("script", "windows", "until", "expected", "flags"), MAINT_CASES.values(),
                         ids=MAINT_CASES.keys())
def test_maintenance(script: Script, windows: Windows, until: float,
                     expected: list[tuple[float, tuple[object, ...]]], flags: dict[str, bool]) -> None:
    _, out = run(script, until, cal=calendar(windows))
    assert tickets(out) == expected
    last = {str(a.alarm.key): a.alarm.maintenance for _, a in out if isinstance(a, RecordAlarm)}
    assert last == flags


def test_maintenance_overrun_keeps_the_detected_time_and_the_maintenance_interval() -> None:
    s, out = run(OUTAGE, 300, cal=calendar(((-60, 120),)))
    (ticket,) = [a for _, a in out if isinstance(a, OpenTicket)]
    root = ticket.root
    assert (root.first_seen, root.raised_at, root.maintenance) == (at(0), at(0), False)
    assert root.maintenance_span == (at(0), at(120))
    (olt,) = ticket.symptoms
    assert olt.maintenance_span == (at(30), at(120))
    ended = [(t, str(a.alarm.key)) for t, a in out if isinstance(a, RecordAlarm) and a.change == "maintenance_ended"]
    assert ended == [(120, k(AGG)), (120, k(OLT))]
    assert EngineState.from_json(s.to_json()) == s


def test_a_shut_port_clears_with_its_reason() -> None:
    shut = replace(port(OLT, "GPON 0/1/0", False), text="admin-down")
    s, out = run([(0, port(OLT, "GPON 0/1/0")), (100, shut)], 300)
    assert records(out) == [(30, ("record", k(OLT, Kind.INTERFACE_DOWN, "GPON 0/1/0"), "raised")),
                            (160, ("record", k(OLT, Kind.INTERFACE_DOWN, "GPON 0/1/0"), "cleared"))]
    a = s.tracks[AlarmKey(OLT, Kind.INTERFACE_DOWN, "GPON 0/1/0")].alarm
    assert (a.clear_reason, a.cleared_at) == ("admin-down", at(100))
    assert EngineState.from_json(s.to_json()) == s


# --- persistence and restart --------------------------------------------------------------------------------

RESTART_SCRIPT: Script = [(0, down(AGG)), (30, down(OLT)), (60, down(AGG)), (60, down(OLT)), (150, down(AGG)),
                          (150, down(OLT)), (200, up(AGG)), (200, up(OLT))]


# a root in maintenance found after its symptom's ticket; its window ends with it still down (merge at 390)
OVERRUN_SCRIPT: Script = [(0, down(OLT)), (120, down(AGG)), (200, down(AGG)), (200, down(OLT)), (450, up(AGG)),
                          (450, up(OLT))]
RESTARTS = [(RESTART_SCRIPT, None, cut, 1) for cut in (20, 50, 95, 180, 230, 300)] + [
    (OVERRUN_SCRIPT, ((100, 300),), cut, 2) for cut in (95, 125, 250, 300, 385, 395, 460)
]


@pytest.mark.parametrize(("script", "windows", "cut", "opened"), RESTARTS)
def test_restart_resumes_without_repeating(script: Script, windows: Windows | None, cut: float, opened: int) -> None:
    cal = None if windows is None else calendar(windows)
    _, whole = run(script, 600, cal=cal)
    first, part1 = run([x for x in script if x[0] <= cut], cut, cal=cal)
    restored = EngineState.from_json(first.to_json())
    assert restored == first
    _, part2 = run([x for x in script if x[0] > cut], 600, state=restored, start=cut + 5, cal=cal)
    assert [summary(a) for _, a in part1 + part2] == [summary(a) for _, a in whole]
    assert sum(isinstance(a, OpenTicket) for _, a in part1 + part2) == opened


# the timing rule after a restart: each track's onset is saved (a repeat occurrence's differs from first_seen)
TIMING_RESTARTS = [
    (name, cut)
    for name, cuts in (("a repeat occurrence counts from its own onset, not the first occurrence's first_seen",
                        (5, 500, 995, 1005, 1075)),
                       ("ONU LOS first seen 5 min before the agg went down (still in its hold-down): not attached",
                        (100, 305, 335, 385)))
    for cut in cuts
]


@pytest.mark.parametrize(("name", "cut"), TIMING_RESTARTS)
def test_restart_keeps_the_onsets(name: str, cut: float) -> None:
    script, until, expected, _ = TIMING_CASES[name]
    first, part1 = run([x for x in script if x[0] <= cut], cut, cfg=CFG_30S)
    restored = EngineState.from_json(first.to_json())
    assert restored == first
    _, part2 = run([x for x in script if x[0] > cut], until, state=restored, start=cut + 5, cfg=CFG_30S)
    assert tickets(part1 + part2) == expected


def test_a_state_saved_before_onsets_counts_from_first_seen() -> None:
    s, _ = run([(0, down(OLT))], 10)
    doc = json.loads(s.to_json())
    for t in doc["tracks"]:
        del t["onset"]
    old = EngineState.from_json(json.dumps(doc))
    assert [t.onset for t in old.tracks.values()] == [None]
    assert [t.down_since for t in old.tracks.values()] == [at(0)]


def test_restart_with_the_condition_still_active_opens_no_second_ticket() -> None:
    s, out = run([(0, down(AGG))], 100)
    assert len(tickets(out)) == 1
    s2 = EngineState.from_json(s.to_json())
    _, again = run([(105, down(AGG)), (135, down(AGG))], 400, state=s2, start=105)
    assert again == []


# --- property: a storm in any order opens exactly one ticket per root ---------------------------------------

STORM = [down(AGG), down(OLT), down(MW), down(CSR), down(PWR), down(DIST), down(AGG2), down("ent-sh-pd-01"),
         down("olt-sh-mh-01"), down("mw-sh-cm-201a"), down("csr-sh-cm-201")]


@settings(max_examples=60, deadline=None)
@given(st.permutations(STORM), st.lists(st.integers(0, 40), min_size=len(STORM), max_size=len(STORM)))
def test_storm_opens_one_ticket_per_root(order: list[C], times: list[int]) -> None:
    script = sorted(zip(times, order, strict=True), key=lambda x: x[0])
    _, out = run(script, 300)
    opened = [a for _, a in out if isinstance(a, OpenTicket)]
    assert sorted(str(a.root.key) for a in opened) == sorted([k(AGG), k(AGG2)])
    covered = [str(s.key) for a in opened for s in a.symptoms]
    covered += [str(s.key) for _, a in out if isinstance(a, AttachSymptoms) for s in a.symptoms]
    assert sorted(covered) == sorted(str(AlarmKey(c.device, c.kind)) for c in STORM if c.device not in (AGG, AGG2))
    by_root = {str(a.root.key): {str(s.key) for s in a.symptoms} for a in opened}
    assert k(DIST) in by_root[k(AGG)]  # dual-homed: its primary upstream's root


# --- the fast path (timers only for touched tracks) decides exactly as a full scan on every step ---------------

EVENTS = [down(AGG), up(AGG), down(OLT), up(OLT), port(OLT, "GPON 0/1/0"), port(OLT, "GPON 0/1/0", False),
          C(OLT, Kind.PON_DOWN, "0/1/0"), C(OLT, Kind.ONU_LOS, "0/1/0:1"), down(DIST), down(AGG2), up(AGG2),
          radio(MW, CARRIER), radio(MW, CARRIER, False), down(CSR), up(CSR)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1500), st.sampled_from(EVENTS)), max_size=40),
       st.sampled_from([None, ((200.0, 700.0),), ((0.0, 300.0), (300.0, 900.0))]))
def test_fast_path_equals_full_scan(script: list[tuple[int, C]], windows: Windows | None) -> None:
    cal = None if windows is None else calendar(windows)
    inputs: list[tuple[float, int, Condition | Tick]] = [(t, 0, c.at(t)) for t, c in script]
    inputs += [(float(t), 1, Tick(at(t))) for t in range(0, 1800, 15)]
    inputs.sort(key=lambda x: (x[0], x[1]))
    fast, full = EngineState(), EngineState()
    for t, _, item in inputs:
        fast, a1 = step(fast, item, topology(), at(t), settings=CFG, maintenance=cal)
        full, a2 = step(replace(full, next_due=None), item, topology(), at(t), settings=CFG, maintenance=cal)
        assert a1 == a2
    assert fast.tracks == full.tracks
