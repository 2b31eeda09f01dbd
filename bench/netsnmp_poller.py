"""Poller: the net-snmp CLI (``snmpget`` + one ``snmpbulkwalk`` per column), N agents in flight.

Run as ``python -m bench.netsnmp_poller --ports 20000-20199``; prints one JSON ``Section`` line. Its CPU
includes every CLI process it spawned (they are reaped children).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bench.runner import parse_ports, poll_fleet
from bench.workload import COLUMNS, COMMUNITY, MAX_REPETITIONS, RETRIES, SCALARS, TIMEOUT_S, Section

COMMON = ["-v2c", "-c", COMMUNITY, "-t", f"{TIMEOUT_S:g}", "-r", str(RETRIES), "-On", "-Oq"]


class CliError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def agent_commands(port: int) -> list[list[str]]:
    """The 9 command lines of one agent poll (1 GET, 8 bulk walks)."""
    host = f"127.0.0.1:{port}"
    cmds = [["snmpget", *COMMON, host, *SCALARS]]
    cmds += [["snmpbulkwalk", *COMMON, f"-Cr{MAX_REPETITIONS}", host, col] for col in COLUMNS]
    return cmds


def count_varbinds(stdout: bytes) -> int:
    """Lines of ``-On -Oq`` output that are varbinds (``.1.3.6… value``)."""
    return sum(1 for line in stdout.splitlines() if line.startswith(b"."))


async def run_cli(argv: Sequence[str]) -> int:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        reason = "timeout" if b"Timeout" in err else "error"
        raise CliError(reason)
    return count_varbinds(out)


async def poll_agent(port: int) -> int:
    total = 0
    for argv in agent_commands(port):
        total += await run_cli(argv)
    return total


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ports", required=True)
    ap.add_argument("--in-flight", type=int, default=16)
    args = ap.parse_args(argv)
    section: Section = asyncio.run(poll_fleet("net-snmp CLI", parse_ports(args.ports), poll_agent, args.in_flight))
    sys.stdout.write(section.to_json() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
