"""Polled BGP sessions: the peer tables of recorded routers → ``bgp_peer`` samples → ``bgp_down`` alarms.

The collection runs over two transports (the in-memory client answering from the recording and real snmpsim
serving it to :class:`PysnmpClient`); the expectations are read from the recording itself. Detection is a
table of poll sequences; a trap and a poll about one peer must land on one alarm.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from alarms.correlate import Topology
from alarms.detect import DetectorState, detect
from alarms.engine import EngineSettings, EngineState, step
from alarms.model import AlarmKey, AlarmState, Condition, Kind, Tick
from collectors import measurements as m
from collectors.counters import Limits, RateTracker
from collectors.model import DeviceEvent, FieldValue, PollResult, Sample, SnmpValue
from collectors.snmp.collect import SnmpCollector
from collectors.snmp.indexes import INDEX_DECODERS
from collectors.traps.decode import TrapDecoder
from collectors.traps.model import RawTrap
from config.alarms import AlarmsConfig, BgpRule, Rules, load_alarms
from config.loader import load
from config.profiles import ProfileSet, load_profiles
from config.traps import load_traps
from lab.network import default_recordings_dir
from tests.snmprec import Recording, load_snmprec
from tests.transports import Transport

ROOT = Path(__file__).resolve().parent.parent
DEVICES_DIR = default_recordings_dir()
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
AGG = "agg-sh-pd-01"

# (recording, profile, the peer table's columns: state, admin status, remote AS, established time, index form)
BGP4 = "1.3.6.1.2.1.15.3.1"
CBGP = "1.3.6.1.4.1.9.9.187.1.2.5.1"
RECORDED = {
    "vrp_ne": ("huawei_vrp", f"{BGP4}.2", f"{BGP4}.3", f"{BGP4}.9", f"{BGP4}.16", "ipv4"),
    "iosxr_asr9904": ("cisco_iosxr", f"{CBGP}.3", f"{CBGP}.4", f"{CBGP}.11", f"{CBGP}.19", "inet"),
}


# --- index decoders -----------------------------------------------------------------------------------------

DECODE = {
    "ipv4 peer": ("ipv4_peer", "188.120.0.2", {"peer": "188.120.0.2"}),
    "ipv4 peer, arc above 255": ("ipv4_peer", "188.120.0.256", None),
    "ipv4 peer, 5 arcs": ("ipv4_peer", "1.188.120.0.2", None),
    "ipv4 peer, not an index": ("ipv4_peer", "a.b.c.d", None),
    "inet ipv4": ("inet_peer", "1.4.192.168.5.149", {"peer": "192.168.5.149"}),
    "inet ipv6": ("inet_peer", "2.16.32.1.13.184" + ".0" * 11 + ".1", {"peer": "2001:db8::1"}),
    "inet, length disagrees": ("inet_peer", "1.4.192.168.5", None),
    "inet, unknown type": ("inet_peer", "3.4.192.168.5.149", None),
}


@pytest.mark.parametrize(("decoder", "index", "want"), DECODE.values(), ids=DECODE.keys())
def test_peer_index_decoders(decoder: str, index: str, want: dict[str, str] | None) -> None:
    assert INDEX_DECODERS[decoder].decode(index) == want


# --- collection against the recordings ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def profiles() -> ProfileSet:
    return load_profiles()


@pytest.fixture(scope="module")
def recordings() -> dict[str, Recording]:
    return {stem: load_snmprec(DEVICES_DIR / f"{stem}.snmprec") for stem in RECORDED}


def _peer(index: str, form: str) -> str:
    """The address an index names, by the standard library (not by the code under test)."""
    if form == "ipv4":
        return str(ipaddress.IPv4Address(bytes(int(p) for p in index.split("."))))
    _kind, _length, *octets = (int(p) for p in index.split("."))
    return str(ipaddress.ip_address(bytes(octets)))


@pytest.mark.parametrize("stem", RECORDED)
async def test_one_bgp_peer_sample_per_recorded_peer(
    stem: str, profiles: ProfileSet, recordings: dict[str, Recording], transport: Transport
) -> None:
    profile, state_col, admin_col, as_col, est_col, form = RECORDED[stem]
    rec = recordings[stem]
    col = SnmpCollector(profiles, transport.factory, RateTracker(Limits(60)), lambda: T0)
    result = await col.collect(transport.target(stem), profile, "bgp")
    assert result.ok, result.error
    states = rec.subtree(state_col)
    assert len(states) >= 30  # the recording really has a peer table
    by_peer = {s.tags[m.TAG_PEER]: s for s in result.samples}
    assert len(result.samples) == len(by_peer) == len(states)
    for index, state in states.items():
        s = by_peer[_peer(index, form)]
        assert s.measurement == m.BGP_PEER and s.tags[m.TAG_DEVICE] == stem
        assert s.fields[m.F_STATE] == state
        assert s.fields[m.F_ADMIN_STATUS] == rec.values[f"{admin_col}.{index}"]
        assert s.fields[m.F_ESTABLISHED_S] == rec.values[f"{est_col}.{index}"]
        remote = rec.values.get(f"{as_col}.{index}")
        assert s.tags.get(m.TAG_REMOTE_AS) == (None if remote is None else str(remote))
        assert set(s.fields) <= set(m.BY_NAME[m.BGP_PEER].fields)
        assert set(s.tags) <= set(m.BY_NAME[m.BGP_PEER].tags)


def test_the_ne_recording_has_peers_in_each_kind_of_state(recordings: dict[str, Recording]) -> None:
    """What the detection cases below rely on: vrp_ne has one established, one active and idle peers."""
    states = sorted(set(recordings["vrp_ne"].subtree(f"{BGP4}.2").values()), key=str)
    assert states == [1, 3, 6]


# --- detection ----------------------------------------------------------------------------------------------


@cache
def topology() -> Topology:
    return Topology.from_inventory(load(ROOT / "inventory.yaml", ROOT / "config", env={}).inventory)


@cache
def config() -> AlarmsConfig:
    """The shipped rules, with every peer watched (the shipped file narrows the lab router to its transits)."""
    cfg = load_alarms(ROOT / "config" / "alarms.yaml")
    bgp = cfg.rules.bgp_down.model_copy(update={"peers": {}})
    return cfg.model_copy(update={"rules": cfg.rules.model_copy(update={"bgp_down": bgp})})


def peer(address: str, state: int, admin: int | None = 2, device: str = AGG) -> PollResult:
    fields: dict[str, FieldValue] = {m.F_STATE: state, m.F_ESTABLISHED_S: 10}
    if admin is not None:
        fields[m.F_ADMIN_STATUS] = admin
    s = Sample(m.BGP_PEER, {m.TAG_DEVICE: device, m.TAG_PEER: address, m.TAG_REMOTE_AS: "65001"}, fields, T0)
    return PollResult(device, "bgp", T0, 0.1, (s,))


def feed(items: Sequence[PollResult | DeviceEvent], rules: Rules) -> list[list[tuple[str, bool]]]:
    state, out = DetectorState(), []
    for i, item in enumerate(items):
        state, conds = detect(state, item, rules, topology(), T0 + timedelta(seconds=30 * i))
        out.append([(str(c.key), c.active) for c in conds])
        state = DetectorState.from_json(state.to_json())  # the streak survives a restart
    return out


P1, P2 = "10.0.0.1", "10.0.0.2"
K1, K2 = f"{AGG}|bgp_down|{P1}", f"{AGG}|bgp_down|{P2}"
DETECT: dict[str, tuple[BgpRule, list[PollResult], list[list[tuple[str, bool]]]]] = {
    "idle for 2 polls raises, established clears": (
        BgpRule(), [peer(P1, 1), peer(P1, 1), peer(P1, 1), peer(P1, 6)],
        [[], [(K1, True)], [(K1, True)], [(K1, False)]],
    ),
    "every not-established state counts (connect, active, opensent, openconfirm)": (
        BgpRule(), [peer(P1, 2), peer(P1, 3), peer(P1, 4), peer(P1, 5)],
        [[], [(K1, True)], [(K1, True)], [(K1, True)]],
    ),
    "one bad poll between established ones raises nothing": (
        BgpRule(), [peer(P1, 6), peer(P1, 3), peer(P1, 6), peer(P1, 3)],
        [[(K1, False)], [], [(K1, False)], []],
    ),
    "admin-stopped peer raises nothing (and clears)": (
        BgpRule(), [peer(P1, 1, admin=1), peer(P1, 1, admin=1), peer(P1, 1, admin=1)],
        [[(K1, False)], [(K1, False)], [(K1, False)]],
    ),
    "admin stop resets the streak": (
        BgpRule(), [peer(P1, 1), peer(P1, 1, admin=1), peer(P1, 1)],
        [[], [(K1, False)], []],
    ),
    "no admin status answered: counts as started": (
        BgpRule(), [peer(P1, 1, admin=None), peer(P1, 1, admin=None)],
        [[], [(K1, True)]],
    ),
    "polls: 1 raises on the first poll": (
        BgpRule(polls=1), [peer(P1, 3)], [[(K1, True)]],
    ),
    "polls: 3": (
        BgpRule(polls=3), [peer(P1, 3), peer(P1, 3), peer(P1, 3)], [[], [], [(K1, True)]],
    ),
    "two peers keep their own streaks": (
        BgpRule(), [peer(P1, 1), peer(P2, 1), peer(P1, 1), peer(P2, 6)],
        [[], [], [(K1, True)], [(K2, False)]],
    ),
    "peers: only the listed peers of a listed device are watched": (
        BgpRule(polls=1, peers={AGG: (P2,)}), [peer(P1, 1), peer(P2, 1)], [[], [(K2, True)]],
    ),
    "peers: an unlisted device watches every peer": (
        BgpRule(polls=1, peers={"core-sh-01": (P2,)}), [peer(P1, 1)], [[(K1, True)]],
    ),
    "disabled rule": (
        BgpRule(enabled=False), [peer(P1, 1), peer(P1, 1)], [[], []],
    ),
}


@pytest.mark.parametrize(("rule", "polls", "want"), DETECT.values(), ids=DETECT.keys())
def test_bgp_down_from_polls(rule: BgpRule, polls: list[PollResult], want: list[list[tuple[str, bool]]]) -> None:
    rules = config().rules.model_copy(update={"bgp_down": rule})
    assert feed(polls, rules) == want


def test_a_polled_bgp_down_carries_the_rule_and_a_text() -> None:
    rules = config().rules
    state, conds = DetectorState(), tuple[Condition, ...]()
    for _ in range(rules.bgp_down.polls):
        state, conds = detect(state, peer(P1, 3), rules, topology(), T0)
    [c] = conds
    assert c.key == AlarmKey(AGG, Kind.BGP_DOWN, P1)
    assert (c.severity.value, c.hold_s, c.clear_hold_s) == (
        rules.bgp_down.severity, rules.bgp_down.hold_down_s, rules.bgp_down.clear_hold_down_s)
    assert c.text == f"BGP peer {P1} (AS 65001) active"


# --- a trap and a poll about one peer are one alarm ---------------------------------------------------------

TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"


class NoNames:
    def ifname(self, device: str, ifindex: int) -> str | None:
        return None


def bgp_trap(oid: str, *vbs: tuple[str, SnmpValue]) -> RawTrap:
    return RawTrap("127.0.0.1", 40000, "2c", "c0", (("1.3.6.1.2.1.1.3.0", 1), (TRAP_OID, oid), *vbs), T0)


def decoded(trap: RawTrap) -> DeviceEvent:
    mappings = load_traps(ROOT / "config" / "traps.yaml", os.environ).mappings
    return TrapDecoder(mappings, NoNames(), frozenset({AGG})).decode(trap, AGG)


BACKWARD = {  # the two forms of bgpBackwardTransition (TELECOM.md A1), both naming peer P1
    "RFC 1657: bgpPeerState.<peer>": bgp_trap(
        "1.3.6.1.2.1.15.7.2", (f"{BGP4}.14.{P1}", b"\x06\x02"), (f"{BGP4}.2.{P1}", 1)),
    "RFC 4273: bgpPeerRemoteAddr": bgp_trap(
        "1.3.6.1.2.1.15.0.2", (f"{BGP4}.7.{P1}", P1), (f"{BGP4}.14.{P1}", b"\x06\x02"), (f"{BGP4}.2.{P1}", 1)),
}
ESTABLISHED = bgp_trap("1.3.6.1.2.1.15.0.1", (f"{BGP4}.7.{P1}", P1), (f"{BGP4}.2.{P1}", 6))

# (what happens at 0 s, 30 s, 60 s ...: a trap, a poll of P1 in some state) → the alarm's state at the end
SHARED = {
    "trap raises, polls keep it, established poll clears": (["trap", 1, 1, 6, 6, 6], AlarmState.CLEARED, 1),
    "polls raise, the trap is the same alarm, established trap clears": (
        [3, 3, 3, "trap", 3, "established"], AlarmState.CLEARED, 1),
    "trap raises, still down when polled": (["trap", 3, 3, 3, 3, 3], AlarmState.RAISED, 1),
    "trap raises, the peer is then admin-stopped": (
        ["trap", 3, 3, 3, (1, 1), (1, 1), (1, 1), (1, 1)], AlarmState.CLEARED, 1),
    "trap raises, admin-stopped before the hold-down ends: no alarm": (["trap", (1, 1), (1, 1)], None, 0),
}


@pytest.mark.parametrize("form", BACKWARD, ids=list(BACKWARD))
@pytest.mark.parametrize(("script", "final", "alarms"), SHARED.values(), ids=SHARED.keys())
def test_trap_and_poll_are_one_alarm(
    form: str, script: list[object], final: AlarmState | None, alarms: int
) -> None:
    cfg = config()
    settings = EngineSettings.from_config(cfg, poll_interval_s=30)
    det, eng = DetectorState(), EngineState()
    for i, what in enumerate(script):
        now = T0 + timedelta(seconds=30 * i)
        item: PollResult | DeviceEvent
        if what == "trap":
            item = decoded(BACKWARD[form])
            assert item.resource == P1
        elif what == "established":
            item = decoded(ESTABLISHED)
        elif isinstance(what, tuple):
            item = peer(P1, what[0], admin=what[1])
        else:
            assert isinstance(what, int)
            item = peer(P1, what)
        det, conds = detect(det, item, cfg.rules, topology(), now)
        inputs: list[Condition | Tick] = [*conds, Tick(now)]
        for x in inputs:
            eng, _ = step(eng, x, topology(), now, settings=settings)
    end = T0 + timedelta(seconds=30 * len(script) + 120)  # past every hold-down
    eng, _ = step(eng, Tick(end), topology(), end, settings=settings)
    bgp = [a for a in eng.alarms() if a.key.kind == Kind.BGP_DOWN]
    assert [a.key for a in bgp] == [AlarmKey(AGG, Kind.BGP_DOWN, P1)] * alarms
    assert [a.state for a in bgp] == ([] if final is None else [final])
