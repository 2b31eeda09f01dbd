"""pytest fixture for a real OpenSSH server on 127.0.0.1 (STACK.md §3 recipe).

``sshd_server``: Debian's ``/usr/sbin/sshd`` started by hand with its own config and a throwaway ed25519 host key
in a private temporary directory, password login for two test users (created once with ``useradd`` when missing;
needs root, as on the project's machines). Stopped at session end.

- ``netqos-ssh``: a plain ``/bin/sh`` login (netmiko ``linux``);
- ``netqos-ios``: an IOS-like CLI as its forced command (``ForceCommand``, :data:`IOS_CLI`): prompt
  ``lab-c9500#``, ``terminal length 0`` / ``terminal width 511`` accepted, ``show interfaces`` answers the
  captured Catalyst 9500 output, ``exit`` logs out, anything else ``% Invalid input``. netmiko ``cisco_ios``
  logs into it as into a router.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.procs import stop_process

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
USER = "netqos-ssh"
PASSWORD = "Netqos-ssh-pass1"
IOS_USER = "netqos-ios"
IOS_PROMPT = "lab-c9500"
SHOW_INTERFACES = Path(__file__).resolve().parents[1] / "fixtures" / "ssh" / "cisco_ios_show_interfaces_c9500.txt"

IOS_CLI = r"""#!/bin/sh
# A tiny IOS-like CLI for netmiko cisco_ios tests: $1 is the 'show interfaces' answer.
show_interfaces="$1"
printf '%s' 'PROMPT#'
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  case "$line" in
    '') ;;
    'terminal length 0'|'terminal width '*) ;;
    'show interfaces') cat "$show_interfaces" ;;
    exit|logout|quit) exit 0 ;;
    *) printf '%s\n%s\n' '                ^' "% Invalid input detected at '^' marker." ;;
  esac
  printf '%s' 'PROMPT#'
done
""".replace("PROMPT", IOS_PROMPT)
"""The forced command of :data:`IOS_USER` (``/bin/sh``; the pty echoes what netmiko types)."""


@dataclass(frozen=True, slots=True)
class SshdServer:
    """A running sshd: where it listens, its login, and its host public key (``type base64``)."""

    host: str
    port: int
    username: str
    password: str
    host_key_pub: str
    ios_username: str = IOS_USER
    """The user whose session is the IOS-like CLI (same password)."""

    def known_hosts_line(self, key_pub: str | None = None) -> str:
        """A known_hosts entry for this server (``[host]:port type key``), with its key or another one."""
        return f"[{self.host}]:{self.port} {key_pub or self.host_key_pub}\n"


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_banner(host: str, port: int, deadline: float) -> bool:
    """True once ``host:port`` answers with an SSH banner."""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5) as s:
                if s.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def keygen(path: Path, kind: str = "ed25519") -> str:
    """A throwaway key pair at ``path``; returns the public key as ``type base64``."""
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)]
    if kind == "rsa":
        args += ["-b", "2048", "-m", "PEM"]
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL)
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


def _ensure_user(user: str) -> None:
    if subprocess.run(["id", user], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-M", "-s", "/bin/sh", user], check=True, capture_output=True)
    subprocess.run(["chpasswd"], input=f"{user}:{PASSWORD}".encode(), check=True, capture_output=True)


def sshd_config(root: Path, port: int, ios_command: str) -> str:
    return "\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {root / 'hostkey'}", f"PidFile {root / 'sshd.pid'}",
        "PasswordAuthentication yes", "KbdInteractiveAuthentication no", "UsePAM no", "PubkeyAuthentication no",
        f"AllowUsers {USER} {IOS_USER}", "AuthorizedKeysFile none", "StrictModes no", "PrintMotd no",
        "PrintLastLog no", "MaxStartups 50", "LogLevel ERROR",
        f"Match User {IOS_USER}", f"    ForceCommand {ios_command}", "",
    ])


def ios_cli_dir(cli: Path) -> str:
    """Write the IOS-like CLI and its ``show interfaces`` answer to ``cli`` (readable by the test user);
    returns the forced command."""
    cli.chmod(0o755)
    script, answer = cli / "ios-cli.sh", cli / "show_interfaces.txt"
    script.write_text(IOS_CLI)
    answer.write_text(SHOW_INTERFACES.read_text(encoding="utf-8"), encoding="utf-8")
    script.chmod(0o755)
    answer.chmod(0o644)
    return f"/bin/sh {script} {answer}"


@pytest.fixture(scope="session")
def sshd_server() -> Iterator[SshdServer]:
    """OpenSSH sshd on a free 127.0.0.1 port with a password user; stopped at session end."""
    if not os.path.exists(SSHD):
        pytest.fail("openssh-server is not installed (scripts/setup.sh installs it)")
    if os.geteuid() != 0:
        pytest.fail("the sshd fixture creates a test user: needs root")
    _ensure_user(USER)
    _ensure_user(IOS_USER)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    with (tempfile.TemporaryDirectory(prefix="netqos-sshd-") as tmp,
          tempfile.TemporaryDirectory(prefix="netqos-sshd-cli-") as cli_tmp):
        root = Path(tmp)
        pub = keygen(root / "hostkey")
        ios_command = ios_cli_dir(Path(cli_tmp))
        failure = ""
        for _attempt in range(3):  # the free port may be taken between the pick and sshd's bind
            port = free_tcp_port()
            conf = root / "sshd_config"
            conf.write_text(sshd_config(root, port, ios_command))
            subprocess.run([SSHD, "-t", "-f", str(conf)], check=True, capture_output=True)
            proc = subprocess.Popen(
                [SSHD, "-D", "-f", str(conf), "-E", str(root / "sshd.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
            )
            try:
                if wait_banner("127.0.0.1", port, time.monotonic() + 10):
                    yield SshdServer("127.0.0.1", port, USER, PASSWORD, pub)
                    return
                failure = (root / "sshd.log").read_text(errors="replace")[-2000:]
            finally:
                stop_process(proc)
        pytest.fail(f"sshd did not start: {failure}")
