"""CPU accounting: this process and its reaped children, another process by PID, the whole machine."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass


def own_cpu_s() -> float:
    """user+sys seconds of this process plus every child (and grandchild) it has reaped so far."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        total += ru.ru_utime + ru.ru_stime
    return total


def children_cpu_s() -> float:
    """user+sys seconds of the reaped children of this process (``RUSAGE_CHILDREN``)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def parse_stat_cpu_s(stat_line: str, ticks_per_s: int) -> float:
    """utime+stime in seconds from one ``/proc/PID/stat`` line (the comm field may hold spaces)."""
    after_comm = stat_line[stat_line.rindex(")") + 2 :].split()
    utime, stime = int(after_comm[11]), int(after_comm[12])
    return (utime + stime) / ticks_per_s


def pid_cpu_s(pid: int) -> float:
    """utime+stime of a live process, from ``/proc/PID/stat``."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        return parse_stat_cpu_s(f.read(), os.sysconf("SC_CLK_TCK"))


@dataclass(frozen=True, slots=True)
class MachineCpu:
    """Busy and total CPU seconds of the whole machine (all cores) since boot."""

    busy_s: float
    total_s: float


def parse_machine_cpu(proc_stat: str, ticks_per_s: int) -> MachineCpu:
    """The aggregate ``cpu`` line of ``/proc/stat``: idle+iowait are idle, the rest is busy."""
    for line in proc_stat.splitlines():
        if line.startswith("cpu "):
            ticks = [int(x) for x in line.split()[1:]]
            # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
            core = ticks[:8]
            idle = core[3] + core[4]
            return MachineCpu(busy_s=(sum(core) - idle) / ticks_per_s, total_s=sum(core) / ticks_per_s)
    raise ValueError("no aggregate cpu line in /proc/stat")


def machine_cpu() -> MachineCpu:
    with open("/proc/stat", encoding="ascii") as f:
        return parse_machine_cpu(f.read(), os.sysconf("SC_CLK_TCK"))


@dataclass(frozen=True, slots=True)
class UdpCounters:
    """A network namespace's UDP counters (``/proc/net/snmp``)."""

    in_datagrams: int
    rcvbuf_errors: int


def parse_udp_counters(proc_net_snmp: str) -> UdpCounters:
    """``Udp: InDatagrams`` and ``RcvbufErrors`` (datagrams dropped on a full socket receive buffer)."""
    header, values = [ln.split() for ln in proc_net_snmp.splitlines() if ln.startswith("Udp:")][:2]
    row = dict(zip(header[1:], (int(v) for v in values[1:]), strict=True))
    return UdpCounters(in_datagrams=row["InDatagrams"], rcvbuf_errors=row["RcvbufErrors"])


def udp_counters(pid: int) -> UdpCounters:
    """The UDP counters of the network namespace process ``pid`` lives in."""
    with open(f"/proc/{pid}/net/snmp", encoding="ascii") as f:
        return parse_udp_counters(f.read())
