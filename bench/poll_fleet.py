"""The netqos polling benchmark: poll a fleet of simulated 48-port routers once per poller, in rounds.

    sudo .venv/bin/python -m bench.poll_fleet            # 200 agents, 3 interleaved rounds
    sudo .venv/bin/python -m bench.poll_fleet --quick    # 50 agents, 1 round (smoke run)

Needs root (it makes a network namespace). Pollers, in this order each round: netqos (``PysnmpClient``
walking column by column, and the whole ``if_mib`` interfaces job when ``collectors.snmp.collect`` exists;
``--netqos-modes`` adds ``client-table`` and ``hlapi``), the net-snmp CLI, and Debian's
``prometheus-snmp-exporter`` — the fastest peer, the reference of every ratio.
Prints a table of medians and writes ``var/bench/latest.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from bench.cpu import children_cpu_s, machine_cpu, pid_cpu_s, udp_counters
from bench.exporter import POLLER as EXPORTER
from bench.exporter import Exporter
from bench.fleet import Fleet, FleetSpec
from bench.report import Measured, Summary, summarize, table, to_jsonable, varbind_mismatches
from bench.runner import format_ports
from bench.workload import Section, expected_varbinds

LOG = logging.getLogger("bench")
REPO = Path(__file__).resolve().parents[1]
Argv = Callable[[Sequence[str]], list[str]]

WORKLOADS = {
    "netqos client": "peers",
    "netqos client-table": "peers, table walk",
    "netqos hlapi": "peers",
    "netqos collect": "if_mib job",
    "net-snmp CLI": "peers",
    EXPORTER: "peers",
}


TABLE_MODES = frozenset({"client-table", "collect"})


class Poller(Protocol):
    @property
    def name(self) -> str: ...

    def run(self, ports: Sequence[int]) -> tuple[Section, float]:
        """One pass over ``ports``: the poller's own figures, and its whole process tree's CPU-seconds."""
        ...


@dataclass(frozen=True, slots=True)
class SubprocessPoller:
    """A poller module run as its own process in the fleet's namespace (prints a JSON ``Section``)."""

    name: str
    module: str
    args: tuple[str, ...]
    argv: Argv

    def run(self, ports: Sequence[int]) -> tuple[Section, float]:
        cmd = self.argv([sys.executable, "-m", self.module, "--ports", format_ports(ports), *self.args])
        env = dict(os.environ, PYTHONPATH=str(REPO))
        cpu0 = children_cpu_s()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=900)
        cpu = children_cpu_s() - cpu0
        if done.returncode != 0:
            raise RuntimeError(f"{self.name} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        return Section.from_json(done.stdout.strip().splitlines()[-1]), cpu


@dataclass(frozen=True, slots=True)
class ExporterPoller:
    name: str
    exporter: Exporter
    in_flight: int

    def run(self, ports: Sequence[int]) -> tuple[Section, float]:
        section = self.exporter.poll_fleet(ports, self.in_flight)
        return section, section.cpu_s


def measure(poller: Poller, ports: Sequence[int], agent_pids: Sequence[int], round_no: int) -> Measured:
    udp0 = udp_counters(agent_pids[0])
    agent0, machine0 = sum(pid_cpu_s(p) for p in agent_pids), machine_cpu()
    section, process_cpu = poller.run(ports)
    agent = sum(pid_cpu_s(p) for p in agent_pids) - agent0
    udp1 = udp_counters(agent_pids[0])
    drops = udp1.rcvbuf_errors - udp0.rcvbuf_errors
    # requests and responses both arrive inside the namespace: half the datagrams are request PDUs
    pdus = (udp1.in_datagrams - udp0.in_datagrams) / 2
    machine = machine_cpu().busy_s - machine0.busy_s
    other = max(0.0, machine - process_cpu - agent)
    LOG.info(
        "round %d %-28s wall %.2f s, %d ok, %d failed, CPU %.2f s (process %.2f s), agent CPU %.2f s",
        round_no, section.poller, section.wall_s, len(section.varbinds), len(section.failures),
        section.cpu_s, process_cpu, agent,
    )  # fmt: skip
    if drops:
        LOG.warning("round %d %s: %d UDP datagrams dropped on full receive buffers", round_no, section.poller, drops)
    return Measured(round_no, section, process_cpu, agent, other, drops, pdus)


def versions() -> dict[str, str]:
    def first_line(argv: list[str]) -> str:
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        except OSError as exc:
            return f"unavailable ({exc})"
        text = (r.stdout + r.stderr).strip()
        return text.splitlines()[0] if text else "?"

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")  # fmt: skip
    return {
        "python": platform.python_version(),
        "pysnmp": importlib.metadata.version("pysnmp"),
        "net-snmp": first_line(["snmpget", "--version"]),
        "prometheus-snmp-exporter": first_line(["prometheus-snmp-exporter", "--version"]),
        "curl": first_line(["curl", "--version"]),
        "kernel": platform.release(),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.poll_fleet", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--agents", type=int, default=200, help="simulated devices (default 200)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3; medians)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 50 agents, 1 round")
    ap.add_argument("--interfaces", type=int, default=48, help="IF-MIB rows per agent (default 48)")
    ap.add_argument("--snmpd-procs", type=int, default=1, help="snmpd processes sharing the ports")
    ap.add_argument(
        "--netqos-modes",
        default="client,collect",
        help="netqos pollers, comma-separated from client, client-table, collect, hlapi",
    )
    ap.add_argument("--netqos-in-flight", type=int, default=64, help="agents in flight, per-column modes")
    ap.add_argument(
        "--netqos-table-in-flight",
        type=int,
        default=32,
        help="agents in flight for client-table and collect (their big GETBULK answers overflow the "
        "socket's receive buffer at 64: drops, then 10 s timeouts)",
    )
    ap.add_argument("--cli-in-flight", type=int, default=16)
    ap.add_argument("--scrapes-in-flight", type=int, default=64)
    ap.add_argument("--no-cli", action="store_true", help="skip the net-snmp CLI peer")
    ap.add_argument("--out", type=Path, default=REPO / "var" / "bench" / "latest.json")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.agents, args.rounds = 50, 1
    return args


def netqos_modes(wanted: str) -> list[str]:
    modes = [m.strip() for m in wanted.split(",") if m.strip()]
    if "collect" in modes and importlib.util.find_spec("collectors.snmp.collect") is None:
        LOG.warning("collectors.snmp.collect is not there yet: skipping the netqos collect poller")
        modes.remove("collect")
    return modes


def netqos_in_flight(args: argparse.Namespace, mode: str) -> int:
    return int(args.netqos_table_in_flight if mode in TABLE_MODES else args.netqos_in_flight)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(args: argparse.Namespace) -> tuple[dict[str, Any], list[Summary]]:
    workdir = args.out.parent / "work"
    spec = FleetSpec(agents=args.agents, interfaces=args.interfaces, snmpd_procs=args.snmpd_procs)
    started = dt.datetime.now(dt.UTC)
    runs: list[Measured] = []
    with Fleet(spec, workdir) as fleet, Exporter(fleet.argv, workdir / "exporter") as exporter:
        pollers: list[Poller] = [
            SubprocessPoller(f"netqos {m}", "bench.netqos_poller",
                             ("--mode", m, "--in-flight", str(netqos_in_flight(args, m))), fleet.argv)
            for m in netqos_modes(args.netqos_modes)
        ]  # fmt: skip
        if not args.no_cli:
            cli_args = ("--in-flight", str(args.cli_in_flight))
            pollers.append(SubprocessPoller("net-snmp CLI", "bench.netsnmp_poller", cli_args, fleet.argv))
        pollers.append(ExporterPoller(EXPORTER, exporter, args.scrapes_in_flight))
        pdus = exporter.pdus_returned(spec.ports[0])
        LOG.info("warm-up: one exporter pass (snmp_scrape_pdus_returned on one agent: %g)", pdus)
        exporter.poll_fleet(spec.ports, args.scrapes_in_flight)
        for r in range(1, args.rounds + 1):
            for p in pollers:
                runs.append(measure(p, spec.ports, fleet.agent_pids, r))
    summaries = summarize(runs, EXPORTER, WORKLOADS)
    problems = varbind_mismatches(runs, EXPORTER, WORKLOADS)
    want = expected_varbinds(spec.interfaces)
    for s in summaries:
        if WORKLOADS.get(s.poller, "peers").startswith("peers") and set(s.varbinds_per_agent) - {want}:
            problems.append(f"{s.poller}: varbinds per agent {dict(s.varbinds_per_agent)}, expected {want}")
    return {
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "agents": spec.agents,
        "interfaces": spec.interfaces,
        "expected_varbinds_per_agent": want,
        "rounds": args.rounds,
        "reference": EXPORTER,
        "in_flight": {
            "netqos": args.netqos_in_flight,
            "cli": args.cli_in_flight,
            "scrapes": args.scrapes_in_flight,
        },
        "versions": versions(),
        "mismatches": problems,
        **to_jsonable(summaries, runs),
    }, summaries


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if os.geteuid() != 0:
        LOG.error("the bench needs root: it creates a network namespace (run scripts/bench.sh or sudo)")
        return 2
    # Ctrl-C, kill and hang-up all unwind through the ``with`` blocks (even when started with SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    try:
        result, summaries = run(args)
    except KeyboardInterrupt:
        LOG.error("interrupted: namespace and agents removed")
        return 130
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(
        f"\nnetqos polling bench — {result['agents']} agents × {result['interfaces']} interfaces, "
        f"{result['rounds']} round(s), medians; ratios against {EXPORTER} in the same round "
        f"(× Go speed = agents/s ÷ Go's; × Go CPU eff. = Go's CPU per poll ÷ this one's)\n"
    )
    print(table(summaries))
    other = max((s.other_load_cores for s in summaries), default=0.0)
    if other > 0.25:
        print(f"\nWARNING: something else used up to {other:.2f} cores during the runs: figures are noisy")
    for line in result["mismatches"]:
        print(f"VARBIND MISMATCH: {line}")
    print(f"\nwritten: {args.out}")
    return 1 if result["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
