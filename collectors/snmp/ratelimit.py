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
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from collectors.model import SnmpClient, SnmpValue


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
        delay = self.bucket.reserve(self._clock())
        self.requests += 1
        if delay > 0:
            self.waited_s += delay
            await self._sleep(delay)


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

    async def close(self) -> None:
        await self._inner.close()


def gate_client(client: SnmpClient, gate: Gate) -> SnmpClient:
    """``client`` limited by ``gate``: per PDU when it can (:class:`Gateable`), else per port call."""
    if isinstance(client, Gateable):
        client.use_gate(gate)
        return client
    return ThrottledClient(client, gate)
