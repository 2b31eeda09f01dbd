"""The pure trap decoder, the device resolver and the trap config loader, as tables."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collectors import measurements as m
from collectors.ifnames import IFNAMES_FILE, IfNameCache, decode, encode
from collectors.model import Sample, SnmpValue
from collectors.traps.decode import TrapDecoder, bgp_peer, event_sample, unsigned32
from collectors.traps.dedup import RecentKeys, inform_keys
from collectors.traps.heartbeat import FEED_LOST, FEED_RESTORED, beat, start, tick
from collectors.traps.model import DeviceInfo, RawTrap
from collectors.traps.resolve import DeviceDirectory
from config.errors import ConfigError
from config.traps import Heartbeat, VendorMapping, load_traps

T = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
MAPPINGS = load_traps(Path(__file__).resolve().parent.parent / "config" / "traps.yaml", os.environ).mappings
NBI = "1.3.6.1.4.1.2011.2.15.1.7.1"


class Names:
    def ifname(self, device: str, ifindex: int) -> str | None:
        return {("r1", 5): "Gi0/5", ("olt", 4194304000): "GPON 0/0/0"}.get((device, ifindex))


DECODER = TrapDecoder(MAPPINGS, Names(), frozenset({"r1", "olt", "ne-7"}))


def trap(oid: str, *vbs: tuple[str, SnmpValue], security: str = "c0", source: str = "127.0.0.1") -> RawTrap:
    return RawTrap(source, 40000, "2c", security, (("1.3.6.1.2.1.1.3.0", 1), (TRAP_OID, oid), *vbs), T)


DECODE = [
    ("linkDown by ifIndex", "r1", trap("1.3.6.1.6.3.1.1.5.3", ("1.3.6.1.2.1.2.2.1.1.5", 5),
                                       ("1.3.6.1.2.1.2.2.1.8.5", 2)), ("linkDown", "Gi0/5", None, "major")),
    ("linkUp clears", "r1", trap("1.3.6.1.6.3.1.1.5.4", ("1.3.6.1.2.1.2.2.1.1.5", 5)),
     ("linkUp", "Gi0/5", "linkDown", "cleared")),
    ("no ifIndex varbind: row index", "r1", trap("1.3.6.1.6.3.1.1.5.3", ("1.3.6.1.2.1.2.2.1.8.5", 2)),
     ("linkDown", "Gi0/5", None, "major")),
    ("unknown ifIndex falls back to text", "r1", trap("1.3.6.1.6.3.1.1.5.3", ("1.3.6.1.2.1.2.2.1.1.9", 9)),
     ("linkDown", "9", None, "major")),
    ("Huawei PON ifIndex as negative Integer32", "olt",
     trap("1.3.6.1.6.3.1.1.5.3", ("1.3.6.1.2.1.2.2.1.1.4194304000", -100663296)),
     ("linkDown", "GPON 0/0/0", None, "major")),
    ("ifName varbind wins", "r1", trap("1.3.6.1.6.3.1.1.5.3", ("1.3.6.1.2.1.2.2.1.1.5", 5),
                                       ("1.3.6.1.2.1.31.1.1.1.1.5", b"Gi0/5-dev")),
     ("linkDown", "Gi0/5-dev", None, "major")),
    ("coldStart", "r1", trap("1.3.6.1.6.3.1.1.5.1"), ("coldStart", "", None, "warning")),
    ("warmStart", "r1", trap("1.3.6.1.6.3.1.1.5.2"), ("warmStart", "", None, "warning")),
    ("authenticationFailure", "r1", trap("1.3.6.1.6.3.1.1.5.5"), ("authenticationFailure", "", None, "minor")),
    ("BGP RFC 1657 backward", "r1", trap("1.3.6.1.2.1.15.7.2", ("1.3.6.1.2.1.15.3.1.14.10.0.0.2", b"\x06\x04"),
                                         ("1.3.6.1.2.1.15.3.1.2.10.0.0.2", 1)),
     ("bgpBackwardTransition", "10.0.0.2", None, "major")),
    ("BGP RFC 4273 established", "r1", trap("1.3.6.1.2.1.15.0.1", ("1.3.6.1.2.1.15.3.1.7.10.0.0.3", "10.0.0.3"),
                                            ("1.3.6.1.2.1.15.3.1.2.10.0.0.3", 6)),
     ("bgpEstablished", "10.0.0.3", "bgpBackwardTransition", "cleared")),
    ("Ericsson raise", "r1", trap("1.3.6.1.4.1.193.183.4.2.0.5", ("1.3.6.1.4.1.193.183.4.1.3.5.1.5.3", b"ME=1,X=2"),
                                  ("1.3.6.1.4.1.193.183.4.1.3.5.1.2.3", 193), ("1.3.6.1.4.1.193.183.4.1.3.5.1.3.3", 7)),
     ("eriAlarm", "ME=1,X=2 [193.7]", None, "critical")),
    ("Ericsson clear", "r1", trap("1.3.6.1.4.1.193.183.4.2.0.7", ("1.3.6.1.4.1.193.183.4.1.3.5.1.5.3", b"ME=1,X=2"),
                                  ("1.3.6.1.4.1.193.183.4.1.3.5.1.2.3", 193), ("1.3.6.1.4.1.193.183.4.1.3.5.1.3.3", 7)),
     ("eriAlarm", "ME=1,X=2 [193.7]", "eriAlarm", "cleared")),
    ("Huawei NBI raise, NE names the device, GB18030 text", "ems",
     trap("1.3.6.1.4.1.2011.2.15.1.7.1.0.1", (f"{NBI}.1.0", b"ne-7"), (f"{NBI}.3.0", b"Board=3"),
          (f"{NBI}.6.0", b"LOS"), (f"{NBI}.7.0", b"Major"), (f"{NBI}.8.0", "光信号丢失".encode("gb18030")),
          (f"{NBI}.10.0", b"Fault")), ("emsAlarm", "Board=3 [LOS]", None, "major")),
    ("Huawei NBI recovery clears", "ems",
     trap("1.3.6.1.4.1.2011.2.15.1.7.1.0.1", (f"{NBI}.1.0", b"ne-7"), (f"{NBI}.3.0", b"Board=3"),
          (f"{NBI}.6.0", b"LOS"), (f"{NBI}.7.0", b"Major"), (f"{NBI}.10.0", b"Recovery")),
     ("emsAlarm", "Board=3 [LOS]", "emsAlarm", "cleared")),
    ("unknown trap", "r1", trap("1.3.6.1.4.1.9.9.41.2.0.1"),
     ("trap", "1.3.6.1.4.1.9.9.41.2.0.1", None, "indeterminate")),
    ("no snmpTrapOID", "r1", RawTrap("127.0.0.1", 1, "2c", "", (), T), ("trap", "", None, "indeterminate")),
    ("ifDescr varbind when no poll knows the ifIndex", "r1",
     trap("1.3.6.1.6.3.1.1.5.3", ("1.3.6.1.2.1.2.2.1.1.9", 9), ("1.3.6.1.2.1.2.2.1.2.9", b"GigabitEthernet0/9")),
     ("linkDown", "GigabitEthernet0/9", None, "major")),
    ("polled ifName wins over the ifDescr varbind", "r1",
     trap("1.3.6.1.6.3.1.1.5.4", ("1.3.6.1.2.1.2.2.1.1.5", 5), ("1.3.6.1.2.1.2.2.1.2.5", b"GigabitEthernet0/5")),
     ("linkUp", "Gi0/5", "linkDown", "cleared")),
    ("ifName varbind wins over ifDescr", "olt",
     trap("1.3.6.1.6.3.1.1.5.3", ("1.3.6.1.2.1.2.2.1.1.4194304000", -100663296),
          ("1.3.6.1.2.1.2.2.1.2.4194304000", b"Huawei-MA5800-GPON 0/0/0"),
          ("1.3.6.1.2.1.31.1.1.1.1.4194304000", b"GPON0/0/0")),
     ("linkDown", "GPON0/0/0", None, "major")),
    ("empty ifDescr: the ifIndex", "r1",
     trap("1.3.6.1.6.3.1.1.5.3", ("1.3.6.1.2.1.2.2.1.1.9", 9), ("1.3.6.1.2.1.2.2.1.2.9", b"")),
     ("linkDown", "9", None, "major")),
    ("Huawei NBI heartbeat, decoded alone: a plain trap (the receiver counts it first)", "ems",
     trap("1.3.6.1.4.1.2011.2.15.1.7.2.0.2"), ("trap", "1.3.6.1.4.1.2011.2.15.1.7.2.0.2", None, "indeterminate")),
]


@pytest.mark.parametrize(("name", "device", "raw", "want"), DECODE, ids=[d[0] for d in DECODE])
def test_decode(name: str, device: str, raw: RawTrap, want: tuple[str, str, str | None, str]) -> None:
    e = DECODER.decode(raw, device)
    assert (e.kind, e.resource, e.clears, e.severity) == want
    assert e.time == T and e.source == "trap"


def test_huawei_nbi_event_is_about_the_ne() -> None:
    e = DECODER.decode(DECODE[13][2], "ems")
    assert e.device == "ne-7" and e.attrs["via"] == "ems" and "光信号丢失" in e.text


@pytest.mark.parametrize(("raw", "want"), [(-100663296, 4194304000), (5, 5), (-1, 0xFFFFFFFF), (0, 0)])
def test_unsigned32(raw: int, want: int) -> None:
    assert unsigned32(raw) == want


@pytest.mark.parametrize(("vbs", "peer"), [
    ((("1.3.6.1.2.1.15.3.1.14.192.0.2.1", b"\x00\x00"),), "192.0.2.1"),
    ((("1.3.6.1.2.1.15.3.1.7.192.0.2.9", "192.0.2.9"),), "192.0.2.9"),
    ((), ""),
])
def test_bgp_peer(vbs: tuple[tuple[str, SnmpValue], ...], peer: str) -> None:
    assert bgp_peer(vbs) == peer


def test_event_sample() -> None:
    e = DECODER.decode(DECODE[0][2], "r1")
    s = event_sample(e, {m.TAG_SITE: "s", m.TAG_REGION: "g", m.TAG_ROLE: "router", m.TAG_DEVICE: "x"})
    assert s.measurement == m.EVENT
    assert dict(s.tags) == {m.TAG_DEVICE: "r1", m.TAG_KIND: "linkDown", m.TAG_SOURCE: "trap",
                            m.TAG_SEVERITY: "major", m.TAG_IFNAME: "Gi0/5", m.TAG_SITE: "s", m.TAG_REGION: "g",
                            m.TAG_ROLE: "router"}
    assert s.fields[m.F_COUNT] == 1 and s.fields[m.F_IFINDEX] == 5
    assert set(s.tags) <= set(m.BY_NAME[m.EVENT].tags) and set(s.fields) <= set(m.BY_NAME[m.EVENT].fields)


DIRECTORY = DeviceDirectory(
    [DeviceInfo("a", "127.0.0.1"), DeviceInfo("b", "127.0.0.1"), DeviceInfo("c", "10.0.0.3")],
    {"c1": "b", "engine:80000000010203": "a"},
)
RESOLVE = [
    ("pinned community", trap("1.3.6.1.6.3.1.1.5.1", security="c1"), ("b", "credential")),
    ("v3 engine ID", trap("1.3.6.1.6.3.1.1.5.1", security="engine:80000000010203"), ("a", "credential")),
    ("agent address", trap("1.3.6.1.6.3.1.1.5.1", ("1.3.6.1.6.3.18.1.3.0", "10.0.0.3")), ("c", "agent_address")),
    ("source address", trap("1.3.6.1.6.3.1.1.5.1", source="10.0.0.3"), ("c", "source_address")),
    ("ambiguous source", trap("1.3.6.1.6.3.1.1.5.1"), ("127.0.0.1", "unresolved")),
    ("unknown source", trap("1.3.6.1.6.3.1.1.5.1", source="10.1.1.1"), ("10.1.1.1", "unresolved")),
]


@pytest.mark.parametrize(("name", "raw", "want"), RESOLVE, ids=[r[0] for r in RESOLVE])
def test_resolve(name: str, raw: RawTrap, want: tuple[str, str]) -> None:
    r = DIRECTORY.resolve(raw)
    assert (r.device, r.how) == want


BAD_CONFIG = [
    ("bad oid", "mappings:\n  - name: x\n    kind: k\n    raise: {1.3.x: major}\n    managed_object: 1.3.6\n",
     4, "mappings[0].raise"),
    ("bad severity", "mappings:\n  - name: x\n    kind: k\n    raise: {1.3.6.1: huge}\n    managed_object: 1.3.6\n",
     4, "mappings[0].raise"),
    ("inline secret", "receiver:\n  communities:\n    - community: public\n", 3, "receiver.communities[0].community"),
    ("unknown key", "receiver:\n  prot: 162\n", 2, "receiver.prot"),
    ("same oid twice", "mappings:\n  - name: x\n    kind: k\n    raise: {1.3.6.1: major}\n    managed_object: 1.3.6\n"
     "  - name: y\n    kind: k\n    raise: {1.3.6.1: major}\n    managed_object: 1.3.6\n", 1, ""),
]


@pytest.mark.parametrize(("name", "text", "line", "field"), BAD_CONFIG, ids=[b[0] for b in BAD_CONFIG])
def test_config_errors_name_file_line_field(name: str, text: str, line: int, field: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "traps.yaml"
        f.write_text(text)
        with pytest.raises(ConfigError) as exc:
            load_traps(f, {})
    p = exc.value.problems[0]
    assert p.file == str(f)
    assert p.line == line and p.field_path.startswith(field)


def test_shipped_config_loads() -> None:
    assert {mp.name for mp in MAPPINGS} == {"ericsson-alarm-mib", "huawei-u2000-nbi"}
    hb = next(mp.heartbeat for mp in MAPPINGS if mp.name == "huawei-u2000-nbi")
    assert hb is not None and (hb.oid, hb.period_s, hb.missed) == ("1.3.6.1.4.1.2011.2.15.1.7.2.0.2", 60, 3)


@pytest.mark.parametrize(("oid", "want"), [
    ("1.3.6.1.4.1.2011.2.15.1.7.2.0.2", "huawei-u2000-nbi"),
    ("1.3.6.1.4.1.2011.2.15.1.7.1.0.1", None),  # the alarm notification itself
    ("1.3.6.1.6.3.1.1.5.3", None),
])
def test_heartbeat_of(oid: str, want: str | None) -> None:
    mp = DECODER.heartbeat_of(trap(oid))
    assert (mp.name if mp is not None else None) == want


# --- EMS feed heartbeats (pure, time passed in) -------------------------------------------------------------

HB = Heartbeat(oid="1.3.6.1.4.1.2011.2.15.1.7.2.0.2", period_s=60, missed=3)
HB_EMS = Heartbeat(oid="1.3.6.1.4.1.2011.2.15.1.7.2.0.2", period_s=60, missed=3, device="ems-1")
# steps: (seconds after start, "beat" from a sender | "tick"), want: (kind, device) of each step's event or None
FEEDS = [
    ("beats in time: no event", HB, [(0, "beat:ems-a"), (59, "tick"), (60, "beat:ems-a"), (230, "tick")],
     [None, None, None, None]),
    ("never seen, no device: never lost", HB, [(0, "tick"), (1000, "tick")], [None, None]),
    ("3 periods silent: lost once, then restored", HB,
     [(0, "beat:ems-a"), (179, "tick"), (180, "tick"), (240, "tick"), (500, "tick"), (501, "beat:ems-a"),
      (502, "tick")],
     [None, None, (FEED_LOST, "ems-a"), None, None, (FEED_RESTORED, "ems-a"), None]),
    ("restored on the device it was lost on, whoever beats", HB,
     [(0, "beat:ems-a"), (200, "tick"), (210, "beat:ems-b"), (400, "tick")],
     [None, (FEED_LOST, "ems-a"), (FEED_RESTORED, "ems-a"), (FEED_LOST, "ems-b")]),
    ("configured EMS: watched from start", HB_EMS, [(100, "tick"), (180, "tick"), (181, "beat:10.1.1.1")],
     [None, (FEED_LOST, "ems-1"), (FEED_RESTORED, "ems-1")]),
    ("missed=1 period=60: lost after 60 s", Heartbeat(oid="1.3.6.1.4.1.9.1", period_s=60, missed=1),
     [(0, "beat:x"), (59.9, "tick"), (60, "tick")], [None, None, (FEED_LOST, "x")]),
]


@pytest.mark.parametrize(("name", "hb", "steps", "want"), FEEDS, ids=[f[0] for f in FEEDS])
def test_feed_heartbeat_steps(
    name: str, hb: Heartbeat, steps: list[tuple[float, str]], want: list[tuple[str, str] | None]
) -> None:
    mp = VendorMapping.model_validate({"name": "nbi", "kind": "emsAlarm", "raise": {"1.3.6.1.4.1.9.9": "major"},
                                       "managed_object": "1.3.6.1.4.1.9.8", "heartbeat": hb.model_dump()})
    state = start(mp, T)
    got: list[tuple[str, str] | None] = []
    for at, action in steps:
        now = T + timedelta(seconds=at)
        if action == "tick":
            state, event = tick(state, now)
        else:
            state, event = beat(state, action.removeprefix("beat:"), now)
        got.append((event.kind, event.device) if event is not None else None)
        if event is not None:
            assert event.resource == "nbi" and event.time == now
            assert event.clears == (FEED_LOST if event.kind == FEED_RESTORED else None)
    assert got == want


def test_heartbeat_oid_may_not_raise() -> None:
    text = ("mappings:\n  - name: x\n    kind: k\n    raise: {1.3.6.1: major}\n    managed_object: 1.3.6\n"
            "    heartbeat: {oid: 1.3.6.1}\n")
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "traps.yaml"
        f.write_text(text)
        with pytest.raises(ConfigError) as exc:
            load_traps(f, {})
    assert "heartbeat OID 1.3.6.1" in str(exc.value)


# --- INFORM dedup (pure) --------------------------------------------------------------------------------------

UP = ("1.3.6.1.2.1.1.3.0", 4711)
COLD = (TRAP_OID, "1.3.6.1.6.3.1.1.5.1")


def inform(source: str = "10.0.0.1", port: int = 40000, security: str = "c0", uptime: int = 4711) -> RawTrap:
    return RawTrap(source, port, "2c", security, (("1.3.6.1.2.1.1.3.0", uptime), COLD), T, inform=True)


# (seconds after T, the inform, its request-id) → is it a repeat?
DEDUP = [
    ("same request-id resent", [(0, inform(), 7), (1, inform(), 7)], [False, True]),
    ("same varbinds under a new request-id, same socket (net-snmp v2c)", [(0, inform(), 7), (1, inform(), 8)],
     [False, True]),
    ("new varbinds, new request-id: a new inform", [(0, inform(), 7), (1, inform(uptime=4811), 8)], [False, False]),
    ("same request-id from another sender", [(0, inform(), 7), (1, inform(source="10.0.0.2"), 7)], [False, False]),
    ("same request-id under another credential", [(0, inform(), 7), (1, inform(security="c1"), 7)],
     [False, False]),
    ("same varbinds from another socket, new request-id", [(0, inform(), 7), (1, inform(port=40001), 8)],
     [False, False]),
    ("after the window it is let through", [(0, inform(), 7), (31, inform(), 7)], [False, False]),
    ("a third copy is a repeat too", [(0, inform(), 7), (1, inform(), 7), (2, inform(), 8)], [False, True, True]),
]


@pytest.mark.parametrize(("name", "seq", "want"), DEDUP, ids=[d[0] for d in DEDUP])
def test_inform_dedup(name: str, seq: list[tuple[float, RawTrap, int]], want: list[bool]) -> None:
    recent = RecentKeys(30.0)
    got = [recent.seen(inform_keys(raw, rid), T + timedelta(seconds=at)) for at, raw, rid in seq]
    assert got == want


def test_inform_dedup_bounded_and_off() -> None:
    recent = RecentKeys(30.0, max_keys=10)
    for i in range(100):
        recent.seen(inform_keys(inform(uptime=i), i), T)
    assert len(recent) <= 10
    off = RecentKeys(0.0)
    assert [off.seen(inform_keys(inform(), 7), T) for _ in range(2)] == [False, False]


# --- the persisted ifName cache ----------------------------------------------------------------------------


def iface(device: str, ifindex: int, ifname: str) -> Sample:
    return Sample(m.INTERFACE, {m.TAG_DEVICE: device, m.TAG_IFINDEX: str(ifindex), m.TAG_IFNAME: ifname},
                  {m.F_OPER_STATUS: 1}, T)


class Saves:
    def __init__(self) -> None:
        self.saved: list[dict[str, dict[int, str]]] = []

    def load(self) -> dict[str, dict[int, str]]:
        return {}

    def save(self, names: Mapping[str, Mapping[int, str]]) -> None:
        self.saved.append({d: dict(r) for d, r in names.items()})


# (clock seconds, samples of one poll) → how many saves so far
SAVES = [
    ("first names: saved at once", [(0, [iface("r1", 5, "Gi0/5")])], [1]),
    ("same names again: no write", [(0, [iface("r1", 5, "Gi0/5")]), (100, [iface("r1", 5, "Gi0/5")])], [1, 1]),
    ("changes within the window wait for it", [(0, [iface("r1", 5, "Gi0/5")]), (1, [iface("r2", 1, "Gi0/1")]),
                                               (4, []), (5, [])], [1, 1, 1, 2]),
    ("a renamed interface is saved", [(0, [iface("r1", 5, "Gi0/5")]), (10, [iface("r1", 5, "Gi0/5-new")])], [1, 2]),
    ("other measurements are ignored", [(0, [Sample(m.DEVICE, {m.TAG_DEVICE: "r1"}, {m.F_REACHABLE: 1}, T)])],
     [0]),
]


@pytest.mark.parametrize(("name", "polls", "want"), SAVES, ids=[s[0] for s in SAVES])
def test_ifname_cache_saves_changes_at_most_every_window(
    name: str, polls: list[tuple[float, list[Sample]]], want: list[int]
) -> None:
    store, now = Saves(), [0.0]
    cache = IfNameCache(store, clock=lambda: now[0], save_every_s=5.0)
    got = []
    for at, samples in polls:
        now[0] = at
        cache.observe(samples)
        got.append(len(store.saved))
    assert got == want
    cache.flush()
    if store.saved:
        assert store.saved[-1] == cache.snapshot()


CACHE_FILES = [
    ("missing", None, {}),
    ("written by a previous run", encode({"olt-1": {4194304000: "GPON 0/0/0"}, "r1": {5: "Gi0/5"}}),
     {"olt-1": {4194304000: "GPON 0/0/0"}, "r1": {5: "Gi0/5"}}),
    ("truncated", '{"version": 1, "dev', {}),
    ("another format version", '{"version": 2, "devices": {"r1": {"5": "Gi0/5"}}}', {}),
    ("bad rows skipped", '{"version": 1, "devices": {"r1": {"5": "Gi0/5", "x": "y", "6": 7}, "r2": []}}',
     {"r1": {5: "Gi0/5"}}),
    ("not JSON", "\x00\x01", {}),
]


@pytest.mark.parametrize(("name", "text", "want"), CACHE_FILES, ids=[c[0] for c in CACHE_FILES])
def test_ifname_file_load(name: str, text: str | None, want: dict[str, dict[int, str]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "var" / IFNAMES_FILE
        if text is not None:
            path.parent.mkdir()
            path.write_text(text)
        cache = IfNameCache.open(path)
        assert cache.snapshot() == want
        for device, rows in want.items():
            for index, ifname in rows.items():
                assert cache.ifname(device, index) == ifname


def test_ifname_cache_survives_a_restart_atomically() -> None:
    with tempfile.TemporaryDirectory() as d:
        state = Path(d) / "var" / "alarm-state.json"
        path = IfNameCache.default_path(state)
        assert path == Path(d) / "var" / IFNAMES_FILE
        first = IfNameCache.open(path)
        first.observe([iface("r1", 5, "Gi0/5"), iface("olt-1", 4194304000, "GPON 0/0/0")])
        assert sorted(p.name for p in path.parent.iterdir()) == [IFNAMES_FILE]  # no temp file left behind
        second = IfNameCache.open(path)
        assert second.ifname("r1", 5) == "Gi0/5" and second.ifname("olt-1", 4194304000) == "GPON 0/0/0"
        assert second.ifname("r1", 6) is None
        assert decode(path.read_text()) == first.snapshot()
