"""The polling scheduler: runs every (device, job) on its own interval, at a restart-stable phase.

One APScheduler 3.11 ``AsyncIOScheduler`` (created inside the running loop by :meth:`PollScheduler.start`)
holds one interval job per (device, job). Each job's first run is aligned to the epoch at a phase of
``crc32("device/job") mod interval``, so a fleet's polls spread over the interval and a restart keeps
every device's phase. A run that is still going when the next one is due makes that next one *skipped*
(``max_instances=1``); skips are counted per (device, job) and reported in the next ``poller`` sample.

All runs share one semaphore (bounded concurrency); each run has a backstop timeout; whatever a run
does — fail, hang, raise — becomes a :class:`~collectors.model.PollResult` written to the sink with a
``poller`` self-metric sample, and the scheduler keeps going. A ``system`` run the backstop cuts still
writes ``device reachable=0``. A device whose ``system`` job failed ``down_after`` times in a row is
*down*: its other jobs are skipped (counted) and only ``system`` is polled, with a short timeout and
through a pool of its own, until it answers again. See ``docs/scheduler.md``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from collectors import measurements as m
from collectors.model import Clock, PollResult, Sample, Sink
from collectors.selfmetrics import self_metric

LOGGER_NAME: Final = "netqos.scheduler"

ERR_TIMEOUT: Final = "timeout"
ERR_CANCELLED: Final = "cancelled"
ERR_INTERNAL_PREFIX: Final = "internal: "
ERR_DEVICE_DOWN: Final = "device down"
"""The error of the ``poller`` sample written for a run skipped because its device is down."""

SYSTEM_JOB: Final = "system"
"""The job whose result says whether a device answers (``device reachable``)."""

_DEVICE_TAGS: Final = frozenset(m.BY_NAME[m.DEVICE].tags)

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)

RunFn = Callable[[str, str], Awaitable[PollResult]]
"""The collector port as the scheduler sees it: ``await run(device, job) -> PollResult``."""

ResultHook = Callable[[PollResult], Awaitable[None] | None]
"""Called with every PollResult (e.g. the alarm feed). May be sync or async; must not block."""


@dataclass(frozen=True, slots=True)
class PollJob:
    """One job on one device: what to run, how often, how long at most, and the device's tags."""

    device: str
    job: str
    interval_s: float
    timeout_s: float
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.device or not self.job:
            raise ValueError("PollJob needs a device and a job name")
        if not self.interval_s > 0:
            raise ValueError(f"{self.device}/{self.job}: interval_s must be > 0, got {self.interval_s}")
        if not self.timeout_s > 0:
            raise ValueError(f"{self.device}/{self.job}: timeout_s must be > 0, got {self.timeout_s}")

    @property
    def key(self) -> str:
        """The job's id in the scheduler: ``device/job``."""
        return f"{self.device}/{self.job}"


@dataclass(frozen=True, slots=True)
class SchedulerStats:
    """Counters since start. ``runs`` = ``ok`` + ``failed``; ``timeouts`` (a subset of ``failed``) counts
    results whose error is ``timeout`` (the backstop's or the collector's own); ``skipped`` counts runs
    not started because the previous one was still going (max instances) or was too late (missed)."""

    runs: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    timeouts: int = 0
    skipped_down: int = 0
    """Of ``skipped``: runs of a down device's other jobs, not started."""
    down: int = 0
    """Devices down now (their ``system`` job failed ``down_after`` times in a row)."""


# --- pure timing -------------------------------------------------------------------------------------


def phase(device: str, job: str, interval: float) -> float:
    """The restart-stable start offset of (device, job) within its interval, in seconds.

    ``crc32("device/job") mod interval``, computed in whole milliseconds (so a 60 s interval has 60,000
    slots, not 60). crc32, unlike ``hash()``, is the same in every process.
    """
    if not interval > 0:
        raise ValueError(f"interval must be > 0, got {interval}")
    interval_ms = max(1, round(interval * 1000))
    return (zlib.crc32(f"{device}/{job}".encode()) % interval_ms) / 1000.0


def next_run(now: datetime, phase: float, interval: float) -> datetime:
    """The first time ``t >= now`` with ``(t - epoch - phase) % interval == 0`` (UTC, microsecond exact)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not interval > 0:
        raise ValueError(f"interval must be > 0, got {interval}")
    interval_us = round(interval * 1_000_000)
    if interval_us <= 0:
        raise ValueError(f"interval {interval} is below one microsecond")
    phase_us = round(phase * 1_000_000) % interval_us
    now_us = (now - EPOCH) // _US
    k = -((phase_us - now_us) // interval_us)  # ceil((now - phase) / interval)
    return EPOCH + timedelta(microseconds=phase_us + k * interval_us)


def grace_seconds(interval: float) -> int:
    """APScheduler's misfire grace (an int): a run starting more than about one interval late is missed."""
    return max(1, math.ceil(interval))


def request_timeout(budget_s: float, retries: int, margin: float = 0.1, max_margin_s: float = 0.5) -> float:
    """The per-request SNMP timeout that lets every try of a request end before a run's backstop.

    ``budget_s / (retries + 1)`` less a margin (``margin`` of it, at most ``max_margin_s``), so a
    device that never answers fails in the collector (which writes ``reachable=0`` itself) a little
    before the scheduler's ``asyncio.timeout(budget_s)`` would cut it.

    >>> request_timeout(10.0, 1)
    4.5
    """
    if not budget_s > 0:
        raise ValueError(f"budget_s must be > 0, got {budget_s}")
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    per_try = budget_s / (retries + 1)
    return per_try - min(max_margin_s, per_try * margin)


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- the scheduler -------------------------------------------------------------------------------------


class PollScheduler:
    """Runs :class:`PollJob` s through ``run`` and writes their samples and self-metrics to ``sink``.

    Build it anywhere; call :meth:`start` inside the running event loop, :meth:`stop` to end.
    ``clock`` gives wall time (UTC; it must follow real time, APScheduler fires on the real clock);
    ``monotonic`` measures durations.
    """

    def __init__(
        self,
        jobs: Iterable[PollJob],
        run: RunFn,
        sink: Sink,
        *,
        clock: Clock = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        max_concurrency: int = 64,
        on_result: ResultHook | None = None,
        stop_grace_s: float = 10.0,
        logger: logging.Logger | None = None,
        system_job: str = SYSTEM_JOB,
        down_after: int = 3,
        down_timeout_s: float | None = None,
        down_concurrency: int | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if down_after < 1:
            raise ValueError(f"down_after must be >= 1, got {down_after}")
        if down_timeout_s is not None and not down_timeout_s > 0:
            raise ValueError(f"down_timeout_s must be > 0, got {down_timeout_s}")
        if down_concurrency is not None and down_concurrency < 1:
            raise ValueError(f"down_concurrency must be >= 1, got {down_concurrency}")
        self._jobs: dict[str, PollJob] = {}
        for j in jobs:
            if j.key in self._jobs:
                raise ValueError(f"duplicate poll job {j.key}")
            self._jobs[j.key] = j
        self._run = run
        self._sink = sink
        self._clock = clock
        self._monotonic = monotonic
        self._max_concurrency = max_concurrency
        self._on_result = on_result
        self._stop_grace_s = stop_grace_s
        self._log = logger or logging.getLogger(LOGGER_NAME)
        self._system_job = system_job
        self._down_after = down_after
        self._down_timeout_s = down_timeout_s
        self._down_concurrency = down_concurrency or max(1, max_concurrency // 4)

        self._aps: AsyncIOScheduler | None = None
        self._sem: asyncio.Semaphore | None = None
        self._down_sem: asyncio.Semaphore | None = None
        self._fails: dict[str, int] = {}
        self._down: set[str] = set()
        self._device_tags: dict[str, dict[str, str]] = {}
        self._inflight: set[asyncio.Task[Any]] = set()
        self._pending_skips: dict[str, int] = {}
        self._stopping = False
        self._runs = self._ok = self._failed = self._skipped = self._timeouts = self._skipped_down = 0

    # -- lifecycle --

    @property
    def running(self) -> bool:
        return self._aps is not None and not self._stopping

    @property
    def stats(self) -> SchedulerStats:
        return SchedulerStats(
            runs=self._runs, ok=self._ok, failed=self._failed, skipped=self._skipped, timeouts=self._timeouts,
            skipped_down=self._skipped_down, down=len(self._down),
        )

    def is_down(self, device: str) -> bool:
        """Whether ``device`` is down (only its system job is polled)."""
        return device in self._down

    def down_timeout(self, j: PollJob) -> float:
        """The backstop of a down device's system poll: ``down_timeout_s``, else a quarter of the job's
        timeout (at least 0.5 s), never more than the job's own."""
        short = self._down_timeout_s if self._down_timeout_s is not None else max(0.5, j.timeout_s / 4)
        return min(j.timeout_s, short)

    def first_runs(self) -> dict[str, datetime]:
        """When each job (by ``device/job``) first runs if started now (for logs and tests)."""
        now = self._clock()
        return {
            key: next_run(now, phase(j.device, j.job, j.interval_s), j.interval_s)
            for key, j in self._jobs.items()
        }

    def start(self) -> None:
        """Schedule every job. Must be called from inside the running event loop."""
        if self._aps is not None:
            raise RuntimeError("scheduler already started")
        loop = asyncio.get_running_loop()
        self._sem = asyncio.Semaphore(self._max_concurrency)
        self._down_sem = asyncio.Semaphore(self._down_concurrency)
        aps = AsyncIOScheduler(event_loop=loop, timezone=UTC)
        aps.add_listener(self._on_skip, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        first = self.first_runs()
        for key, j in self._jobs.items():
            aps.add_job(
                self._fire,
                trigger=IntervalTrigger(seconds=j.interval_s, start_date=first[key], timezone=UTC),
                args=(j,),
                id=key,
                name=key,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=grace_seconds(j.interval_s),
                replace_existing=True,
            )
        aps.start()
        self._aps = aps
        self._log.info(
            "scheduler started: %d jobs, max_concurrency=%d", len(self._jobs), self._max_concurrency
        )

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop scheduling, let running polls finish for up to ``grace_s`` (cancel the rest: each becomes
        a failed result ``cancelled``), then flush the sink. Idempotent."""
        aps = self._aps
        if aps is None or self._stopping:
            return
        self._stopping = True
        grace = self._stop_grace_s if grace_s is None else grace_s
        aps.pause()
        pending = {t for t in self._inflight if not t.done()}
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace)
            for t in late:
                t.cancel()
            if late:
                self._log.warning("stop: %d polls still running after %.1f s, cancelled", len(late), grace)
                await asyncio.wait(late, timeout=max(1.0, grace))
        aps.shutdown(wait=False)
        try:
            await self._sink.flush()
        except Exception:
            self._log.exception("stop: sink flush failed")
        self._log.info("scheduler stopped: %s", self.stats)

    async def run_until(self, stop_event: asyncio.Event) -> SchedulerStats:
        """Start, run until ``stop_event`` is set, stop gracefully; returns the final stats."""
        self.start()
        try:
            await stop_event.wait()
        finally:
            await self.stop()
        return self.stats

    # -- APScheduler callbacks --

    def _on_skip(self, event: JobEvent) -> None:
        j = self._jobs.get(event.job_id)
        if j is not None:
            self._count_skip(j, "missed" if event.code == EVENT_JOB_MISSED else "previous run still going")

    def _count_skip(self, j: PollJob, reason: str) -> None:
        self._pending_skips[j.key] = self._pending_skips.get(j.key, 0) + 1
        self._skipped += 1
        self._log.info("device=%s job=%s: run skipped (%s)", j.device, j.job, reason)

    async def _fire(self, j: PollJob) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            if self._skip_for_down(j):
                await self._deliver_down_skip(j)
                return
            result = await self._poll(j)
            if result is None:
                self._count_skip(j, "stopping")
                return
            if isinstance(result, _DownSkip):
                await self._deliver_down_skip(j)
                return
            await self._deliver(j, result)
        finally:
            if task is not None:
                self._inflight.discard(task)

    def _skip_for_down(self, j: PollJob) -> bool:
        return j.job != self._system_job and j.device in self._down

    async def _deliver_down_skip(self, j: PollJob) -> None:
        """A down device's other job is not run: counted, and a ``poller`` sample says so (ok=0)."""
        skipped = self._pending_skips.pop(j.key, 0) + 1
        self._skipped += 1
        self._skipped_down += 1
        self._log.debug("device=%s job=%s: run skipped (device down)", j.device, j.job)
        marker = PollResult(j.device, j.job, self._clock(), 0.0, error=ERR_DEVICE_DOWN)
        try:
            await self._sink.write((self_metric(marker, j.tags, skipped),))
        except Exception:
            self._log.exception("device=%s job=%s: sink write failed", j.device, j.job)

    # -- one run --

    def _failure(self, j: PollJob, started: datetime, t0: float, error: str) -> PollResult:
        return PollResult(
            device=j.device, job=j.job, started=started, duration_s=self._monotonic() - t0, error=error
        )

    def _unreachable(self, j: PollJob, started: datetime) -> tuple[Sample, ...]:
        """``device reachable=0`` for a system run cut by the backstop (tags of the device's last
        ``device`` sample, so it lands in the same series; else the job's)."""
        if j.job != self._system_job:
            return ()
        tags = self._device_tags.get(j.device)
        if tags is None:
            tags = {k: v for k, v in j.tags.items() if k in _DEVICE_TAGS}
            tags[m.TAG_DEVICE] = j.device
        return (Sample(m.DEVICE, tags, {m.F_REACHABLE: 0}, started),)

    async def _poll(self, j: PollJob) -> PollResult | _DownSkip | None:
        """One run under the semaphore and the backstop timeout; ``None`` if stopping before it began.

        A down device's system run goes through the down pool with the short timeout; a down device's
        other job that was waiting for a slot when the device went down is not run (``_DownSkip``)."""
        assert self._sem is not None and self._down_sem is not None
        probing = j.job == self._system_job and j.device in self._down
        sem, timeout_s = (self._down_sem, self.down_timeout(j)) if probing else (self._sem, j.timeout_s)
        started, t0 = self._clock(), self._monotonic()
        try:
            async with sem:
                if self._stopping:
                    return None
                if self._skip_for_down(j):
                    return _DownSkip()
                started, t0 = self._clock(), self._monotonic()
                async with asyncio.timeout(timeout_s) as deadline:
                    try:
                        return await self._run(j.device, j.job)
                    except TimeoutError:
                        if deadline.expired():
                            raise
                        self._log.exception("device=%s job=%s: run raised TimeoutError", j.device, j.job)
                        return self._failure(j, started, t0, f"{ERR_INTERNAL_PREFIX}TimeoutError")
        except TimeoutError:
            self._log.warning("device=%s job=%s: timed out after %.3f s", j.device, j.job, timeout_s)
            return replace(self._failure(j, started, t0, ERR_TIMEOUT), samples=self._unreachable(j, started))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self._stopping or task is None:
                raise
            task.uncancel()
            self._log.warning("device=%s job=%s: cancelled at shutdown", j.device, j.job)
            return self._failure(j, started, t0, ERR_CANCELLED)
        except Exception as exc:
            self._log.exception("device=%s job=%s: run raised %s", j.device, j.job, type(exc).__name__)
            return self._failure(j, started, t0, f"{ERR_INTERNAL_PREFIX}{type(exc).__name__}")

    def _track_reachability(self, j: PollJob, result: PollResult) -> None:
        """Count consecutive failed system polls; enter / leave down mode."""
        if j.job != self._system_job:
            return
        if result.ok:
            self._fails.pop(j.device, None)
            if j.device in self._down:
                self._down.discard(j.device)
                self._log.warning("device=%s job=%s: answers again; resuming its other jobs", j.device, j.job)
            return
        error = result.error or ""
        if error == ERR_CANCELLED or error.startswith(ERR_INTERNAL_PREFIX):
            return  # our stop or our bug: says nothing about the device
        n = self._fails.get(j.device, 0) + 1
        self._fails[j.device] = n
        if n >= self._down_after and j.device not in self._down:
            self._down.add(j.device)
            self._log.warning(
                "device=%s job=%s: down after %d failed polls (%s); skipping its other jobs, polling %s "
                "with a %.1f s timeout until it answers",
                j.device, j.job, n, error, j.job, self.down_timeout(j),
            )

    async def _deliver(self, j: PollJob, result: PollResult) -> None:
        skipped = self._pending_skips.pop(j.key, 0)
        self._count(result)
        self._track_reachability(j, result)
        for s in result.samples:
            if s.measurement == m.DEVICE and s.tags.get(m.TAG_DEVICE) == j.device:
                self._device_tags[j.device] = dict(s.tags)
        own = self_metric(result, j.tags, skipped)
        try:
            await self._sink.write((*result.samples, own))
        except Exception:
            self._log.exception("device=%s job=%s: sink write failed", j.device, j.job)
        if self._on_result is not None:
            try:
                maybe = self._on_result(result)
                if inspect.isawaitable(maybe):
                    await maybe
            except Exception:
                self._log.exception("device=%s job=%s: on_result hook failed", j.device, j.job)

    def _count(self, result: PollResult) -> None:
        self._runs += 1
        if result.ok:
            self._ok += 1
        else:
            self._failed += 1
            if result.error == ERR_TIMEOUT:
                self._timeouts += 1


@dataclass(frozen=True, slots=True)
class _DownSkip:
    """A run not made because its device went down while it waited for a slot."""
