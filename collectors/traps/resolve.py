"""Which inventory device sent a trap (pure).

Order, first match wins:

1. the credential entry the trap authenticated with, when it is pinned to a device: a v3 user entry is
   tied to the sender's engine ID (one per device, which v3 traps need anyway), a community may carry
   ``device:`` in ``config/traps.yaml``;
2. the agent address the trap names (``snmpTrapAddress.0``; a v1 trap's agent-addr), when exactly one
   device has that address — traps relayed by a proxy/NAT or an EMS;
3. the UDP source address, when exactly one device has it.

Otherwise the trap is *unresolved*: the event's device is the source address and the receiver counts it.
In the lab every device sits on 127.0.0.1, so lab traps are told apart by 1 (a per-device community or
v3 engine ID).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from collectors import measurements as m
from collectors.traps.decode import agent_address
from collectors.traps.model import DeviceInfo, RawTrap
from config.models import Inventory


@dataclass(frozen=True, slots=True)
class Resolved:
    device: str
    how: str  # "credential", "agent_address", "source_address" or "unresolved"

    @property
    def ok(self) -> bool:
        return self.how != "unresolved"


@dataclass(frozen=True, slots=True)
class DeviceDirectory:
    devices: Sequence[DeviceInfo]
    pinned: Mapping[str, str] = field(default_factory=dict)
    """Receiver security label → device name."""
    _by_address: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _tags: Mapping[str, Mapping[str, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by: defaultdict[str, list[str]] = defaultdict(list)
        for d in self.devices:
            by[d.address].append(d.name)
        object.__setattr__(self, "_by_address", MappingProxyType({k: tuple(v) for k, v in by.items()}))
        object.__setattr__(self, "_tags", MappingProxyType({d.name: d.tags for d in self.devices}))

    def resolve(self, trap: RawTrap) -> Resolved:
        pinned = self.pinned.get(trap.security_name)
        if pinned is not None:
            return Resolved(pinned, "credential")
        agent = agent_address(trap.varbinds)
        if agent is not None and len(self._by_address.get(agent, ())) == 1:
            return Resolved(self._by_address[agent][0], "agent_address")
        if len(self._by_address.get(trap.source, ())) == 1:
            return Resolved(self._by_address[trap.source][0], "source_address")
        return Resolved(trap.source, "unresolved")

    def tags(self, device: str) -> Mapping[str, str]:
        return self._tags.get(device, {})

    @property
    def names(self) -> frozenset[str]:
        return frozenset(d.name for d in self.devices)


def devices_from_inventory(inv: Inventory) -> list[DeviceInfo]:
    """Every enabled inventory device with its address and site/region/role tags."""
    out: list[DeviceInfo] = []
    for d in inv.devices:
        if not d.enabled:
            continue
        site = inv.site(d.site)
        tags = {m.TAG_DEVICE: d.name, m.TAG_SITE: site.name, m.TAG_REGION: site.region, m.TAG_ROLE: d.role.value}
        out.append(DeviceInfo(d.name, d.address, tags))
    return out
