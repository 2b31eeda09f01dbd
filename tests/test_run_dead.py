"""``netqos run`` with dead devices beside a live one: ``reachable=0`` lands in InfluxDB, the live one keeps
its cadence.

A dead device is a free UDP port nobody answers. One has its profile in the inventory (the collector's own
SNMP timeout fires first: the per-request timeout is derived from the job's budget), one is ``auto`` (profile
detection eats the budget: the scheduler's backstop fires and still writes ``reachable=0``). After three
failed ``system`` polls both are *down*: their other jobs are skipped and reported, only short ``system``
probes go on. The live device is a recording served by snmpsim. Real InfluxDB 1.6.7, real subprocess.
"""

from __future__ import annotations

import itertools
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from collectors import measurements as m
from collectors.scheduler import ERR_DEVICE_DOWN, request_timeout
from config.loader import load
from lab.influxd import InfluxServer
from lab.snmpsim import free_udp_port
from netqos.app import _job_timeout, device_target
from tests.servers.snmpsim import SnmpsimRecordings

ROOT = Path(__file__).resolve().parents[1]
DB = "run_dead"
INTERVAL_S, TIMEOUT_S, RUN_S = 1.0, 2.0, 11.0
LIVE = "live-radio"  # the smallest recording with interfaces: quick walks even on a busy machine
DEAD = {"dead-fixed": "juniper_junos", "dead-auto": "auto"}  # device -> profile in the inventory

INVENTORY = """\
regions:
  - name: sh-east
sites:
  - {{name: sh-pd-co, region: sh-east, class: urban}}
credentials:
  snmp:
    live: {{version: "2c", community: {{file: live_community}}}}
    dead: {{version: "2c", community: {{file: dead_community}}}}
devices:
  - {{name: {live}, role: microwave, address: 127.0.0.1, port: {live_port}, snmp: live, site: sh-pd-co,
     profile: ceragon}}
{dead}
"""

SETTINGS = """\
influxdb: {{api: v1, url: "{url}", database: {db}}}
jobs:
  system: {{interval_s: {interval}, timeout_s: {timeout}}}
  interfaces: {{interval_s: {interval}, timeout_s: {timeout}}}
sink: {{batch_size: 500, flush_interval_s: 0.2, timeout_s: 2}}
spool: {{dir: "{root}/spool", group_commit_s: 0.2}}
tickets: {{database_url: "sqlite:///{root}/tickets.db", alarm_state_file: "{root}/alarm-state.json"}}
"""


@dataclass(frozen=True, slots=True)
class Ran:
    """What one ``netqos run`` wrote: rows by measurement, and its own summary line."""

    device: list[dict[str, Any]]
    poller: list[dict[str, Any]]
    summary: str

    def of(self, rows: list[dict[str, Any]], device: str, job: str | None = None) -> list[dict[str, Any]]:
        return [r for r in rows if r[m.TAG_DEVICE] == device and (job is None or r[m.TAG_JOB] == job)]


def _write_world(root: Path, sim: SnmpsimRecordings, url: str) -> tuple[Path, Path]:
    (root / "live_community").write_text("ceraos\n")
    (root / "dead_community").write_text("public\n")
    for f in ("live_community", "dead_community"):
        (root / f).chmod(0o600)
    dead = "\n".join(
        f"  - {{name: {d}, role: router, address: 127.0.0.1, port: {free_udp_port()}, snmp: dead, "
        f"site: sh-pd-co, profile: {p}}}"
        for d, p in DEAD.items()
    )
    inv = root / "inventory.yaml"
    inv.write_text(INVENTORY.format(live=LIVE, live_port=sim.port, dead=dead))
    config = root / "config"
    config.mkdir()
    (config / "netqos.yaml").write_text(
        SETTINGS.format(url=url, db=DB, root=root, interval=INTERVAL_S, timeout=TIMEOUT_S)
    )
    return inv, config


def _wait_for_first_poll(influx: InfluxServer, proc: subprocess.Popen[str], within_s: float = 90.0) -> None:
    """Until the run has written its first poll (start-up on a busy 2-core machine takes a while)."""
    deadline = time.monotonic() + within_s
    while not influx.rows(DB, f'SELECT * FROM "{m.POLLER}" LIMIT 1'):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"netqos run wrote nothing (exit code {proc.poll()})")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def ran(snmpsim_recordings: SnmpsimRecordings, influxdb: InfluxServer) -> Iterator[Ran]:
    """One ``netqos run`` of RUN_S seconds (SIGTERM: a graceful stop), then what InfluxDB holds."""
    influxdb.start()  # as influx_up: an earlier outage test may have left it stopped
    influxdb.drop_db(DB)
    influxdb.create_db(DB)
    with tempfile.TemporaryDirectory(prefix="netqos-run-dead-") as tmp:
        inv, config = _write_world(Path(tmp), snmpsim_recordings, influxdb.url)
        proc = subprocess.Popen(
            [sys.executable, "-m", "netqos", "run", "--inventory", str(inv), "--config", str(config)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            _wait_for_first_poll(influxdb, proc)
            time.sleep(RUN_S)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, err[-3000:]
        yield Ran(
            device=influxdb.rows(DB, f'SELECT * FROM "{m.DEVICE}" GROUP BY *'),
            poller=influxdb.rows(DB, f'SELECT * FROM "{m.POLLER}" GROUP BY *'),
            summary=out,
        )


@pytest.mark.parametrize("device", list(DEAD))
def test_a_dead_device_gets_reachable_zero(ran: Ran, device: str) -> None:
    rows = ran.of(ran.device, device)
    assert rows, f"no device rows for {device}"
    assert all(r[m.F_REACHABLE] == 0 for r in rows)
    # one row per system poll: the slow first ones (collector or backstop) and the short probes once down
    system = ran.of(ran.poller, device, "system")
    assert len(rows) == len(system) >= 4
    assert all(r[m.F_OK] == 0 for r in system)
    assert {r[m.TAG_SITE] for r in rows} == {"sh-pd-co"}


@pytest.mark.parametrize("device", list(DEAD))
def test_a_dead_device_goes_down_and_its_other_jobs_are_skipped(ran: Ran, device: str) -> None:
    ifaces = ran.of(ran.poller, device, "interfaces")
    skipped = [r for r in ifaces if r[m.F_ERROR] == ERR_DEVICE_DOWN]
    assert skipped, [r[m.F_ERROR] for r in ifaces]
    assert all(r[m.F_SKIPPED] >= 1 and r[m.F_OK] == 0 for r in skipped)
    # once down, system probes are short (a quarter of the job's timeout, at least 0.5 s) and close together
    system = sorted(ran.of(ran.poller, device, "system"), key=lambda r: r["time"])
    after = [r for r in system if r["time"] > skipped[0]["time"]]
    assert after and all(r[m.F_DURATION_MS] < 0.5 * 1000 + 300 for r in after)


WARMUP_S = 3.0
"""The first poll through a fresh pysnmp engine takes ~2 s more (measured): the live device's first poll may
overrun into the next; the cadence is checked after that."""


def test_the_live_device_is_not_delayed(ran: Ran) -> None:
    up = [r for r in ran.of(ran.device, LIVE) if r[m.F_REACHABLE] == 1]
    assert len(up) >= RUN_S / INTERVAL_S - 4
    start = min(r["time"] for r in ran.poller) + WARMUP_S * 1e9
    for job in ("system", "interfaces"):
        polls = sorted((r for r in ran.of(ran.poller, LIVE, job) if r["time"] > start), key=lambda r: r["time"])
        trace = [(r["time"], r[m.F_OK], r.get(m.F_ERROR), r[m.F_SKIPPED], r[m.F_DURATION_MS]) for r in polls]
        assert len(polls) >= RUN_S / INTERVAL_S - 4 and all(r[m.F_OK] == 1 for r in polls), trace
        gaps = [(b["time"] - a["time"]) / 1e9 for a, b in itertools.pairwise(polls)]
        assert max(gaps) < INTERVAL_S + 0.5, (job, gaps, trace)
        assert all(r[m.F_SKIPPED] == 0 for r in polls[1:]), trace  # nothing skipped once warmed up
        assert all(r[m.F_DURATION_MS] < INTERVAL_S * 1000 for r in polls), trace


def test_the_run_summary_counts_the_dead_devices(ran: Ran) -> None:
    found = re.search(r"polls ok=(\d+) failed=(\d+) skipped=(\d+)", ran.summary)
    assert found, ran.summary
    ok, failed, skipped = (int(g) for g in found.groups())
    dead_system = sum(len(ran.of(ran.poller, d, "system")) for d in DEAD)
    assert ok > 0 and failed >= dead_system > 0  # every dead system poll failed (plus pre-down other jobs)
    assert skipped >= sum(1 for r in ran.poller if r.get(m.F_ERROR) == ERR_DEVICE_DOWN)


# --- the per-request timeout that device_target derives from the job budget --------------------------------


@pytest.mark.parametrize(
    ("jobs", "budget", "expected"),
    [
        ({"system": 10.0, "interfaces": 10.0}, 10.0, 4.5),
        ({"system": 2.0, "interfaces": 2.0}, 2.0, 0.9),
        ({"system": 10.0, "interfaces": 4.0}, 10.0, 1.8),  # one target serves every job: the shortest budget
        ({"system": 10.0, "ssh_onu": 1.0}, 10.0, 4.5),  # SSH jobs do not shorten SNMP requests
    ],
)
def test_device_target_fits_the_job_budget(
    jobs: dict[str, float], budget: float, expected: float, tmp_path: Path
) -> None:
    (tmp_path / "community").write_text("public\n")
    (tmp_path / "community").chmod(0o600)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        "regions: [{name: sh-east}]\n"
        "sites: [{name: sh-pd-co, region: sh-east, class: urban}]\n"
        'credentials: {snmp: {lab: {version: "2c", community: {file: community}}}}\n'
        "devices: [{name: r1, role: router, address: 127.0.0.1, snmp: lab, site: sh-pd-co}]\n"
    )
    (tmp_path / "config").mkdir()
    lines = "\n".join(f"  {n}: {{interval_s: 60, timeout_s: {t}}}" for n, t in jobs.items())
    (tmp_path / "config" / "netqos.yaml").write_text(
        f'influxdb: {{api: v1, url: "http://127.0.0.1:1", database: x}}\njobs:\n{lines}\n'
        f'tickets: {{database_url: "sqlite:///{tmp_path}/t.db", alarm_state_file: "{tmp_path}/a.json"}}\n'
    )
    loaded = load(inv, tmp_path / "config", {})
    target = device_target(loaded.inventory, loaded.settings, loaded.inventory.devices[0], budget)
    assert target.timeout_s == pytest.approx(expected)
    assert target.timeout_s == pytest.approx(request_timeout(min(budget, _job_timeout(loaded.settings)), 1))
    assert target.timeout_s * (target.retries + 1) < min(jobs[n] for n in jobs if not n.startswith("ssh_"))
