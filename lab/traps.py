"""Lab trap sender: builds and runs net-snmp ``snmptrap`` / ``snmpinform`` for the kinds the receiver knows.

``netqos lab trap DEVICE KIND`` calls :func:`send_trap`; tests call it too (from a thread, as it blocks
until the tool exits — an INFORM waits for the receiver's acknowledgement).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

IF_INDEX = "1.3.6.1.2.1.2.2.1.1"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_ADMIN = "1.3.6.1.2.1.2.2.1.7"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
SNMP_TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0"
BGP_PEER_STATE = "1.3.6.1.2.1.15.3.1.2"
BGP_PEER_REMOTE_ADDR = "1.3.6.1.2.1.15.3.1.7"
BGP_PEER_LAST_ERROR = "1.3.6.1.2.1.15.3.1.14"
ERI_MO = "1.3.6.1.4.1.193.183.4.1.3.5.1.5"
ERI_MAJOR = "1.3.6.1.4.1.193.183.4.1.3.5.1.2"
ERI_MINOR = "1.3.6.1.4.1.193.183.4.1.3.5.1.3"
ERI_PROBLEM = "1.3.6.1.4.1.193.183.4.1.3.5.1.4"
ERI_MAJOR_TRAP = "1.3.6.1.4.1.193.183.4.2.0.4"
ERI_CLEARED_TRAP = "1.3.6.1.4.1.193.183.4.2.0.7"
HUAWEI_NBI_KEEPALIVE = "1.3.6.1.4.1.2011.2.15.1.7.2.0.2"  # hwNmNorthboundEventKeepAlive (EMS heartbeat)

KINDS = ("linkDown", "linkUp", "coldStart", "warmStart", "bgpBackwardTransition", "bgpEstablished",
         "eriAlarm", "eriAlarmClear", "emsHeartbeat")


@dataclass(frozen=True, slots=True)
class V3Auth:
    """SNMPv3 authPriv credentials for the sender; ``engine_id`` (hex) is the sender's, needed for TRAPs."""

    user: str
    auth_key: str
    priv_key: str
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"
    engine_id: str = ""


def _int32(v: int) -> str:
    """An ifIndex as the Integer32 a device puts on the wire (above 2^31−1 it goes negative, as Huawei's do)."""
    return str(v - (1 << 32) if v > 0x7FFFFFFF else v)


def trap_varbinds(
    kind: str,
    *,
    ifindex: int = 1,
    peer: str = "192.0.2.1",
    bgp_form: str = "4273",
    managed_object: str = "ManagedElement=1,Equipment=1,RiLink=1",
    alarm_type: tuple[int, int] = (193, 9175114),
    problem: str = "Link Failure",
    ifdescr: str | None = None,
    ifname: str | None = None,
) -> list[str]:
    """The ``snmptrap`` arguments after the uptime: the trap OID, then ``OID TYPE VALUE`` triples.

    A link trap carries ifIndex, ifAdminStatus, ifOperStatus and, when given, ifDescr (IF-MIB allows it,
    Cisco sends it) and ifName (Huawei, Cisco add it)."""
    if kind in ("linkDown", "linkUp"):
        oid = "1.3.6.1.6.3.1.1.5.3" if kind == "linkDown" else "1.3.6.1.6.3.1.1.5.4"
        status = "2" if kind == "linkDown" else "1"
        idx = str(ifindex)
        vbs = [oid, f"{IF_INDEX}.{idx}", "i", _int32(ifindex), f"{IF_ADMIN}.{idx}", "i", "1",
               f"{IF_OPER}.{idx}", "i", status]
        if ifdescr is not None:
            vbs += [f"{IF_DESCR}.{idx}", "s", ifdescr]
        if ifname is not None:
            vbs += [f"{IF_NAME}.{idx}", "s", ifname]
        return vbs
    if kind == "emsHeartbeat":
        return [HUAWEI_NBI_KEEPALIVE]
    if kind == "coldStart":
        return ["1.3.6.1.6.3.1.1.5.1"]
    if kind == "warmStart":
        return ["1.3.6.1.6.3.1.1.5.2"]
    if kind in ("bgpBackwardTransition", "bgpEstablished"):
        last = {"4273": "0", "1657": "7"}
        if bgp_form not in last:
            raise ValueError(f"bgp_form must be '4273' or '1657', not {bgp_form!r}")
        oid = f"1.3.6.1.2.1.15.{last[bgp_form]}.{1 if kind == 'bgpEstablished' else 2}"
        state = "6" if kind == "bgpEstablished" else "1"
        vbs = [f"{BGP_PEER_LAST_ERROR}.{peer}", "x", "0604", f"{BGP_PEER_STATE}.{peer}", "i", state]
        if bgp_form == "4273":
            vbs = [f"{BGP_PEER_REMOTE_ADDR}.{peer}", "a", peer, *vbs]
        return [oid, *vbs]
    if kind in ("eriAlarm", "eriAlarmClear"):
        oid = ERI_MAJOR_TRAP if kind == "eriAlarm" else ERI_CLEARED_TRAP
        return [oid, f"{ERI_MO}.1", "s", managed_object, f"{ERI_MAJOR}.1", "u", str(alarm_type[0]),
                f"{ERI_MINOR}.1", "u", str(alarm_type[1]), f"{ERI_PROBLEM}.1", "s", problem]
    raise ValueError(f"unknown trap kind {kind!r} (known: {', '.join(KINDS)})")


def trap_command(
    target_host: str,
    port: int,
    args: Sequence[str],
    *,
    version: str = "2c",
    community: str = "public",
    v3: V3Auth | None = None,
    inform: bool = False,
    timeout_s: float = 3.0,
) -> list[str]:
    """The full net-snmp command line (``snmptrap`` or ``snmpinform``) for ``args`` from :func:`trap_varbinds`."""
    tool = "snmpinform" if inform else "snmptrap"
    cmd = [tool, "-r", "1", "-t", f"{timeout_s:g}"] if inform else [tool]
    if version == "3":
        if v3 is None:
            raise ValueError("version 3 needs v3 credentials")
        if not inform:
            if not v3.engine_id:
                raise ValueError("an SNMPv3 TRAP needs the sender's engine ID (V3Auth.engine_id)")
            cmd += ["-e", "0x" + v3.engine_id.lower().removeprefix("0x")]
        cmd += ["-v3", "-l", "authPriv", "-u", v3.user, "-a", v3.auth_protocol, "-A", v3.auth_key,
                "-x", v3.priv_protocol, "-X", v3.priv_key]
    elif version in ("2c", "1"):
        cmd += ["-v2c", "-c", community]
    else:
        raise ValueError(f"version must be '2c' or '3', not {version!r}")
    host = f"udp6:[{target_host}]" if ":" in target_host else target_host
    return [*cmd, "-On", f"{host}:{port}", "", *args]


def send_trap(
    target_host: str,
    port: int,
    device_address: str | None,
    kind: str,
    *,
    ifindex: int = 1,
    version: str = "2c",
    community: str = "public",
    v3: V3Auth | None = None,
    inform: bool = False,
    peer: str = "192.0.2.1",
    bgp_form: str = "4273",
    managed_object: str = "ManagedElement=1,Equipment=1,RiLink=1",
    timeout_s: float = 3.0,
    ifdescr: str | None = None,
    ifname: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Send one trap of ``kind`` to ``target_host:port`` as a device would; returns the finished process.

    ``device_address``, when given, goes in as ``snmpTrapAddress.0`` (the agent address the receiver may use
    to tell devices apart). Raises ``subprocess.CalledProcessError`` when the tool fails (e.g. an INFORM
    not acknowledged).
    """
    args = trap_varbinds(kind, ifindex=ifindex, peer=peer, bgp_form=bgp_form, managed_object=managed_object,
                         ifdescr=ifdescr, ifname=ifname)
    if device_address:
        args += [SNMP_TRAP_ADDRESS, "a", device_address]
    cmd = trap_command(target_host, port, args, version=version, community=community, v3=v3, inform=inform,
                       timeout_s=timeout_s)
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=timeout_s * 3 + 5)
