"""The polling scheduler: phase/next_run math, self-metrics, and the real APScheduler loop.

The ``run`` functions here stand in for our collector port (``(device, job) -> PollResult``), not for a
server. Intervals are 0.2-0.5 s, so the whole file runs in well under 30 s.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import subprocess
import sys
import time
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors.measurements import (
    DEVICE,
    F_DURATION_MS,
    F_ERROR,
    F_OK,
    F_RATES_DROPPED,
    F_REACHABLE,
    F_REQUESTS,
    F_SKIPPED,
    F_VARBINDS,
    POLLER,
    TAG_DEVICE,
    TAG_JOB,
    TAG_REGION,
    TAG_ROLE,
    TAG_SITE,
    TAG_VENDOR,
)
from collectors.model import PollResult, Sample
from collectors.scheduler import (
    EPOCH,
    ERR_DEVICE_DOWN,
    LOGGER_NAME,
    PollJob,
    PollScheduler,
    SchedulerStats,
    next_run,
    phase,
    request_timeout,
)
from collectors.selfmetrics import self_metric
from tests.servers.snmpd import SnmpdAgent

JOB = "device"
TAGS = {TAG_SITE: "hz-binjiang-01", TAG_REGION: "zhejiang", TAG_ROLE: "router", TAG_VENDOR: "huawei"}


# --- test doubles: an in-memory sink and a recording collector port --------------------------------------


@dataclass
class ListSink:
    samples: list[Sample] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    async def write(self, samples: Sequence[Sample]) -> None:
        self.samples.extend(samples)
        self.events.append("write")

    async def flush(self) -> None:
        self.events.append("flush")

    async def close(self) -> None:
        self.events.append("close")

    def poller(self, device: str | None = None) -> list[Sample]:
        return [
            s for s in self.samples
            if s.measurement == POLLER and (device is None or s.tags[TAG_DEVICE] == device)
        ]


Behaviour = Callable[[str, str], Awaitable[PollResult]]


@dataclass
class Recorder:
    """Runs a per-device behaviour and records when each run started and how many ran at once."""

    behaviours: dict[str, Behaviour]
    starts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    active: int = 0
    max_active: int = 0

    async def __call__(self, device: str, job: str) -> PollResult:
        self.starts[device].append(time.monotonic())
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            return await self.behaviours[device](device, job)
        finally:
            self.active -= 1


def sleeper(seconds: float, varbinds: int = 3) -> Behaviour:
    async def run(device: str, job: str) -> PollResult:
        started = datetime.now(UTC)
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        sample = Sample("device", {TAG_DEVICE: device}, {"reachable": 1}, datetime.now(UTC))
        return PollResult(device, job, started, time.monotonic() - t0, (sample,), varbinds=varbinds)

    return run


def raiser(exc: BaseException) -> Behaviour:
    async def run(device: str, job: str) -> PollResult:
        await asyncio.sleep(0)
        raise exc

    return run


def failing(error: str) -> Behaviour:
    async def run(device: str, job: str) -> PollResult:
        return PollResult(device, job, datetime.now(UTC), 0.001, error=error)

    return run


def jobs_for(devices: Sequence[str], interval: float, timeout: float = 5.0) -> list[PollJob]:
    return [PollJob(d, JOB, interval, timeout, TAGS) for d in devices]


async def wait_until(cond: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.02)


# --- phase: restart-stable, spread over the interval -----------------------------------------------------


@pytest.mark.parametrize(
    ("device", "job", "interval"),
    [
        ("olt-hz-01", "device", 60.0),
        ("olt-hz-01", "interface", 60.0),
        ("cell-0571-0042", "radio", 300.0),
        ("r1", "device", 0.2),
        ("路由器-杭州-01", "device", 30.0),
    ],
)
def test_phase_is_crc32_mod_interval_and_stable(device: str, job: str, interval: float) -> None:
    p = phase(device, job, interval)
    assert p == phase(device, job, interval)
    assert 0.0 <= p < interval
    ms = round(interval * 1000)
    assert p == (zlib.crc32(f"{device}/{job}".encode()) % ms) / 1000


def test_phase_differs_by_job() -> None:
    phases = {phase("olt-hz-01", j, 60.0) for j in ("device", "interface", "pon", "onu", "power")}
    assert len(phases) == 5


def test_phase_survives_a_restart_with_another_hash_seed() -> None:
    keys = [(f"dev{i}", "interface") for i in range(50)]
    code = (
        "import json,sys; from collectors.scheduler import phase\n"
        "keys=json.loads(sys.argv[1])\n"
        "print(json.dumps([[phase(d,j,60.0), hash(d+'/'+j) % 60000] for d,j in keys]))"
    )
    out = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-c", code, json.dumps(keys)],
            env=env, capture_output=True, text=True, timeout=30, check=True,
        )
        out.append(json.loads(proc.stdout))
    assert [p for p, _ in out[0]] == [p for p, _ in out[1]] == [phase(d, j, 60.0) for d, j in keys]
    assert [h for _, h in out[0]] != [h for _, h in out[1]]  # hash() would not have survived


def test_phase_spreads_a_fleet_roughly_uniformly() -> None:
    interval, n, bins = 60.0, 1000, 10
    phases = [phase(f"olt{i:04d}", "interface", interval) for i in range(n)]
    counts = [0] * bins
    for p in phases:
        counts[int(p / interval * bins)] += 1
    expected = n / bins
    chi2 = sum((c - expected) ** 2 / expected for c in counts)
    assert chi2 < 27.88, counts  # chi-square, 9 degrees of freedom, p = 0.001
    assert len(set(phases)) > 950  # millisecond slots, not 60 whole seconds


@pytest.mark.parametrize("interval", [0.0, -1.0])
def test_phase_rejects_bad_interval(interval: float) -> None:
    with pytest.raises(ValueError):
        phase("r1", JOB, interval)


# --- next_run: aligned to the epoch ------------------------------------------------------------------------


def at(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


T0 = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "ph", "interval", "expected"),
    [
        (at(100.0), 3.0, 10.0, at(103.0)),
        (at(103.0), 3.0, 10.0, at(103.0)),  # on the grid: now
        (at(103.000001), 3.0, 10.0, at(113.0)),
        (at(109.9), 3.0, 10.0, at(113.0)),
        (at(0.0), 0.0, 60.0, at(0.0)),
        (T0 + timedelta(seconds=30), 0.0, 60.0, T0 + timedelta(minutes=1)),
        (T0 + timedelta(seconds=30), 59.999, 60.0, T0 + timedelta(seconds=59.999)),
        (T0, 0.1, 0.25, T0 + timedelta(seconds=0.1)),
        (T0 + timedelta(seconds=0.11), 0.1, 0.25, T0 + timedelta(seconds=0.35)),
        (T0, 12.5, 300.0, T0 + timedelta(seconds=12.5)),  # T0 is a multiple of 300 s
        (T0 + timedelta(seconds=13), 12.5, 300.0, T0 + timedelta(seconds=312.5)),
        (T0.astimezone(ZoneInfo("Asia/Shanghai")), 7.0, 60.0, T0 + timedelta(seconds=7)),
    ],
)
def test_next_run_alignment(now: datetime, ph: float, interval: float, expected: datetime) -> None:
    got = next_run(now, ph, interval)
    assert got == expected
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)


@given(
    now_us=st.integers(min_value=0, max_value=4_000_000_000 * 10**6),
    interval_ms=st.integers(min_value=1, max_value=86_400_000),
    frac=st.floats(min_value=0.0, max_value=0.999999),
)
def test_next_run_properties(now_us: int, interval_ms: int, frac: float) -> None:
    interval = interval_ms / 1000
    ph = round(interval_ms * frac) / 1000
    now = EPOCH + timedelta(microseconds=now_us)
    got = next_run(now, ph, interval)
    delta_us = (got - now) // timedelta(microseconds=1)
    assert 0 <= delta_us < interval_ms * 1000
    assert ((got - EPOCH) // timedelta(microseconds=1) - round(ph * 1e6)) % (interval_ms * 1000) == 0


@pytest.mark.parametrize(
    ("now", "interval"),
    [(datetime(2026, 1, 1), 60.0), (T0, 0.0), (T0, -5.0), (T0, 1e-9)],
)
def test_next_run_rejects_bad_input(now: datetime, interval: float) -> None:
    with pytest.raises(ValueError):
        next_run(now, 0.0, interval)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"device": "", "job": JOB, "interval_s": 1.0, "timeout_s": 1.0},
        {"device": "r1", "job": JOB, "interval_s": 0.0, "timeout_s": 1.0},
        {"device": "r1", "job": JOB, "interval_s": 1.0, "timeout_s": -1.0},
    ],
)
def test_poll_job_rejects_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PollJob(**kwargs)  # type: ignore[arg-type]


# --- self_metric: the poller sample -------------------------------------------------------------------


STARTED = datetime(2026, 3, 1, 8, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("result", "tags", "skipped", "want_tags", "want_fields"),
    [
        (
            PollResult("r1", "interface", STARTED, 0.25, varbinds=120, pdus=6, rates_dropped=4),
            TAGS,
            0,
            {TAG_DEVICE: "r1", TAG_JOB: "interface", TAG_SITE: "hz-binjiang-01", TAG_REGION: "zhejiang",
             TAG_ROLE: "router"},
            {F_DURATION_MS: 250.0, F_VARBINDS: 120, F_OK: 1, F_SKIPPED: 0, F_REQUESTS: 6, F_RATES_DROPPED: 4},
        ),
        (
            PollResult("olt1", "onu", STARTED, 5.0, error="timeout"),
            {TAG_SITE: "s1"},
            3,
            {TAG_DEVICE: "olt1", TAG_JOB: "onu", TAG_SITE: "s1"},
            {F_DURATION_MS: 5000.0, F_VARBINDS: 0, F_OK: 0, F_ERROR: "timeout", F_SKIPPED: 3, F_REQUESTS: 0,
             F_RATES_DROPPED: 0},
        ),
        (  # the device tags cannot rename the device or the job
            PollResult("r2", "device", STARTED, 0.0015, error="internal: KeyError", varbinds=7),
            {TAG_DEVICE: "other", TAG_JOB: "other", TAG_ROLE: "power"},
            1,
            {TAG_DEVICE: "r2", TAG_JOB: "device", TAG_ROLE: "power"},
            {F_DURATION_MS: 1.5, F_VARBINDS: 7, F_OK: 0, F_ERROR: "internal: KeyError", F_SKIPPED: 1, F_REQUESTS: 0,
             F_RATES_DROPPED: 0},
        ),
    ],
)
def test_self_metric(
    result: PollResult, tags: dict[str, str], skipped: int, want_tags: dict[str, str],
    want_fields: dict[str, object],
) -> None:
    s = self_metric(result, tags, skipped)
    assert s.measurement == POLLER
    assert dict(s.tags) == want_tags
    assert set(s.fields) == set(want_fields)
    for name, want in want_fields.items():
        got = s.fields[name]
        assert type(got) is type(want), name
        assert got == pytest.approx(want) if isinstance(want, float) else got == want
    assert s.time == result.started


def test_self_metric_rejects_negative_skips() -> None:
    with pytest.raises(ValueError):
        self_metric(PollResult("r1", JOB, STARTED, 0.1), {}, -1)


# --- the running scheduler --------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_devices", "max_concurrency"), [(12, 1), (12, 3), (12, 6)])
async def test_concurrency_bound_is_honoured(n_devices: int, max_concurrency: int) -> None:
    devices = [f"c{i}" for i in range(n_devices)]
    rec = Recorder({d: sleeper(0.45) for d in devices})  # demand: ~11 polls at once, above every bound
    sink = ListSink()
    sched = PollScheduler(jobs_for(devices, 0.5), rec, sink, max_concurrency=max_concurrency)
    sched.start()
    await asyncio.sleep(1.0)
    await sched.stop(grace_s=0.1)
    assert rec.max_active == max_concurrency
    assert sched.stats.runs == len(sink.poller()) >= max_concurrency


async def test_slow_device_does_not_delay_fast_ones() -> None:
    interval, window = 0.4, 1.7
    fast = [f"f{i:02d}" for i in range(20)]
    behaviours: dict[str, Behaviour] = {d: sleeper(0.01) for d in fast}
    behaviours["dead"] = sleeper(1.5)  # far longer than its interval; its own timeout is longer still
    rec = Recorder(behaviours)
    sink = ListSink()
    jobs = [*jobs_for(fast, interval), PollJob("dead", JOB, interval, 10.0, TAGS)]
    sched = PollScheduler(jobs, rec, sink, max_concurrency=4)
    sched.start()
    await asyncio.sleep(window)
    await sched.stop(grace_s=0.2)  # the dead device's poll is cancelled

    for d in fast:
        starts = rec.starts[d]
        assert len(starts) >= int(window / interval) - 1, (d, len(starts))
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert max(gaps) < interval + 0.2, (d, gaps)
    assert len(rec.starts["dead"]) <= 2
    assert sched.stats.skipped >= 2  # the dead device's overruns


@pytest.mark.parametrize(
    ("run_s", "interval", "min_first_skipped"),
    [
        (0.6, 0.2, 2),  # each run spans 2-3 due times: they are skipped
        (0.02, 0.2, 0),  # quick runs never overrun
    ],
)
async def test_overrun_is_skipped_and_counted_in_next_sample(
    run_s: float, interval: float, min_first_skipped: int
) -> None:
    rec = Recorder({"r1": sleeper(run_s)})
    sink = ListSink()
    sched = PollScheduler(jobs_for(["r1"], interval), rec, sink)
    sched.start()
    await wait_until(lambda: len(sink.poller("r1")) >= 2, within=5)
    await sched.stop()

    samples = sink.poller("r1")
    skipped = [int(s.fields[F_SKIPPED]) for s in samples]
    # the due times that fell inside run 1 were skipped; run 1's own sample (the next one) reports them
    assert skipped[0] >= min_first_skipped, skipped
    assert sum(skipped) == sched.stats.skipped  # every skip is reported exactly once
    if min_first_skipped == 0:
        assert sched.stats.skipped == 0
    # never two runs of the same job at once
    assert rec.max_active == 1
    assert all(
        b - a >= run_s - 0.01 for a, b in itertools.pairwise(rec.starts["r1"])
    )


def ok_run() -> Behaviour:
    return sleeper(0.01)


@pytest.mark.parametrize(
    ("behaviour", "backstop", "error", "logged"),
    [
        (sleeper(0.01, varbinds=5), 1.0, None, False),
        (failing("auth"), 1.0, "auth", False),  # the collector's own failure passes through
        (failing("timeout"), 1.0, "timeout", False),  # the collector's own timeout counts as one
        (sleeper(30.0), 0.15, "timeout", False),  # the backstop
        (raiser(KeyError("ifName")), 1.0, "internal: KeyError", True),
        (raiser(TimeoutError()), 1.0, "internal: TimeoutError", True),  # not ours: a bug
        (raiser(ZeroDivisionError()), 1.0, "internal: ZeroDivisionError", True),
    ],
)
async def test_run_outcomes_become_poll_results_and_the_scheduler_keeps_going(
    behaviour: Behaviour, backstop: float, error: str | None, logged: bool, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[PollResult] = []
    sink = ListSink()
    rec = Recorder({"bad1": behaviour, "good1": ok_run()})
    jobs = [PollJob("bad1", JOB, 0.2, backstop, TAGS), PollJob("good1", JOB, 0.2, 1.0, TAGS)]
    sched = PollScheduler(jobs, rec, sink, on_result=seen.append)
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    sched.start()
    await wait_until(lambda: min(sum(r.device == d for r in seen) for d in ("bad1", "good1")) >= 2, within=5)
    await sched.stop()

    bad = [r for r in seen if r.device == "bad1"]
    assert all(r.error == error for r in bad)
    assert all(r.job == JOB for r in bad)
    assert sum(r.device == "good1" and r.ok for r in seen) >= 2  # the others are untouched
    samples = sink.poller("bad1")
    assert len(samples) == len(bad)
    for s in samples:
        assert s.fields[F_OK] == (1 if error is None else 0)
        assert s.fields.get(F_ERROR) == error
    if backstop < 1.0:
        assert all(0.1 < r.duration_s < 1.0 for r in bad)
    stats = sched.stats
    n_bad_failed = len(bad) if error else 0
    assert stats.runs == len(seen) == stats.ok + stats.failed
    assert stats.failed == n_bad_failed
    assert stats.timeouts == (len(bad) if error == "timeout" else 0)
    internal = [rec for rec in caplog.records if rec.levelno >= logging.ERROR and rec.name == LOGGER_NAME]
    assert bool(internal) == logged
    assert all("bad1" in r.getMessage() and JOB in r.getMessage() for r in internal)


@pytest.mark.parametrize(
    ("run_s", "grace", "error", "max_stop_s"),
    [
        (0.3, 3.0, None, 1.0),  # the running poll finishes and is written before the flush
        (30.0, 0.3, "cancelled", 1.0),  # a hung poll is cancelled after the grace, and still recorded
    ],
)
async def test_graceful_stop_waits_then_flushes(
    run_s: float, grace: float, error: str | None, max_stop_s: float
) -> None:
    rec = Recorder({"r1": sleeper(run_s)})
    sink = ListSink()
    sched = PollScheduler(jobs_for(["r1"], 0.2, timeout=60.0), rec, sink)
    sched.start()
    await wait_until(lambda: rec.active == 1, within=3)
    t0 = time.monotonic()
    await sched.stop(grace_s=grace)
    took = time.monotonic() - t0
    assert took < max_stop_s
    assert rec.active == 0
    assert sink.events[-1] == "flush"
    assert sink.events.count("flush") == 1
    last = sink.poller("r1")[-1]
    assert last.fields.get(F_ERROR) == error
    assert len(rec.starts["r1"]) == 1  # no new run once stopping
    n = len(sink.samples)
    await asyncio.sleep(0.5)  # nothing runs after stop
    assert len(sink.samples) == n
    await sched.stop()  # idempotent
    assert sink.events.count("flush") == 1


async def test_async_on_result_and_run_until() -> None:
    got: list[PollResult] = []

    async def hook(r: PollResult) -> None:
        await asyncio.sleep(0)
        got.append(r)

    def broken_hook(r: PollResult) -> None:
        raise RuntimeError("alarm feed down")

    stop = asyncio.Event()
    sink = ListSink()
    rec = Recorder({"a": ok_run(), "b": ok_run()})
    sched = PollScheduler(jobs_for(["a", "b"], 0.2), rec, sink, on_result=hook)
    task = asyncio.create_task(sched.run_until(stop))
    await wait_until(lambda: len(got) >= 4, within=5)
    stop.set()
    stats = await asyncio.wait_for(task, timeout=5)
    assert isinstance(stats, SchedulerStats)
    assert stats.runs == len(got) == len(sink.poller())
    assert sink.events[-1] == "flush"

    sink2 = ListSink()
    sched2 = PollScheduler(jobs_for(["a"], 0.2), Recorder({"a": ok_run()}), sink2, on_result=broken_hook)
    sched2.start()
    await wait_until(lambda: len(sink2.poller()) >= 2, within=5)  # a broken hook stops nothing
    await sched2.stop()


async def test_first_runs_follow_the_phase() -> None:
    interval = 0.5
    devices = [f"p{i}" for i in range(8)]
    rec = Recorder({d: ok_run() for d in devices})
    sched = PollScheduler(jobs_for(devices, interval), rec, ListSink())
    sched.start()
    await asyncio.sleep(interval + 0.3)
    await sched.stop()
    for d in devices:
        first_wall = time.time() - (time.monotonic() - rec.starts[d][0])
        offset = (first_wall - phase(d, JOB, interval)) % interval
        assert min(offset, interval - offset) < 0.08, (d, offset)


def test_duplicate_jobs_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        PollScheduler(jobs_for(["r1", "r1"], 1.0), Recorder({}), ListSink())


def same_phase_as(device: str, interval: float) -> str:
    """Another device name whose polls fall due at the same instant as ``device``'s."""
    target = phase(device, JOB, interval)
    return next(d for d in (f"victim{i}" for i in range(100_000)) if phase(d, JOB, interval) == target)


async def test_a_stalled_loop_makes_runs_missed_and_they_are_counted() -> None:
    """A (buggy) run that blocks the loop makes a job due at the same instant start past its misfire grace
    (1 s): APScheduler reports it missed, and that skip shows up in the victim's next sample."""
    interval = 0.5
    victim = same_phase_as("stall", interval)  # "stall/..." sorts before "victim.../...": it runs first
    stalled: list[bool] = []

    async def stall_once(device: str, job: str) -> PollResult:
        if not stalled:
            stalled.append(True)
            time.sleep(1.3)  # noqa: ASYNC251 - the bug under test: blocking code in an async run
        return await sleeper(0.0)(device, job)

    sink = ListSink()
    rec = Recorder({"stall": stall_once, victim: ok_run()})
    sched = PollScheduler(jobs_for(["stall", victim], interval), rec, sink)
    sched.start()
    await wait_until(lambda: len(sink.poller(victim)) >= 1 and bool(stalled), within=5)
    await sched.stop()
    skipped = [int(s.fields[F_SKIPPED]) for s in sink.poller(victim)]
    assert skipped[0] >= 1, skipped
    assert sum(int(s.fields[F_SKIPPED]) for s in sink.poller()) == sched.stats.skipped


# --- against a real agent: net-snmp snmpd through pysnmp ---------------------------------------------------

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"


async def test_polls_a_real_snmpd_through_pysnmp(snmpd_agent: SnmpdAgent) -> None:
    """Two live targets (v2c, v3 SHA/AES) and a dead one, polled through a tiny stand-in collector facade."""
    from collectors.measurements import F_UPTIME_S
    from collectors.model import SnmpError
    from collectors.snmp.pysnmp_client import PysnmpEngine
    from lab.snmpsim import free_udp_port

    targets = {
        "live-v2c": snmpd_agent.target("v2c"),
        "live-v3": snmpd_agent.target("v3_sha_aes"),
        "dead": snmpd_agent.target("v2c", port=free_udp_port(), timeout_s=0.3, retries=0),
    }
    async with PysnmpEngine() as engine:
        clients = {name: engine.client(t) for name, t in targets.items()}

        async def collect(device: str, job: str) -> PollResult:
            client, started, t0 = clients[device], datetime.now(UTC), time.monotonic()
            before = client.varbinds
            try:
                scalars = await client.get([SYS_UPTIME, SYS_NAME])
                ifs = await client.walk(IF_DESCR)
            except SnmpError as exc:
                return PollResult(device, job, started, time.monotonic() - t0, error=exc.reason)
            uptime = scalars[SYS_UPTIME]
            assert isinstance(uptime, int) and ifs
            fields = {F_REACHABLE: 1, F_UPTIME_S: uptime // 100}
            sample = Sample(DEVICE, {TAG_DEVICE: device}, fields, started)
            varbinds = client.varbinds - before
            return PollResult(device, job, started, time.monotonic() - t0, (sample,), varbinds=varbinds)

        # Warm up first, as a worker would: pysnmp discovers the v3 engine and localizes the keys on first
        # contact, on the event loop (~0.5 s of CPU here, more under load), stalling every poll of the worker.
        await asyncio.gather(*(clients[d].get([SYS_UPTIME]) for d in ("live-v2c", "live-v3")))
        sink = ListSink()
        rec = Recorder(dict.fromkeys(targets, collect))
        sched = PollScheduler(jobs_for(list(targets), 0.4, timeout=2.0), rec, sink, max_concurrency=2)
        sched.start()
        await wait_until(lambda: all(len(sink.poller(d)) >= 3 for d in ("live-v2c", "live-v3")), within=10)
        await sched.stop()

    for device in ("live-v2c", "live-v3"):
        polls = sink.poller(device)
        assert all(s.fields[F_OK] == 1 and int(s.fields[F_VARBINDS]) > 2 for s in polls), [
            dict(s.fields) for s in polls
        ]
        data = [s for s in sink.samples if s.measurement == DEVICE and s.tags[TAG_DEVICE] == device]
        assert len(data) == len(polls)
        gaps = [b - a for a, b in itertools.pairwise(rec.starts[device])]
        assert gaps and max(gaps) < 0.4 + 0.25, gaps  # the dead device never delayed them
    dead = sink.poller("dead")
    assert dead and all(s.fields[F_OK] == 0 and s.fields[F_ERROR] == "timeout" for s in dead)


# --- the per-request timeout that fits the backstop ------------------------------------------------------


@pytest.mark.parametrize(
    ("budget", "retries", "expected"),
    [(10.0, 1, 4.5), (2.0, 1, 0.9), (10.0, 0, 9.5), (110.0, 1, 54.5), (1.0, 3, 0.225)],
)
def test_request_timeout_table(budget: float, retries: int, expected: float) -> None:
    assert request_timeout(budget, retries) == pytest.approx(expected)


@given(budget=st.floats(min_value=0.01, max_value=600), retries=st.integers(min_value=0, max_value=10))
def test_request_timeout_leaves_room_for_every_try(budget: float, retries: int) -> None:
    t = request_timeout(budget, retries)
    assert 0 < t * (retries + 1) < budget


@pytest.mark.parametrize(("budget", "retries"), [(0.0, 1), (-1.0, 1), (5.0, -1)])
def test_request_timeout_rejects_bad_input(budget: float, retries: int) -> None:
    with pytest.raises(ValueError):
        request_timeout(budget, retries)


# --- reachability: the backstop still writes reachable=0; dead devices go into down mode --------------------

SYSTEM, IFACES = "system", "interfaces"


@dataclass
class Fleet:
    """A run function by (device, job): dead devices hang until cancelled; the rest answer at once."""

    dead: set[str]
    starts: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    vendor: str = "juniper"

    async def __call__(self, device: str, job: str) -> PollResult:
        self.starts[(device, job)].append(time.monotonic())
        started = datetime.now(UTC)
        if device in self.dead:
            await asyncio.sleep(30)
        tags = {TAG_DEVICE: device, TAG_SITE: "s1", TAG_VENDOR: self.vendor}
        sample = Sample(DEVICE, tags, {F_REACHABLE: 1}, started) if job == SYSTEM else None
        return PollResult(device, job, started, 0.001, (sample,) if sample else (), varbinds=2)


def device_samples(sink: ListSink, device: str) -> list[Sample]:
    return [s for s in sink.samples if s.measurement == DEVICE and s.tags[TAG_DEVICE] == device]


@pytest.mark.parametrize(
    ("job", "answered_before", "want_device_sample"),
    [
        (SYSTEM, False, True),  # never answered: the job's tags
        (SYSTEM, True, True),  # answered once: the same series (its vendor tag kept)
        (IFACES, False, False),  # only the system job speaks for reachability
    ],
)
async def test_backstop_of_a_system_run_writes_reachable_zero(
    job: str, answered_before: bool, want_device_sample: bool
) -> None:
    fleet = Fleet(dead=set() if answered_before else {"r1"})
    seen: list[PollResult] = []
    sink = ListSink()
    jobs = [PollJob("r1", job, 0.3, 0.15, TAGS)]
    sched = PollScheduler(jobs, fleet, sink, on_result=seen.append, down_after=100)
    sched.start()
    if answered_before:
        await wait_until(lambda: len(seen) >= 1, within=5)
        fleet.dead.add("r1")
    await wait_until(lambda: sum(r.error == "timeout" for r in seen) >= 2, within=5)
    await sched.stop(grace_s=0.1)

    timed_out = [r for r in seen if r.error == "timeout"]
    for r in timed_out:
        if not want_device_sample:
            assert r.samples == ()
            continue
        [s] = r.samples
        assert s.fields == {F_REACHABLE: 0} and s.time == r.started
        want = {TAG_DEVICE: "r1", TAG_SITE: "s1", TAG_VENDOR: "juniper"} if answered_before else {
            TAG_DEVICE: "r1", TAG_SITE: TAGS[TAG_SITE], TAG_REGION: TAGS[TAG_REGION], TAG_ROLE: TAGS[TAG_ROLE],
            TAG_VENDOR: TAGS[TAG_VENDOR]}
        assert dict(s.tags) == want
    zeros = [s for s in device_samples(sink, "r1") if s.fields[F_REACHABLE] == 0]
    assert len(zeros) == (len(timed_out) if want_device_sample else 0)


@pytest.mark.parametrize(
    ("n_dead", "max_concurrency", "down_after"),
    [
        (6, 2, 1),  # three times more dead devices than slots
        (4, 2, 3),  # the default: three failed system polls
    ],
)
async def test_dead_devices_go_down_and_never_starve_a_healthy_one(
    n_dead: int, max_concurrency: int, down_after: int
) -> None:
    interval, backstop, probe = 0.3, 0.2, 0.06
    dead = [f"d{i}" for i in range(n_dead)]
    fleet = Fleet(dead=set(dead))
    sink = ListSink()
    jobs = [PollJob(d, j, interval, backstop, TAGS) for d in [*dead, "ok"] for j in (SYSTEM, IFACES)]
    sched = PollScheduler(
        jobs, fleet, sink, max_concurrency=max_concurrency, down_after=down_after, down_timeout_s=probe
    )
    sched.start()
    await wait_until(lambda: sched.stats.down == n_dead, within=12)
    t_down = time.monotonic()
    await asyncio.sleep(1.2)

    # the healthy device keeps its schedule once the dead ones are down
    for j in (SYSTEM, IFACES):
        starts = [t for t in fleet.starts[("ok", j)] if t > t_down]
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert len(starts) >= 3 and max(gaps) < interval + 0.12, (j, gaps)
    # a down device: only system is polled (short timeout), the rest skipped, counted and reported
    for d in dead:
        assert not [t for t in fleet.starts[(d, IFACES)] if t > t_down + 0.05], d
        assert [t for t in fleet.starts[(d, SYSTEM)] if t > t_down]
    skips = [s for s in sink.poller() if s.fields.get(F_ERROR) == ERR_DEVICE_DOWN]
    assert skips and {s.tags[TAG_JOB] for s in skips} == {IFACES}
    assert all(s.fields[F_OK] == 0 and int(s.fields[F_SKIPPED]) >= 1 for s in skips)
    assert sched.stats.skipped_down == len(skips)
    probes = [s for s in sink.poller() if s.tags[TAG_JOB] == SYSTEM and s.tags[TAG_DEVICE] in dead
              and s.time.timestamp() > time.time() - (time.monotonic() - t_down)]
    assert probes and all(float(s.fields[F_DURATION_MS]) < backstop * 1000 - 60 for s in probes)
    for d in dead:
        assert [s for s in device_samples(sink, d) if s.fields[F_REACHABLE] == 0]

    # a device that answers again gets all its jobs back
    fleet.dead.discard(dead[0])
    t_back = time.monotonic()
    await wait_until(lambda: any(t > t_back for t in fleet.starts[(dead[0], IFACES)]), within=3)
    assert not sched.is_down(dead[0]) and sched.stats.down == n_dead - 1
    await sched.stop(grace_s=0.1)
    # skips are reported in a later sample of the same job (those still pending at stop only in the stats)
    assert 0 < sum(int(s.fields[F_SKIPPED]) for s in sink.poller()) <= sched.stats.skipped


@pytest.mark.parametrize(
    ("errors", "down_after", "down"),
    [
        (["timeout", "timeout", "timeout"], 3, True),
        (["timeout", "timeout", None, "timeout"], 3, False),  # an answer resets the count
        (["auth", "auth"], 2, True),
        (["internal: KeyError"] * 4, 2, False),  # our bug says nothing about the device
    ],
)
async def test_down_mode_counts_consecutive_failed_system_polls(
    errors: list[str | None], down_after: int, down: bool
) -> None:
    outcomes = iter(errors)
    done: list[str | None] = []

    async def run(device: str, job: str) -> PollResult:
        err = next(outcomes, errors[-1])
        done.append(err)
        if err is not None and err.startswith("internal: "):
            raise KeyError("bug")
        return PollResult(device, job, datetime.now(UTC), 0.001, error=err)

    sched = PollScheduler([PollJob("r1", SYSTEM, 0.1, 1.0, TAGS)], run, ListSink(), down_after=down_after)
    sched.start()
    await wait_until(lambda: len(done) >= len(errors), within=5)
    await sched.stop()
    assert sched.is_down("r1") is down
    with pytest.raises(ValueError):
        PollScheduler([], run, ListSink(), down_after=0)


async def test_the_runs_own_counts_land_in_its_poller_sample() -> None:
    async def run(device: str, job: str) -> PollResult:
        at = datetime.now(UTC)
        data = Sample("interface", {TAG_DEVICE: device}, {"in_octets": 5}, at)
        other = Sample(POLLER, {TAG_DEVICE: "someone-else", TAG_JOB: job}, {F_RATES_DROPPED: 9}, at)
        return PollResult(device, job, at, 0.01, (data, other), varbinds=3, pdus=2, rates_dropped=4)

    seen: list[PollResult] = []
    sink = ListSink()
    sched = PollScheduler([PollJob("r1", IFACES, 0.2, 1.0, TAGS)], run, sink, on_result=seen.append)
    sched.start()
    await wait_until(lambda: len(seen) >= 1, within=5)
    await sched.stop()
    own = [s for s in sink.poller("r1")]
    assert len(own) == len(seen)
    assert all(s.fields[F_RATES_DROPPED] == 4 and s.fields[F_OK] == 1 and s.fields[F_VARBINDS] == 3
               and s.fields[F_REQUESTS] == 2 for s in own)
    assert all(len(r.samples) == 2 and all(s.tags[TAG_DEVICE] != "r1" or s.measurement != POLLER
                                           for s in r.samples) for r in seen)
    assert len(sink.poller("someone-else")) == len(seen)  # not this run's: written as it is
