"""The composition root: builds every component from the loaded configuration and wires them together.

Nothing else in netqos constructs engines, sinks or schedulers; nothing imports this module but the CLI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from alarms.correlate import Topology
from alarms.dispatch import Dispatcher
from alarms.engine import EngineSettings
from alarms.maintenance import MaintenanceCalendar
from alarms.notify.notifier import build_notifier
from alarms.service import AlarmService
from alarms.state_store import StateStore
from alarms.tickets.store import SqlTicketStore, open_store
from collectors import measurements as m
from collectors.counters import Limits, RateTracker
from collectors.ifnames import IfNameCache
from collectors.model import DeviceEvent, PollResult, Sample, Sink, Target
from collectors.scheduler import PollJob, PollScheduler
from collectors.sink.influx_sink import InfluxSink
from collectors.sink.lineproto import encode
from collectors.snmp.collect import SnmpCollector
from collectors.snmp.detect import AUTO, ProfileResolver
from collectors.snmp.pysnmp_client import PysnmpEngine
from collectors.ssh.collect import JOB_INTERFACES, PLATFORM_JOBS, SshCollector, ssh_poll_jobs
from collectors.ssh.pool import SessionPool, workers_for
from collectors.ssh.session import NetmikoSession, SshTarget
from collectors.traps.decode import TrapDecoder
from collectors.traps.model import EventHandler
from collectors.traps.receiver import TrapReceiver
from collectors.traps.resolve import devices_from_inventory
from config.alarms import ALARMS_FILE, AlarmsConfig, load_alarms, with_trap_clears
from config.loader import Loaded, describe, load_with_profiles
from config.models import Device, Inventory, Settings, SnmpV2c, SnmpV3
from config.profiles import ProfileSet, load_profiles
from config.tickets import NOTIFY_FILE, load_notify
from config.traps import TRAPS_FILE, load_traps

log = logging.getLogger("netqos.app")

SYSTEM_JOB = "system"
INTERFACES_JOB = "interfaces"


class UsageError(Exception):
    """A command-line mistake (bad --target, unknown --device...): printed without a traceback."""


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- loading ------------------------------------------------------------------------------------------


def _profile_dirs(config_dir: Path) -> list[Path]:
    from config.profiles import BUILTIN_DIR

    extra = config_dir / "profiles"
    return [BUILTIN_DIR, extra] if extra.is_dir() else [BUILTIN_DIR]


def load_all(inventory: Path, config_dir: Path) -> tuple[Loaded, ProfileSet]:
    """Profiles (built-in + ``config/profiles/``), then inventory and settings checked against them."""
    profiles = load_profiles(_profile_dirs(config_dir))
    ssh_jobs = {j for jobs in PLATFORM_JOBS.values() for j in jobs}
    loaded = load_with_profiles(inventory, config_dir, os.environ, profiles, ssh_jobs)
    for w in loaded.warnings:
        log.warning("%s", w)
    return loaded, profiles


def device_target(inv: Inventory, settings: Settings, device: Device, timeout_s: float) -> Target:
    """The SNMP target of an inventory device: address, resolved credentials and its tags.

    ``timeout_s`` is the whole budget of the job the target serves (its ``timeout_s``, the scheduler's
    backstop), capped by the shortest SNMP job's (one target may serve every job of the device); the
    per-request timeout is derived from it (``request_timeout``: budget / (retries+1) less a margin), so a
    device that never answers fails in the collector, with ``reachable=0``, before the backstop cuts the run.
    """
    from collectors.scheduler import request_timeout

    site = inv.site(device.site)
    tags = {
        m.TAG_DEVICE: device.name,
        m.TAG_SITE: site.name,
        m.TAG_REGION: site.region,
        m.TAG_ROLE: device.role.value,
    }
    base = Target(name=device.name, address=device.address, port=device.port, tags=tags)
    base = _replace(base, timeout_s=request_timeout(min(timeout_s, _job_timeout(settings)), base.retries))
    cred = inv.credentials.snmp.get(device.snmp) if device.snmp else None
    if isinstance(cred, SnmpV2c):
        return _replace(base, version="2c", community=cred.community.get_secret_value())
    if isinstance(cred, SnmpV3):
        return _replace(
            base,
            version="3",
            user=cred.user,
            auth_protocol=cred.auth_protocol,
            auth_key=cred.auth_key.get_secret_value(),
            priv_protocol=cred.priv_protocol,
            priv_key=cred.priv_key.get_secret_value(),
            context=cred.context,
        )
    return base


def _replace(t: Target, **changes: object) -> Target:
    from dataclasses import replace

    return replace(t, **changes)  # type: ignore[arg-type]


def _job_timeout(settings: Settings) -> float:
    """The shortest SNMP job budget: a target serving every job must fit each job's backstop."""
    snmp = [j.timeout_s for n, j in settings.jobs.items() if not n.startswith(SSH_JOB_PREFIX)]
    return min(snmp, default=10.0)


# --- check --------------------------------------------------------------------------------------------


def check(inventory: Path, config_dir: Path, out: TextIO) -> int:
    """``netqos check``: load everything as ``run`` would (device profiles and job names checked against the
    profiles of the built-in set and ``config/profiles/``) and say what was found."""
    profiles = load_profiles(_profile_dirs(config_dir))
    ssh_jobs = {j for jobs in PLATFORM_JOBS.values() for j in jobs}
    loaded = load_with_profiles(inventory, config_dir, os.environ, profiles, ssh_jobs)
    for line in describe(loaded):  # warnings included
        print(line, file=out)
    print(f"profiles: {len(profiles.profiles)} ({', '.join(sorted(profiles.profiles))})", file=out)
    print("ok", file=out)
    return 0


# --- poll ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Polled:
    target: Target
    profile: str


def _adhoc_target(args: argparse.Namespace) -> Target:
    """The Target of ``--target`` (``HOST``, ``HOST:PORT``, ``[IPv6]:PORT`` or a bare IPv6 address) with its
    credentials (secrets already read from ``--X-file``/``--X-env`` by the CLI); UsageError when wrong."""
    import ipaddress

    from config.models import check_address, check_v3_key

    text = str(args.target).strip()
    if text.startswith("["):  # [IPv6]:PORT
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise UsageError(f"--target {text!r}: write an IPv6 address as [ADDRESS]:PORT")
        port_s = rest[1:] if rest else "161"
    elif text.count(":") > 1:  # a bare IPv6 address: no port
        host, port_s = text, "161"
    else:
        host, _, port_s = text.partition(":")
        port_s = port_s if _ else "161"
    try:
        check_address(host)
    except ValueError as exc:
        raise UsageError(f"--target {text!r}: {exc}") from None
    if not port_s.isdigit() or not 1 <= int(port_s) <= 65535:
        raise UsageError(f"--target {text!r}: the port must be a number from 1 to 65535, got {port_s!r}")
    port = int(port_s)
    if not args.timeout > 0:
        raise UsageError(f"--timeout must be > 0, got {args.timeout}")
    v6 = ":" in host and ipaddress.ip_address(host).version == 6
    shown = f"[{host}]" if v6 else host
    name = host if port == 161 else f"{shown}:{port}"
    tags = {m.TAG_DEVICE: name}
    if args.v3_user:
        if not args.auth_key or not args.priv_key:
            raise UsageError(
                "SNMPv3 (--v3-user) needs an authentication and a privacy key (authPriv): --auth-key[-file|-env] "
                "and --priv-key[-file|-env]"
            )
        for option, key in (("--auth-key", args.auth_key), ("--priv-key", args.priv_key)):
            try:
                check_v3_key(key, option.removeprefix("--").replace("-", " "))
            except ValueError as exc:
                raise UsageError(f"{option}: {exc}") from None
        return Target(
            name=name, address=host, port=port, version="3", user=args.v3_user,
            auth_protocol=args.auth_protocol.upper(), auth_key=args.auth_key,
            priv_protocol=args.priv_protocol.upper(), priv_key=args.priv_key, context=args.context,
            timeout_s=args.timeout, retries=args.retries, tags=tags,
        )  # fmt: skip
    if not args.community:
        raise UsageError(
            "--target needs --community[-file|-env] (SNMPv2c) or --v3-user with --auth-key/--priv-key (SNMPv3)"
        )
    return Target(
        name=name, address=host, port=port, version="2c", community=args.community,
        timeout_s=args.timeout, retries=args.retries, tags=tags,
    )  # fmt: skip


def _selected(
    args: argparse.Namespace, profiles: ProfileSet
) -> tuple[list[_Polled], list[str], Settings | None]:
    """The devices to poll (with their configured profile) and the jobs (each one some profile runs)."""
    from collectors.ssh.collect import PLATFORM_JOBS
    from config.loader import load_with_profiles

    jobs: list[str] = list(dict.fromkeys(args.job)) or [SYSTEM_JOB, INTERFACES_JOB]
    ssh_jobs = {j for js in PLATFORM_JOBS.values() for j in js}
    for job in jobs:
        if job in ssh_jobs:
            known = ", ".join(sorted(profiles.jobs))
            raise UsageError(f"--job {job}: an SSH job; netqos poll runs the SNMP jobs ({known})")
        if job not in profiles.jobs:
            raise UsageError(f"--job {job}: unknown job (known: {', '.join(sorted(profiles.jobs))})")
    if args.target:
        if args.device:
            raise UsageError("give either --target (a device not in the inventory) or --device, not both")
        return [_Polled(_adhoc_target(args), args.profile)], jobs, None
    loaded = load_with_profiles(args.inventory, args.config, os.environ, profiles, ssh_jobs)
    for w in loaded.warnings:
        log.warning("%s", w)
    inv = loaded.inventory
    names = set(args.device)
    unknown = names - {d.name for d in inv.devices}
    if unknown:
        raise UsageError(f"unknown device(s) {', '.join(sorted(unknown))} in {args.inventory}")
    no_snmp = sorted(d.name for d in inv.devices if d.name in names and d.snmp is None)
    if no_snmp:
        raise UsageError(
            f"device(s) {', '.join(no_snmp)} have no SNMP credentials in {args.inventory} (set 'snmp:' to a "
            "credential set of credentials.snmp)"
        )
    timeout = _job_timeout(loaded.settings)
    polled = [
        _Polled(device_target(inv, loaded.settings, d, timeout), d.profile)
        for d in inv.devices
        if d.enabled and d.snmp is not None and (not names or d.name in names)
    ]
    return polled, jobs, loaded.settings


def sample_json(s: Sample) -> str:
    t = s.time.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return json.dumps(
        {"measurement": s.measurement, "tags": dict(s.tags), "fields": dict(s.fields), "time": t},
        ensure_ascii=False,
    )


def format_sample(s: Sample, fmt: str) -> str | None:
    return sample_json(s) if fmt == "json" else encode(s)


async def poll(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``netqos poll --once``: poll the selected devices ``--count`` times and print every sample."""
    if args.count < 1:
        raise UsageError("--count must be at least 1")
    profiles = load_profiles(_profile_dirs(args.config))  # built-in + config/profiles/, --target too
    polled, jobs, _settings = _selected(args, profiles)
    if args.profile != AUTO and args.target and args.profile not in profiles:
        raise UsageError(f"unknown profile {args.profile!r} (known: {', '.join(sorted(profiles.profiles))})")
    failed = 0
    async with PysnmpEngine() as engine:
        # consecutive polls of one command never miss one in between: no gap limit beyond a slow poll
        tracker = RateTracker(Limits(interval_s=max(args.interval, 1.0), gap_factor=1000.0))
        collector = SnmpCollector(profiles, engine.client, tracker, utc_now)
        resolver = ProfileResolver(profiles, engine.client)

        async def one(p: _Polled, job: str) -> PollResult:
            profile = await resolver.resolve(p.target, p.profile)
            return await collector.collect(p.target, profile, job)

        next_start = time.monotonic()
        for i in range(args.count):
            if i:  # polls start every --interval seconds (start to start), as the scheduler's do
                next_start += args.interval
                await asyncio.sleep(max(0.0, next_start - time.monotonic()))
            results = await asyncio.gather(*(one(p, job) for p in polled for job in jobs))
            for r in results:
                for s in r.samples:
                    line = format_sample(s, args.format)
                    if line is not None:
                        print(line, file=out)
                if not r.ok:
                    failed += 1
                    print(f"netqos: device={r.device} job={r.job} failed: {r.error}", file=err)
            out.flush()
    return 1 if failed else 0


# --- run ----------------------------------------------------------------------------------------------


def poll_jobs(loaded: Loaded) -> list[PollJob]:
    """Every enabled device × every configured job."""
    inv, settings = loaded.inventory, loaded.settings
    jobs: list[PollJob] = []
    for d in inv.devices:
        if not d.enabled or d.snmp is None:
            continue
        site = inv.site(d.site)
        tags = {m.TAG_SITE: site.name, m.TAG_REGION: site.region, m.TAG_ROLE: d.role.value}
        for name, job in settings.jobs.items():
            if not name.startswith(SSH_JOB_PREFIX):
                jobs.append(PollJob(d.name, name, job.interval_s, job.timeout_s, tags))
    return jobs


SSH_JOB_PREFIX = "ssh_"
SSH_PLATFORMS = {"huawei_smartax": "huawei_smartax", "cisco_iosxe": "cisco_ios", "cisco_iosxr": "cisco_xr"}
"""netmiko device_type by profile, for devices whose inventory entry does not name ``ssh_platform``."""


def ssh_targets(inv: Inventory, settings: Settings) -> dict[str, SshTarget]:
    """The SSH target of every enabled device with SSH credentials (secrets resolved, host keys checked
    against ``settings.ssh.known_hosts`` unless the device opts out)."""
    out: dict[str, SshTarget] = {}
    for d in inv.devices:
        if not d.enabled or d.ssh is None:
            continue
        platform = d.ssh_platform or SSH_PLATFORMS.get(d.profile)
        if platform is None:
            log.warning("device=%s: SSH credentials but no ssh_platform and profile %s; no SSH jobs", d.name, d.profile)
            continue
        cred = inv.credentials.ssh[d.ssh]
        site = inv.site(d.site)
        out[d.name] = SshTarget(
            name=d.name, address=d.address, platform=platform, username=cred.username, password=cred.password,
            key_file=cred.key_file, port=d.ssh_port, known_hosts=settings.ssh.known_hosts,
            host_key_check=d.ssh_host_key_check, conn_timeout_s=settings.ssh.conn_timeout_s,
            command_timeout_s=settings.ssh.command_timeout_s, pons=d.pon_ports,
            tags={m.TAG_DEVICE: d.name, m.TAG_SITE: site.name, m.TAG_REGION: site.region, m.TAG_ROLE: d.role.value},
        )
    return out


def trap_receiver(
    config_dir: Path, inv: Inventory, ifnames: IfNameCache, on_event: EventHandler, sink: Sink
) -> TrapReceiver | None:
    """The trap receiver of ``config/traps.yaml`` (None when the file is absent)."""
    path = config_dir / TRAPS_FILE
    if not path.exists():
        return None
    traps = load_traps(path, os.environ)
    devices = devices_from_inventory(inv)
    decoder = TrapDecoder(traps.mappings, ifnames, frozenset(d.name for d in devices))
    engine_ids = {d.name: d.snmp_engine_id for d in inv.devices if d.snmp_engine_id}
    return TrapReceiver(traps.receiver, decoder, devices, on_event, sink, utc_now, engine_ids=engine_ids)


ALARM_TICK_S = 5.0


def alarm_service(loaded: Loaded, config_dir: Path, sink: Sink, store: SqlTicketStore) -> AlarmService:
    """Detection, the engine and correlation from ``config/``, carrying out their actions on ``store``."""
    inv, settings = loaded.inventory, loaded.settings
    path = config_dir / ALARMS_FILE
    cfg = (
        load_alarms(path, {d.name for d in inv.devices}, {s.name for s in inv.sites}) if path.exists()
        else AlarmsConfig()  # no alarms.yaml: the documented defaults
    )
    traps_path = config_dir / TRAPS_FILE
    if traps_path.exists():  # vendor kinds with a clearing trap stand until it, not the 1 h auto-clear
        cfg = with_trap_clears(cfg, load_traps(traps_path, os.environ).mappings)
    topology = Topology.from_inventory(inv)
    # an ``auto`` grouping window covers one poll of every job correlation needs + the longest hold-down
    engine = EngineSettings.from_config(cfg, jobs=settings.jobs)
    return AlarmService(
        inventory=inv, rules=cfg.rules, settings=engine, topology=topology,
        calendar=MaintenanceCalendar.build(cfg.maintenance, topology),
        tickets=store, state_store=StateStore(Path(settings.tickets.alarm_state_file)), sink=sink, clock=utc_now,
    )  # fmt: skip


def dispatcher(loaded: Loaded, config_dir: Path, sink: Sink, store: SqlTicketStore) -> Dispatcher:
    """The audit trail's readers: notices on the channels of ``config/notify.yaml`` (none: no notices),
    every ticket change as a Grafana point on ``sink``, and the repair-limit escalation check."""
    notify = load_notify(config_dir / NOTIFY_FILE, os.environ)
    halt = threading.Event()

    def sleep(seconds: float) -> None:  # a webhook's retry wait, cut short by the stop
        halt.wait(seconds)

    notifier = build_notifier(notify, sleep) if (notify.webhooks or notify.email) else None
    site_class = {s.name: s.site_class.value for s in loaded.inventory.sites}
    return Dispatcher(
        store, clock=utc_now, sink=sink, notifier=notifier, escalations=store, site_class=site_class.get,
        notify_settings=notify, halt=halt,
    )  # fmt: skip


async def _report_progress(scheduler: PollScheduler, sink: InfluxSink, every_s: float, out: TextIO) -> None:
    t0 = time.monotonic()
    while True:
        await asyncio.sleep(every_s)
        st, ss = scheduler.stats, sink.stats()
        print(
            f"[{time.monotonic() - t0:5.0f} s] polls ok={st.ok} failed={st.failed} skipped={st.skipped} "
            f"(device down {st.skipped_down}), devices down={st.down}; "
            f"points written={ss.points_written} waiting={ss.points_accepted - ss.points_written - ss.points_rejected}"
            f"{'' if ss.server_up else ' (InfluxDB unreachable: spooling)'}",
            file=out, flush=True,
        )


async def run(
    inventory: Path, config_dir: Path, duration: float | None, progress_s: float = 0.0, out: TextIO = sys.stdout
) -> int:
    """``netqos run``: the scheduler until SIGINT/SIGTERM (or ``duration``), then a clean stop."""
    loaded, profiles = load_all(inventory, config_dir)
    inv, settings = loaded.inventory, loaded.settings
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    store = open_store(settings.tickets.database_url)  # first: a bad database URL stops here, nothing open
    sink = await InfluxSink.open(settings.influxdb, sink=settings.sink, spool=settings.spool)
    iface_interval = settings.jobs.get(INTERFACES_JOB, settings.jobs[next(iter(settings.jobs))]).interval_s
    t0 = time.monotonic()
    try:
        async with PysnmpEngine() as engine:
            tracker = RateTracker(Limits(interval_s=iface_interval))
            budgets = {n: j.timeout_s for n, j in settings.jobs.items() if not n.startswith(SSH_JOB_PREFIX)}
            collector = SnmpCollector(profiles, engine.client, tracker, utc_now, budgets=budgets)
            resolver = ProfileResolver(profiles, engine.client)
            targets = {
                d.name: (device_target(inv, settings, d, settings.jobs[SYSTEM_JOB].timeout_s
                                       if SYSTEM_JOB in settings.jobs else 10.0), d.profile)
                for d in inv.devices
            }

            ssh_by_name = ssh_targets(inv, settings)
            pool = SessionPool(NetmikoSession.open, workers=workers_for(len(ssh_by_name)))
            ssh_interval = settings.jobs[JOB_INTERFACES].interval_s if JOB_INTERFACES in settings.jobs else 60.0
            ssh = SshCollector(ssh_by_name, pool, RateTracker(Limits(interval_s=ssh_interval)), utc_now)

            async def run_one(device: str, job: str) -> PollResult:
                if job.startswith(SSH_JOB_PREFIX):
                    return await ssh.collect(device, job)
                target, configured = targets[device]
                profile = await resolver.resolve(target, configured)
                return await collector.collect(target, profile, job)

            ifnames = IfNameCache.open(IfNameCache.default_path(settings.tickets.alarm_state_file))
            alarms = alarm_service(loaded, config_dir, sink, store)
            dispatch = dispatcher(loaded, config_dir, sink, store)

            async def on_event(event: DeviceEvent) -> None:
                await alarms.on_event(event)

            async def on_result(result: PollResult) -> None:
                ifnames.observe(result.samples)
                await alarms.on_result(result)

            receiver = trap_receiver(config_dir, inv, ifnames, on_event, sink)
            ssh_jobs = {
                n: (j.interval_s, j.timeout_s) for n, j in settings.jobs.items() if n.startswith(SSH_JOB_PREFIX)
            }
            jobs = poll_jobs(loaded) + ssh_poll_jobs(ssh_by_name.values(), ssh_jobs)
            scheduler = PollScheduler(
                jobs, run_one, sink, max_concurrency=settings.scheduler.max_concurrency, on_result=on_result
            )
            log.warning("netqos run: %d devices, %d jobs, writing to %s", len(targets), len(jobs), sink.name)
            if receiver is not None:
                await receiver.start()
                log.warning("netqos run: receiving traps on %s", receiver.address)
            scheduler.start()
            stop_ticks = asyncio.Event()
            ticker = asyncio.create_task(alarms.run_ticks(ALARM_TICK_S, stop_ticks))
            stop_dispatch = asyncio.Event()
            dispatching = asyncio.create_task(dispatch.run(stop_dispatch))  # not under the alarm lock
            reporter = (
                asyncio.create_task(_report_progress(scheduler, sink, progress_s, out)) if progress_s > 0 else None
            )
            if duration is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), duration)
            else:
                await stop.wait()
            if reporter is not None:
                reporter.cancel()
            await scheduler.stop()
            ifnames.flush()  # names learned in the last seconds survive the restart
            if receiver is not None:
                await receiver.stop()
            stop_ticks.set()
            await ticker  # a tick in flight finishes its writes before the sink closes
            stop_dispatch.set()  # after the last tick: its ticket changes are dispatched too
            await dispatching  # a notice in flight is sent (or left for the next start), points written
            alarm_stats, dispatch_stats = alarms.stats, dispatch.stats
            await pool.close()
            stats = scheduler.stats
    finally:
        await sink.close()
        store.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    ss = sink.stats()
    print(
        f"netqos run: {time.monotonic() - t0:.0f} s, {len(targets)} devices, polls ok={stats.ok} "
        f"failed={stats.failed} skipped={stats.skipped} (device down {stats.skipped_down}); "
        f"points accepted={ss.points_accepted} "
        f"written={ss.points_written} rejected={ss.points_rejected} dropped={ss.points_dropped} "
        f"(spool holds {ss.spool_bytes} bytes); alarms: {alarm_stats.alarm_changes} changes, "
        f"tickets opened={alarm_stats.tickets_opened} restored={alarm_stats.tickets_restored} "
        f"merged={alarm_stats.tickets_merged}; "
        f"notices sent={dispatch_stats.notices_sent} failed={dispatch_stats.notices_failed} "
        f"escalations={dispatch_stats.escalations}",
        file=out,
    )
    return 0


# --- tickets, tokens, the ticket API ---------------------------------------------------------------------


def tickets(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``netqos tickets …``, ``netqos tokens …`` and ``netqos api`` (the ticket API + technician page)."""
    from datetime import timedelta

    from alarms.api.app import create_app
    from alarms.api.cli import serve, tickets_command, tokens_command
    from alarms.api.context import deadline_by_site_class, sites_from_inventory
    from alarms.api.tokens import FileTokenStore

    if args.command == "tokens":
        return tokens_command(args, FileTokenStore(args.tokens_file), utc_now, out, err)
    loaded, _ = load_all(args.inventory, args.config)
    store = open_store(loaded.settings.tickets.database_url)
    try:
        if args.command == "tickets":
            teams = [t.name for t in loaded.inventory.teams]
            return tickets_command(args, store, utc_now, out, err, teams)
        limits = load_notify(args.config / NOTIFY_FILE, os.environ).escalation.limits
        sites = sites_from_inventory(loaded.inventory)
        deadline = deadline_by_site_class(
            sites, {"urban": timedelta(hours=limits.urban_h), "rural": timedelta(hours=limits.rural_h)}
        )
        app = create_app(
            store, FileTokenStore(args.tokens_file), utc_now, loaded.settings.language, sites=sites,
            repair_deadline=deadline, timezone=loaded.settings.timezone,
            teams=[t.name for t in loaded.inventory.teams],
        )
        return serve(app, args.host, args.port)
    finally:
        store.close()


# --- lab ----------------------------------------------------------------------------------------------


LAB_STATE_DIR = Path("var/lab")


def lab(args: argparse.Namespace, out: TextIO) -> int:
    """``netqos lab up|down|status|fault``: the simulated network of the inventory's lab devices."""
    from lab.runner import run_command

    loaded, _ = load_all(args.inventory, args.config)
    if args.lab_command == "trap":
        return lab_trap(loaded, args.config, args.device, args.kind, args.ifindex, out)
    return run_command(
        loaded.inventory, LAB_STATE_DIR, args.lab_command, out,
        device=getattr(args, "device", None), state=getattr(args, "state", None),
    )


def lab_trap(loaded: Loaded, config_dir: Path, device: str, kind: str, ifindex: int, out: TextIO) -> int:
    """``netqos lab trap DEVICE KIND``: the device sends a real SNMPv3 trap (net-snmp ``snmptrap``) to the
    receiver of ``config/traps.yaml``, with its own engine ID so the receiver knows which device it is."""
    from lab.traps import V3Auth, send_trap

    try:
        dev = loaded.inventory.device(device)
    except KeyError:
        raise UsageError(f"unknown device {device!r}") from None
    traps = load_traps(config_dir / TRAPS_FILE, os.environ)
    rx = traps.receiver
    if not rx.v3_users or not dev.snmp_engine_id:
        raise UsageError(f"{device} needs snmp_engine_id in the inventory and traps.yaml a v3 user")
    user = rx.v3_users[0]
    v3 = V3Auth(
        user.user, user.auth_key.get_secret_value(), user.priv_key.get_secret_value(),
        user.auth_protocol, user.priv_protocol, dev.snmp_engine_id.removeprefix("0x"),
    )
    send_trap(rx.address, rx.port, dev.address, kind, ifindex=ifindex, version="3", v3=v3)
    print(f"{device} sent {kind} (ifIndex {ifindex}) to {rx.address}:{rx.port}", file=out)
    return 0


__all__: Sequence[str] = ("UsageError", "check", "lab", "poll", "run")
