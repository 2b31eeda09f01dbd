"""The lab's healthy baseline: watched ports start up; nothing else changes."""

from __future__ import annotations

import pytest

from lab.baseline import healthy, port_names
from lab.recordings import Record, overlay

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
