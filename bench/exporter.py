"""Peer: Debian's ``prometheus-snmp-exporter`` (Go), hand-written module, scraped by ``curl --parallel``.

The module is written in the exporter 0.21 format (``version``, ``auth``, ``max_repetitions``, ``retries``,
``timeout`` at module level; no generator needed). The exporter runs in the fleet's namespace for the whole
bench; each pass is one ``curl`` process with N scrapes in flight, and its CPU is the exporter's
``/proc/PID/stat`` delta plus curl's.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from bench.cpu import children_cpu_s, pid_cpu_s
from bench.workload import (
    COMMUNITY,
    IF_COLUMNS,
    MAX_REPETITIONS,
    RETRIES,
    SCALARS,
    SYS_NAME,
    SYS_UPTIME,
    TIMEOUT_S,
    Section,
)
from lab.procs import stop_process

MODULE = "netqos_bench"
POLLER = "prometheus-snmp-exporter"
STRING_COLUMNS = frozenset({"ifDescr", "ifAlias"})
COUNTER_COLUMNS = frozenset({"ifInErrors", "ifOutErrors", "ifHCInOctets", "ifHCOutOctets"})
Argv = Callable[[Sequence[str]], list[str]]


def module_yaml() -> str:
    """The ``snmp.yml`` for the workload (JSON is valid YAML, and needs no YAML library)."""

    def metric(name: str, oid: str, kind: str, indexed: bool) -> dict[str, object]:
        m: dict[str, object] = {"name": name, "oid": oid, "type": kind}
        if indexed:
            m["indexes"] = [{"labelname": "ifIndex", "type": "gauge"}]
        return m

    metrics = [
        metric("sysUpTime", SYS_UPTIME.removesuffix(".0"), "gauge", False),
        metric("sysName", SYS_NAME.removesuffix(".0"), "DisplayString", False),
    ]
    for name, oid in IF_COLUMNS:
        kind = "DisplayString" if name in STRING_COLUMNS else "counter" if name in COUNTER_COLUMNS else "gauge"
        metrics.append(metric(name, oid, kind, True))
    module = {
        "version": 2,
        "auth": {"community": COMMUNITY},
        "max_repetitions": MAX_REPETITIONS,
        "retries": RETRIES,
        "timeout": f"{TIMEOUT_S:g}s",
        "get": list(SCALARS),
        "walk": [oid for _, oid in IF_COLUMNS],
        "metrics": metrics,
    }
    return json.dumps({MODULE: module}, indent=1) + "\n"


WORKLOAD_METRICS = frozenset({"sysUpTime", "sysName", *(name for name, _ in IF_COLUMNS)})
SAMPLE = re.compile(rb"^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]", re.MULTILINE)


def count_varbinds(body: bytes) -> int:
    """Samples of the workload's metrics in one scrape: one per varbind."""
    return sum(1 for m in SAMPLE.finditer(body) if m.group(1).decode() in WORKLOAD_METRICS)


def scrape_failed(body: bytes) -> bool:
    """The exporter answers a failed scrape with an error text or ``snmp_scrape_*`` only."""
    return b"sysUpTime" not in body


def curl_config(listen: str, ports: Sequence[int], outdir: Path) -> str:
    lines = []
    for port in ports:
        url = f"http://{listen}/snmp?module={MODULE}&target=127.0.0.1:{port}"
        lines += [f'url = "{url}"', f'output = "{outdir / f"{port}.txt"}"']
    return "\n".join(lines) + "\n"


class Exporter:
    """The exporter process, running in the fleet's namespace from ``__enter__`` to ``__exit__``."""

    def __init__(self, argv: Argv, workdir: Path, listen: str = "127.0.0.1:9116") -> None:
        self._argv = argv
        self.workdir = workdir
        self.listen = listen
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("exporter not started")
        return self._proc.pid

    def __enter__(self) -> Exporter:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "snmp.yml"
        conf.write_text(module_yaml())
        base = ["prometheus-snmp-exporter", f"--config.file={conf}"]
        subprocess.run(self._argv([*base, "--dry-run"]), check=True, capture_output=True)
        log = (self.workdir / "exporter.log").open("wb")
        self._proc = subprocess.Popen(
            self._argv([*base, f"--web.listen-address={self.listen}", "--log.level=error"]),
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + 10
        while not self._answers():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"prometheus-snmp-exporter did not start; see {self.workdir}/exporter.log")
            time.sleep(0.1)
        return self

    def _answers(self) -> bool:
        probe = self._argv(["curl", "-sf", "-o", "/dev/null", f"http://{self.listen}/metrics"])
        return subprocess.run(probe, capture_output=True).returncode == 0

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None:
            stop_process(self._proc, grace_s=5)
        self._proc = None

    def poll_fleet(self, ports: Sequence[int], in_flight: int) -> Section:
        """One pass: every agent scraped once by one ``curl --parallel`` process."""
        outdir = self.workdir / "scrapes"
        outdir.mkdir(exist_ok=True)
        for old in outdir.glob("*.txt"):
            old.unlink()
        cfg = self.workdir / "curl.cfg"
        cfg.write_text(curl_config(self.listen, ports, outdir))
        argv = self._argv(["curl", "-s", "--parallel", "--parallel-max", str(in_flight), "-K", str(cfg)])
        exp0, cli0, t0 = pid_cpu_s(self.pid), children_cpu_s(), time.perf_counter()
        subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        exporter_cpu, client_cpu = pid_cpu_s(self.pid) - exp0, children_cpu_s() - cli0
        varbinds: dict[int, int] = {}
        failures: dict[int, str] = {}
        for port in ports:
            out = outdir / f"{port}.txt"
            body = out.read_bytes() if out.exists() else b""
            if scrape_failed(body):
                failures[port] = "scrape" if body else "http"
            else:
                varbinds[port] = count_varbinds(body)
        return Section(
            poller=POLLER,
            wall_s=wall,
            cpu_s=exporter_cpu + client_cpu,
            varbinds=varbinds,
            failures=failures,
            extra={"exporter_cpu_s": exporter_cpu, "http_client_cpu_s": client_cpu},
        )

    def pdus_returned(self, port: int) -> float:
        """``snmp_scrape_pdus_returned`` for one scrape of ``port`` (a check that the module is right)."""
        url = f"http://{self.listen}/snmp?module={MODULE}&target=127.0.0.1:{port}"
        body = subprocess.run(self._argv(["curl", "-s", url]), capture_output=True, check=True).stdout
        m = re.search(rb"^snmp_scrape_pdus_returned (\S+)$", body, re.MULTILINE)
        return float(m.group(1)) if m else float("nan")
