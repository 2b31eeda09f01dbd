"""The simulated fleet: net-snmp ``snmpd`` agents in a network namespace with ~48 real interfaces.

One ``snmpd`` process (or a few) listens on hundreds of UDP ports given on its command line, inside a
namespace made for the benchmark, so each port looks like a 48-interface router (lo + veth pairs + a
bridge). Pollers run in the same namespace and reach the agents on its loopback. ``Fleet`` is a context
manager: the namespace and every process it started are gone when it exits, whatever happened.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bench.workload import COMMUNITY, SYS_NAME

LOG = logging.getLogger("bench.fleet")

SNMPD_CONF = f"""\
rocommunity {COMMUNITY} 127.0.0.1
dontLogTCPWrappersConnects yes
"""


@dataclass(frozen=True, slots=True)
class FleetSpec:
    agents: int
    interfaces: int = 48
    base_port: int = 20000
    netns: str = "netqos-bench"
    snmpd_procs: int = 1

    @property
    def ports(self) -> tuple[int, ...]:
        return tuple(range(self.base_port, self.base_port + self.agents))


def link_batch(interfaces: int) -> str:
    """``ip -batch`` lines that give a namespace ``interfaces`` IF-MIB rows (lo + veth pairs + a bridge)."""
    if interfaces < 1:
        raise ValueError("interfaces must be >= 1 (lo is always there)")
    others = interfaces - 1
    lines = ["link set lo up"]
    if others % 2:
        lines += ["link add br0 type bridge", "link set br0 up"]
    for i in range(others // 2):
        lines += [f"link add v{i}a type veth peer name v{i}b", f"link set v{i}a up", f"link set v{i}b up"]
    return "\n".join(lines) + "\n"


def split_ports(ports: Sequence[int], procs: int) -> list[list[int]]:
    """Deal ports round-robin over ``procs`` agent processes (none empty)."""
    n = max(1, min(procs, len(ports)))
    return [list(ports[i::n]) for i in range(n)]


def netns_argv(netns: str, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv]


class Fleet:
    """Creates the namespace and the agents on ``__enter__``; removes them on ``__exit__``."""

    def __init__(self, spec: FleetSpec, workdir: Path) -> None:
        self.spec = spec
        self.workdir = workdir
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def agent_pids(self) -> tuple[int, ...]:
        return tuple(p.pid for p in self._procs)

    def argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` wrapped so that it runs inside the fleet's namespace."""
        return netns_argv(self.spec.netns, argv)

    def __enter__(self) -> Fleet:
        try:
            self._create_netns()
            self._start_agents()
            self._wait_ready(timeout_s=20.0)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _create_netns(self) -> None:
        ns = self.spec.netns
        if subprocess.run(["ip", "netns", "pids", ns], capture_output=True).returncode == 0:
            LOG.warning("netns %s left over from an earlier run: removing it", ns)
            remove_netns(ns)
        subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run(["ip", "-n", ns, "-batch", "-"], input=link_batch(self.spec.interfaces).encode(), check=True)

    def _start_agents(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "snmpd.conf"
        conf.write_text(SNMPD_CONF)
        env = dict(os.environ, SNMP_PERSISTENT_DIR=str(self.workdir / "snmpd-var"), MIBS="")
        for i, ports in enumerate(split_ports(self.spec.ports, self.spec.snmpd_procs)):
            addrs = ",".join(f"udp:127.0.0.1:{p}" for p in ports)
            argv = ["snmpd", "-f", "-C", "-c", str(conf), "-LF", "0-4", str(self.workdir / f"snmpd{i}.log")]
            argv += ["-p", str(self.workdir / f"snmpd{i}.pid"), addrs]
            LOG.info("starting snmpd %d on %d ports in netns %s", i, len(ports), self.spec.netns)
            self._procs.append(
                subprocess.Popen(self.argv(argv), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )

    def _listening_udp_ports(self) -> set[int]:
        out = subprocess.run(self.argv(["ss", "-Huln"]), capture_output=True, text=True, check=True).stdout
        return {int(line.split()[3].rsplit(":", 1)[1]) for line in out.splitlines() if line.strip()}

    def _wait_ready(self, timeout_s: float) -> None:
        want = set(self.spec.ports)
        deadline = time.monotonic() + timeout_s
        while not want <= self._listening_udp_ports():
            for p in self._procs:
                if p.poll() is not None:
                    raise RuntimeError(f"snmpd exited with {p.returncode}; see {self.workdir}/snmpd*.log")
            if time.monotonic() > deadline:
                raise RuntimeError(f"snmpd did not bind all {len(want)} ports within {timeout_s} s")
            time.sleep(0.2)
        for port in (min(want), max(want)):
            probe = ["snmpget", "-v2c", "-c", COMMUNITY, "-t", "2", "-r", "2", f"127.0.0.1:{port}", SYS_NAME]
            subprocess.run(self.argv(probe), capture_output=True, check=True)

    def close(self) -> None:
        for p in self._procs:
            if p.poll() is None:
                p.terminate()
        for p in self._procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self._procs.clear()
        remove_netns(self.spec.netns)


def remove_netns(netns: str) -> None:
    """Stop what still runs in the bench's namespace (only the bench starts things there); delete it."""
    pids = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), 15)
    subprocess.run(["ip", "netns", "del", netns], capture_output=True)
