"""Cisco IOS / IOS-XE ``show interfaces`` → ``interface`` rows with the SNMP path's field names and units (pure).

- ``ifname`` is the IF-MIB ifName form (``Gi0/1``, ``Te1/1/1``), so CLI and SNMP samples of one port share a
  series; ``ifalias`` is the description.
- ``admin_status`` / ``oper_status`` use the IF-MIB enum (1 up, 2 down, 3 testing, 5 dormant);
- ``speed_bps`` is ``BW <n> Kbit/sec`` × 1000 (what IOS reports as ifSpeed/ifHighSpeed);
- counters are the raw byte/error/drop counters (``in_octets`` = ``bytes input``...). Rates are added by the
  collector through the shared :class:`~collectors.counters.RateTracker`, as on the SNMP path.

The CLI has no ifIndex: CLI samples carry no ``ifindex`` tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from collectors import measurements as m
from collectors.model import FieldValue
from collectors.ssh.answers import Answer, unexpected
from collectors.ssh.textfsm_parse import integer, parse_template

TEMPLATE: Final = "cisco_ios_show_interfaces.textfsm"
COMMAND: Final = "show interfaces"

UP: Final = 1
DOWN: Final = 2
TESTING: Final = 3
DORMANT: Final = 5

_SHORT: Final = (
    ("HundredGigE", "Hu"),
    ("FortyGigabitEthernet", "Fo"),
    ("TwentyFiveGigE", "Twe"),
    ("TenGigabitEthernet", "Te"),
    ("GigabitEthernet", "Gi"),
    ("FastEthernet", "Fa"),
    ("Ethernet", "Et"),
    ("Port-channel", "Po"),
    ("Loopback", "Lo"),
    ("Tunnel", "Tu"),
    ("Vlan", "Vl"),
    ("Serial", "Se"),
    ("Dialer", "Di"),
    ("Null", "Nu"),
    ("BDI", "BD"),
)

COUNTERS: Final = (
    (m.F_IN_OCTETS, "INPUT_BYTES"),
    (m.F_OUT_OCTETS, "OUTPUT_BYTES"),
    (m.F_IN_ERRORS, "INPUT_ERRORS"),
    (m.F_OUT_ERRORS, "OUTPUT_ERRORS"),
    (m.F_IN_DISCARDS, "INPUT_DROPS"),
    (m.F_OUT_DISCARDS, "OUTPUT_DROPS"),
)


def ifname(long_name: str) -> str:
    """IOS's ifName for a ``show interfaces`` name: ``GigabitEthernet0/1`` → ``Gi0/1`` (unknown kinds unchanged)."""
    for prefix, short in _SHORT:
        if long_name.startswith(prefix) and long_name[len(prefix) : len(prefix) + 1].isdigit():
            return short + long_name[len(prefix) :]
    return long_name


def admin_status(link: str) -> int:
    """``administratively down`` → 2; ``up``/``down`` (the link) → 1 (admin up); ``testing`` → 3."""
    text = link.strip().lower()
    if text.startswith("administratively"):
        return DOWN
    if text.startswith("testing"):
        return TESTING
    return UP


def oper_status(link: str, protocol: str) -> int:
    """IF-MIB ifOperStatus from the link and line-protocol words (``up (connected)`` → 1)."""
    proto = protocol.strip().lower()
    if link.strip().lower().startswith("administratively"):
        return DOWN
    if proto.startswith("up"):
        return UP
    if proto.startswith("dormant"):
        return DORMANT
    if proto.startswith("testing"):
        return TESTING
    return DOWN


@dataclass(frozen=True, slots=True)
class IfRow:
    """One interface of ``show interfaces``: its tags and fields (raw counters, no rates yet)."""

    name: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]

    @property
    def counters(self) -> dict[str, int]:
        return {k: v for k, _ in COUNTERS if isinstance(v := self.fields.get(k), int)}

    @property
    def speed_bps(self) -> int | None:
        v = self.fields.get(m.F_SPEED_BPS)
        return v if isinstance(v, int) else None


def parse_show_interfaces(text: str, base_tags: Mapping[str, str]) -> tuple[IfRow, ...]:
    """``show interfaces`` → one :class:`IfRow` per interface, in the device's order."""
    out = []
    wanted = m.BY_NAME[m.INTERFACE].tags
    for r in parse_template(TEMPLATE, text):
        tags = {k: v for k, v in base_tags.items() if k in wanted and v}
        tags[m.TAG_IFNAME] = ifname(r["INTERFACE"])
        if r["DESCRIPTION"]:
            tags[m.TAG_IFALIAS] = r["DESCRIPTION"]
        fields: dict[str, FieldValue] = {
            m.F_ADMIN_STATUS: admin_status(r["LINK_STATUS"]),
            m.F_OPER_STATUS: oper_status(r["LINK_STATUS"], r["PROTOCOL_STATUS"]),
        }
        bw = integer(r["BANDWIDTH_KBIT"])
        if bw is not None:
            fields[m.F_SPEED_BPS] = bw * 1000
        for name, col in COUNTERS:
            v = integer(r[col])
            if v is not None:
                fields[name] = v
        out.append(IfRow(r["INTERFACE"], tags, fields))
    return tuple(out)


def read_show_interfaces(answer: Answer, base_tags: Mapping[str, str]) -> tuple[IfRow, ...]:
    """:func:`parse_show_interfaces`, but an answer without a single interface (``% Invalid input``, an empty
    or cut answer) raises :class:`~collectors.ssh.answers.AnswerError`: a router always has interfaces."""
    rows = parse_show_interfaces(answer.text, base_tags)
    if not rows:
        raise unexpected(answer, "'<interface> is <state>, line protocol is <state>' blocks")
    return rows
