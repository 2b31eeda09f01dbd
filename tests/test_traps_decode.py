"""The pure trap decoder, the device resolver and the trap config loader, as tables."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors import measurements as m
from collectors.model import SnmpValue
from collectors.traps.decode import TrapDecoder, bgp_peer, event_sample, unsigned32
from collectors.traps.model import DeviceInfo, RawTrap
from collectors.traps.resolve import DeviceDirectory
from config.errors import ConfigError
from config.traps import load_traps

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
