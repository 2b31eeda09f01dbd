"""A per-device request-rate limit: a token bucket (pure, injected clock) and the clients it gates.

An OLT answers SNMP on a small management CPU shared with ONU management; walking its optics tables at
full speed can starve it. A profile's ``max_requests_per_s`` caps the PDUs sent to one device, across
all its jobs: :class:`SnmpCollector` keeps one :class:`Throttle` per device and hands it to the client.

- :class:`TokenBucket` — the arithmetic only: ``reserve(now)`` takes a token and says how long to wait.
- :class:`Throttle` — the bucket plus an injected clock and sleep: ``await throttle.wait()``.
- :class:`collectors.snmp.pysnmp_client.PysnmpClient` (``use_gate``) — waits on its gate before
  *every* PDU (each GETBULK of a table walk), the real limit.
- :class:`ThrottledClient` — any :class:`SnmpClient` gated per port call (a whole walk is one call):
  the fallback for clients that cannot gate their PDUs (the in-memory test client).
- :class:`PollGate` — one poll's view of its device's :class:`Throttle`: counts the PDUs the poll sends
  (:attr:`PollGate.pacing`) and logs a warning, naming device and job, as soon as those PDUs at the device's
  rate need more than :data:`WARN_FRACTION` of the job's timeout (a large OLT outgrowing its ``onu`` job).

The arithmetic (burst 1): ``n`` PDUs at ``rate`` take at least ``(n − 1) / rate`` seconds, so a job with
timeout ``T`` fits at most :func:`pdu_budget` ``≈ rate × T × fraction`` PDUs before the warning.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from collectors.model import SnmpClient, SnmpValue

log = logging.getLogger(__name__)

WARN_FRACTION: Final = 0.8
"""A poll whose PDUs at the device's rate need this share of the job's timeout is logged as a warning."""


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up. Pure: time comes in as ``now`` (seconds).

    :meth:`reserve` always grants the token, possibly in the future: the bucket may go into debt, and
    the caller waits the returned delay. Callers reserving one after another are thus spaced ``1/rate``
    apart once the burst is spent, whatever order they wake in.
    """

    rate: float
    burst: float = 1.0
    tokens: float | None = None
    last: float | None = None

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"need rate > 0 and burst >= 1 (got rate={self.rate}, burst={self.burst})")

    def reserve(self, now: float) -> float:
        """Take one token at time ``now``; returns the seconds to wait before using it (0: right away)."""
        if self.tokens is None or self.last is None:
            self.tokens, self.last = self.burst, now
        elapsed = max(0.0, now - self.last)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.last = max(self.last, now)
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class Gate(Protocol):
    """What a client awaits before each request."""

    async def wait(self) -> None: ...


class Throttle:
    """A :class:`TokenBucket` with an injected monotonic clock and sleep (the only I/O: the waiting)."""

    def __init__(
        self,
        bucket: TokenBucket,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.bucket = bucket
        self._clock = clock
        self._sleep = sleep
        self.waited_s = 0.0
        """Total seconds callers were held back (for self-metrics and the benchmark)."""
        self.requests = 0

    async def wait(self) -> None:
        await self.admit()

    async def admit(self) -> float:
        """Take a token, sleep until it is due; returns the seconds this caller was held back."""
        delay = self.bucket.reserve(self._clock())
        self.requests += 1
        if delay > 0:
            self.waited_s += delay
            await self._sleep(delay)
        return max(0.0, delay)


@runtime_checkable
class Gateable(Protocol):
    """A client that can wait on a gate before each PDU it sends."""

    def use_gate(self, gate: Gate | None) -> None: ...


class ThrottledClient:
    """Any :class:`SnmpClient`, gated once per port call (``get``, ``walk``, ``walk_table``)."""

    def __init__(self, inner: SnmpClient, gate: Gate) -> None:
        self._inner = inner
        self._gate = gate

    async def get(self, oids: Sequence[str]) -> dict[str, SnmpValue]:
        await self._gate.wait()
        return await self._inner.get(oids)

    async def walk(self, column: str) -> dict[str, SnmpValue]:
        await self._gate.wait()
        return await self._inner.walk(column)

    async def walk_table(self, columns: Sequence[str]) -> dict[str, dict[str, SnmpValue]]:
        await self._gate.wait()
        return await self._inner.walk_table(columns)

    @property
    def varbinds(self) -> int:
        return self._inner.varbinds

    @property
    def pdus(self) -> int:
        return self._inner.pdus

    async def close(self) -> None:
        await self._inner.close()


def gate_client(client: SnmpClient, gate: Gate) -> SnmpClient:
    """``client`` limited by ``gate``: per PDU when it can (:class:`Gateable`), else per port call."""
    if isinstance(client, Gateable):
        client.use_gate(gate)
        return client
    return ThrottledClient(client, gate)


# --- one poll's share of the device's gate ----------------------------------------------------------------


def paced_seconds(pdus: int, rate: float) -> float:
    """The least time ``pdus`` evenly spaced PDUs take at ``rate`` per second (burst 1): ``(pdus − 1) / rate``.

    >>> paced_seconds(3400, 20.0)
    169.95
    """
    return max(0, pdus - 1) / rate


def pdu_budget(rate: float, timeout_s: float, fraction: float = WARN_FRACTION) -> int:
    """The most PDUs one poll can send at ``rate`` without reaching ``fraction`` of ``timeout_s`` (the warning).

    >>> pdu_budget(20.0, 110.0)
    1760
    """
    return max(1, math.ceil(rate * timeout_s * fraction))


def near_timeout(pdus: int, rate: float, timeout_s: float | None, fraction: float = WARN_FRACTION) -> bool:
    """Whether ``pdus`` at ``rate`` need at least ``fraction`` of ``timeout_s`` (never without a timeout)."""
    return timeout_s is not None and timeout_s > 0 and paced_seconds(pdus, rate) >= fraction * timeout_s


@dataclass(frozen=True, slots=True)
class PollPacing:
    """What the gate saw of one poll of one job on one device."""

    device: str
    job: str
    pdus: int
    """Request PDUs the poll sent (each GET, each GETBULK of a walk)."""
    rate: float
    """The device's limit, PDUs per second."""
    waited_s: float
    """Seconds the poll's PDUs were held back by the limit (shared with the device's other jobs)."""
    timeout_s: float | None = None

    @property
    def paced_s(self) -> float:
        """The least time the poll's PDUs take at the device's rate."""
        return paced_seconds(self.pdus, self.rate)

    @property
    def near_timeout(self) -> bool:
        return near_timeout(self.pdus, self.rate, self.timeout_s)


class PollGate:
    """One poll's gate: waits on the device's :class:`Throttle`, counts the PDUs this poll sends, and warns once.

    The warning (``device=… job=…``) fires while the poll runs, as soon as its PDUs so far at the device's rate
    reach ``fraction`` of ``timeout_s``: a poll that the scheduler then cancels has still said why.
    """

    def __init__(
        self,
        throttle: Throttle,
        device: str,
        job: str,
        timeout_s: float | None = None,
        *,
        fraction: float = WARN_FRACTION,
        logger: logging.Logger = log,
    ) -> None:
        self._throttle = throttle
        self._device = device
        self._job = job
        self._timeout_s = timeout_s
        self._fraction = fraction
        self._log = logger
        self.pdus = 0
        self.waited_s = 0.0
        self.warned = False

    async def wait(self) -> None:
        self.pdus += 1
        self.waited_s += await self._throttle.admit()
        rate = self._throttle.bucket.rate
        if not self.warned and near_timeout(self.pdus, rate, self._timeout_s, self._fraction):
            self.warned = True
            self._log.warning(
                "device=%s job=%s: %d PDUs so far at %g PDUs/s need >= %.1f s of the job's %.0f s timeout: "
                "raise the profile's max_requests_per_s or the job's timeout_s (docs/profiles.md)",
                self._device, self._job, self.pdus, rate, paced_seconds(self.pdus, rate), self._timeout_s,
            )

    @property
    def pacing(self) -> PollPacing:
        """The poll's PDU count and waits so far."""
        return PollPacing(self._device, self._job, self.pdus, self._throttle.bucket.rate, self.waited_s,
                          self._timeout_s)
