"""The netqos ``if_mib`` interfaces job, driven per agent (once ``collectors.snmp.collect`` lands)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bench.runner import PollOne
from collectors.model import Target


@asynccontextmanager
async def collect_interfaces(target_for: Callable[[int], Target]) -> AsyncIterator[PollOne]:
    raise NotImplementedError("collectors.snmp.collect is not available yet")
    yield  # pragma: no cover
