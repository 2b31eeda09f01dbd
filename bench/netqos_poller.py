"""Poller: netqos itself (pysnmp 7 asyncio, one engine, N agents in flight), in its own process.

Modes:
- ``client``: the real interface-polling path, ``collectors.snmp.pysnmp_client.PysnmpClient`` through
  the ``SnmpClient`` port: ``get`` + one ``walk`` per column (the PEERS workload, 17 PDUs);
- ``client-table``: the same client's own way, ``get`` + one ``walk_table`` of the 8 columns (GETBULKs
  carry every unfinished column: 3 PDUs for 48 rows);
- ``collect``: the whole interfaces job (profile ``if_mib``) through ``collectors.snmp.collect``, so the
  figure includes parsing into ``Sample`` values;
- ``hlapi``: a bare pysnmp hlapi loop (``lookupMib=False``), the floor netqos's client sits on.

Run as ``python -m bench.netqos_poller --mode client --ports 20000-20199``; prints one JSON ``Section``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from bench.runner import PollOne, parse_ports, poll_fleet
from bench.workload import COLUMNS, COMMUNITY, MAX_REPETITIONS, RETRIES, SCALARS, TIMEOUT_S, Section
from collectors.model import SnmpClient, Target

MODES = ("client", "client-table", "collect", "hlapi")


@asynccontextmanager
async def hlapi_poller() -> AsyncIterator[PollOne]:
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        bulk_walk_cmd,
        get_cmd,
    )

    engine = SnmpEngine()
    auth = CommunityData(COMMUNITY)

    async def poll(port: int) -> int:
        target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=TIMEOUT_S, retries=RETRIES)
        err, status, _, vbs = await get_cmd(
            engine,
            auth,
            target,
            ContextData(),
            *(ObjectType(ObjectIdentity(o)) for o in SCALARS),
            lookupMib=False,
        )
        if err or status:
            raise RuntimeError(str(err or status))
        count = len(vbs)
        for col in COLUMNS:
            prefix = col + "."
            async for err, status, _, vbs in bulk_walk_cmd(
                engine,
                auth,
                target,
                ContextData(),
                0,
                MAX_REPETITIONS,
                ObjectType(ObjectIdentity(col)),
                lexicographicMode=False,
                lookupMib=False,
            ):
                if err or status:
                    raise RuntimeError(str(err or status))
                count += sum(1 for oid, _ in vbs if str(oid).startswith(prefix))
        return count

    try:
        yield poll
    finally:
        engine.close_dispatcher()


def bench_target(port: int) -> Target:
    return Target(
        name=f"bench-{port}",
        address="127.0.0.1",
        port=port,
        version="2c",
        community=COMMUNITY,
        timeout_s=TIMEOUT_S,
        retries=RETRIES,
        max_repetitions=MAX_REPETITIONS,
    )


async def poll_with_client(client: SnmpClient, per_column: bool) -> int:
    """The workload through the ``SnmpClient`` port: per column (17 PDUs) or as one table walk."""
    try:
        scalars = await client.get(list(SCALARS))
        if per_column:
            table = {col: await client.walk(col) for col in COLUMNS}
        else:
            table = await client.walk_table(list(COLUMNS))
        return len(scalars) + sum(len(rows) for rows in table.values())
    finally:
        await client.close()


@asynccontextmanager
async def client_poller(per_column: bool) -> AsyncIterator[PollOne]:
    from collectors.snmp.pysnmp_client import PysnmpEngine

    async with PysnmpEngine() as engine:

        async def poll(port: int) -> int:
            return await poll_with_client(engine.client(bench_target(port)), per_column)

        yield poll


@asynccontextmanager
async def collect_poller() -> AsyncIterator[PollOne]:
    from bench.netqos_collect import collect_interfaces

    async with collect_interfaces(bench_target) as poll:
        yield poll


def poller_for(mode: str) -> AbstractAsyncContextManager[PollOne]:
    if mode == "client":
        return client_poller(per_column=True)
    if mode == "client-table":
        return client_poller(per_column=False)
    if mode == "collect":
        return collect_poller()
    if mode == "hlapi":
        return hlapi_poller()
    raise ValueError(f"unknown mode {mode!r}")


async def run(mode: str, ports: Sequence[int], in_flight: int) -> Section:
    async with poller_for(mode) as poll:
        return await poll_fleet(f"netqos {mode}", ports, poll, in_flight)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mode", choices=MODES, default="client")
    ap.add_argument("--ports", required=True)
    ap.add_argument("--in-flight", type=int, default=64)
    args = ap.parse_args(argv)
    section = asyncio.run(run(args.mode, parse_ports(args.ports), args.in_flight))
    sys.stdout.write(section.to_json() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
