"""``InfluxSink``: the :class:`collectors.model.Sink` that loses nothing.

Write-ahead: every ``write()`` encodes its samples to line protocol and appends them to the on-disk
spool (one record per ``batch_size`` lines) before it returns — from then on they survive a crash of
the process; the group commit (every ``group_commit_s``, and on flush/close) makes them survive a
crash of the machine. A sender task reads the spool in order, joins records into batches of up to
``batch_size`` lines (or whatever is there once the oldest waited ``flush_interval_s``), sends each
batch through a :class:`~collectors.sink.outcome.LineWriter` in a worker thread, and acknowledges it in
the spool. When InfluxDB is down it backs off (exponential, capped, jittered) and retries the same
batch, while ``write()`` keeps appending; on start it first replays what an earlier run left.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from collectors.model import Sample
from collectors.sink import batch
from collectors.sink.backoff import Backoff
from collectors.sink.influx_v1 import InfluxV1Writer
from collectors.sink.influx_v2 import InfluxV2Writer
from collectors.sink.lineproto import encode_many
from collectors.sink.outcome import LineWriter, Rejected, RetryableWriteError, WriteOutcome, Written, write_splitting
from collectors.sink.spool import Position, Spool, SpooledRecord
from config.models import InfluxV1, InfluxV2, SinkSettings, SpoolSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SinkStats:
    """Self-metrics of one sink (points are lines of line protocol)."""

    points_accepted: int = 0  # encoded from samples given to write()
    points_spooled: int = 0  # appended to the spool
    points_written: int = 0  # confirmed by the server
    points_rejected: int = 0  # refused by the server for their data (4xx), logged and dropped
    # (a partial write counts its stored points as written and only the refused ones here)
    points_dropped: int = 0  # dropped from the spool because it was over max_bytes
    send_failures: int = 0  # write attempts that failed and will be retried
    batches_written: int = 0
    spool_bytes: int = 0
    server_up: bool = True


def build_writer(settings: InfluxV1 | InfluxV2, *, timeout_s: float) -> LineWriter:
    """The writer for the configured API."""
    if isinstance(settings, InfluxV1):
        return InfluxV1Writer(settings, timeout_s=timeout_s)
    return InfluxV2Writer(settings, timeout_s=timeout_s)


class InfluxSink:
    """Batching, write-ahead-spooled, retrying sink in front of one :class:`LineWriter`."""

    def __init__(
        self,
        writer: LineWriter,
        *,
        sink: SinkSettings,
        spool: SpoolSettings,
        backoff: Backoff | None = None,
        jitter: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._writer = writer
        self._settings = sink
        self._spool_settings = spool
        self._backoff = backoff or Backoff()
        self._jitter = jitter
        self._monotonic = monotonic
        self.name = writer.name
        self._io = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._spool: Spool | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()  # new records, a flush request, or closing
        self._progress = asyncio.Condition()  # an ack or a failed send
        self._end = Position(0, 0)  # just past the last appended record
        self._acked = Position(0, 0)
        self._replay_end = Position(0, 0)
        self._flush_target = Position(0, 0)
        self._closing = False
        self._closed = False
        self._retry_now = False
        self._server_up = True
        self._accepted = self._spooled = self._written = self._rejected = 0
        self._failures = self._batches = 0

    # --- lifecycle ---------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        settings: InfluxV1 | InfluxV2,
        *,
        sink: SinkSettings,
        spool: SpoolSettings,
        backoff: Backoff | None = None,
    ) -> InfluxSink:
        """Build the writer for ``settings``, open the spool and start sending (replaying first)."""
        self = cls(build_writer(settings, timeout_s=sink.timeout_s), sink=sink, spool=spool, backoff=backoff)
        await self.start()
        return self

    async def start(self) -> None:
        """Open the spool (an earlier run's records are replayed first); start sending and group commits."""
        settings = self._spool_settings
        self._spool = await self._call(Spool, Path(settings.dir), max_bytes=settings.max_bytes, name=self.name)
        self._acked = self._spool.acked
        self._end = self._replay_end = self._spool.end
        self._tasks = [
            asyncio.create_task(self._send_loop(), name=f"sink-send {self.name}"),
            asyncio.create_task(self._commit_loop(), name=f"sink-commit {self.name}"),
        ]

    async def close(self) -> None:
        """Flush (bounded by ``timeout_s``), stop the tasks, fsync and close the spool and the writer."""
        if self._closed or self._spool is None:
            return
        self._closed = True
        try:
            await self.flush()
        finally:
            self._closing = True
            self._wake.set()
            sender, committer = self._tasks
            committer.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(sender), self._settings.timeout_s)
            except TimeoutError:
                sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(sender, committer, return_exceptions=True)
            await self._call(self._spool.close)
            self._io.shutdown(wait=True)
            await asyncio.to_thread(self._writer.close)
            log.info("influx sink [%s]: closed: %s", self.name, self.stats())

    # --- the Sink protocol -------------------------------------------------------------------------

    async def write(self, samples: Sequence[Sample]) -> None:
        """Encode and append to the spool; returns once the samples are in it (in the kernel's cache)."""
        if self._closed or self._spool is None:
            raise RuntimeError(f"influx sink [{self.name}] is not open")
        lines = encode_many(samples)
        if not lines:
            return
        self._accepted += len(lines)
        size = self._settings.batch_size
        for i in range(0, len(lines), size):
            chunk = lines[i : i + size]
            rec = await self._call(self._spool.append, batch.pack(chunk))
            self._spooled += len(chunk)
            self._end = max(self._end, rec.end)
        self._wake.set()

    async def flush(self) -> None:
        """Wait until everything accepted so far is spooled and fsync'd and — if the server is up — sent.

        A sender that is backing off retries at once; if that attempt fails, flush returns (the data
        is safe in the spool). Gives up waiting after ``timeout_s`` (the data goes out later).
        """
        if self._spool is None:
            return
        target = self._end
        await self._call(self._spool.sync)
        if target <= self._acked:
            return
        failures = self._failures
        self._flush_target = max(self._flush_target, target)
        self._retry_now = True  # a sender backing off tries once more now: the server may be back
        self._wake.set()

        def done() -> bool:  # sent, or the server failed (again) since this flush began
            return self._acked >= target or self._failures > failures

        try:
            async with asyncio.timeout(self._settings.timeout_s), self._progress:
                await self._progress.wait_for(done)
        except TimeoutError:
            log.warning(
                "influx sink [%s]: flush: not everything sent within %.1f s (still spooled, will be sent)",
                self.name,
                self._settings.timeout_s,
            )

    def stats(self) -> SinkStats:
        spool = self._spool.stats() if self._spool is not None else None
        return SinkStats(
            points_accepted=self._accepted,
            points_spooled=self._spooled,
            points_written=self._written,
            points_rejected=self._rejected,
            points_dropped=spool.dropped_lines if spool else 0,
            send_failures=self._failures,
            batches_written=self._batches,
            spool_bytes=spool.bytes if spool else 0,
            server_up=self._server_up,
        )

    # --- internals ---------------------------------------------------------------------------------

    async def _call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run a blocking spool operation on the spool's own thread (in submission order)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._io, lambda: fn(*args, **kwargs))

    async def _commit_loop(self) -> None:
        assert self._spool is not None
        while True:
            await asyncio.sleep(self._spool_settings.group_commit_s)
            try:
                await self._call(self._spool.sync)
            except OSError:
                log.exception("influx sink [%s]: group commit (fsync) of the spool failed", self.name)

    async def _wait_wake(self, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _send_loop(self) -> None:
        spool = self._spool
        assert spool is not None
        cursor = spool.acked
        pending: list[SpooledRecord] = []
        lines = 0
        since = 0.0
        attempt = 0
        while not self._closing or pending:
            try:
                self._wake.clear()
                while lines < self._settings.batch_size:
                    rec = await self._call(spool.next_or_end, cursor)
                    if isinstance(rec, Position):
                        if not pending and rec > self._acked:
                            await self._caught_up(rec)  # the rest was skipped (damaged) or is empty
                        break
                    if not pending:
                        since = self._monotonic()
                    pending.append(rec)
                    lines += rec.points
                    cursor = rec.end
                if not pending:
                    if self._closing:
                        return
                    await self._wait_wake(None)
                    continue
                urgent = (
                    lines >= self._settings.batch_size
                    or self._closing
                    or pending[0].start < self._replay_end
                    or self._flush_target > self._acked
                )
                wait = self._settings.flush_interval_s - (self._monotonic() - since)
                if not urgent and wait > 0:
                    await self._wait_wake(wait)
                    continue
                if await self._send(pending, lines, attempt):
                    pending, lines, attempt = [], 0, 0
                else:
                    if self._closing:
                        return  # the batch stays in the spool for the next run
                    delay = self._backoff.delay(attempt, self._jitter())
                    attempt += 1
                    await self._sleep_unless_closing(delay)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("influx sink [%s]: sender failed unexpectedly; retrying", self.name)
                await self._sleep_unless_closing(self._backoff.delay(attempt, self._jitter()))
                attempt += 1

    async def _caught_up(self, end: Position) -> None:
        """Nothing is pending and the journal has nothing after ``end``: all before it is settled."""
        self._acked = end
        async with self._progress:
            self._progress.notify_all()

    async def _sleep_unless_closing(self, delay: float) -> None:
        deadline = self._monotonic() + delay
        while not self._closing and (left := deadline - self._monotonic()) > 0:
            if self._retry_now:
                self._retry_now = False
                return
            self._wake.clear()
            await self._wait_wake(left)

    def _settled(self, outcome: WriteOutcome) -> None:
        """Count (and log) what the server did with one request's points."""
        if isinstance(outcome, Written):
            self._written += outcome.lines
            self._batches += 1
            return
        if not isinstance(outcome, Rejected):  # TooLarge never comes out of write_splitting
            raise TypeError(f"unexpected write outcome {outcome!r}")
        self._rejected += outcome.lines
        self._written += outcome.stored
        if outcome.stored:
            self._batches += 1
        log.error(
            "influx sink [%s]: server rejected %d of %d points (HTTP %d): %s — first bad line: %s — %s",
            self.name,
            outcome.lines,
            outcome.lines + outcome.stored,
            outcome.status,
            outcome.message,
            outcome.first_bad_line[:1000],
            f"the other {outcome.stored} were stored (partial write)" if outcome.stored else "dropping them",
        )

    async def _send(self, pending: list[SpooledRecord], lines: int, attempt: int) -> bool:
        """One attempt to send ``pending``; True when it is settled (written or rejected) and acked."""
        assert self._spool is not None
        body = b"\n".join(batch.body(r.payload) for r in pending)
        try:
            outcomes = await asyncio.to_thread(write_splitting, self._writer.write, body, lines)
        except RetryableWriteError as e:
            self._failures += 1
            if self._server_up or attempt == 0:
                log.warning(
                    "influx sink [%s]: write of %d points failed (%s); keeping them spooled and retrying",
                    self.name,
                    lines,
                    e.reason,
                )
            self._server_up = False
            async with self._progress:
                self._progress.notify_all()
            return False
        if len(outcomes) > 1:
            log.warning(
                "influx sink [%s]: a batch of %d points was too large for the server (HTTP 413); sent in %d parts",
                self.name,
                lines,
                len(outcomes),
            )
        for outcome in outcomes:
            self._settled(outcome)
        if not self._server_up:
            log.info("influx sink [%s]: server is back; sending the spooled backlog", self.name)
        self._server_up = True
        end = pending[-1].end
        await self._call(self._spool.ack, end)
        self._acked = max(self._acked, end)
        async with self._progress:
            self._progress.notify_all()
        return True
