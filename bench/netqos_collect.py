"""The netqos ``if_mib`` interfaces job per agent: ``SnmpCollector`` over ``PysnmpClient``, samples included.

This is the path the scheduler runs in production (fetch → parse → counter rates → ``PollResult``), so
its varbind count per agent is the profile's (every IF-MIB column the profile reads), not the PEERS
workload's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bench.runner import PollOne
from collectors.counters import Limits, RateTracker
from collectors.model import SnmpError, Target
from collectors.snmp.collect import SnmpCollector
from collectors.snmp.pysnmp_client import PysnmpEngine
from config.profiles import load_profiles

PROFILE = "if_mib"
JOB = "interfaces"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@asynccontextmanager
async def collect_interfaces(target_for: Callable[[int], Target]) -> AsyncIterator[PollOne]:
    """A ``PollOne`` running the interfaces job; a failed ``PollResult`` raises ``SnmpError(reason)``."""
    collector_tracker = RateTracker(Limits(interval_s=60.0))
    async with PysnmpEngine() as engine:
        collector = SnmpCollector(load_profiles(), engine.client, collector_tracker, utc_now)

        async def poll(port: int) -> int:
            result = await collector.collect(target_for(port), PROFILE, JOB)
            if result.error is not None:
                raise SnmpError(result.error)
            if not result.samples:
                raise SnmpError("empty", f"port {port}: no samples")
            return result.varbinds

        yield poll
