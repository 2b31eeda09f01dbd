"""Run the lab: one snmpsim process per device (``up``/``down``/``status``), and outages (``fault``).

State lives in ``var/lab/`` (the *state dir*):

- ``epoch``: the lab epoch (Unix seconds), written by the first ``up`` and never changed; every counter
  and sysUpTime is a function of ``now - epoch`` (see :mod:`lab.recordings`), so restarts continue;
- ``faults.json``: devices taken down with ``fault`` (they stay down across ``down``/``up``);
- ``<device>/data/public.snmprec``, ``<device>/cache/``, ``<device>/snmpsim.log``, ``<device>/snmpsim.pid``;
- the SSH OLTs (:mod:`lab.ssh`): ``ssh_host_rsa_key`` (+ ``.pub``, generated once), ``known_hosts`` (the
  file ``settings.ssh.known_hosts`` names), ``<device>/onus.json``, ``<device>/fakenos.pid`` and ``.log``.

The lab OLTs carry generated ONUs (``lab.network.LAB_OLTS``): one table per device, laid over its recording
and served by its SSH OLT too, so SNMP and SSH samples agree.

snmpsim run as root drops privileges to ``nobody``, which must reach the data and cache dirs. When the
state dir is not traversable by others, the per-device dirs go to ``/tmp/netqos-lab-<uid>/<hash>`` instead,
and ``var/lab/runtime`` records where.

A faulted device's process is sent SIGSTOP (it holds its port but never answers: a dead device), and so
is every device reachable only through faulted ones (:func:`unreachable`); SIGCONT brings them back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, TextIO

from config.models import Inventory
from lab import ssh
from lab.baseline import healthy, traffic
from lab.gen_olt import OnuPlan, onu_overlay, plan_onus, to_lab_onus
from lab.network import LAB_OLTS, LAB_RECORDINGS, LabDevice, default_recordings_dir, lab_devices, onu_plan
from lab.recordings import Record, live_recording, parse
from lab.snmpsim import SnmpsimError, SnmpsimProcess, probe_v2c

__all__ = [
    "COMMUNITY",
    "DeviceState",
    "FaultResult",
    "LabPaths",
    "default_recordings_dir",
    "down",
    "fault",
    "format_states",
    "isolated_by",
    "load_epoch",
    "run_command",
    "status",
    "unreachable",
    "up",
]

log = logging.getLogger(__name__)

COMMUNITY = "public"
"""Every lab device answers SNMPv2c community ``public`` (its data file is ``public.snmprec``)."""

Clock = Callable[[], float]


# --- topology (pure) ---------------------------------------------------------------------------------


def unreachable(inventory: Inventory, down: Iterable[str]) -> frozenset[str]:
    """Devices that are ``down`` or have no path up to a top device (one without upstream) through devices
    that are up. A device with several upstreams stays reachable while any of them is."""
    down_set = frozenset(down)
    reachable: set[str] = set()
    changed = True
    while changed:
        changed = False
        for d in inventory.devices:
            if d.name in reachable or d.name in down_set:
                continue
            if not d.upstream or any(u.device in reachable for u in d.upstream):
                reachable.add(d.name)
                changed = True
    return frozenset(d.name for d in inventory.devices if d.name not in reachable)


def isolated_by(inventory: Inventory, device: str) -> set[str]:
    """The devices reachable only through ``device`` (excluding itself and any already cut off)."""
    inventory.device(device)  # KeyError for an unknown device
    return set(unreachable(inventory, {device}) - unreachable(inventory, ()) - {device})


# --- state on disk ----------------------------------------------------------------------------------


def _traversable_by_others(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in [*path.resolve().parents, path.resolve()])


@dataclass(frozen=True, slots=True)
class LabPaths:
    """Where the lab keeps its state (``state_dir``) and the per-device dirs for snmpsim (``runtime_dir``)."""

    state_dir: Path
    runtime_dir: Path

    @classmethod
    def resolve(cls, state_dir: Path) -> LabPaths:
        """Create the state dir and choose the runtime dir (the state dir when ``nobody`` can reach it)."""
        state_dir.mkdir(parents=True, exist_ok=True)
        state_dir = state_dir.resolve()
        marker = state_dir / "runtime"
        if os.geteuid() != 0 or _traversable_by_others(state_dir):
            runtime = state_dir
        else:
            tag = hashlib.sha256(str(state_dir).encode()).hexdigest()[:10]
            runtime = Path(tempfile.gettempdir()) / f"netqos-lab-{os.getuid()}" / tag
            runtime.mkdir(parents=True, exist_ok=True)
            for p in (runtime.parent, runtime):
                p.chmod(0o755)
        if runtime != state_dir:
            marker.write_text(f"{runtime}\n")
        else:
            marker.unlink(missing_ok=True)
        return cls(state_dir, runtime)

    def device_dir(self, name: str) -> Path:
        return self.runtime_dir / name

    def data_dir(self, name: str) -> Path:
        return self.device_dir(name) / "data"

    def cache_dir(self, name: str) -> Path:
        return self.device_dir(name) / "cache"

    def log_file(self, name: str) -> Path:
        return self.device_dir(name) / "snmpsim.log"

    def pid_file(self, name: str) -> Path:
        return self.device_dir(name) / "snmpsim.pid"

    @property
    def epoch_file(self) -> Path:
        return self.state_dir / "epoch"

    @property
    def faults_file(self) -> Path:
        return self.state_dir / "faults.json"

    @property
    def variation_dir(self) -> Path:
        """Holds only snmpsim's ``numeric`` module, so snmpsim does not try (and log failing) the others."""
        return self.runtime_dir / "variation"

    def pid_files(self) -> list[Path]:
        return sorted(self.runtime_dir.glob("*/snmpsim.pid"))

    def ssh_files(self, name: str) -> ssh.SshServerFiles:
        return ssh.SshServerFiles(self.device_dir(name))

    def ssh_pid_files(self) -> list[Path]:
        return sorted(self.runtime_dir.glob("*/fakenos.pid"))

    @property
    def known_hosts(self) -> Path:
        """The default known_hosts file the lab writes its SSH OLTs' keys to (``var/lab/known_hosts``)."""
        return self.state_dir / "known_hosts"


def load_epoch(paths: LabPaths, clock: Clock = time.time) -> int:
    """The lab epoch: read from ``var/lab/epoch``, or set to now (whole seconds) on first use."""
    try:
        return int(paths.epoch_file.read_text().strip())
    except FileNotFoundError:
        epoch = int(clock())
        paths.epoch_file.write_text(f"{epoch}\n")
        log.info("lab epoch set to %d", epoch)
        return epoch


def _load_faults(paths: LabPaths) -> frozenset[str]:
    try:
        return frozenset(json.loads(paths.faults_file.read_text()))
    except FileNotFoundError:
        return frozenset()


def _save_faults(paths: LabPaths, faults: frozenset[str]) -> None:
    paths.faults_file.write_text(json.dumps(sorted(faults)) + "\n")


# --- processes (thin adapter over /proc and signals) --------------------------------------------------


def _proc_state(pid: int) -> str | None:
    """The process state letter (R, S, T...) or None when gone (a zombie counts as gone)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state = stat_line.rpartition(")")[2].split()[0]
    return None if state in ("Z", "X") else state


def _live_pid(paths: LabPaths, name: str) -> int | None:
    """The pid in the device's pid file when that process is alive and is this device's snmpsim."""
    try:
        pid = int(paths.pid_file(name).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if f"--cache-dir={paths.cache_dir(name)}".encode() not in cmdline or _proc_state(pid) is None:
        return None
    return pid


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _terminate(pid: int, timeout_s: float = 5.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGCONT):  # a stopped process handles SIGTERM once continued
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    deadline = time.monotonic() + timeout_s
    while _proc_state(pid) is not None:
        _reap(pid)
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout_s
        time.sleep(0.05)
    _reap(pid)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


# --- lab operations ---------------------------------------------------------------------------------


Process = Literal["running", "stopped", "absent"]


@dataclass(frozen=True, slots=True)
class DeviceState:
    """One lab device as ``up``/``status``/``fault`` see it."""

    device: LabDevice
    pid: int | None
    process: Process
    """``stopped``: SIGSTOPped by a fault."""
    faulted: bool
    """Silenced by the fault state (taken down, or reachable only through a device that is)."""
    answers: bool | None = None
    """Whether it answered a v2c GET (None: not probed)."""
    note: str = ""
    ssh_pid: int | None = None
    ssh_process: Process | None = None
    """Its SSH OLT's process (None: the device is not played over SSH)."""
    ssh_answers: bool | None = None
    """Whether its SSH OLT greeted with a banner (None: not probed, or no SSH)."""


@dataclass(frozen=True, slots=True)
class FaultResult:
    """What ``fault`` did: the devices now taken down, and the lab devices it silenced or resumed."""

    down: frozenset[str]
    silenced: frozenset[str]
    resumed: frozenset[str]
    states: tuple[DeviceState, ...]


def _process(pid: int | None) -> Process:
    return "absent" if pid is None else "stopped" if _proc_state(pid) == "T" else "running"


def _state(paths: LabPaths, device: LabDevice, silent: frozenset[str]) -> DeviceState:
    pid = _live_pid(paths, device.name)
    state = DeviceState(device, pid, _process(pid), device.name in silent)
    if device.ssh_port is None:
        return state
    ssh_pid = ssh.live_pid(paths.ssh_files(device.name))
    return replace(state, ssh_pid=ssh_pid, ssh_process=_process(ssh_pid))


def _probe_all(states: Sequence[DeviceState], timeout_s: float) -> list[DeviceState]:
    def probe(s: DeviceState) -> DeviceState:
        ok = s.pid is not None and probe_v2c(s.device.address, s.device.port, COMMUNITY, timeout_s)
        if s.device.ssh_port is None:
            return replace(s, answers=ok)
        ssh_ok = s.ssh_pid is not None and ssh.answers(s.device.address, s.device.ssh_port, timeout_s)
        return replace(s, answers=ok, ssh_answers=ssh_ok)

    if not states:
        return []
    with ThreadPoolExecutor(max_workers=len(states)) as pool:
        return list(pool.map(probe, states))


def _apply_faults(
    paths: LabPaths, devices: Sequence[LabDevice], silent: frozenset[str], settle_s: float = 2.0
) -> None:
    """SIGSTOP the running devices (snmpsim and SSH OLT) that must be silent, SIGCONT the others; returns once
    they are (a multi-threaded process stops thread by thread), or after ``settle_s``."""
    signalled: dict[int, bool] = {}  # pid -> should be stopped
    for d in devices:
        for what, pid in (("SNMP", _live_pid(paths, d.name)), ("SSH", ssh.live_pid(paths.ssh_files(d.name)))):
            if pid is None:
                continue
            if d.name in silent and _proc_state(pid) != "T":
                _signal(pid, signal.SIGSTOP)
                signalled[pid] = True
                log.info("lab device %s: %s pid %d silenced (fault)", d.name, what, pid)
            elif d.name not in silent and _proc_state(pid) == "T":
                _signal(pid, signal.SIGCONT)
                signalled[pid] = False
                log.info("lab device %s: %s pid %d resumed", d.name, what, pid)
    deadline = time.monotonic() + settle_s
    while signalled and time.monotonic() < deadline:
        states = {p: _proc_state(p) for p in signalled}
        signalled = {p: stop for p, stop in signalled.items() if states[p] is not None and (states[p] == "T") != stop}
        if signalled:
            time.sleep(0.02)


def _install_variation(paths: LabPaths) -> None:
    import snmpsim

    source = Path(snmpsim.__file__).parent / "variation" / "numeric.py"
    paths.variation_dir.mkdir(parents=True, exist_ok=True)
    paths.variation_dir.chmod(0o755)
    target = paths.variation_dir / "numeric.py"
    shutil.copyfile(source, target)
    target.chmod(0o644)


def _onu_records(plan: OnuPlan | None) -> list[Record]:
    """The generated ONU tables laid over a lab OLT's recording (none for other devices)."""
    if plan is None:
        return []
    return [Record(*r) for r in onu_overlay(plan.vendor, plan_onus(plan))]


def _write_data(paths: LabPaths, device: LabDevice, recordings_dir: Path, epoch: int, plan: OnuPlan | None) -> None:
    source = recordings_dir / f"{device.recording}.snmprec"
    raw = source.read_text(encoding="iso-8859-1")
    records = parse(raw)
    extra = [  # ONU tables win where they set a port too
        *healthy(records, device.watched),
        *traffic(records, device.watched, device.name),
        *_onu_records(plan),
    ]
    text = live_recording(raw, device.name, epoch, extra=extra)
    data_dir = paths.data_dir(device.name)
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o755)
    paths.device_dir(device.name).chmod(0o755)
    target = data_dir / f"{COMMUNITY}.snmprec"
    if not target.exists() or target.read_text(encoding="iso-8859-1") != text:
        target.write_text(text, encoding="iso-8859-1")
    target.chmod(0o644)


def _start_ssh(
    inventory: Inventory, paths: LabPaths, devices: Sequence[LabDevice], olts: Sequence[OnuPlan],
    known_hosts: Path, python: Path,
) -> tuple[list[LabDevice], dict[str, str]]:
    """Write the lab host key's entry for every SSH lab device to ``known_hosts`` and start the SSH OLTs
    that are not running. Returns (devices started, notes of those that could not be)."""
    served = [d for d in devices if d.ssh_port is not None]
    if not served:
        return [], {}
    host_key, pub = ssh.ensure_host_key(paths.state_dir)
    ssh.update_known_hosts(known_hosts, {(d.address, d.ssh_port): pub for d in served if d.ssh_port is not None})
    started: list[LabDevice] = []
    notes: dict[str, str] = {}
    for d in served:
        assert d.ssh_port is not None
        files = paths.ssh_files(d.name)
        if ssh.live_pid(files) is not None:
            log.info("lab device %s: SSH OLT already running", d.name)
            continue
        entry = inventory.device(d.name)
        cred = inventory.credentials.ssh.get(entry.ssh or "")
        if cred is None or cred.password is None:
            notes[d.name] = f"SSH OLT not started: credential set {entry.ssh!r} has no password"
            log.error("lab device %s: %s", d.name, notes[d.name])
            continue
        plan = onu_plan(d.name, olts)
        onus = to_lab_onus(plan_onus(plan)) if plan is not None else ()
        pons = tuple(dict.fromkeys([*(p for p, _ in plan.pons), *entry.pon_ports] if plan else entry.pon_ports))
        try:
            pid = ssh.start(files, d.ssh_port, cred.username, cred.password.get_secret_value(), host_key, onus,
                            pons, python)
        except OSError as exc:
            notes[d.name] = f"SSH OLT not started: {exc}"
            log.error("lab device %s: %s", d.name, notes[d.name])
            continue
        log.info("lab device %s: SSH OLT pid %d on %s:%d (%d ONUs)", d.name, pid, d.address, d.ssh_port, len(onus))
        started.append(d)
    return started, notes


def up(
    inventory: Inventory,
    state_dir: Path,
    recordings_dir: Path | None = None,
    *,
    table: Sequence[tuple[str, str]] = LAB_RECORDINGS,
    ports: Mapping[str, int] | None = None,
    ssh_ports: Mapping[str, int] | None = None,
    olts: Sequence[OnuPlan] = LAB_OLTS,
    known_hosts: Path | None = None,
    fakenos_python: Path = ssh.FAKENOS_PYTHON,
    clock: Clock = time.time,
    ready_timeout_s: float = 90.0,
    probe_timeout_s: float = 0.5,
) -> list[DeviceState]:
    """Start every lab device that is not running (in parallel; a running one is left alone): its snmpsim
    (the recording plus the device's generated ONUs, ``olts``) and, for a device played over SSH, its
    fakenos SSH OLT (the same ONUs; its host key's entry goes to ``known_hosts``, default
    ``<state_dir>/known_hosts``). Then re-apply the fault state. Returns each device's state (probed); a
    device that failed to start is ``absent`` with the reason in ``note``."""
    devices = lab_devices(inventory, table, ports, ssh_ports)
    recordings = recordings_dir or default_recordings_dir()
    paths = LabPaths.resolve(state_dir)
    epoch = load_epoch(paths, clock)
    _install_variation(paths)
    started: dict[str, SnmpsimProcess] = {}
    notes: dict[str, str] = {}
    for d in devices:
        if _live_pid(paths, d.name) is not None:
            log.info("lab device %s already running", d.name)
            continue
        try:
            _write_data(paths, d, recordings, epoch, onu_plan(d.name, olts))
            proc = SnmpsimProcess.start(
                paths.data_dir(d.name),
                [(d.address, d.port)],
                paths.cache_dir(d.name),
                paths.log_file(d.name),
                variation_modules_dir=paths.variation_dir,
            )
        except (OSError, ValueError, SnmpsimError) as exc:
            notes[d.name] = f"not started: {exc}"
            log.error("lab device %s: %s", d.name, notes[d.name])
            continue
        paths.pid_file(d.name).write_text(f"{proc.pid}\n")
        started[d.name] = proc

    def wait(item: tuple[str, SnmpsimProcess]) -> tuple[str, str]:
        name, proc = item
        try:
            proc.wait_ready(COMMUNITY, timeout_s=ready_timeout_s)
        except SnmpsimError as exc:
            proc.stop()
            paths.pid_file(name).unlink(missing_ok=True)
            return name, f"did not start: {exc}"
        return name, ""

    ssh_started, ssh_notes = _start_ssh(
        inventory, paths, devices, olts, known_hosts or paths.known_hosts, fakenos_python
    )

    def wait_ssh(d: LabDevice) -> tuple[str, str]:
        assert d.ssh_port is not None
        files = paths.ssh_files(d.name)
        note = ssh.wait_ready(files, d.address, d.ssh_port, ready_timeout_s)
        if note:
            pid = ssh.live_pid(files)
            if pid is not None:
                _terminate(pid)
            files.pid_file.unlink(missing_ok=True)
        return d.name, note

    if started or ssh_started:
        with ThreadPoolExecutor(max_workers=len(started) + len(ssh_started)) as pool:
            waits = [*pool.map(wait, started.items()), *pool.map(wait_ssh, ssh_started)]
        for name, note in waits:
            if note:
                notes[name] = f"{notes[name]}; {note}" if name in notes else note
                log.error("lab device %s: %s", name, note)
    for name, note in ssh_notes.items():
        notes[name] = f"{notes[name]}; {note}" if name in notes else note
    silent = unreachable(inventory, _load_faults(paths))
    _apply_faults(paths, devices, silent)
    states = [replace(_state(paths, d, silent), note=notes.get(d.name, "")) for d in devices]
    return _probe_all(states, probe_timeout_s)


def down(state_dir: Path) -> list[tuple[str, int]]:
    """Stop every lab device that has a pid file (snmpsim and SSH OLT, stopped ones too) and remove the pid
    files. Returns (device, pid) of the processes stopped. The fault state is kept."""
    paths = LabPaths.resolve(state_dir)
    found: list[tuple[str, int, Path]] = []
    for pid_file in paths.pid_files():
        pid = _live_pid(paths, pid_file.parent.name)
        found.append((pid_file.parent.name, -1 if pid is None else pid, pid_file))
    for pid_file in paths.ssh_pid_files():
        pid = ssh.live_pid(paths.ssh_files(pid_file.parent.name))
        found.append((pid_file.parent.name, -1 if pid is None else pid, pid_file))
    live = [(name, pid) for name, pid, _ in found if pid >= 0]
    if live:
        with ThreadPoolExecutor(max_workers=len(live)) as pool:
            list(pool.map(lambda item: _terminate(item[1]), live))
    for name, pid in live:
        log.info("lab device %s (pid %d) stopped", name, pid)
    for _, _, pid_file in found:
        pid_file.unlink(missing_ok=True)
    return live


def status(
    inventory: Inventory,
    state_dir: Path,
    *,
    table: Sequence[tuple[str, str]] = LAB_RECORDINGS,
    ports: Mapping[str, int] | None = None,
    ssh_ports: Mapping[str, int] | None = None,
    probe_timeout_s: float = 0.5,
) -> list[DeviceState]:
    """Each lab device with its pid, process state, fault state and whether it answers (SNMP, and SSH for a
    device played over SSH)."""
    devices = lab_devices(inventory, table, ports, ssh_ports)
    paths = LabPaths.resolve(state_dir)
    silent = unreachable(inventory, _load_faults(paths))
    return _probe_all([_state(paths, d, silent) for d in devices], probe_timeout_s)


def fault(
    inventory: Inventory,
    state_dir: Path,
    device: str,
    state: Literal["down", "up"],
    *,
    table: Sequence[tuple[str, str]] = LAB_RECORDINGS,
    ports: Mapping[str, int] | None = None,
    ssh_ports: Mapping[str, int] | None = None,
) -> FaultResult:
    """Take ``device`` down (SIGSTOP it and every device reachable only through it, their SSH OLTs too) or
    bring it back up (SIGCONT whatever no other fault keeps down). Persisted in ``var/lab/faults.json``."""
    inventory.device(device)  # KeyError for an unknown device
    devices = lab_devices(inventory, table, ports, ssh_ports)
    paths = LabPaths.resolve(state_dir)
    before = _load_faults(paths)
    after = before | {device} if state == "down" else before - {device}
    _save_faults(paths, after)
    lab_names = {d.name for d in devices}
    was, now = unreachable(inventory, before), unreachable(inventory, after)
    _apply_faults(paths, devices, now)
    log.info("lab fault %s %s: down=%s silent=%s", device, state, sorted(after), sorted(now & lab_names))
    return FaultResult(
        down=after,
        silenced=frozenset((now - was) & lab_names),
        resumed=frozenset((was - now) & lab_names),
        states=tuple(_state(paths, d, now) for d in devices),
    )


def format_states(states: Iterable[DeviceState]) -> str:
    """A text table of device states for the CLI."""
    rows = [("DEVICE", "RECORDING", "ENDPOINT", "PID", "PROCESS", "FAULT", "ANSWERS", "SSH", "NOTE")]
    for s in states:
        answers = "-" if s.answers is None else "yes" if s.answers else "no"
        ssh_col = "-"
        if s.device.ssh_port is not None:
            ssh_answers = "-" if s.ssh_answers is None else "yes" if s.ssh_answers else "no"
            ssh_col = f"tcp/{s.device.ssh_port}:pid={s.ssh_pid or '-'}:{s.ssh_process}:answers={ssh_answers}"
        rows.append(
            (
                s.device.name,
                s.device.recording,
                f"{s.device.address}:{s.device.port}",
                str(s.pid or "-"),
                s.process,
                "down" if s.faulted else "-",
                answers,
                ssh_col,
                s.note,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return (
        "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)).rstrip()
            + (f"  {r[-1]}" if r[-1] else "")
            for r in rows
        )
        + "\n"
    )


def run_command(
    inventory: Inventory,
    state_dir: Path,
    command: Literal["up", "down", "status", "fault"],
    out: TextIO,
    *,
    device: str | None = None,
    state: Literal["down", "up"] | None = None,
    recordings_dir: Path | None = None,
) -> int:
    """``netqos lab COMMAND``: run it and print the result to ``out``. Returns the exit status: 1 when a
    device failed to start (``up``) or a device that should answer does not, over SNMP or SSH (``status``)."""
    if command == "up":
        t0 = time.monotonic()
        states = up(inventory, state_dir, recordings_dir)
        out.write(format_states(states))
        out.write(f"lab up in {time.monotonic() - t0:.1f} s (state in {state_dir})\n")
        return 1 if any(s.note for s in states) else 0
    if command == "down":
        stopped = down(state_dir)
        out.write("".join(f"stopped {name} (pid {pid})\n" for name, pid in stopped) or "no lab device running\n")
        return 0
    if command == "status":
        states = status(inventory, state_dir)
        out.write(format_states(states))
        silent_ok = all(s.faulted or (s.answers and s.ssh_answers is not False) for s in states)
        return 0 if silent_ok else 1
    if device is None or state is None:
        raise ValueError("fault needs a device and a state (down or up)")
    try:
        result = fault(inventory, state_dir, device, state)
    except KeyError:
        out.write(f"no device {device!r} in the inventory\n")
        return 2
    out.write(format_states(result.states))
    out.write(
        f"fault {device} {state}: silenced {', '.join(sorted(result.silenced)) or 'none'}; "
        f"resumed {', '.join(sorted(result.resumed)) or 'none'}; down now: {', '.join(sorted(result.down)) or 'none'}\n"
    )
    return 0
