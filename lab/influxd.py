"""A local InfluxDB 1.6.7 (Debian's ``influxd``) on 127.0.0.1, for the demo and the tests.

:class:`InfluxServer` writes a config that binds HTTP and RPC to loopback (reporting disabled), keeps
meta/data/wal under one directory, and can stop and restart the same server on the same port and data
(outage tests). ``python -m lab.influxd start|stop DIR PORT`` runs it detached for the demo.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.procs import stop_process

INFLUXD = "/usr/bin/influxd"
START_TIMEOUT_S = 20.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _config(root: Path, http_port: int, rpc_port: int) -> str:
    return f"""
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root / "meta"}"

[data]
  dir = "{root / "data"}"
  wal-dir = "{root / "wal"}"
  query-log-enabled = false
  trace-logging-enabled = false

[coordinator]
  log-queries-after = "0s"

[retention]
  enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false
  write-tracing = false

[logging]
  level = "warn"
  suppress-logo = true

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
"""


@dataclass
class InfluxServer:
    """One ``influxd`` process that can be stopped and restarted on the same port and data."""

    root: Path
    http_port: int
    rpc_port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        conf = self.root / "influxdb.conf"
        conf.write_text(_config(self.root, self.http_port, self.rpc_port))
        log = (self.root / "influxd.log").open("ab")
        self.proc = subprocess.Popen([INFLUXD, "run", "-config", str(conf)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"influxd exited with {self.proc.returncode}: see {self.root}/influxd.log")
            if self.ping():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"influxd did not answer /ping within {START_TIMEOUT_S} s")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait until its port refuses connections."""
        if self.proc is None:
            return
        stop_process(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def ping(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as r:
                return bool(r.status == 204)
        except (OSError, urllib.error.URLError):
            return False

    def query(self, q: str, db: str | None = None) -> list[dict[str, Any]]:
        """Run one InfluxQL statement (POST /query, epoch=ns); returns the ``series`` of the first result."""
        params = {"q": q, "epoch": "ns"}
        if db:
            params["db"] = db
        body = urllib.parse.urlencode(params).encode()
        req = urllib.request.Request(f"{self.url}/query", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            doc = json.loads(r.read())
        result = doc["results"][0]
        if "error" in result:
            raise RuntimeError(f"InfluxQL error for {q!r}: {result['error']}")
        series: list[dict[str, Any]] = result.get("series", [])
        return series

    def create_db(self, name: str) -> None:
        self.query(f'CREATE DATABASE "{name}"')

    def drop_db(self, name: str) -> None:
        self.query(f'DROP DATABASE "{name}"')

    def rows(self, db: str, q: str) -> list[dict[str, Any]]:
        """Rows of a SELECT as dicts (``time`` in ns plus the columns, and the series' tags)."""
        out: list[dict[str, Any]] = []
        for s in self.query(q, db):
            tags = s.get("tags", {})
            for values in s["values"]:
                row = dict(zip(s["columns"], values, strict=True))
                row.update(tags)
                out.append(row)
        return out

    def count(self, db: str, measurement: str, field: str) -> int:
        """Number of points of ``measurement`` that have ``field``."""
        series = self.query(f'SELECT count("{field}") FROM "{measurement}"', db)
        return int(series[0]["values"][0][1]) if series else 0

    def points_received(self) -> int:
        """Points the HTTP service accepted since the server started (SHOW STATS: httpd pointsWrittenOK).

        Unlike a count of stored points, this sees a point written twice (same series and time) twice.
        """
        total = 0
        for s in self.query("SHOW STATS"):
            if s.get("name") == "httpd":
                total += int(dict(zip(s["columns"], s["values"][0], strict=True)).get("pointsWrittenOK", 0))
        return total


def _pidfile(root: Path) -> Path:
    return root / "influxd.pid"


def start_detached(root: Path, http_port: int, rpc_port: int) -> InfluxServer:
    """Start (or find running) a server that outlives this process; its pid goes to ``root/influxd.pid``."""
    root.mkdir(parents=True, exist_ok=True)
    server = InfluxServer(root, http_port, rpc_port)
    if server.ping():
        return server
    conf = root / "influxdb.conf"
    conf.write_text(_config(root, http_port, rpc_port))
    with (root / "influxd.log").open("ab") as log:
        proc = subprocess.Popen(
            [INFLUXD, "run", "-config", str(conf)], stdout=log, stderr=log, start_new_session=True
        )
    _pidfile(root).write_text(str(proc.pid))
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"influxd exited with {proc.returncode}: see {root}/influxd.log")
        if server.ping():
            return server
        time.sleep(0.1)
    raise RuntimeError(f"influxd did not answer /ping within {START_TIMEOUT_S} s: see {root}/influxd.log")


def stop_detached(root: Path) -> bool:
    """Stop the server started by :func:`start_detached` (SIGTERM); True when one was running."""
    try:
        pid = int(_pidfile(root).read_text())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        _pidfile(root).unlink(missing_ok=True)
        return False
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    _pidfile(root).unlink(missing_ok=True)
    return True


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m lab.influxd start DIR HTTP_PORT [DATABASE] | stop DIR", file=sys.stderr)
        return 2
    root = Path(argv[1]).resolve()
    if argv[0] == "stop":
        print("influxd stopped" if stop_detached(root) else "influxd was not running")
        return 0
    http_port = int(argv[2])
    server = start_detached(root, http_port, http_port + 2)
    if len(argv) > 3:
        server.create_db(argv[3])  # idempotent in InfluxQL
    print(f"influxd answering on {server.url} (data in {root})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
