"""The collectors' contract: the values every package exchanges and the ports adapters implement.

Everything here is a frozen value or a ``typing.Protocol``. Adapters (pysnmp, InfluxDB, the spool)
implement the Protocols; the scheduler, alarms and SLA code only ever see these types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

FieldValue = int | float | str | bool
"""A field value in a sample. ``bool`` is written as a boolean; ints keep the ``i`` suffix."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One point: a measurement with its tags, fields and a timezone-aware UTC time.

    Measurement, tag and field names come from :mod:`collectors.measurements`, never literals.
    A field that has no valid value (first poll of a counter, a device's "no reading" sentinel)
    is absent, never zero.
    """

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time: datetime


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one run of one job on one device produced: samples, or the reason it failed.

    A failed poll is a value, not an exception: ``error`` names the reason (``timeout``,
    ``auth``, ``refused``, ...), ``samples`` holds whatever was collected before it failed.
    """

    device: str
    job: str
    started: datetime
    duration_s: float
    samples: tuple[Sample, ...] = ()
    error: str | None = None
    varbinds: int = 0
    pdus: int = 0
    """Request PDUs the run sent (GETs, each GETBULK of a walk; 0 where the path has no PDUs, e.g. SSH)."""
    rates_dropped: int = 0
    """Counter intervals this run left without a rate (device reset, gap, ambiguous wrap, above line speed)."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Something a device said happened (a trap, an EMS alarm) — input for the alarm engine.

    ``kind`` is a stable name (``linkDown``, ``linkUp``, ``coldStart``, ``warmStart``,
    ``bgpBackwardTransition``, ``bgpEstablished``, or a vendor mapping's kind); ``resource`` names what
    it is about (an ifName, a BGP peer address, an EMS managed object; "" for the whole device).
    ``clears`` is the kind this event clears (``linkUp`` clears ``linkDown``), if any.
    """

    device: str
    kind: str
    resource: str
    time: datetime
    source: str = "trap"
    severity: str = "warning"
    clears: str | None = None
    text: str = ""
    attrs: Mapping[str, str] = field(default_factory=dict)


class Clock(Protocol):
    """Injected time source (UTC, timezone-aware)."""

    def __call__(self) -> datetime: ...


SnmpValue = int | bytes | str
"""A decoded SNMP value: integers (Integer32, Counter32/64, Gauge32, TimeTicks) as ``int``,
OctetString as ``bytes``, OBJECT IDENTIFIER and IpAddress as dotted ``str``.
noSuchObject / noSuchInstance / endOfMibView never appear: the OID is simply absent."""


class SnmpError(Exception):
    """An SNMP request failed as a whole (timeout, authentication, unreachable).

    ``reason`` is a short machine-readable word: ``timeout``, ``auth``, ``unreachable``, ``error``.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SnmpStats:
    """Counters an SNMP client keeps about its own work (for self-metrics)."""

    requests: int = 0
    varbinds: int = 0


class SnmpClient(Protocol):
    """The narrow port collectors use to talk SNMP to one device.

    Implementations: :class:`collectors.snmp.pysnmp_client.PysnmpClient` (the reference);
    a faster codec may replace it on the hot path without touching profiles or collectors.
    All OIDs are numeric dotted strings without a leading dot.
    """

    async def get(self, oids: Sequence[str]) -> dict[str, SnmpValue]:
        """GET scalars; returns ``{oid: value}`` for the OIDs that exist."""
        ...

    async def walk(self, column: str) -> dict[str, SnmpValue]:
        """GETBULK-walk one column; returns ``{index_suffix: value}`` (suffix without the column)."""
        ...

    async def walk_table(self, columns: Sequence[str]) -> dict[str, dict[str, SnmpValue]]:
        """Walk several columns of one table; returns ``{column: {index_suffix: value}}``."""
        ...

    @property
    def varbinds(self) -> int:
        """Varbinds received so far through this client (for self-metrics)."""
        ...

    @property
    def pdus(self) -> int:
        """Request PDUs sent so far through this client (for self-metrics)."""
        ...

    async def close(self) -> None: ...


class Collector(Protocol):
    """Runs one job against one device and returns its PollResult (never raises for device faults)."""

    async def collect(self, device: str, job: str) -> PollResult: ...


class Sink(Protocol):
    """Where samples go (InfluxDB through a batcher and a spool, stdout, a list in tests)."""

    async def write(self, samples: Sequence[Sample]) -> None: ...

    async def flush(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Target:
    """How to reach one device over SNMP (resolved secrets; built by the composition root)."""

    name: str
    address: str
    port: int = 161
    version: str = "2c"  # "2c" or "3"
    community: str = ""
    user: str = ""
    auth_protocol: str = ""  # "SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5" or "" (noAuth)
    auth_key: str = ""
    priv_protocol: str = ""  # "AES", "AES192", "AES256", "DES" or "" (noPriv)
    priv_key: str = ""
    context: str = ""
    timeout_s: float = 5.0
    retries: int = 1
    max_repetitions: int = 25
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags every sample of this device carries: device, site, region, role, vendor."""
