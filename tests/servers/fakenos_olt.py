"""pytest fixture for the lab's SSH OLT (lab/fakenos_olt.py) served by fakenos from its side venv.

fakenos pins ``paramiko<=4``, so it runs from ``.venv-fakenos`` (scripts/setup.sh) as a subprocess, with a
throwaway RSA host key so host-key verification is exercised too. The same process serves a Cisco IOS host
(``ios_port``) whose ``show interfaces`` is the captured c9500 output, and a GPON board in ``Failed`` state
(slot 3) for PON discovery. Stopped at session end.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.procs import stop_process
from tests.servers.sshd import free_tcp_port, keygen, wait_banner

ROOT = Path(__file__).resolve().parents[2]
FAKENOS_PY = ROOT / ".venv-fakenos" / "bin" / "python"
USERNAME = "labuser"
PASSWORD = "lab-olt-pass"
SHOW_INTERFACES = ROOT / "tests" / "fixtures" / "ssh" / "cisco_ios_show_interfaces_c9500.txt"
"""The Cisco host's ``show interfaces`` answer (captured from a Catalyst 9500)."""
FAILED_BOARD = 3


@dataclass(frozen=True, slots=True)
class FakenosOlt:
    host: str
    port: int
    username: str
    password: str
    host_key_pub: str
    known_hosts: Path
    """A known_hosts file holding this server's key (for both hosts)."""
    ios_port: int
    """The Cisco IOS host (``cisco_ios``, prompt ``lab-c9500``)."""


@pytest.fixture(scope="session")
def fakenos_olt() -> Iterator[FakenosOlt]:
    """The lab OLT (``python -m lab.fakenos_olt``) on a free 127.0.0.1 port."""
    if not FAKENOS_PY.exists():
        pytest.fail(".venv-fakenos is missing (scripts/setup.sh creates it)")
    with tempfile.TemporaryDirectory(prefix="netqos-fakenos-") as tmp:
        root = Path(tmp)
        pub = keygen(root / "hostkey", "rsa")
        (root / "password").write_text(PASSWORD)
        failure = ""
        for _attempt in range(3):
            port, ios_port = free_tcp_port(), free_tcp_port()
            log = root / "fakenos.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [str(FAKENOS_PY), "-m", "lab.fakenos_olt", "--port", str(port), "--username", USERNAME,
                     "--password-file", str(root / "password"), "--host-key", str(root / "hostkey"),
                     "--failed-board", str(FAILED_BOARD), "--ios-port", str(ios_port),
                     "--ios-show-interfaces", str(SHOW_INTERFACES)],
                    cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )
            try:
                deadline = time.monotonic() + 20
                if wait_banner("127.0.0.1", port, deadline) and wait_banner("127.0.0.1", ios_port, deadline):
                    kh = root / "known_hosts"
                    kh.write_text(f"[127.0.0.1]:{port} {pub}\n[127.0.0.1]:{ios_port} {pub}\n")
                    yield FakenosOlt("127.0.0.1", port, USERNAME, PASSWORD, pub, kh, ios_port)
                    return
                failure = log.read_text(errors="replace")[-2000:]
            finally:
                stop_process(proc)
        pytest.fail(f"fakenos OLT did not start: {failure}")
