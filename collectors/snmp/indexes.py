"""Index decoders: what a table row's index says (frame/slot/port, ONU id), named so profiles can use them.

A profile's table group names a decoder (``index: huawei_onu``); the decoder turns the row's index
(the OID suffix after the column, e.g. ``4194304256.7``) into tags (``pon=0/0/1``, ``onu_id=7``), or
``None`` when the row is not one the decoder knows (an Ethernet port in IF-MIB under a PON decoder):
such a row is skipped. Parent decoders (``count_parent``) map a child row's index to the index of the
row it belongs to (an ONU row to its PON port's ifIndex), for counts joined across tables.

Facts and their sources are in TELECOM.md A1 (BGP) and A3 (PON), and docs/profiles.md.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

# --- Huawei SmartAX (MA56xx / MA5800) ---------------------------------------------------------------------

HUAWEI_GPON_TYPE: Final = 125
"""PON-port ifIndex type of GPON ports; 127 is XG-PON (NOC ``snmp_index()`` [V], recordings [V])."""
HUAWEI_XGPON_TYPE: Final = 127
_HUAWEI_TYPES: Final = frozenset({HUAWEI_GPON_TYPE, HUAWEI_XGPON_TYPE})


@dataclass(frozen=True, slots=True)
class PonPort:
    """A PON port's place in the chassis (Huawei: frame/slot/port; ZTE: shelf/slot/port)."""

    frame: int
    slot: int
    port: int
    kind: str = "gpon"

    @property
    def name(self) -> str:
        """As operators write it: ``0/1/3``."""
        return f"{self.frame}/{self.slot}/{self.port}"


def huawei_pon_ifindex(frame: int, slot: int, port: int, kind: int = HUAWEI_GPON_TYPE) -> int:
    """The ifIndex of a Huawei PON port: ``(type<<25) + (frame<<19) + (slot<<13) + (port<<8)``."""
    return (kind << 25) + (frame << 19) + (slot << 13) + (port << 8)


def huawei_pon(ifindex: int) -> PonPort | None:
    """Decode a Huawei PON-port ifIndex (GPON type 125, XG-PON 127); None for any other ifIndex.

    A value that arrived as a signed Integer32 (negative) is read as unsigned.

    >>> huawei_pon(4194304000).name
    '0/0/0'
    >>> huawei_pon(4194312960).name
    '0/1/3'
    """
    if ifindex < 0:
        ifindex += 1 << 32
    if not 0 <= ifindex < 1 << 32 or ifindex & 0xFF:
        return None
    kind = ifindex >> 25
    if kind not in _HUAWEI_TYPES:
        return None
    frame = (ifindex >> 19) & 0x3F
    slot = (ifindex >> 13) & 0x3F
    port = (ifindex >> 8) & 0x1F
    return PonPort(frame, slot, port, "xgpon" if kind == HUAWEI_XGPON_TYPE else "gpon")


# --- ZTE ZXA10 C300 / C320 ---------------------------------------------------------------------------------

ZTE_BASE: Final = 0x10000000
ZTE_GPON_TABLE_OFFSET: Final = 65536 + 256
"""GPON-table index (under 3902.1012.3) minus the IF-MIB ifIndex of the same port (ZCT [S]; both forms are
in the zxa10_c320 recording: ifIndex 268435456 = gpon_1/1/1, GPON tables 268501248)."""
ZTE_SHELF: Final = 1
"""The shelf (rack) number neither index form carries on a C300/C320 [U]: ifName says ``gpon_1/...``."""


def zte_if_pon(ifindex: int) -> PonPort | None:
    """Decode a ZTE IF-MIB ifIndex, ``0x10000000 + (slot−1)·65536 + (port−1)·256`` → ``1/slot/port``.

    The IF-MIB form does not tell a GPON port from an Ethernet uplink (``gei_1/4/1`` is 0x10030000): a
    profile filters on ifName and uses this only as a fallback for the tag.

    >>> zte_if_pon(268435456).name
    '1/1/1'
    """
    rest = ifindex - ZTE_BASE
    if not 0 <= rest < 0x01000000 or rest & 0xFF:
        return None
    return PonPort(ZTE_SHELF, (rest >> 16) + 1, ((rest >> 8) & 0xFF) + 1)


def zte_gpon_pon(index: int) -> PonPort | None:
    """Decode a ZTE GPON-table port index, ``0x10000000 + slot·65536 + port·256`` → ``1/slot/port``.

    >>> zte_gpon_pon(268501248).name
    '1/1/1'
    """
    rest = index - ZTE_BASE
    if not 0 <= rest < 0x01000000 or rest & 0xFF:
        return None
    slot, port = rest >> 16, (rest >> 8) & 0xFF
    if slot < 1 or port < 1:
        return None
    return PonPort(ZTE_SHELF, slot, port)


def zte_gpon_to_ifindex(index: int) -> int | None:
    """The IF-MIB ifIndex of the port a ZTE GPON-table index names (its value − 65792), or None."""
    return None if zte_gpon_pon(index) is None else index - ZTE_GPON_TABLE_OFFSET


def zte_ifindex_to_gpon(ifindex: int) -> int | None:
    """The GPON-table index of the port an IF-MIB ifIndex names (its value + 65792), or None."""
    return None if zte_if_pon(ifindex) is None else ifindex + ZTE_GPON_TABLE_OFFSET


# --- BGP peers (BGP4-MIB bgpPeerTable, CISCO-BGP4-MIB cbgpPeer2Table) ------------------------------------


def ipv4_index(parts: tuple[int, ...]) -> str | None:
    """Four index arcs as a dotted IPv4 address (each 0..255), else None.

    >>> ipv4_index((188, 120, 0, 2))
    '188.120.0.2'
    """
    if len(parts) != 4 or not all(0 <= p <= 255 for p in parts):
        return None
    return ".".join(str(p) for p in parts)


def inet_index(parts: tuple[int, ...]) -> str | None:
    """An ``InetAddressType.length.octets`` index (INET-ADDRESS-MIB, as CISCO-BGP4-MIB cbgpPeer2Table uses it)
    as address text: type 1 (ipv4) with 4 octets → ``a.b.c.d``, type 2 (ipv6) with 16 → compressed IPv6.

    >>> inet_index((1, 4, 192, 168, 5, 149))
    '192.168.5.149'
    >>> inet_index((2, 16, 32, 1, 13, 184) + (0,) * 11 + (1,))
    '2001:db8::1'
    """
    if len(parts) < 2 or len(parts) != parts[1] + 2 or not all(0 <= p <= 255 for p in parts[2:]):
        return None
    kind, octets = parts[0], bytes(parts[2:])
    if kind == 1 and len(octets) == 4:
        return str(ipaddress.IPv4Address(octets))
    if kind == 2 and len(octets) == 16:
        return str(ipaddress.IPv6Address(octets))
    return None


# --- the named decoders profiles use ------------------------------------------------------------------------

TagDecoder = Callable[[str], dict[str, str] | None]
ParentDecoder = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class IndexDecoder:
    """A named index decoder and the tag names it may set."""

    name: str
    tags: tuple[str, ...]
    decode: TagDecoder


_INDEX_RE = re.compile(r"^\d+(\.\d+)*$")


def _parts(index: str, n: int | None) -> tuple[int, ...] | None:
    """The index's arcs as ints (exactly ``n`` of them unless ``n`` is None), or None."""
    if not _INDEX_RE.match(index):
        return None
    parts = tuple(int(p) for p in index.split("."))
    return parts if n is None or len(parts) == n else None


def _port_tags(port: PonPort | None) -> dict[str, str] | None:
    return None if port is None else {"pon": port.name}


def _huawei_port(index: str) -> dict[str, str] | None:
    p = _parts(index, 1)
    return None if p is None else _port_tags(huawei_pon(p[0]))


def _huawei_onu(index: str) -> dict[str, str] | None:
    p = _parts(index, 2)
    port = None if p is None else huawei_pon(p[0])
    return None if p is None or port is None else {"pon": port.name, "onu_id": str(p[1])}


def _zte_if_port(index: str) -> dict[str, str] | None:
    p = _parts(index, 1)
    return None if p is None else _port_tags(zte_if_pon(p[0]))


def _zte_gpon_port(index: str) -> dict[str, str] | None:
    p = _parts(index, 1)
    return None if p is None else _port_tags(zte_gpon_pon(p[0]))


def _zte_onu(index: str) -> dict[str, str] | None:
    """``{gponIndex}.{onuId}`` or ``{gponIndex}.{onuId}.{n}`` (the optics table's trailing ``.1``)."""
    p = _parts(index, 2) or _parts(index, 3)
    port = None if p is None else zte_gpon_pon(p[0])
    return None if p is None or port is None else {"pon": port.name, "onu_id": str(p[1])}


def _peer_tags(address: str | None) -> dict[str, str] | None:
    return None if address is None else {"peer": address}


def _ipv4_peer(index: str) -> dict[str, str] | None:
    """BGP4-MIB bgpPeerTable: the index is the peer's IPv4 address as 4 arcs, ``188.120.0.2``."""
    p = _parts(index, 4)
    return None if p is None else _peer_tags(ipv4_index(p))


def _inet_peer(index: str) -> dict[str, str] | None:
    """CISCO-BGP4-MIB cbgpPeer2Table: ``{type}.{len}.{octets}``, ``1.4.192.168.5.149`` → ``192.168.5.149``."""
    p = _parts(index, None)
    return None if p is None else _peer_tags(inet_index(p))


INDEX_DECODERS: Final[Mapping[str, IndexDecoder]] = MappingProxyType(
    {
        d.name: d
        for d in (
            IndexDecoder("huawei_pon", ("pon",), _huawei_port),
            IndexDecoder("huawei_onu", ("pon", "onu_id"), _huawei_onu),
            IndexDecoder("zte_if_pon", ("pon",), _zte_if_port),
            IndexDecoder("zte_gpon_pon", ("pon",), _zte_gpon_port),
            IndexDecoder("zte_onu", ("pon", "onu_id"), _zte_onu),
            IndexDecoder("ipv4_peer", ("peer",), _ipv4_peer),
            IndexDecoder("inet_peer", ("peer",), _inet_peer),
        )
    }
)
"""Index decoders by the name a profile's ``index:`` gives."""


def _drop_last(index: str) -> str | None:
    head, sep, _ = index.rpartition(".")
    return head if sep else None


def _zte_onu_ifindex(index: str) -> str | None:
    """A ZTE ONU row ``{gponIndex}.{onuId}[.1]`` → the IF-MIB ifIndex of its PON port."""
    first = index.split(".", 1)[0]
    if not first.isdigit():
        return None
    ifindex = zte_gpon_to_ifindex(int(first))
    return None if ifindex is None else str(ifindex)


PARENT_DECODERS: Final[Mapping[str, ParentDecoder]] = MappingProxyType(
    {
        "drop_last": _drop_last,
        "zte_onu_ifindex": _zte_onu_ifindex,
    }
)
"""Parent decoders by the name a profile's ``count_parent:`` gives (default ``drop_last``)."""

DEFAULT_PARENT: Final = "drop_last"
