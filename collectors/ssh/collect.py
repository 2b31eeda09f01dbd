"""The SSH collector facade: ``await SshCollector(...).collect(device, job) -> PollResult`` (never raises).

Jobs (each on its own interval, as scheduler :class:`~collectors.scheduler.PollJob` s from :func:`ssh_poll_jobs`):

- ``ssh_onu`` (``huawei_smartax`` OLTs): per PON ``display ont info F S P all``, then inside
  ``interface gpon F/S`` one ``display ont optical-info P all`` per port → ``onu`` and ``pon_port`` samples;
- ``ssh_interfaces`` (``cisco_ios`` routers): ``show interfaces`` → ``interface`` samples, rates through the
  shared :class:`~collectors.counters.RateTracker` as on the SNMP path.

Fetching (I/O, in a worker thread on the device's reused session) is kept apart from parsing (pure).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Final

from collectors import measurements as m
from collectors.counters import CounterState, Observation, RateRule, RateTracker
from collectors.model import Clock, PollResult, Sample
from collectors.scheduler import PollJob
from collectors.ssh.cisco_ios import IfRow, parse_show_interfaces
from collectors.ssh.huawei_olt import Pon, PonAnswers, parse_pon, pon_samples
from collectors.ssh.pool import SessionPool
from collectors.ssh.session import CliSession, SshError, SshTarget

log = logging.getLogger(__name__)

JOB_ONU: Final = "ssh_onu"
JOB_INTERFACES: Final = "ssh_interfaces"

PLATFORM_JOBS: Final[Mapping[str, tuple[str, ...]]] = {
    "huawei_smartax": (JOB_ONU,),
    "cisco_ios": (JOB_INTERFACES,),
    "cisco_xe": (JOB_INTERFACES,),
}
"""Which SSH jobs each netmiko platform supports."""

IF_RATES: Final = (
    RateRule(m.F_IN_BPS, m.F_IN_OCTETS, 8.0, 8.0, m.F_IN_UTIL_PCT),
    RateRule(m.F_OUT_BPS, m.F_OUT_OCTETS, 8.0, 8.0, m.F_OUT_UTIL_PCT),
    RateRule(m.F_IN_ERRORS_PS, m.F_IN_ERRORS, 1.0, 1.0),
    RateRule(m.F_OUT_ERRORS_PS, m.F_OUT_ERRORS, 1.0, 1.0),
    RateRule(m.F_IN_DISCARDS_PS, m.F_IN_DISCARDS, 1.0, 1.0),
    RateRule(m.F_OUT_DISCARDS_PS, m.F_OUT_DISCARDS, 1.0, 1.0),
)
"""The SNMP path's interface rates (bits/s and utilisation from octets; errors and discards per second)."""


# --- fetch (blocking; runs in the pool's worker thread) --------------------------------------------------


def fetch_pons(session: CliSession, pons: Iterable[Pon]) -> list[PonAnswers]:
    """``display ont info`` per PON, then ``display ont optical-info`` per PON inside its board's GPON mode."""
    ordered = sorted(set(pons))
    info = {p: session.send_command(f"display ont info {p.frame} {p.slot} {p.port} all") for p in ordered}
    optical: dict[Pon, str] = {}
    for board in dict.fromkeys(p.board for p in ordered):
        session.enter_interface("gpon", board)
        try:
            for p in ordered:
                if p.board == board:
                    optical[p] = session.send_command(f"display ont optical-info {p.port} all")
        finally:
            session.exit_interface()
    return [PonAnswers(p, info[p], optical[p]) for p in ordered]


def fetch_interfaces(session: CliSession) -> str:
    return session.send_command("show interfaces")


# --- pure ----------------------------------------------------------------------------------------------------


def interface_samples(
    rows: Iterable[IfRow], rates: Mapping[str, Mapping[str, float]], at: datetime
) -> tuple[Sample, ...]:
    """One ``interface`` sample per row with its rate fields (absent when there is no valid rate)."""
    out = []
    for row in rows:
        fields = dict(row.fields)
        fields.update({k: round(v, 6) for k, v in rates.get(row.name, {}).items()})
        out.append(Sample(m.INTERFACE, row.tags, fields, at))
    return tuple(out)


def observations(rows: Iterable[IfRow], time_s: float) -> dict[str, Observation]:
    return {r.name: Observation(CounterState(time_s, r.counters), r.speed_bps) for r in rows}


def target_pons(target: SshTarget) -> list[Pon]:
    """The target's PONs (``F/S/P`` or ``GPON F/S/P``); others are ignored."""
    return [p for p in (parse_pon(x) for x in target.pons) if p is not None]


# --- the facade -------------------------------------------------------------------------------------------------


class SshCollector:
    """Runs an SSH job on a device by name; every fault becomes a failed :class:`PollResult`."""

    def __init__(
        self,
        targets: Mapping[str, SshTarget],
        pool: SessionPool,
        tracker: RateTracker,
        clock: Clock,
        *,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._targets = dict(targets)
        self._pool = pool
        self._tracker = tracker
        self._clock = clock
        self._timer = timer

    async def collect(self, device: str, job: str) -> PollResult:
        at = self._clock()
        t0 = self._timer()
        samples: tuple[Sample, ...] = ()
        error: str | None = None
        target = self._targets.get(device)
        try:
            if target is None:
                error = "unknown device"
            elif job not in PLATFORM_JOBS.get(target.platform, ()):
                error = f"unsupported: job {job} on platform {target.platform}"
            elif job == JOB_ONU:
                samples = await self._onu(target, at)
            else:
                samples = await self._interfaces(target, at)
        except SshError as exc:
            error = exc.reason
            log.warning("device=%s job=%s failed: %s", device, job, exc)
        except Exception as exc:  # an answer the parser did not expect is this device's fault
            log.exception("device=%s job=%s: cannot parse the answer", device, job)
            error = f"parse: {type(exc).__name__}"
        if error is not None and job == JOB_INTERFACES:
            self._tracker.forget(f"{device}/{JOB_INTERFACES}")
        if error is not None and target is None:
            log.warning("device=%s job=%s failed: %s", device, job, error)
        return PollResult(device, job, at, self._timer() - t0, samples, error)

    async def _onu(self, target: SshTarget, at: datetime) -> tuple[Sample, ...]:
        pons = target_pons(target)
        answers = await self._pool.run(target, lambda s: fetch_pons(s, pons))
        return tuple(pon_samples(answers, target.tags, at))

    async def _interfaces(self, target: SshTarget, at: datetime) -> tuple[Sample, ...]:
        text = await self._pool.run(target, fetch_interfaces)
        rows = parse_show_interfaces(text, target.tags)
        key = f"{target.name}/{JOB_INTERFACES}"
        rates = self._tracker.observe(key, observations(rows, at.timestamp()), IF_RATES)
        return interface_samples(rows, rates, at)


def ssh_poll_jobs(targets: Iterable[SshTarget], intervals: Mapping[str, tuple[float, float]]) -> list[PollJob]:
    """The scheduler's jobs: each target × each SSH job its platform supports that has ``(interval_s,
    timeout_s)`` in ``intervals`` (e.g. from ``settings.jobs``). Tags: the target's site, region, role."""
    jobs = []
    for t in targets:
        tags = {k: v for k, v in t.tags.items() if k in (m.TAG_SITE, m.TAG_REGION, m.TAG_ROLE)}
        for job in PLATFORM_JOBS.get(t.platform, ()):
            if job in intervals:
                interval_s, timeout_s = intervals[job]
                jobs.append(PollJob(t.name, job, interval_s, timeout_s, tags))
    return jobs
