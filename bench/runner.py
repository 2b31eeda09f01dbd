"""Poll every agent once with N polls in flight, timing the pass and the CPU it cost this process."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from bench.cpu import children_cpu_s, own_cpu_s
from bench.workload import Section

LOG = logging.getLogger("bench.runner")

PollOne = Callable[[int], Awaitable[int]]
"""Poll the agent on this port once; return the varbinds kept (raise on failure)."""


def failure_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason) if reason else type(exc).__name__


async def poll_fleet(poller: str, ports: Sequence[int], poll_one: PollOne, in_flight: int) -> Section:
    """One pass over ``ports``; failures are recorded per agent, never raised."""
    gate = asyncio.Semaphore(in_flight)
    varbinds: dict[int, int] = {}
    failures: dict[int, str] = {}

    async def one(port: int) -> None:
        async with gate:
            try:
                varbinds[port] = await poll_one(port)
            except Exception as exc:  # a failed agent is a result, the pass goes on
                LOG.debug("%s: agent 127.0.0.1:%d failed: %r", poller, port, exc)
                failures[port] = failure_reason(exc)

    cpu0, kids0, t0 = own_cpu_s(), children_cpu_s(), time.perf_counter()
    await asyncio.gather(*(one(p) for p in ports))
    wall, cpu, kids = time.perf_counter() - t0, own_cpu_s() - cpu0, children_cpu_s() - kids0
    extra = {"driver_cpu_s": cpu - kids, "spawned_cpu_s": kids} if kids > 0 else {}
    return Section(poller=poller, wall_s=wall, cpu_s=cpu, varbinds=varbinds, failures=failures, extra=extra)


def parse_ports(text: str) -> list[int]:
    """``20000-20199`` or ``20000,20001`` (or a mix)."""
    ports: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        ports += list(range(int(lo), int(hi or lo) + 1))
    return ports


def format_ports(ports: Sequence[int]) -> str:
    """The inverse of :func:`parse_ports` for a contiguous range (falls back to a list)."""
    if ports and list(ports) == list(range(ports[0], ports[0] + len(ports))):
        return f"{ports[0]}-{ports[-1]}"
    return ",".join(str(p) for p in ports)
