"""The lab's healthy baseline: the ports an operator watches are up, and carry traffic, before anyone
injects a fault.

Recordings come from production gear in whatever state it was in (spare uplinks down, a radio carrier
reported down), and some were taken without the interface counters: the ASR 9904 (``iosxr_asr9904``) has
ifDescr/ifName/ifOperStatus but no octets and no speed; the Juniper (``junos``) has only ifDescr. In the lab
the inventory's monitored ports (and PON ports) start up (:func:`healthy`), and those a recording leaves
without counters get them (:func:`traffic`): ifAdminStatus/ifOperStatus up, ifHighSpeed from the port's
name, ifHCInOctets/ifHCOutOctets — which :func:`lab.recordings.transform` then makes move like every other
lab counter. So the demo shows a rate for every watched port. The recordings themselves stay unchanged.
Pure: records in, overlay records out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence

from lab.recordings import Record

IF_DESCR = "1.3.6.1.2.1.2.2.1.2."
IF_SPEED = "1.3.6.1.2.1.2.2.1.5."
IF_ADMIN = "1.3.6.1.2.1.2.2.1.7."
IF_OPER = "1.3.6.1.2.1.2.2.1.8."
IF_IN_OCTETS = "1.3.6.1.2.1.2.2.1.10."
IF_OUT_OCTETS = "1.3.6.1.2.1.2.2.1.16."
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1."
IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6."
IF_HC_OUT_OCTETS = "1.3.6.1.2.1.31.1.1.1.10."
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15."
_UP = "1"

SPEED_MBPS_BY_PREFIX: tuple[tuple[str, int], ...] = (
    ("HundredGigE", 100_000),
    ("FortyGigE", 40_000),
    ("TwentyFiveGigE", 25_000),
    ("TenGigE", 10_000),
    ("TenGigabitEthernet", 10_000),
    ("GigabitEthernet", 1_000),
    ("FastEthernet", 100),
    ("Bundle-Ether", 20_000),  # IOS-XR bundle: the lab takes 2 × 10G members
    ("Eth-Trunk", 20_000),  # Huawei trunk, likewise
    ("100GE", 100_000),
    ("40GE", 40_000),
    ("25GE", 25_000),
    ("10GE", 10_000),
    ("GE", 1_000),
    ("et-", 100_000),  # Junos: et = 40/100G, xe = 10G, ge = 1G, ae = aggregated (2 × 10G here)
    ("xe-", 10_000),
    ("ge-", 1_000),
    ("ae", 20_000),
)
"""Port speed (Mbit/s, as ifHighSpeed) by interface-name prefix, for ports a recording gives none."""
DEFAULT_SPEED_MBPS = 1_000


def speed_mbps(name: str) -> int:
    """The speed the lab gives a port named ``name`` (longest matching prefix; 1G when none matches)."""
    hits = [(len(p), mbps) for p, mbps in SPEED_MBPS_BY_PREFIX if name.startswith(p)]
    return max(hits)[1] if hits else DEFAULT_SPEED_MBPS


def _text(r: Record) -> str:
    if r.tag.startswith("4x"):
        try:
            return bytes.fromhex(r.value).decode("utf-8", "replace")
        except ValueError:
            return r.value
    return r.value


def port_names(records: Iterable[Record]) -> dict[str, str]:
    """ifIndex → name (ifName, else ifDescr), as the collectors name ports."""
    descr: dict[str, str] = {}
    names: dict[str, str] = {}
    for r in records:
        if r.oid.startswith(IF_NAME):
            names[r.oid[len(IF_NAME):]] = _text(r)
        elif r.oid.startswith(IF_DESCR):
            descr[r.oid[len(IF_DESCR):]] = _text(r)
    return {**descr, **names}


def _matches(name: str, watched: Collection[str]) -> bool:
    return name in watched or any(name.endswith(f" {w}") or w.endswith(f" {name}") for w in watched)


def healthy(records: Sequence[Record], watched: Collection[str]) -> list[Record]:
    """Overlay records that set admin and oper status up on every port named in ``watched``."""
    if not watched:
        return []
    present = {r.oid for r in records}
    out: list[Record] = []
    for index, name in sorted(port_names(records).items()):
        if not _matches(name, watched):
            continue
        for column in (IF_ADMIN, IF_OPER):
            if column + index in present:
                out.append(Record(column + index, "2", _UP))
    return out


def _initial_octets(device: str, index: str, direction: str) -> int:
    """A counter's value at the lab epoch: a stable draw (sha256 of device, ifIndex, direction) in [0, 2^40)."""
    digest = hashlib.sha256(f"{device}|{index}|{direction}|octets".encode()).digest()
    return int.from_bytes(digest[:5], "big")


def _positive(values: dict[str, str], oid: str) -> bool:
    try:
        return int(values.get(oid, "0")) > 0
    except ValueError:
        return False


def traffic(records: Sequence[Record], watched: Collection[str], device: str) -> list[Record]:
    """Overlay records giving every watched port what it needs to show a rate, where the recording lacks it:
    ifAdminStatus and ifOperStatus up, ifHighSpeed (by name: :func:`speed_mbps`) when it has neither a
    positive ifHighSpeed nor ifSpeed (an ifHighSpeed of 0 is replaced), and ifHCInOctets/ifHCOutOctets
    (Counter64, a stable starting value per device and port) when it has neither the 64- nor the 32-bit octet
    counter. Nothing else a recording has is replaced."""
    if not watched:
        return []
    values = {r.oid: r.value for r in records}
    out: list[Record] = []
    for index, name in sorted(port_names(records).items()):
        if not _matches(name, watched):
            continue
        out += [Record(col + index, "2", _UP) for col in (IF_ADMIN, IF_OPER) if col + index not in values]
        if not (_positive(values, IF_HIGH_SPEED + index) or _positive(values, IF_SPEED + index)):
            out.append(Record(IF_HIGH_SPEED + index, "66", str(speed_mbps(name))))
        for hc, c32, direction in ((IF_HC_IN_OCTETS, IF_IN_OCTETS, "in"), (IF_HC_OUT_OCTETS, IF_OUT_OCTETS, "out")):
            if hc + index not in values and c32 + index not in values:
                out.append(Record(hc + index, "70", str(_initial_octets(device, index, direction))))
    return out
