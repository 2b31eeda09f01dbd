"""The lab's devices: which recording each inventory device is served from.

Ports and addresses come from the inventory at run time (``inventory.yaml`` says where each device
listens); this module only knows which recording (``lab/devices/<stem>.snmprec``) plays which
device. :func:`lab_devices` joins the two.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from config.models import Inventory

RECORDINGS_DIR = Path(__file__).resolve().parent / "devices"
"""The recorded real devices shipped with netqos (``lab/devices/*.snmprec`` + LibreNMS answer keys)."""


def default_recordings_dir() -> Path:
    """``$NETQOS_DEVICES``, else the recordings shipped in ``lab/devices``."""
    env = os.environ.get("NETQOS_DEVICES")
    return Path(env) if env else RECORDINGS_DIR

__all__ = ["LAB_RECORDINGS", "LabConfigError", "LabDevice", "lab_devices"]

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


class LabConfigError(ValueError):
    """The inventory cannot be served by the lab (a device outside loopback, a port clash...)."""


@dataclass(frozen=True, slots=True)
class LabDevice:
    """One simulated device: served from ``recording`` on ``address:port`` (UDP, community ``public``)."""

    name: str
    recording: str
    address: str
    port: int


def lab_devices(
    inventory: Inventory,
    table: Sequence[tuple[str, str]] = LAB_RECORDINGS,
    ports: Mapping[str, int] | None = None,
) -> list[LabDevice]:
    """The lab devices of ``table`` found in ``inventory``, in table order, with the inventory's address and
    port (``ports`` overrides a device's port, e.g. free ports in tests).

    Table rows whose device is not in the inventory are skipped (a partial inventory serves a partial lab).
    Raises :class:`LabConfigError` when a device is not on a loopback address or two devices share an
    endpoint.
    """
    by_name = {d.name: d for d in inventory.devices}
    overrides = ports or {}
    out: list[LabDevice] = []
    seen: dict[tuple[str, int], str] = {}
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
        out.append(LabDevice(name=name, recording=recording, address=device.address, port=port))
    return out
