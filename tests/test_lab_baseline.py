"""The lab's healthy baseline: watched ports start up; nothing else changes."""

from __future__ import annotations

import pytest

from lab.baseline import healthy, port_names, speed_mbps, traffic
from lab.recordings import Record, overlay, port_rates, transform

RECS = [
    Record("1.3.6.1.2.1.2.2.1.2.1", "4", "GigabitEthernet0/0/1"),
    Record("1.3.6.1.2.1.2.2.1.2.2", "4", "GigabitEthernet0/0/2"),
    Record("1.3.6.1.2.1.2.2.1.2.3", "4x", "47504f4e20302f312f30"),  # "GPON 0/1/0" as hex
    Record("1.3.6.1.2.1.2.2.1.7.1", "2", "1"),
    Record("1.3.6.1.2.1.2.2.1.7.2", "2", "2"),
    Record("1.3.6.1.2.1.2.2.1.7.3", "2", "1"),
    Record("1.3.6.1.2.1.2.2.1.8.1", "2", "2"),
    Record("1.3.6.1.2.1.2.2.1.8.2", "2", "2"),
    Record("1.3.6.1.2.1.2.2.1.8.3", "2", "2"),
    Record("1.3.6.1.2.1.31.1.1.1.1.1", "4", "Gi0/0/1"),
]


@pytest.mark.parametrize(
    ("watched", "up"),
    [
        ((), set()),
        (("Gi0/0/1",), {"1"}),  # by ifName
        (("GigabitEthernet0/0/2",), {"2"}),  # by ifDescr where there is no ifName
        (("0/1/0",), {"3"}),  # a PON port named F/S/P in pon_ports
        (("Gi0/0/9",), set()),  # a name the device does not have
    ],
)
def test_watched_ports_come_up(watched: tuple[str, ...], up: set[str]) -> None:
    out = overlay(RECS, healthy(RECS, watched))
    oper = {r.oid.rsplit(".", 1)[1]: r.value for r in out if r.oid.startswith("1.3.6.1.2.1.2.2.1.8.")}
    assert {i for i, v in oper.items() if v == "1"} == up
    assert len(out) == len(RECS)  # nothing added, only replaced


def test_names_prefer_ifname() -> None:
    assert port_names(RECS) == {"1": "Gi0/0/1", "2": "GigabitEthernet0/0/2", "3": "GPON 0/1/0"}


# --- traffic: watched ports a recording leaves without counters get them ------------------------------------

DESCR_ONLY = [  # like junos: ifDescr and nothing else
    Record("1.3.6.1.2.1.2.2.1.2.501", "4", "ae0"),
    Record("1.3.6.1.2.1.2.2.1.2.511", "4", "ge-0/0/0"),
    Record("1.3.6.1.2.1.2.2.1.2.520", "4", "xe-1/0/0"),
]
NAMED_UP = [  # like the ASR 9904: names and oper status, no octets, no speed
    Record("1.3.6.1.2.1.2.2.1.2.31", "4", "TenGigE0/0/0/0"),
    Record("1.3.6.1.2.1.2.2.1.8.31", "2", "1"),
    Record("1.3.6.1.2.1.31.1.1.1.1.31", "4", "TenGigE0/0/0/0"),
]
WITH_COUNTERS = [  # a complete recording: nothing to add
    Record("1.3.6.1.2.1.2.2.1.2.1", "4", "GigabitEthernet0/0/1"),
    Record("1.3.6.1.2.1.2.2.1.5.1", "66", "1000000000"),
    Record("1.3.6.1.2.1.2.2.1.7.1", "2", "1"),
    Record("1.3.6.1.2.1.2.2.1.8.1", "2", "1"),
    Record("1.3.6.1.2.1.2.2.1.10.1", "65", "12345"),
    Record("1.3.6.1.2.1.2.2.1.16.1", "65", "67890"),
]
ZERO_SPEED = [
    Record("1.3.6.1.2.1.2.2.1.2.7", "4", "GigabitEthernet0/0/7"),
    Record("1.3.6.1.2.1.2.2.1.5.7", "66", "0"),
    Record("1.3.6.1.2.1.31.1.1.1.15.7", "66", "0"),
    Record("1.3.6.1.2.1.31.1.1.1.6.7", "70", "5"),
]
ADMIN, OPER, HSPEED, HC_IN, HC_OUT = (
    "1.3.6.1.2.1.2.2.1.7", "1.3.6.1.2.1.2.2.1.8", "1.3.6.1.2.1.31.1.1.1.15", "1.3.6.1.2.1.31.1.1.1.6",
    "1.3.6.1.2.1.31.1.1.1.10",
)  # fmt: skip

TRAFFIC_CASES = [
    # id, records, watched, expected added {column: {ifIndex: value or None (any)}}
    ("descr-only-watched-two", DESCR_ONLY, ("ae0", "ge-0/0/0"),
     {ADMIN: {"501": "1", "511": "1"}, OPER: {"501": "1", "511": "1"}, HSPEED: {"501": "20000", "511": "1000"},
      HC_IN: {"501": None, "511": None}, HC_OUT: {"501": None, "511": None}}),
    ("descr-only-xe", DESCR_ONLY, ("xe-1/0/0",),
     {ADMIN: {"520": "1"}, OPER: {"520": "1"}, HSPEED: {"520": "10000"}, HC_IN: {"520": None}, HC_OUT: {"520": None}}),
    ("named-up-keeps-its-oper-status", NAMED_UP, ("TenGigE0/0/0/0",),
     {ADMIN: {"31": "1"}, HSPEED: {"31": "10000"}, HC_IN: {"31": None}, HC_OUT: {"31": None}}),
    ("complete-recording", WITH_COUNTERS, ("GigabitEthernet0/0/1",), {}),
    ("zero-speed-gets-one-but-keeps-its-counter", ZERO_SPEED, ("GigabitEthernet0/0/7",),
     {ADMIN: {"7": "1"}, OPER: {"7": "1"}, HSPEED: {"7": "1000"}, HC_OUT: {"7": None}}),
    ("unwatched", DESCR_ONLY, ("ge-0/0/9",), {}),
    ("nothing-watched", DESCR_ONLY, (), {}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "records", "watched", "expected"), TRAFFIC_CASES, ids=[c[0] for c in TRAFFIC_CASES])
def test_traffic_adds_only_what_the_recording_lacks(
    case: str, records: list[Record], watched: tuple[str, ...], expected: dict[str, dict[str, str | None]]
) -> None:
    added = traffic(records, watched, "dev-1")
    got: dict[str, dict[str, str]] = {}
    for r in added:
        column, _, index = r.oid.rpartition(".")
        got.setdefault(column, {})[index] = r.value
    assert got.keys() == expected.keys()
    for column, rows in expected.items():
        assert got[column].keys() == rows.keys(), column
        for index, value in rows.items():
            assert value is None or got[column][index] == value, (column, index)
    recorded = {r.oid: r.value for r in records}
    replaced = {r.oid for r in added if r.oid in recorded}
    assert all(o.startswith(HSPEED + ".") and recorded[o] == "0" for o in replaced)  # only a speed of 0
    assert all(r.tag == "70" and int(r.value) < 2**40 for r in added if r.oid.startswith((HC_IN, HC_OUT)))
    assert traffic(records, watched, "dev-1") == added  # deterministic
    if added:
        assert traffic(records, watched, "dev-2") != added  # another device draws other starting values


SPEED_CASES = [("HundredGigE0/1/0/0", 100_000), ("TenGigE0/0/0/1", 10_000), ("GigabitEthernet0/0/0/5", 1_000),
               ("Bundle-Ether80", 20_000), ("ae12", 20_000), ("et-0/0/1", 100_000), ("ge-1/2/3", 1_000),
               ("40GE0/3/0", 40_000), ("GE0/0/1", 1_000), ("Eth-Trunk1", 20_000), ("mgmt0", 1_000)]  # fmt: skip


@pytest.mark.parametrize(("name", "mbps"), SPEED_CASES)
def test_speed_by_name(name: str, mbps: int) -> None:
    assert speed_mbps(name) == mbps


@pytest.mark.parametrize("records", [DESCR_ONLY, NAMED_UP], ids=["descr-only", "named-up"])
def test_added_counters_move_at_the_port_rate(records: list[Record]) -> None:
    watched = tuple(port_names(records).values())
    live = transform(overlay(records, traffic(records, watched, "dev-1")), "dev-1", 1_790_000_000)
    rates = port_rates(live, "dev-1")
    assert set(rates) == {int(i) for i in port_names(records)}  # every watched port carries traffic
    moving = [r for r in live if r.oid.startswith((HC_IN + ".", HC_OUT + "."))]
    assert len(moving) == 2 * len(rates) and all(r.tag == "70:numeric" for r in moving)
    for r in moving:
        index = int(r.oid.rsplit(".", 1)[1])
        counter = "in_octets" if r.oid.startswith(HC_IN + ".") else "out_octets"
        assert f"rate={rates[index].rate(counter)!r}" in r.value and rates[index].rate(counter) > 0
