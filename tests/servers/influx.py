"""pytest fixtures for a real InfluxDB 1.6.7 (Debian's ``influxd``) on 127.0.0.1.

The session fixture :func:`influxdb` starts one server with its meta/data/wal dirs in a tmp dir,
HTTP and RPC bound to free loopback ports, reporting disabled. :class:`InfluxServer` can STOP and
RESTART that same server (same data dir, same port) for outage tests; :func:`influx_up` makes sure
it is running again before a test that needs it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.influxd import InfluxServer, free_port

__all__ = ["InfluxServer", "free_port", "influx_up", "influxdb"]


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """A running InfluxDB 1.6.7 for the whole session (stopped at teardown)."""
    http_port = free_port()
    rpc_port = free_port()
    while rpc_port == http_port:
        rpc_port = free_port()
    server = InfluxServer(tmp_path_factory.mktemp("influxdb"), http_port, rpc_port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def influx_up(influxdb: InfluxServer) -> InfluxServer:
    """The session InfluxDB, (re)started if an earlier outage test left it stopped."""
    influxdb.start()
    return influxdb
