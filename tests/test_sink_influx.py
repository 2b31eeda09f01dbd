"""InfluxSink end to end against a real InfluxDB 1.6.7: batching, rejected batches, outage, graceful
restart mid-outage, and SIGKILL of a writer process mid-stream."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from collectors.model import Sample
from collectors.sink.backoff import Backoff
from collectors.sink.influx_sink import InfluxSink
from config.models import InfluxV1, InfluxV2, SinkSettings, SpoolSettings
from tests.servers.influx import InfluxServer
from tests.servers.victoria import VictoriaServer
from tests.test_sink_writers import small_body_influx  # noqa: F401 (a fixture)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FAST = Backoff(base_s=0.05, cap_s=0.3)
ROOT = str(Path(__file__).resolve().parent.parent)
_numbers = itertools.count()


def fresh_db(server: InfluxServer) -> str:
    db = f"sink_{os.getpid()}_{next(_numbers)}"
    server.create_db(db)
    return db


def samples(start: int, n: int, measurement: str = "probe") -> list[Sample]:
    """``n`` samples with distinct timestamps (1 ms apart) so none overwrites another."""
    return [
        Sample(
            measurement,
            {"device": f"dev-{i % 7}", "site": "北京 海淀"},
            {"seq": i, "v": i / 3},
            T0 + timedelta(milliseconds=i),
        )
        for i in range(start, start + n)
    ]


async def open_sink(
    server: InfluxServer, db: str, spool_dir: Path, *, batch_size: int = 500, flush_interval_s: float = 0.1
) -> InfluxSink:
    return await InfluxSink.open(
        InfluxV1(api="v1", url=server.url, database=db),
        sink=SinkSettings(batch_size=batch_size, flush_interval_s=flush_interval_s, timeout_s=5),
        spool=SpoolSettings(dir=str(spool_dir), group_commit_s=0.2, max_bytes=64 << 20),
        backoff=FAST,
    )


def seg_files(spool_dir: Path) -> list[Path]:
    return list(spool_dir.glob("*.seg"))


@pytest.mark.parametrize(("n", "batch_size", "per_write"), [(1, 10, 1), (1000, 100, 7), (3000, 5000, 250)])
async def test_everything_written_arrives_once(
    influx_up: InfluxServer, tmp_path: Path, n: int, batch_size: int, per_write: int
) -> None:
    db = fresh_db(influx_up)
    sink = await open_sink(influx_up, db, tmp_path, batch_size=batch_size)
    before = influx_up.points_received()
    for start in range(0, n, per_write):
        await sink.write(samples(start, min(per_write, n - start)))
    await sink.flush()
    stats = sink.stats()
    await sink.close()
    assert influx_up.count(db, "probe", "seq") == n
    assert influx_up.points_received() - before == n  # nothing sent twice
    assert stats.points_accepted == stats.points_spooled == stats.points_written == n
    assert stats.batches_written >= n // batch_size
    assert seg_files(tmp_path) == []  # all acked: segments deleted


@pytest.mark.parametrize("flush_interval_s", [0.1, 0.4])
async def test_a_small_batch_goes_out_after_flush_interval(
    influx_up: InfluxServer, tmp_path: Path, flush_interval_s: float
) -> None:
    db = fresh_db(influx_up)
    sink = await open_sink(influx_up, db, tmp_path, batch_size=1000, flush_interval_s=flush_interval_s)
    t = time.monotonic()
    await sink.write(samples(0, 5))
    for _ in range(250):
        if influx_up.count(db, "probe", "seq") >= 5:
            break
        await asyncio.sleep(0.02)
    waited = time.monotonic() - t
    await sink.close()
    assert influx_up.count(db, "probe", "seq") == 5
    assert flush_interval_s * 0.9 <= waited < flush_interval_s + 2


async def test_rejected_batch_is_dropped_and_logged_next_goes_through(
    influx_up: InfluxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = fresh_db(influx_up)
    sink = await open_sink(influx_up, db, tmp_path)
    await sink.write([Sample("conflict", {}, {"f": "a string"}, T0)])
    await sink.flush()
    with caplog.at_level(logging.ERROR, logger="collectors.sink.influx_sink"):
        await sink.write([Sample("conflict", {"k": "v"}, {"f": 1}, T0 + timedelta(seconds=1))])  # int: conflict
        await sink.flush()
    await sink.write(samples(0, 10))
    await sink.flush()
    stats = sink.stats()
    await sink.close()
    assert stats.points_rejected == 1
    assert stats.points_written == 11
    assert influx_up.count(db, "probe", "seq") == 10
    assert "rejected" in caplog.text and "HTTP 400" in caplog.text
    assert "conflict,k=v f=1i" in caplog.text  # the first bad line
    assert "field type conflict" in caplog.text  # the server's message


async def test_outage_loses_nothing(influx_up: InfluxServer, tmp_path: Path) -> None:
    n, chunk = 3000, 100
    db = fresh_db(influx_up)
    sink = await open_sink(influx_up, db, tmp_path, batch_size=200)
    for start in range(0, n, chunk):
        if start == n // 3:
            influx_up.stop()
        if start == 2 * n // 3:
            await asyncio.sleep(0.5)  # a few failed attempts and backoffs
            assert not sink.stats().server_up
            influx_up.start()
        await sink.write(samples(start, chunk))
        await asyncio.sleep(0.01)
    await sink.flush()
    stats = sink.stats()
    await sink.close()
    assert stats.send_failures > 0
    assert stats.points_written == n
    assert influx_up.count(db, "probe", "seq") == n


async def test_graceful_restart_mid_outage_replays_all_none_twice(influx_up: InfluxServer, tmp_path: Path) -> None:
    n = 2000
    db = fresh_db(influx_up)
    first = await open_sink(influx_up, db, tmp_path, batch_size=300)
    await first.write(samples(0, n // 2))
    await first.flush()
    influx_up.stop()
    await first.write(samples(n // 2, n // 2))
    await first.close()  # mid-outage: what is unsent stays spooled (and fsync'd)
    written_first = first.stats().points_written
    assert written_first < n
    assert seg_files(tmp_path)

    influx_up.start()
    before = influx_up.points_received()  # stats restart with the server
    second = await open_sink(influx_up, db, tmp_path, batch_size=300)
    await second.flush()
    written_second = second.stats().points_written
    await second.close()
    assert influx_up.count(db, "probe", "seq") == n
    assert written_first + written_second == n  # none sent twice
    assert influx_up.points_received() - before == written_second
    assert seg_files(tmp_path) == []


CHILD = """
import asyncio, sys
sys.path.insert(0, sys.argv[4])
from tests.test_sink_influx import open_sink, samples
from tests.servers.influx import InfluxServer
from pathlib import Path

async def main() -> None:
    server = InfluxServer(Path("."), int(sys.argv[1]), 0)
    sink = await open_sink(server, sys.argv[2], Path(sys.argv[3]), batch_size=500)
    start = 0
    while True:
        await sink.write(samples(start, 50))
        start += 50
        print(start, flush=True)
        await asyncio.sleep(0.002)

asyncio.run(main())
"""


def run_and_kill_writer(port: int, db: str, spool_dir: Path) -> tuple[int, float]:
    """Run CHILD until it reports 5,000 accepted samples, SIGKILL it; (last reported count, seconds)."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(port), db, str(spool_dir), ROOT], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    accepted = 0
    t = time.monotonic()
    try:
        for line in child.stdout:
            accepted = int(line)
            if accepted >= 5000 or time.monotonic() - t > 20:
                break
        child.send_signal(signal.SIGKILL)  # mid-stream: batches in flight, records not yet fsync'd
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        child.stdout.close()
    return accepted, time.monotonic() - t


@pytest.mark.parametrize("server_up_during_run", [True, False], ids=["server-up", "server-down"])
async def test_sigkill_mid_stream_loses_nothing_accepted(
    influx_up: InfluxServer, tmp_path: Path, server_up_during_run: bool
) -> None:
    db = fresh_db(influx_up)
    spool_dir = tmp_path / "spool"
    before = influx_up.points_received()
    if not server_up_during_run:
        influx_up.stop()
    accepted, elapsed = await asyncio.to_thread(run_and_kill_writer, influx_up.http_port, db, spool_dir)
    attempted = accepted + 50  # at most one more write() was under way
    if not server_up_during_run:
        influx_up.start()
        before = 0
    sink = await open_sink(influx_up, db, spool_dir)
    await sink.flush()
    await sink.close()
    stored = influx_up.count(db, "probe", "seq")
    resent = influx_up.points_received() - before - stored
    lost = max(0, accepted - stored)
    rate = accepted / elapsed
    print(
        f"\nCRASH ({'server up' if server_up_during_run else 'server down'}): accepted {accepted} in "
        f"{elapsed:.2f} s ({rate:.0f}/s), stored {stored}, lost {lost}, re-sent {resent} "
        f"(group commit 0.2 s ≈ {rate * 0.2:.0f} samples)"
    )
    assert accepted <= stored <= attempted  # nothing write() accepted is lost
    assert lost <= rate * 0.2
    assert resent <= 500 + 50  # at most the one batch in flight at the kill is sent again


async def test_v2_sink_writes_through_influxdb_client(victoria: VictoriaServer, tmp_path: Path) -> None:
    n = 1200
    sink = await InfluxSink.open(
        InfluxV2(api="v2", url=victoria.url, org="netqos", bucket="netqos", token=SecretStr("t")),
        sink=SinkSettings(batch_size=500, flush_interval_s=0.1, timeout_s=5),
        spool=SpoolSettings(dir=str(tmp_path), group_commit_s=0.2),
        backoff=FAST,
    )
    await sink.write(samples(0, n, measurement="v2sink"))
    await sink.flush()
    stats = sink.stats()
    await sink.close()
    assert stats.points_written == n
    series = victoria.export('{__name__="v2sink_seq"}')
    assert sorted(v for s in series for v in s.values) == list(range(n))


PARTIAL_SINK_CASES = [(10, 1), (200, 7), (3, 3)]  # (points in the batch, how many of them conflict)


@pytest.mark.parametrize(("n", "bad"), PARTIAL_SINK_CASES)
async def test_partial_write_counts_stored_points_as_written(
    influx_up: InfluxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture, n: int, bad: int
) -> None:
    db = fresh_db(influx_up)
    sink = await open_sink(influx_up, db, tmp_path, batch_size=1000)
    await sink.write([Sample("mixed", {}, {"f": "a string"}, T0)])  # the field is a string from now on
    await sink.flush()
    batch = [
        Sample("mixed", {"k": f"{i}"}, {"f": 1} if i < bad else {"g": i}, T0 + timedelta(milliseconds=i + 1))
        for i in range(n)
    ]
    with caplog.at_level(logging.ERROR, logger="collectors.sink.influx_sink"):
        await sink.write(batch)  # one request: the sink batches both kinds together
        await sink.flush()
    stats = sink.stats()
    await sink.close()
    assert (stats.points_written, stats.points_rejected) == (1 + n - bad, bad)
    assert influx_up.count(db, "mixed", "g") == n - bad  # the good points of the batch are stored
    assert f"rejected {bad} of {n} points" in caplog.text
    assert ("were stored (partial write)" in caplog.text) == (bad < n)


SPLIT_SINK_CASES = [(50, False), (400, False), (400, True)]  # (points, plus one line over the body limit)


@pytest.mark.parametrize(("n", "oversize"), SPLIT_SINK_CASES)
async def test_413_batch_is_split_not_dropped(
    request: pytest.FixtureRequest, tmp_path: Path, caplog: pytest.LogCaptureFixture, n: int, oversize: bool
) -> None:
    server: InfluxServer = request.getfixturevalue("small_body_influx")  # max-body-size 1,000 bytes
    db = fresh_db(server)
    sink = await open_sink(server, db, tmp_path, batch_size=5000)
    batch = samples(0, n)
    if oversize:
        batch.append(Sample("probe", {"device": "big"}, {"seq": n, "pad": "x" * 2000}, T0 - timedelta(seconds=1)))
    with caplog.at_level(logging.WARNING, logger="collectors.sink.influx_sink"):
        await sink.write(batch)
        await sink.flush()
    stats = sink.stats()
    await sink.close()
    assert server.count(db, "probe", "seq") == n
    assert (stats.points_written, stats.points_rejected) == (n, int(oversize))
    assert "too large for the server (HTTP 413)" in caplog.text
    assert seg_files(tmp_path) == []
