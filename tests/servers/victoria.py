"""pytest fixtures for a real VictoriaMetrics (Debian's ``victoria-metrics``) on 127.0.0.1.

It implements InfluxDB's ``/api/v2/write`` (and ``/write``), so the v2 write path is tested with the
real influxdb-client. A line ``m,tag=v f=1`` becomes the series ``m_f{tag="v"}``; string fields are
stored as 0. :meth:`VictoriaServer.export` reads series back through ``/api/v1/export``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lab.procs import stop_process
from tests.servers.influx import free_port

VICTORIA = "/usr/bin/victoria-metrics"
START_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class Series:
    metric: dict[str, str]
    values: tuple[float, ...]
    timestamps_ms: tuple[int, ...]


@dataclass
class VictoriaServer:
    root: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.root / "victoria.log").open("ab")
        self.proc = subprocess.Popen(
            [
                VICTORIA,
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.root / 'data'}",
                "-retentionPeriod=100y",
                "-loggerLevel=WARN",
                "-search.disableCache",
            ],
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"victoria-metrics exited: see {self.root}/victoria.log")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("victoria-metrics did not become healthy")

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process(self.proc)
        self.proc = None

    def force_flush(self) -> None:
        """Make everything ingested so far searchable (instead of waiting ~1 s)."""
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=10):
            pass

    def export(self, match: str) -> list[Series]:
        """All samples of the series matching ``match`` (a PromQL series selector), all time."""
        self.force_flush()
        query = urllib.parse.urlencode({"match[]": match, "start": "0"})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{query}", timeout=30) as r:
            text = r.read().decode()
        out = []
        for line in text.splitlines():
            if line.strip():
                doc: dict[str, Any] = json.loads(line)
                out.append(Series(doc["metric"], tuple(doc["values"]), tuple(doc["timestamps"])))
        return sorted(out, key=lambda s: sorted(s.metric.items()))


@pytest.fixture(scope="session")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaServer]:
    """A running victoria-metrics for the whole session (stopped at teardown)."""
    if shutil.which(VICTORIA) is None:
        pytest.fail("victoria-metrics is not installed (apt-get install victoria-metrics)")
    server = VictoriaServer(tmp_path_factory.mktemp("victoria"), free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
