"""Run snmpsim 1.2.2's command responder as a subprocess serving recordings on 127.0.0.1 UDP endpoints.

Used by the lab (one process per simulated device) and by the test fixtures. Free of pytest.

As root, snmpsim insists on dropping privileges (``--process-user/--process-group``); after the final
``setuid`` a Python installed under a 0700 home (pyenv in ``/root``) can no longer import the modules snmpsim
loads late, so the child preloads them (STACK.md §2). Everything the unprivileged child touches must be
reachable by ``nobody``: the cache dir (made 0777), the log file (0666) and the data dir — when the data dir
is not world-readable, its files are staged into a per-process temporary directory that
:meth:`SnmpsimProcess.stop` removes (a process left running past its :class:`SnmpsimProcess` keeps it: give
such long-lived processes world-readable directories of their own, as the lab does).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SnmpsimError",
    "SnmpsimProcess",
    "V3User",
    "free_udp_port",
    "probe_v2c",
    "stage_recordings",
]

log = logging.getLogger(__name__)

_PRELOAD = (
    "import sys, dbm, dbm.dumb, encodings.latin_1, encodings.ascii, encodings.utf_8, encodings.idna\n"
    "sys.argv[0] = 'snmpsim-command-responder'\n"
    "from snmpsim.commands.responder import main\n"
    "sys.exit(main())\n"
)
"""The child's program: preload what snmpsim imports after the privilege drop, then run the responder."""

_SYS_UPTIME = "1.3.6.1.2.1.1.3.0"


class SnmpsimError(RuntimeError):
    """snmpsim did not start or did not answer in time (the message carries the log's tail)."""


@dataclass(frozen=True, slots=True)
class V3User:
    """One SNMPv3 USM user of the simulator. Protocol names are snmpsim's (``SHA``, ``SHA256``, ``AES``,
    ``AES256``...). With v3, the context name selects the recording (its file stem)."""

    user: str
    auth_key: str = ""
    auth_proto: str = "SHA"
    priv_key: str = ""
    priv_proto: str = "AES"

    def args(self) -> list[str]:
        out = [f"--v3-user={self.user}"]
        if self.auth_key:
            out += [f"--v3-auth-key={self.auth_key}", f"--v3-auth-proto={self.auth_proto}"]
        if self.priv_key:
            out += [f"--v3-priv-key={self.priv_key}", f"--v3-priv-proto={self.priv_proto}"]
        return out


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port free right now on ``host`` (the kernel's pick; may race with another process)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def stage_recordings(sources: Sequence[Path], dest: Path) -> Path:
    """Copy recording files into ``dest`` (created) so that any user can read them; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    _make_reachable(dest)
    dest.chmod(0o755)
    for src in sources:
        target = dest / src.name
        shutil.copyfile(src, target)
        target.chmod(0o644)
    return dest


def _make_reachable(path: Path) -> None:
    """Grant others search permission on ``path``'s parents under /tmp (not beyond what exists)."""
    for parent in reversed(path.resolve().parents):
        if str(parent).startswith(tempfile.gettempdir()) and parent != Path(tempfile.gettempdir()):
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH | stat.S_IROTH)


def _check_bindable(host: str, port: int) -> None:
    """Raise :class:`SnmpsimError` when ``host:port`` is taken: snmpsim's failed bind is silent (the
    process keeps running, deaf), so a busy port is caught here instead of as a readiness timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise SnmpsimError(f"cannot listen on {host}:{port}: {exc}") from exc


def _snmpsim_variation_dir() -> Path:
    """snmpsim's bundled variation modules (found without importing snmpsim's heavy parts)."""
    spec = importlib.util.find_spec("snmpsim")
    if spec is None or not spec.submodule_search_locations:
        raise SnmpsimError("snmpsim is not installed in this interpreter")
    return Path(next(iter(spec.submodule_search_locations))) / "variation"


def _world_readable(data_dir: Path) -> bool:
    """Whether ``nobody`` can list ``data_dir`` and read every file in it."""
    resolved = data_dir.resolve()
    for parent in [*reversed(resolved.parents), resolved]:
        if not parent.stat().st_mode & stat.S_IXOTH:
            return False
    if not resolved.stat().st_mode & stat.S_IROTH:
        return False
    return all(p.stat().st_mode & stat.S_IROTH for p in resolved.iterdir() if p.is_file())


def _ber_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _ber_length(len(body)) + body


def _ber_int(n: int) -> bytes:
    return _tlv(0x02, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True))


def _ber_oid(oid: str) -> bytes:
    parts = [int(p) for p in oid.split(".")]
    body = bytearray([parts[0] * 40 + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7F))
            p >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def v2c_get_packet(community: str, oid: str, request_id: int) -> bytes:
    """A BER-encoded SNMPv2c GetRequest for one OID (the readiness probe; no pysnmp in the parent)."""
    varbind = _tlv(0x30, _ber_oid(oid) + b"\x05\x00")
    pdu = _tlv(0xA0, _ber_int(request_id) + _ber_int(0) + _ber_int(0) + _tlv(0x30, varbind))
    return _tlv(0x30, _ber_int(1) + _tlv(0x04, community.encode()) + pdu)


def probe_v2c(host: str, port: int, community: str, timeout_s: float = 0.2, oid: str = _SYS_UPTIME) -> bool:
    """Whether an SNMPv2c agent answers one GET (any answer, even noSuchInstance, counts)."""
    request_id = secrets.randbelow(2**31 - 1)
    packet = v2c_get_packet(community, oid, request_id)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout_s)
        try:
            s.connect((host, port))
            s.send(packet)
            reply = s.recv(65535)
        except (TimeoutError, ConnectionRefusedError):
            return False
    return _ber_int(request_id) in reply


class SnmpsimProcess:
    """One running snmpsim command responder. Build it with :meth:`start`; end it with :meth:`stop`."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        endpoints: tuple[tuple[str, int], ...],
        log_file: Path,
        staged_dir: Path | None,
        started_at: float,
    ) -> None:
        self._popen = popen
        self.endpoints = endpoints
        self.log_file = log_file
        self._staged_dir = staged_dir
        self._started_at = started_at
        self.ready_after_s: float | None = None
        """Seconds from :meth:`start` to the first answer seen by :meth:`wait_ready`."""

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def running(self) -> bool:
        return self._popen.poll() is None

    @classmethod
    def start(
        cls,
        data_dir: Path,
        endpoints: Sequence[tuple[str, int]],
        cache_dir: Path,
        log_file: Path,
        v3: V3User | None = None,
        *,
        python: str = sys.executable,
        log_level: str = "error",
        variation_modules_dir: Path | None = None,
        variations: Sequence[str] | None = None,
        extra_args: Sequence[str] = (),
        process_user: str = "nobody",
        process_group: str = "nogroup",
    ) -> SnmpsimProcess:
        """Spawn snmpsim (does not wait: call :meth:`wait_ready`).

        ``log_level`` ``info`` logs every request (useful to debug, costly under load). ``variations``
        names the variation modules to load (e.g. ``("numeric",)``), staged from snmpsim's own set; loading
        only those starts ~0.3 s faster than snmpsim's default of all of them (``variation_modules_dir``
        points at a directory of your own instead).
        """
        if not endpoints:
            raise ValueError("snmpsim needs at least one endpoint")
        for host, port in endpoints:
            _check_bindable(host, port)
        is_root = os.geteuid() == 0
        needs_data = is_root and not _world_readable(data_dir)
        staged: Path | None = None
        if needs_data or variations is not None:
            staged = Path(tempfile.mkdtemp(prefix="snmpsim-run-"))
            staged.chmod(0o755)
        try:
            if needs_data and staged is not None:
                data_dir = stage_recordings(sorted(p for p in data_dir.iterdir() if p.is_file()), staged / "data")
            if variations is not None and staged is not None:
                variation_modules_dir = stage_recordings(
                    [_snmpsim_variation_dir() / f"{name}.py" for name in variations], staged / "variation"
                )
            cache_dir.mkdir(parents=True, exist_ok=True)
            log_file.parent.mkdir(parents=True, exist_ok=True)
            log_file.touch()
            if is_root:
                _make_reachable(cache_dir)
                cache_dir.chmod(0o777)
                log_file.chmod(0o666)
            args = [
                python,
                "-c",
                _PRELOAD,
                f"--data-dir={data_dir}",
                f"--cache-dir={cache_dir}",
                f"--logging-method=file:{log_file}",
                f"--log-level={log_level}",
                *(f"--agent-udpv4-endpoint={host}:{port}" for host, port in endpoints),
            ]
            if is_root:
                args += [f"--process-user={process_user}", f"--process-group={process_group}"]
            if v3 is not None:
                args += v3.args()
            if variation_modules_dir is not None:
                args.append(f"--variation-modules-dir={variation_modules_dir}")
            args += extra_args
            started_at = time.monotonic()
            with log_file.open("ab") as out:
                popen = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=str(cache_dir),
                    start_new_session=True,  # a Ctrl-C in the parent's terminal does not reach it
                )
        except BaseException:
            if staged is not None:
                shutil.rmtree(staged, ignore_errors=True)
            raise
        log.info("snmpsim pid=%d starting on %s (data %s)", popen.pid, list(endpoints), data_dir)
        return cls(popen, tuple(endpoints), log_file, staged, started_at)

    def wait_ready(self, community: str, port: int | None = None, timeout_s: float = 30.0) -> float:
        """Block until the endpoint answers a v2c GET with ``community`` (a recording's stem); returns the
        seconds since :meth:`start`. Raises :class:`SnmpsimError` when the process dies or time runs out."""
        host, default_port = self.endpoints[0]
        if port is not None:
            host = next((h for h, p in self.endpoints if p == port), host)
        target_port = default_port if port is None else port
        deadline = time.monotonic() + timeout_s
        while True:
            if probe_v2c(host, target_port, community, timeout_s=0.1):
                self.ready_after_s = time.monotonic() - self._started_at
                log.info(
                    "snmpsim pid=%d ready on %s:%d after %.2fs",
                    self.pid,
                    host,
                    target_port,
                    self.ready_after_s,
                )
                return self.ready_after_s
            if self._popen.poll() is not None:
                raise SnmpsimError(f"snmpsim pid={self.pid} exited with {self._popen.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise SnmpsimError(
                    f"snmpsim pid={self.pid} not answering on {host}:{target_port} after {timeout_s}s "
                    f"(community {community!r}): {self.log_tail()}"
                )
            time.sleep(0.05)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """Interrupt (then terminate, then kill) the process and wait for it; remove staged data.
        Idempotent; returns the exit code."""
        if self._popen.poll() is None:
            for sig, wait in ((signal.SIGINT, timeout_s / 2), (signal.SIGTERM, timeout_s / 2)):
                with contextlib.suppress(ProcessLookupError):
                    self._popen.send_signal(sig)
                try:
                    self._popen.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            else:
                self._popen.kill()
                self._popen.wait()
            log.info("snmpsim pid=%d stopped (rc=%s)", self.pid, self._popen.returncode)
        if self._staged_dir is not None:
            shutil.rmtree(self._staged_dir, ignore_errors=True)
            self._staged_dir = None
        return self._popen.returncode

    def __enter__(self) -> SnmpsimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
