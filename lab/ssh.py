"""The lab's SSH OLTs: one fakenos SmartAX process per lab device played over SSH.

The main venv side (``netqos lab up``) writes the device's ONU table (:func:`dump_table`, the same ONUs its
SNMP recording carries), its login password and a lab host key, and spawns the server from the side venv
``.venv-fakenos`` (fakenos pins ``paramiko<=4``)::

    .venv-fakenos/bin/python -m lab.ssh --port 20265 --host-key var/lab/ssh_host_rsa_key \\
        --table var/lab/olt-sh-pd-01/onus.json --username labuser --password-file var/lab/olt-sh-pd-01/ssh-password

The lab host key (RSA, ``ssh-keygen``) is generated once in the state dir; :func:`update_known_hosts` writes
each server's ``[127.0.0.1]:PORT ssh-rsa ...`` entry to the known_hosts file the collectors check.

This module imports only the standard library and :mod:`lab.fakenos_olt` at top level: the side venv runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from lab import fakenos_olt
from lab.fakenos_olt import LabOnu

__all__ = [
    "FAKENOS_PYTHON",
    "HOST_KEY_FILE",
    "SshServerFiles",
    "answers",
    "dump_table",
    "ensure_host_key",
    "live_pid",
    "load_table",
    "main",
    "start",
    "update_known_hosts",
    "wait_ready",
]

ROOT = Path(__file__).resolve().parents[1]
FAKENOS_PYTHON = ROOT / ".venv-fakenos" / "bin" / "python"
"""The side venv's interpreter (scripts/setup.sh creates it)."""
HOST_KEY_FILE = "ssh_host_rsa_key"
"""The lab host key's name in the state dir (``.pub`` beside it)."""


@dataclass(frozen=True, slots=True)
class SshServerFiles:
    """Where one device's SSH OLT keeps its files (the device's lab dir)."""

    dir: Path

    @property
    def pid_file(self) -> Path:
        return self.dir / "fakenos.pid"

    @property
    def log_file(self) -> Path:
        return self.dir / "fakenos.log"

    @property
    def table_file(self) -> Path:
        return self.dir / "onus.json"

    @property
    def password_file(self) -> Path:
        return self.dir / "ssh-password"


# --- host key and known_hosts ---------------------------------------------------------------------------------


def ensure_host_key(state_dir: Path) -> tuple[Path, str]:
    """The lab host key (generated once with ``ssh-keygen``, RSA 2048 in PEM, as paramiko 4 reads it):
    (private key file, public key as ``ssh-rsa AAAA...``)."""
    key = state_dir / HOST_KEY_FILE
    pub = key.with_name(key.name + ".pub")
    if not key.exists() or not pub.exists():
        key.unlink(missing_ok=True)
        pub.unlink(missing_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-C", "netqos-lab", "-f", str(key)],
            check=True, stdin=subprocess.DEVNULL, capture_output=True,
        )
    key.chmod(0o600)
    return key, " ".join(pub.read_text().split()[:2])


def known_hosts_host(address: str, port: int) -> str:
    """The host field of a known_hosts entry (``[host]:port`` for a port other than 22)."""
    return address if port == 22 else f"[{address}]:{port}"


def update_known_hosts(path: Path, entries: Mapping[tuple[str, int], str]) -> None:
    """Write ``[address]:port key`` for each entry, replacing the lines of those hosts and keeping the others."""
    hosts = {known_hosts_host(a, p): key for (a, p), key in entries.items()}
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        lines = []
    kept = [line for line in lines if line.split(" ", 1)[0] not in hosts]
    text = "".join(f"{line}\n" for line in [*kept, *(f"{h} {k}" for h, k in sorted(hosts.items()))])
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


# --- the ONU table file ---------------------------------------------------------------------------------------


def dump_table(onus: Iterable[LabOnu], pons: Sequence[str]) -> str:
    """The server's table as JSON: the PON ports it answers for and its ONUs."""
    return json.dumps({"pons": list(pons), "onus": [asdict(o) for o in onus]}, indent=1) + "\n"


def load_table(text: str) -> tuple[tuple[LabOnu, ...], tuple[str, ...]]:
    """(ONUs, PON ports) of :func:`dump_table`'s JSON."""
    doc = json.loads(text)
    return tuple(LabOnu(**o) for o in doc["onus"]), tuple(str(p) for p in doc["pons"])


# --- processes (main venv side) ---------------------------------------------------------------------------------


def live_pid(files: SshServerFiles) -> int | None:
    """The pid in the pid file when that process is alive (not a zombie) and serves this device's table."""
    try:
        pid = int(files.pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    if str(files.table_file).encode() not in cmdline or state in ("Z", "X"):
        return None
    return pid


def start(
    files: SshServerFiles,
    port: int,
    username: str,
    password: str,
    host_key: Path,
    onus: Sequence[LabOnu],
    pons: Sequence[str],
    python: Path = FAKENOS_PYTHON,
) -> int:
    """Write the table and password, spawn the fakenos OLT on 127.0.0.1:``port`` (its own session, so a
    terminal's Ctrl-C does not reach it) and record its pid. Returns the pid (not yet ready: :func:`wait_ready`)."""
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing (scripts/setup.sh creates .venv-fakenos)")
    files.dir.mkdir(parents=True, exist_ok=True)
    files.table_file.write_text(dump_table(onus, pons))
    fd = os.open(files.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    with files.log_file.open("ab") as log:
        proc = subprocess.Popen(
            [str(python), "-m", "lab.ssh", "--port", str(port), "--host-key", str(host_key.resolve()),
             "--table", str(files.table_file), "--username", username, "--password-file", str(files.password_file)],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    files.pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def answers(address: str, port: int, timeout_s: float = 0.5) -> bool:
    """Whether ``address:port`` greets with an SSH banner within ``timeout_s`` (a SIGSTOPped server accepts
    the TCP connection in the kernel but never greets)."""
    try:
        with socket.create_connection((address, port), timeout=timeout_s) as s:
            s.settimeout(timeout_s)
            return s.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def wait_ready(files: SshServerFiles, address: str, port: int, timeout_s: float = 30.0) -> str:
    """Wait until the server greets; returns "" when it does, else why not (with the log's tail)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if answers(address, port, 0.5):
            return ""
        if live_pid(files) is None:
            break
        time.sleep(0.1)
    try:
        tail = " | ".join(files.log_file.read_text(errors="replace").strip().splitlines()[-3:])
    except OSError:
        tail = ""
    return f"SSH OLT did not answer on {address}:{port} within {timeout_s:.0f} s: {tail}"


# --- the server (side venv) ---------------------------------------------------------------------------------------


def serve(port: int, username: str, password: str, host_key: str, table: Path, stop: threading.Event) -> None:
    """Serve the table of ``table`` as fakenos's SmartAX (plus the lab's GPON commands) until ``stop``."""
    onus, pons = load_table(table.read_text())
    fakenos_olt.serve(port, username, password, host_key, stop, onus, pons)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab.ssh", description="The lab's fakenos SSH OLT.")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host-key", required=True, help="RSA private key file (PEM)")
    ap.add_argument("--table", type=Path, required=True, help="ONU table (JSON, lab.ssh.dump_table)")
    ap.add_argument("--username", default="labuser")
    ap.add_argument("--password-file", required=True)
    args = ap.parse_args(argv)
    with open(args.password_file, encoding="utf-8") as fh:
        password = fh.read().strip()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    serve(args.port, args.username, password, args.host_key, args.table, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
