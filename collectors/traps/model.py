"""Values and ports of the trap receiver: the raw trap, the device directory, counters, the ifName lookup."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol

from collectors.measurements import TAG_LISTEN, TRAP_RECEIVER
from collectors.model import DeviceEvent, SnmpValue

__all__ = ["TAG_LISTEN", "TRAP_RECEIVER"]


@dataclass(frozen=True, slots=True)
class RawTrap:
    """One authenticated notification as pysnmp delivered it (v1 already translated to v2 form).

    ``security_name`` is the receiver-side label of the community or v3 user entry it matched (the receiver
    maps it to a device when that entry is pinned to one); ``varbinds`` are decoded values in order.
    """

    source: str
    port: int
    version: str  # "1", "2c" or "3"
    security_name: str
    varbinds: tuple[tuple[str, SnmpValue], ...]
    time: datetime
    inform: bool = False


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What the receiver knows of an inventory device: its address and the tags its samples carry."""

    name: str
    address: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrapStats:
    """The receiver's counters since it started (cumulative). Every datagram ends in exactly one of
    ``accepted`` or a drop reason; every accepted one in exactly one of ``events`` (handed on),
    ``heartbeats`` (a feed's keep-alive: counted, not an event), ``duplicates`` (an INFORM re-sent with
    the same request-id: acknowledged again, handed on once), ``queue_full`` (the handler fell behind),
    ``decode_errors`` or ``handler_errors``. ``unresolved`` counts events whose source matched no single
    device. Feed lost/restored events come from the clock, not a datagram: they are not counted."""

    received: int = 0
    accepted: int = 0
    malformed: int = 0
    bad_community: int = 0
    unknown_engine: int = 0
    unknown_user: int = 0
    bad_auth: int = 0
    bad_priv: int = 0
    not_in_time: int = 0
    other_dropped: int = 0
    decode_errors: int = 0
    unresolved: int = 0
    queue_full: int = 0
    events: int = 0
    handler_errors: int = 0
    heartbeats: int = 0
    duplicates: int = 0

    @property
    def dropped(self) -> int:
        return self.received - self.accepted


DROP_REASONS: Final = (
    "malformed", "bad_community", "unknown_engine", "unknown_user", "bad_auth", "bad_priv", "not_in_time",
    "other_dropped",
)


class IfNameLookup(Protocol):
    """ifIndex → ifName of a device, from the latest interface poll (filled by the composition root)."""

    def ifname(self, device: str, ifindex: int) -> str | None: ...


EventHandler = Callable[[DeviceEvent], Awaitable[None]]
"""The output port: the alarm engine's entry for device events."""
