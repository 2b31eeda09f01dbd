"""The SSH collector facade: ``await SshCollector(...).collect(device, job) -> PollResult`` (never raises).

Jobs (each on its own interval, as scheduler :class:`~collectors.scheduler.PollJob` s from :func:`ssh_poll_jobs`):

- ``ssh_onu`` (``huawei_smartax`` OLTs): per PON ``display ont info F S P all``, ``display ont info F S P ID``
  for offline ONTs (last down cause), then inside ``interface gpon F/S`` one ``display ont optical-info P all``
  per port → ``onu`` and ``pon_port`` samples (:mod:`collectors.ssh.olt_fetch`). An OLT whose inventory lists no
  ``pon_ports`` has them discovered first (``display board 0`` + ``display port state all``);
- ``ssh_interfaces`` (``cisco_ios`` routers): ``show interfaces`` → ``interface`` samples, rates through the
  shared :class:`~collectors.counters.RateTracker` as on the SNMP path.

Fetching (I/O, in a worker thread on the device's reused session) is kept apart from parsing (pure). An answer
in no known shape fails the poll (``device: ...`` / ``parse: ...`` naming device, command and the answer's first
line), never becomes zeros.
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
from collectors.ssh.answers import Answer, AnswerError
from collectors.ssh.cisco_ios import COMMAND as SHOW_INTERFACES
from collectors.ssh.cisco_ios import IfRow, read_show_interfaces
from collectors.ssh.huawei_olt import Pon, parse_pon, pon_samples
from collectors.ssh.olt_fetch import MAX_DETAILS, OltAnswers, discover_pons, fetch_pons
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


def fetch_interfaces(session: CliSession) -> Answer:
    return Answer(SHOW_INTERFACES, session.send_command(SHOW_INTERFACES))


def fetch_onu_job(
    session: CliSession, pons: Iterable[Pon], max_details: int, log: logging.Logger, device: str
) -> OltAnswers:
    """The ``ssh_onu`` answers for ``pons``, or for the discovered PON ports when ``pons`` is empty."""
    listed = list(pons)
    if not listed:
        found = discover_pons(session)
        for b in found.boards_down:
            log.warning("device=%s job=%s: GPON board %s (%s) is %s: its ports are not read", device, JOB_ONU,
                        b.interface, b.name, b.status)
        log.debug("device=%s job=%s: discovered %d PON ports", device, JOB_ONU, len(found.pons))
        listed = list(found.pons)
    return fetch_pons(session, listed, max_details)


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
        max_details: int = MAX_DETAILS,
    ) -> None:
        self._targets = dict(targets)
        self._pool = pool
        self._tracker = tracker
        self._clock = clock
        self._timer = timer
        self._max_details = max_details

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
        except AnswerError as exc:
            error = exc.reason(device)
            log.warning("device=%s job=%s failed: %s", device, job, error)
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
        answers = await self._pool.run(
            target, lambda s: fetch_onu_job(s, pons, self._max_details, log, target.name)
        )
        if answers.causes_skipped:
            log.info("device=%s job=%s: %d offline ONTs over the budget of %d: no last_down_cause this poll",
                     target.name, JOB_ONU, answers.causes_skipped, self._max_details)
        return tuple(pon_samples(answers.pons, target.tags, at))

    async def _interfaces(self, target: SshTarget, at: datetime) -> tuple[Sample, ...]:
        answer = await self._pool.run(target, fetch_interfaces)
        rows = read_show_interfaces(answer, target.tags)
        key = f"{target.name}/{JOB_INTERFACES}"
        rates = self._tracker.observe(key, observations(rows, at.timestamp()), IF_RATES)
        return interface_samples(rows, rates, at)


def ssh_poll_jobs(
    targets: Iterable[SshTarget], intervals: Mapping[str, tuple[float, float]], logger: logging.Logger = log
) -> list[PollJob]:
    """The scheduler's jobs: each target × each SSH job its platform supports that has ``(interval_s,
    timeout_s)`` in ``intervals`` (e.g. from ``settings.jobs``). Tags: the target's site, region, role.

    A job the platform supports but ``intervals`` lacks is not scheduled, with a warning naming device and job."""
    jobs = []
    for t in targets:
        tags = {k: v for k, v in t.tags.items() if k in (m.TAG_SITE, m.TAG_REGION, m.TAG_ROLE)}
        for job in PLATFORM_JOBS.get(t.platform, ()):
            if job in intervals:
                interval_s, timeout_s = intervals[job]
                jobs.append(PollJob(t.name, job, interval_s, timeout_s, tags))
            else:
                logger.warning("device=%s job=%s: platform %s supports it but jobs: has no %s entry "
                               "(interval_s, timeout_s): not scheduled", t.name, job, t.platform, job)
    return jobs
