"""Pure trap decoding: a :class:`RawTrap` → a :class:`DeviceEvent`, and an event → an ``event`` sample.

Standard traps are built in (IF-MIB linkDown/linkUp, SNMPv2-MIB coldStart/warmStart/authenticationFailure,
BGP4-MIB established/backward transition in the RFC 1657 and RFC 4273 forms); vendor alarm traps come from
the mappings of ``config/traps.yaml``; anything else is an event of kind ``trap`` with its OID.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from collectors import measurements as m
from collectors.model import DeviceEvent, FieldValue, Sample, SnmpValue
from collectors.traps.model import IfNameLookup, RawTrap
from config.traps import VendorMapping

SNMP_TRAP_OID: Final = "1.3.6.1.6.3.1.1.4.1.0"
SNMP_TRAP_ADDRESS: Final = "1.3.6.1.6.3.18.1.3.0"
IF_INDEX: Final = "1.3.6.1.2.1.2.2.1.1"
IF_DESCR: Final = "1.3.6.1.2.1.2.2.1.2"
IF_ADMIN_STATUS: Final = "1.3.6.1.2.1.2.2.1.7"
IF_OPER_STATUS: Final = "1.3.6.1.2.1.2.2.1.8"
IF_NAME: Final = "1.3.6.1.2.1.31.1.1.1.1"
BGP_PEER_ENTRY: Final = "1.3.6.1.2.1.15.3.1"
BGP_PEER_STATE: Final = "1.3.6.1.2.1.15.3.1.2"
BGP_PEER_REMOTE_ADDR: Final = "1.3.6.1.2.1.15.3.1.7"
BGP_PEER_LAST_ERROR: Final = "1.3.6.1.2.1.15.3.1.14"

COLD_START: Final = "1.3.6.1.6.3.1.1.5.1"
WARM_START: Final = "1.3.6.1.6.3.1.1.5.2"
LINK_DOWN: Final = "1.3.6.1.6.3.1.1.5.3"
LINK_UP: Final = "1.3.6.1.6.3.1.1.5.4"
AUTH_FAILURE: Final = "1.3.6.1.6.3.1.1.5.5"
BGP_ESTABLISHED_1657: Final = "1.3.6.1.2.1.15.7.1"
BGP_BACKWARD_1657: Final = "1.3.6.1.2.1.15.7.2"
BGP_ESTABLISHED_4273: Final = "1.3.6.1.2.1.15.0.1"
BGP_BACKWARD_4273: Final = "1.3.6.1.2.1.15.0.2"

GENERIC_KIND: Final = "trap"


@dataclass(frozen=True, slots=True)
class _Standard:
    kind: str
    severity: str
    clears: str | None = None


STANDARD: Final[Mapping[str, _Standard]] = MappingProxyType({
    COLD_START: _Standard("coldStart", "warning"),
    WARM_START: _Standard("warmStart", "warning"),
    LINK_DOWN: _Standard("linkDown", "major"),
    LINK_UP: _Standard("linkUp", "cleared", clears="linkDown"),
    AUTH_FAILURE: _Standard("authenticationFailure", "minor"),
    BGP_ESTABLISHED_1657: _Standard("bgpEstablished", "cleared", clears="bgpBackwardTransition"),
    BGP_ESTABLISHED_4273: _Standard("bgpEstablished", "cleared", clears="bgpBackwardTransition"),
    BGP_BACKWARD_1657: _Standard("bgpBackwardTransition", "major"),
    BGP_BACKWARD_4273: _Standard("bgpBackwardTransition", "major"),
})
"""Trap OID → kind, severity and the kind it clears."""

IF_STATUS: Final = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent",
                    7: "lowerLayerDown"}
BGP_STATE: Final = {1: "idle", 2: "connect", 3: "active", 4: "opensent", 5: "openconfirm", 6: "established"}


# --- varbind helpers ------------------------------------------------------------------------------------


def under(oid: str, prefix: str) -> bool:
    """``oid`` is ``prefix`` itself or inside its subtree."""
    return oid == prefix or oid.startswith(prefix + ".")


def find(varbinds: Iterable[tuple[str, SnmpValue]], prefix: str) -> tuple[str, SnmpValue] | None:
    """The first varbind at or under ``prefix`` (a column gives its row, a scalar its ``.0``)."""
    for oid, value in varbinds:
        if under(oid, prefix):
            return oid, value
    return None


def trap_oid(varbinds: Iterable[tuple[str, SnmpValue]]) -> str | None:
    """The notification's identity: the value of ``snmpTrapOID.0``."""
    hit = find(varbinds, SNMP_TRAP_OID)
    return hit[1] if hit is not None and isinstance(hit[1], str) else None


def unsigned32(v: int) -> int:
    """An Integer32 that stands for an unsigned value above 2^31−1 (Huawei PON ifIndex 4194304000 sent as
    −100663296) read back as unsigned."""
    return v & 0xFFFFFFFF if v < 0 else v


def as_text(v: SnmpValue) -> str:
    """A varbind value as text: bytes as UTF-8 (GB18030 for Chinese EMS text that is not UTF-8), NULs trimmed."""
    if isinstance(v, bytes):
        raw = v.rstrip(b"\x00")
        for codec in ("utf-8", "gb18030"):
            try:
                return raw.decode(codec)
            except UnicodeDecodeError:
                continue
        return raw.decode("latin-1")
    return str(v)


def _index(oid: str, prefix: str) -> str:
    return oid[len(prefix) + 1 :] if oid.startswith(prefix + ".") else ""


def _int(v: SnmpValue | None) -> int | None:
    return v if isinstance(v, int) else None


# --- the decoder ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrapDecoder:
    """Pure: turns a raw trap from a resolved device into a :class:`DeviceEvent`.

    ``known_devices`` lets a vendor mapping's NE-name varbind re-attribute an EMS-forwarded alarm to the
    network element it is about.
    """

    mappings: Sequence[VendorMapping]
    ifnames: IfNameLookup
    known_devices: Collection[str] = frozenset()
    _by_oid: Mapping[str, tuple[VendorMapping, bool]] = field(init=False, repr=False, compare=False)
    _heartbeats: Mapping[str, VendorMapping] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by: dict[str, tuple[VendorMapping, bool]] = {}
        for mp in self.mappings:
            by.update({oid: (mp, False) for oid in mp.raise_oids})
            by.update({oid: (mp, True) for oid in mp.clear_oids})
        object.__setattr__(self, "_by_oid", MappingProxyType(by))
        beats = {mp.heartbeat.oid: mp for mp in self.mappings if mp.heartbeat is not None}
        object.__setattr__(self, "_heartbeats", MappingProxyType(beats))

    def heartbeat_of(self, trap: RawTrap) -> VendorMapping | None:
        """The mapping whose feed heartbeat this trap is (heartbeats are counted, never decoded to events)."""
        return self._heartbeats.get(trap_oid(trap.varbinds) or "") if self._heartbeats else None

    def decode(self, trap: RawTrap, device: str) -> DeviceEvent:
        oid = trap_oid(trap.varbinds) or ""
        attrs = {"oid": oid, "source": trap.source, "version": trap.version}
        if trap.inform:
            attrs["inform"] = "1"
        std = STANDARD.get(oid)
        if std is not None:
            if std.kind in ("linkDown", "linkUp"):
                return self._link(trap, device, std, attrs)
            if std.kind.startswith("bgp"):
                return _bgp(trap, device, std, attrs)
            return DeviceEvent(device, std.kind, "", trap.time, severity=std.severity, clears=std.clears,
                               text=f"{std.kind} from {device}", attrs=attrs)
        vendor = self._by_oid.get(oid)
        if vendor is not None:
            return self._vendor(trap, device, vendor[0], vendor[1], attrs)
        return DeviceEvent(device, GENERIC_KIND, oid, trap.time, severity="indeterminate",
                           text=f"trap {oid or '(no snmpTrapOID)'} from {device}", attrs=attrs)

    def _link(self, trap: RawTrap, device: str, std: _Standard, attrs: dict[str, str]) -> DeviceEvent:
        vbs = trap.varbinds
        ifindex: int | None = None
        hit = find(vbs, IF_INDEX)
        if hit is not None and isinstance(hit[1], int):
            ifindex = unsigned32(hit[1])
        else:  # no ifIndex varbind: the row index of ifAdminStatus / ifOperStatus
            for column in (IF_OPER_STATUS, IF_ADMIN_STATUS):
                col = find(vbs, column)
                if col is not None and _index(col[0], column).isdigit():
                    ifindex = int(_index(col[0], column))
                    break
        admin = find(vbs, IF_ADMIN_STATUS)
        oper = find(vbs, IF_OPER_STATUS)
        ifname, origin = self._ifname(vbs, device, ifindex)
        resource = ifname or (str(ifindex) if ifindex is not None else "")
        if ifindex is not None:
            attrs["ifindex"] = str(ifindex)
        if resource:
            attrs["ifname"] = resource
            attrs["ifname_from"] = origin
        for key, vb in (("admin_status", admin), ("oper_status", oper)):
            code = _int(vb[1]) if vb is not None else None
            if code is not None:
                attrs[key] = IF_STATUS.get(code, str(code))
        state = f" (admin {attrs.get('admin_status', '?')}, oper {attrs.get('oper_status', '?')})"
        return DeviceEvent(device, std.kind, resource, trap.time, severity=std.severity, clears=std.clears,
                           text=f"{std.kind} {resource or '(no ifIndex)'} on {device}{state}", attrs=attrs)

    def _ifname(
        self, vbs: Sequence[tuple[str, SnmpValue]], device: str, ifindex: int | None
    ) -> tuple[str | None, str]:
        """The interface's name and where it came from, best first: the trap's own ifName varbind (Huawei,
        Cisco add it), the polled ifName (the cache, persisted across restarts), the trap's ifDescr varbind
        (IF-MIB allows it; the schema's ifname falls back to ifDescr too), else none (the ifIndex)."""
        name = find(vbs, IF_NAME)
        if name is not None and as_text(name[1]):
            return as_text(name[1]), "trap_ifname"
        if ifindex is not None:
            known = self.ifnames.ifname(device, ifindex)
            if known:
                return known, "poll"
        descr = find(vbs, IF_DESCR)
        if descr is not None and as_text(descr[1]):
            return as_text(descr[1]), "trap_ifdescr"
        return None, "ifindex"

    def _vendor(
        self, trap: RawTrap, device: str, mp: VendorMapping, is_clear_oid: bool, attrs: dict[str, str]
    ) -> DeviceEvent:
        vbs = trap.varbinds
        oid = attrs["oid"]
        mo = _joined(vbs, mp.managed_object, ",")
        alarm_type = _joined(vbs, mp.alarm_type, ".")
        text = _joined(vbs, mp.text, "; ")
        if mp.device is not None:
            ne = find(vbs, mp.device)
            if ne is not None and as_text(ne[1]) in self.known_devices and as_text(ne[1]) != device:
                attrs["via"] = device
                device = as_text(ne[1])
        clear = is_clear_oid
        if not clear and mp.clear_when is not None:
            flag = find(vbs, mp.clear_when.varbind)
            clear = flag is not None and as_text(flag[1]) in mp.clear_when.values
        severity = "cleared" if clear else mp.raise_oids.get(oid, "indeterminate")
        if not clear and mp.severity is not None:
            sev = find(vbs, mp.severity.varbind)
            if sev is not None:
                severity = mp.severity.map.get(as_text(sev[1]), severity)
        resource = f"{mo} [{alarm_type}]" if alarm_type else mo
        attrs.update(mapping=mp.name, managed_object=mo, alarm_type=alarm_type)
        verb = "cleared" if clear else "raised"
        return DeviceEvent(
            device, mp.kind, resource, trap.time, severity=severity, clears=mp.kind if clear else None,
            text=f"{mp.kind} {verb} on {device} {resource}" + (f": {text}" if text else ""), attrs=attrs,
        )


def _joined(vbs: Sequence[tuple[str, SnmpValue]], prefixes: Sequence[str], sep: str) -> str:
    parts = [as_text(hit[1]) for p in prefixes if (hit := find(vbs, p)) is not None]
    return sep.join(p for p in parts if p)


def bgp_peer(varbinds: Sequence[tuple[str, SnmpValue]]) -> str:
    """The BGP peer: bgpPeerRemoteAddr's value (RFC 4273), else the row index of any bgpPeerTable varbind
    (RFC 1657 sends bgpPeerLastError.<peer> and bgpPeerState.<peer>)."""
    hit = find(varbinds, BGP_PEER_REMOTE_ADDR)
    if hit is not None and isinstance(hit[1], str) and hit[1]:
        return hit[1]
    for oid, _ in varbinds:
        if under(oid, BGP_PEER_ENTRY):
            rest = oid[len(BGP_PEER_ENTRY) + 1 :].split(".", 1)
            if len(rest) == 2 and rest[1]:
                return rest[1]
    return ""


def _bgp(trap: RawTrap, device: str, std: _Standard, attrs: dict[str, str]) -> DeviceEvent:
    peer = bgp_peer(trap.varbinds)
    state = find(trap.varbinds, BGP_PEER_STATE)
    code = _int(state[1]) if state is not None else None
    if code is not None:
        attrs["peer_state"] = BGP_STATE.get(code, str(code))
    err = find(trap.varbinds, BGP_PEER_LAST_ERROR)
    if err is not None and isinstance(err[1], bytes) and len(err[1]) == 2:
        attrs["last_error"] = f"{err[1][0]}/{err[1][1]}"  # BGP NOTIFICATION error code / subcode
    if peer:
        attrs["peer"] = peer
    return DeviceEvent(device, std.kind, peer, trap.time, severity=std.severity, clears=std.clears,
                       text=f"{std.kind} peer {peer or '?'} on {device}", attrs=attrs)


def agent_address(varbinds: Sequence[tuple[str, SnmpValue]]) -> str | None:
    """The agent address the trap names for itself (``snmpTrapAddress.0``; v1 agent-addr lands here too)."""
    hit = find(varbinds, SNMP_TRAP_ADDRESS)
    return hit[1] if hit is not None and isinstance(hit[1], str) and hit[1] else None


# --- the Grafana side ---------------------------------------------------------------------------------------


def event_sample(event: DeviceEvent, device_tags: Mapping[str, str]) -> Sample:
    """The ``event`` sample of a device event: tags device/kind/source/severity (+ifname), the device's
    site/region/role; fields count=1, text (+ifindex)."""
    tags = {k: v for k, v in device_tags.items() if k in (m.TAG_SITE, m.TAG_REGION, m.TAG_ROLE) and v}
    tags.update({m.TAG_DEVICE: event.device, m.TAG_KIND: event.kind, m.TAG_SOURCE: event.source,
                 m.TAG_SEVERITY: event.severity})
    fields: dict[str, FieldValue] = {m.F_COUNT: 1, m.F_TEXT: event.text}
    ifname = event.attrs.get("ifname")
    if ifname:
        tags[m.TAG_IFNAME] = ifname
    ifindex = event.attrs.get("ifindex")
    if ifindex is not None and ifindex.isdigit():
        fields[m.F_IFINDEX] = int(ifindex)
    return Sample(m.EVENT, tags, fields, event.time)
