"""Run the lab: one snmpsim process per device (``up``/``down``/``status``), and outages (``fault``).

State lives in ``var/lab/`` (the *state dir*):

- ``epoch``: the lab epoch (Unix seconds), written by the first ``up`` and never changed; every counter
  and sysUpTime is a function of ``now - epoch`` (see :mod:`lab.recordings`), so restarts continue;
- ``faults.json``: devices taken down with ``fault`` (they stay down across ``down``/``up``);
- ``<device>/data/public.snmprec``, ``<device>/cache/``, ``<device>/snmpsim.log``, ``<device>/snmpsim.pid``.

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
from lab.network import LAB_RECORDINGS, LabDevice, default_recordings_dir, lab_devices
from lab.recordings import live_recording
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


@dataclass(frozen=True, slots=True)
class DeviceState:
    """One lab device as ``up``/``status``/``fault`` see it."""

    device: LabDevice
    pid: int | None
    process: Literal["running", "stopped", "absent"]
    """``stopped``: SIGSTOPped by a fault."""
    faulted: bool
    """Silenced by the fault state (taken down, or reachable only through a device that is)."""
    answers: bool | None = None
    """Whether it answered a v2c GET (None: not probed)."""
    note: str = ""


@dataclass(frozen=True, slots=True)
class FaultResult:
    """What ``fault`` did: the devices now taken down, and the lab devices it silenced or resumed."""

    down: frozenset[str]
    silenced: frozenset[str]
    resumed: frozenset[str]
    states: tuple[DeviceState, ...]


def _state(paths: LabPaths, device: LabDevice, silent: frozenset[str]) -> DeviceState:
    pid = _live_pid(paths, device.name)
    process: Literal["running", "stopped", "absent"] = (
        "absent" if pid is None else "stopped" if _proc_state(pid) == "T" else "running"
    )
    return DeviceState(device, pid, process, device.name in silent)


def _probe_all(states: Sequence[DeviceState], timeout_s: float) -> list[DeviceState]:
    def probe(s: DeviceState) -> DeviceState:
        ok = s.pid is not None and probe_v2c(s.device.address, s.device.port, COMMUNITY, timeout_s)
        return replace(s, answers=ok)

    if not states:
        return []
    with ThreadPoolExecutor(max_workers=len(states)) as pool:
        return list(pool.map(probe, states))


def _apply_faults(paths: LabPaths, devices: Sequence[LabDevice], silent: frozenset[str]) -> None:
    """SIGSTOP the running devices that must be silent, SIGCONT the others."""
    for d in devices:
        pid = _live_pid(paths, d.name)
        if pid is None:
            continue
        if d.name in silent and _proc_state(pid) != "T":
            _signal(pid, signal.SIGSTOP)
            log.info("lab device %s (pid %d) silenced (fault)", d.name, pid)
        elif d.name not in silent and _proc_state(pid) == "T":
            _signal(pid, signal.SIGCONT)
            log.info("lab device %s (pid %d) resumed", d.name, pid)


def _install_variation(paths: LabPaths) -> None:
    import snmpsim

    source = Path(snmpsim.__file__).parent / "variation" / "numeric.py"
    paths.variation_dir.mkdir(parents=True, exist_ok=True)
    paths.variation_dir.chmod(0o755)
    target = paths.variation_dir / "numeric.py"
    shutil.copyfile(source, target)
    target.chmod(0o644)


def _write_data(paths: LabPaths, device: LabDevice, recordings_dir: Path, epoch: int) -> None:
    source = recordings_dir / f"{device.recording}.snmprec"
    text = live_recording(source.read_text(encoding="iso-8859-1"), device.name, epoch)
    data_dir = paths.data_dir(device.name)
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o755)
    paths.device_dir(device.name).chmod(0o755)
    target = data_dir / f"{COMMUNITY}.snmprec"
    if not target.exists() or target.read_text(encoding="iso-8859-1") != text:
        target.write_text(text, encoding="iso-8859-1")
    target.chmod(0o644)


def up(
    inventory: Inventory,
    state_dir: Path,
    recordings_dir: Path | None = None,
    *,
    table: Sequence[tuple[str, str]] = LAB_RECORDINGS,
    ports: Mapping[str, int] | None = None,
    clock: Clock = time.time,
    ready_timeout_s: float = 90.0,
    probe_timeout_s: float = 0.5,
) -> list[DeviceState]:
    """Start every lab device that is not running (in parallel; a running one is left alone), then
    re-apply the fault state. Returns each device's state (probed); a device that failed to start is
    ``absent`` with the reason in ``note``."""
    devices = lab_devices(inventory, table, ports)
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
            _write_data(paths, d, recordings, epoch)
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

    if started:
        with ThreadPoolExecutor(max_workers=len(started)) as pool:
            for name, note in pool.map(wait, started.items()):
                if note:
                    notes[name] = note
                    log.error("lab device %s: %s", name, note)
    silent = unreachable(inventory, _load_faults(paths))
    _apply_faults(paths, devices, silent)
    states = [replace(_state(paths, d, silent), note=notes.get(d.name, "")) for d in devices]
    return _probe_all(states, probe_timeout_s)


def down(state_dir: Path) -> list[tuple[str, int]]:
    """Stop every lab device that has a pid file (stopped ones too) and remove the pid files. Returns
    (device, pid) of the processes stopped. The fault state is kept."""
    paths = LabPaths.resolve(state_dir)
    stopped: list[tuple[str, int]] = []
    for pid_file in paths.pid_files():
        name = pid_file.parent.name
        pid = _live_pid(paths, name)
        if pid is not None:
            _terminate(pid)
            stopped.append((name, pid))
            log.info("lab device %s (pid %d) stopped", name, pid)
        pid_file.unlink(missing_ok=True)
    return stopped


def status(
    inventory: Inventory,
    state_dir: Path,
    *,
    table: Sequence[tuple[str, str]] = LAB_RECORDINGS,
    ports: Mapping[str, int] | None = None,
    probe_timeout_s: float = 0.5,
) -> list[DeviceState]:
    """Each lab device with its pid, process state, fault state and whether it answers."""
    devices = lab_devices(inventory, table, ports)
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
) -> FaultResult:
    """Take ``device`` down (SIGSTOP it and every device reachable only through it) or bring it back up
    (SIGCONT whatever no other fault keeps down). Persisted in ``var/lab/faults.json``."""
    inventory.device(device)  # KeyError for an unknown device
    devices = lab_devices(inventory, table, ports)
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
    rows = [("DEVICE", "RECORDING", "ENDPOINT", "PID", "PROCESS", "FAULT", "ANSWERS", "NOTE")]
    for s in states:
        answers = "-" if s.answers is None else "yes" if s.answers else "no"
        rows.append(
            (
                s.device.name,
                s.device.recording,
                f"{s.device.address}:{s.device.port}",
                str(s.pid or "-"),
                s.process,
                "down" if s.faulted else "-",
                answers,
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
    device failed to start (``up``) or a device that should answer does not (``status``)."""
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
        return 1 if any(not s.faulted and not s.answers for s in states) else 0
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
