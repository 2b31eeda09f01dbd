"""pytest fixtures for a real snmpd server on 127.0.0.1 (registered in tests/conftest.py).

``snmpd_agent`` is Debian's net-snmp ``snmpd`` started by hand (STACK.md §2: ``-f -C -c conf``, its persistent
state in a temporary ``SNMP_PERSISTENT_DIR``) on a free UDP port, with one v2c community and SNMPv3 authPriv
users for several auth/priv protocol pairs. It is the real agent the SNMP client is measured against.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from collectors.model import Target
from lab.procs import stop_process
from lab.snmpsim import free_udp_port, probe_v2c

SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"
COMMUNITY = "netqos-ro"


@dataclass(frozen=True, slots=True)
class UsmUser:
    """An SNMPv3 user: net-snmp's protocol names for the config and our Target's names for the client."""

    user: str
    snmpd_auth: str
    auth_protocol: str
    auth_key: str
    snmpd_priv: str
    priv_protocol: str
    priv_key: str


USERS: tuple[UsmUser, ...] = (
    UsmUser("v3_sha_aes", "SHA", "SHA", "authpass-sha-1", "AES", "AES", "privpass-aes-1"),
    UsmUser("v3_sha256_aes256", "SHA-256", "SHA256", "authpass-sha256-2", "AES-256", "AES256", "privpass-aes256-2"),
    UsmUser("v3_sha512_aes192", "SHA-512", "SHA512", "authpass-sha512-3", "AES-192", "AES192", "privpass-aes192-3"),
    UsmUser("v3_md5_des", "MD5", "MD5", "authpass-md5-4", "DES", "DES", "privpass-des-4"),
)
"""net-snmp 5.9.3 accepts all of these in ``createUser`` (checked with snmpget)."""


@dataclass(frozen=True, slots=True)
class SnmpdAgent:
    """A running snmpd: where it listens and ready-made Targets (``v2c`` and one per v3 user name)."""

    host: str
    port: int
    community: str
    pid: int
    targets: Mapping[str, Target]

    def target(self, name: str, **overrides: Any) -> Target:
        """A Target by name (``v2c``, ``v3_sha_aes``, ``v3_sha256_aes256``...); overrides replace fields."""
        return replace(self.targets[name], **overrides)


def snmpd_conf(port: int, community: str, users: tuple[UsmUser, ...]) -> str:
    lines = [
        f"agentAddress udp:127.0.0.1:{port}",
        f"rocommunity {community} 127.0.0.1",
        "dontLogTCPWrappersConnects yes",
    ]
    for u in users:
        lines.append(f'createUser {u.user} {u.snmpd_auth} "{u.auth_key}" {u.snmpd_priv} "{u.priv_key}"')
        lines.append(f"rouser {u.user} priv")
    return "\n".join(lines) + "\n"


def _targets(host: str, port: int) -> dict[str, Target]:
    out = {"v2c": Target(name="snmpd-v2c", address=host, port=port, community=COMMUNITY, timeout_s=2.0)}
    for u in USERS:
        out[u.user] = Target(
            name=f"snmpd-{u.user}",
            address=host,
            port=port,
            version="3",
            user=u.user,
            auth_protocol=u.auth_protocol,
            auth_key=u.auth_key,
            priv_protocol=u.priv_protocol,
            priv_key=u.priv_key,
            timeout_s=2.0,
        )
    return out


@pytest.fixture(scope="session")
def snmpd_agent() -> Iterator[SnmpdAgent]:
    """net-snmp snmpd on a free 127.0.0.1 port with v2c and v3 users; stopped at session end.

    Its files live in a private temporary directory, not pytest's ``tmp_path`` (which other pytest
    sessions may prune while this one runs).
    """
    with tempfile.TemporaryDirectory(prefix="netqos-snmpd-") as tmp:
        yield from _serve(Path(tmp))


def _serve(root: Path) -> Iterator[SnmpdAgent]:
    (root / "var").mkdir()
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(root / "var"), "MIBS": ""}
    log_file = root / "snmpd.log"
    failure = ""
    for _attempt in range(3):  # the free port may be taken between the pick and snmpd's bind
        port = free_udp_port()
        conf = root / "snmpd.conf"
        conf.write_text(snmpd_conf(port, COMMUNITY, USERS))
        proc = subprocess.Popen(
            [SNMPD, "-f", "-C", "-c", str(conf), "-Lf", str(log_file), "-p", str(root / "snmpd.pid")],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            if probe_v2c("127.0.0.1", port, COMMUNITY, timeout_s=0.1):
                try:
                    yield SnmpdAgent(
                        "127.0.0.1", port, COMMUNITY, proc.pid, MappingProxyType(_targets("127.0.0.1", port))
                    )
                finally:
                    stop_process(proc)
                return
            time.sleep(0.05)
        stop_process(proc)
        failure = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else "(no log)"
    pytest.fail(f"snmpd did not start: {failure}")
