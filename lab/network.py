"""The lab's devices: which recording each inventory device is served from.

Ports and addresses come from the inventory at run time (``inventory.yaml`` says where each device
listens); this module only knows which recording (``lab/devices/<stem>.snmprec``) plays which
device, and which generated ONUs the lab OLTs carry (``LAB_OLTS``). :func:`lab_devices` joins the two.

A lab device whose inventory entry has SSH credentials (``ssh``) and the SmartAX CLI (``ssh_platform``
``huawei_smartax``, or that profile) is also played over SSH by the fakenos OLT on ``ssh_port``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from config.models import Device, Inventory
from lab.gen_olt import OnuPlan

RECORDINGS_DIR = Path(__file__).resolve().parent / "devices"
"""The recorded real devices shipped with netqos (``lab/devices/*.snmprec`` + LibreNMS answer keys)."""


def default_recordings_dir() -> Path:
    """``$NETQOS_DEVICES``, else the recordings shipped in ``lab/devices``."""
    env = os.environ.get("NETQOS_DEVICES")
    return Path(env) if env else RECORDINGS_DIR

__all__ = ["LAB_OLTS", "LAB_RECORDINGS", "SSH_LAB_PLATFORM", "LabConfigError", "LabDevice", "lab_devices", "onu_plan"]

LAB_RECORDINGS: tuple[tuple[str, str], ...] = (
    ("core-sh-01", "iosxr_asr9904"),
    ("agg-sh-pd-01", "vrp_ne"),
    ("agg-sh-mh-01", "junos"),
    ("dist-sh-01", "iosxe_c3650"),
    ("olt-sh-pd-01", "smartax"),
    ("olt-sh-mh-01", "zxa10_c320"),
    ("ent-sh-pd-01", "vrp_ar169sfp"),
    ("mw-sh-pd-101a", "ericsson-ml"),
    ("csr-sh-pd-101", "iosxe_asr920"),
    ("pwr-sh-pd-101", "eltek-webpower"),
    ("mw-sh-cm-201a", "ceraos"),
    ("csr-sh-cm-201", "iosxe_asr920"),
)
"""Lab device name -> recording stem (the same recording may play several devices)."""

LAB_OLTS: tuple[OnuPlan, ...] = (
    # PON ports that exist in the recordings (smartax: GPON 0/0/15 is the one recorded up, with 11 added ONTs;
    # zxa10_c320: gpon_1/1/1..8, 1/1/2 recorded down)
    OnuPlan("olt-sh-pd-01", "huawei",
            (("0/0/15", 64), ("0/1/0", 64), ("0/1/1", 56), ("0/1/2", 48), ("0/1/3", 40)), seed=2065),
    OnuPlan("olt-sh-mh-01", "zte", (("1/1/1", 64), ("1/1/3", 56), ("1/1/4", 48), ("1/1/5", 40)), seed=2066),
)
"""The generated ONUs of the lab OLTs (one table per device: its SNMP recording and its SSH OLT serve it)."""

SSH_LAB_PLATFORM = "huawei_smartax"
"""The CLI the lab's SSH OLT (fakenos) plays."""


def onu_plan(device: str, plans: Sequence[OnuPlan] = LAB_OLTS) -> OnuPlan | None:
    """The ONU plan of lab device ``device`` (None: it carries no generated ONUs)."""
    return next((p for p in plans if p.device == device), None)


class LabConfigError(ValueError):
    """The inventory cannot be served by the lab (a device outside loopback, a port clash...)."""


@dataclass(frozen=True, slots=True)
class LabDevice:
    """One simulated device: served from ``recording`` on ``address:port`` (UDP, community ``public``)."""

    name: str
    recording: str
    address: str
    port: int
    ssh_port: int | None = None
    """The TCP port of its fakenos SSH OLT (None: not played over SSH)."""
    watched: tuple[str, ...] = ()
    """Ports the inventory monitors (monitored_ports + pon_ports): up in the lab's healthy baseline."""


def _plays_ssh(device: Device) -> bool:
    platform = device.ssh_platform or (device.profile if device.profile == SSH_LAB_PLATFORM else None)
    return device.ssh is not None and platform == SSH_LAB_PLATFORM


def lab_devices(
    inventory: Inventory,
    table: Sequence[tuple[str, str]] = LAB_RECORDINGS,
    ports: Mapping[str, int] | None = None,
    ssh_ports: Mapping[str, int] | None = None,
) -> list[LabDevice]:
    """The lab devices of ``table`` found in ``inventory``, in table order, with the inventory's address and
    port (``ports`` overrides a device's port, e.g. free ports in tests) and, for a device with SSH
    credentials and the SmartAX CLI, its ``ssh_port`` (``ssh_ports`` overrides it).

    Table rows whose device is not in the inventory are skipped (a partial inventory serves a partial lab).
    Raises :class:`LabConfigError` when a device is not on a loopback address or two devices share an
    endpoint (UDP for SNMP, TCP for SSH).
    """
    by_name = {d.name: d for d in inventory.devices}
    overrides = ports or {}
    ssh_overrides = ssh_ports or {}
    out: list[LabDevice] = []
    seen: dict[tuple[str, int], str] = {}
    seen_tcp: dict[tuple[str, int], str] = {}
    for name, recording in table:
        device = by_name.get(name)
        if device is None:
            continue
        try:
            loopback = ipaddress.ip_address(device.address).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise LabConfigError(f"lab device {name}: address {device.address} is not a loopback address")
        port = overrides.get(name, device.port)
        endpoint = (device.address, port)
        if endpoint in seen:
            raise LabConfigError(f"lab devices {seen[endpoint]} and {name} both listen on {endpoint[0]}:{port}")
        seen[endpoint] = name
        ssh_port = ssh_overrides.get(name, device.ssh_port) if _plays_ssh(device) else None
        if ssh_port is not None:
            tcp = (device.address, ssh_port)
            if tcp in seen_tcp:
                raise LabConfigError(f"lab devices {seen_tcp[tcp]} and {name} both serve SSH on {tcp[0]}:{ssh_port}")
            seen_tcp[tcp] = name
        watched = (*device.monitored_ports, *device.pon_ports)
        out.append(LabDevice(name, recording, device.address, port, ssh_port, watched))
    return out
