"""``netqos run`` end to end: lab devices (snmpsim) → scheduler → collectors → spool → real InfluxDB 1.6.7.

The whole path with nothing replaced: an InfluxDB outage in the middle of a run and a graceful restart of
``netqos run`` during that outage lose no sample and duplicate none.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors import measurements as m
from config.loader import load
from lab.influxd import InfluxServer
from lab.runner import down, up
from lab.snmpsim import free_udp_port

ROOT = Path(__file__).resolve().parents[1]
DEVICES = ("agg-sh-pd-01", "olt-sh-pd-01", "csr-sh-pd-101")  # lab devices with moving counters
DB = "e2e_run"

INVENTORY = """\
regions:
  - name: sh-east
sites:
  - {{name: sh-pd-co, region: sh-east, class: urban}}
credentials:
  snmp:
    lab: {{version: "2c", community: {{file: community}}}}
devices:
{devices}
"""

SETTINGS = """\
influxdb: {{api: v1, url: "{url}", database: {db}}}
jobs:
  system: {{interval_s: 1, timeout_s: 2}}
  interfaces: {{interval_s: 1, timeout_s: 2}}
sink: {{batch_size: 500, flush_interval_s: 0.2, timeout_s: 2}}
spool: {{dir: "{spool}", group_commit_s: 0.2}}
tickets: {{database_url: "sqlite:///{spool}/tickets.db", alarm_state_file: "{spool}/alarm-state.json"}}
"""


@pytest.fixture(scope="module")
def lab_net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """Three lab devices on free ports; yields (inventory file, lab state dir)."""
    root = tmp_path_factory.mktemp("e2e")
    (root / "community").write_text("public\n")
    (root / "community").chmod(0o600)
    devices = "\n".join(
        f"  - {{name: {d}, role: router, address: 127.0.0.1, port: {free_udp_port()}, snmp: lab, site: sh-pd-co}}"
        for d in DEVICES
    )
    inv = root / "inventory.yaml"
    inv.write_text(INVENTORY.format(devices=devices))
    (root / "config").mkdir()
    (root / "config" / "netqos.yaml").write_text(SETTINGS.format(url="http://127.0.0.1:1", db=DB, spool=root))
    loaded = load(inv, root / "config", os.environ)
    state = root / "lab"
    up(loaded.inventory, state)
    try:
        yield inv, state
    finally:
        down(state)


def _start_run(inv: Path, config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "netqos", "run", "--inventory", str(inv), "--config", str(config)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _stop_run(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM (a graceful stop), then the run's own count of points accepted, and its summary."""
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    match = re.search(r"points accepted=(\d+)", out)
    assert match, out + err[-2000:]
    return int(match.group(1)), out


def _stored_points(influx: InfluxServer) -> int:
    """Distinct points stored (one row per series and time), over the measurements netqos writes."""
    total = 0
    for meas in (m.DEVICE, m.INTERFACE, m.POLLER):
        for dev in DEVICES:
            total += len(influx.rows(DB, f'SELECT * FROM "{meas}" WHERE "{m.TAG_DEVICE}" = \'{dev}\''))
    return total


def test_outage_and_graceful_restart_lose_nothing(
    lab_net: tuple[Path, Path], influx_up: InfluxServer, tmp_path: Path
) -> None:
    inv, _ = lab_net
    influx = influx_up
    influx.drop_db(DB)
    influx.create_db(DB)
    config = tmp_path / "config"
    config.mkdir()
    (config / "netqos.yaml").write_text(SETTINGS.format(url=influx.url, db=DB, spool=tmp_path / "spool"))

    first = _start_run(inv, config)
    time.sleep(6)
    influx.stop()  # InfluxDB goes away in the middle of the run
    time.sleep(4)
    accepted, _ = _stop_run(first)  # graceful stop while InfluxDB is down: the rest stays in the spool
    second = _start_run(inv, config)  # the next run replays the spool first
    time.sleep(4)
    influx.start()  # InfluxDB is back
    time.sleep(6)
    more, summary = _stop_run(second)
    accepted += more

    stored = _stored_points(influx)
    assert accepted > 200  # three devices polled every second for ~20 s
    assert stored == accepted
    assert influx.count(DB, m.POLLER, m.F_OK) > 0
    assert "(spool holds 0 bytes)" in summary  # everything spooled during the outage was sent and acked
