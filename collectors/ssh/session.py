"""The CLI port (:class:`CliSession`) and its netmiko adapter, with SSH host-key verification.

netmiko is blocking: a session is used from one worker thread at a time (see :mod:`collectors.ssh.pool`).
Host keys are checked against a known-hosts file (paramiko ``RejectPolicy``: an unknown or changed key is
refused) unless the target explicitly opts out (``host_key_check=False``).
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from pydantic import SecretStr

REASON_TIMEOUT: Final = "timeout"
REASON_AUTH: Final = "auth"
REASON_HOSTKEY: Final = "hostkey"
REASON_REFUSED: Final = "refused"
REASON_UNREACHABLE: Final = "unreachable"
REASON_CLOSED: Final = "closed"
REASON_ERROR: Final = "error"
REASON_BUSY: Final = "busy"
"""The device's previous command is still running (a poll the scheduler timed out): this poll is skipped."""


class SshError(Exception):
    """An SSH/CLI operation failed. ``reason``: timeout, auth, hostkey, refused, unreachable, closed, error, busy."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SshTarget:
    """How to reach one device over SSH (secrets resolved by the composition root; never logged)."""

    name: str
    address: str
    platform: str
    """netmiko ``device_type``: ``huawei_smartax``, ``cisco_ios``, ``linux``..."""
    username: str
    password: SecretStr | None = None
    key_file: str | None = None
    port: int = 22
    known_hosts: str | None = None
    """The known-hosts file keys are checked against (``[host]:port`` entries for a port other than 22)."""
    host_key_check: bool = True
    """False only where the inventory opts out explicitly for this device: any host key is then accepted."""
    conn_timeout_s: float = 5.0
    command_timeout_s: float = 10.0
    pons: tuple[str, ...] = ()
    """OLTs: the PON ports (``F/S/P``) the ``ssh_onu`` job reads."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags every sample carries: device, site, region, role, vendor."""


class CliSession(Protocol):
    """One logged-in CLI session (blocking). Commands run in the session's current mode."""

    def send_command(self, command: str) -> str:
        """Run ``command``; its output without the echo and the prompt."""
        ...

    def enter_interface(self, kind: str, name: str) -> None:
        """Enter ``interface <kind> <name>`` mode (through config mode), e.g. ``("gpon", "0/1")``."""
        ...

    def exit_interface(self) -> None:
        """Leave interface mode back to privileged mode."""
        ...

    def alive(self) -> bool:
        """Whether the transport still looks usable (for reuse across polls)."""
        ...

    def close(self) -> None: ...


def netmiko_params(t: SshTarget) -> dict[str, Any]:
    """netmiko ``ConnectHandler`` arguments for ``t``: password or key, bounded timeouts, host-key policy."""
    params: dict[str, Any] = {
        "device_type": t.platform,
        "host": t.address,
        "port": t.port,
        "username": t.username,
        "password": t.password.get_secret_value() if t.password is not None else "",
        "secret": t.password.get_secret_value() if t.password is not None else "",
        "use_keys": t.key_file is not None,
        "key_file": t.key_file,
        "allow_agent": False,
        "ssh_config_file": None,
        "conn_timeout": t.conn_timeout_s,
        "auth_timeout": t.conn_timeout_s,
        "banner_timeout": t.conn_timeout_s,
        "blocking_timeout": t.command_timeout_s,
        "read_timeout_override": t.command_timeout_s,
        "fast_cli": True,
        "keepalive": 30,
    }
    if t.host_key_check:
        # RejectPolicy + only the given file: an unknown host or a changed key is refused
        params.update(ssh_strict=True, system_host_keys=False, alt_host_keys=True,
                      alt_key_file=t.known_hosts or "")
    else:
        params.update(ssh_strict=False, system_host_keys=False, alt_host_keys=False)
    return params


def classify(exc: BaseException) -> SshError:
    """Map netmiko/paramiko/socket errors to an :class:`SshError` with a short reason."""
    if isinstance(exc, SshError):
        return exc
    import paramiko  # type: ignore[import-untyped]
    from netmiko.exceptions import (
        NetmikoAuthenticationException,
        NetmikoTimeoutException,
        ReadTimeout,
    )

    full = str(exc).strip()
    lines = [line for line in full.splitlines() if line.strip()]
    text = lines[-1].strip() if lines else type(exc).__name__
    low = full.lower()
    cause = exc.__cause__ or exc.__context__
    if (isinstance(exc, paramiko.BadHostKeyException) or isinstance(cause, paramiko.BadHostKeyException)
            or "known_hosts" in low or "host key" in low):
        return SshError(REASON_HOSTKEY, text)
    if isinstance(exc, NetmikoAuthenticationException | paramiko.AuthenticationException):
        return SshError(REASON_AUTH, text)
    if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower():
        return SshError(REASON_REFUSED, text)
    if isinstance(exc, NetmikoTimeoutException | ReadTimeout | TimeoutError | socket.timeout):
        return SshError(REASON_TIMEOUT, text)
    if isinstance(exc, socket.gaierror):
        return SshError(REASON_UNREACHABLE, text)
    if isinstance(exc, EOFError | OSError | paramiko.SSHException):
        return SshError(REASON_CLOSED, text)
    return SshError(REASON_ERROR, f"{type(exc).__name__}: {text}")


class NetmikoSession:
    """:class:`CliSession` over a netmiko connection (one per device; not thread-safe)."""

    def __init__(self, target: SshTarget, conn: Any) -> None:
        self._target = target
        self._conn = conn

    @classmethod
    def open(cls, target: SshTarget) -> NetmikoSession:
        """Log in (raises :class:`SshError`); privileged mode where the platform has one."""
        from netmiko import ConnectHandler

        try:
            conn = ConnectHandler(**netmiko_params(target))
            if target.platform not in ("linux",) and not conn.check_enable_mode():
                conn.enable()
        except Exception as exc:
            raise classify(exc) from exc
        return cls(target, conn)

    def send_command(self, command: str) -> str:
        try:
            out = self._conn.send_command(command, read_timeout=self._target.command_timeout_s)
        except Exception as exc:
            raise classify(exc) from exc
        return str(out)

    def enter_interface(self, kind: str, name: str) -> None:
        try:
            if not self._conn.check_config_mode():
                self._conn.config_mode()
            prompt = re.escape(self._conn.base_prompt) + r"[^\n]*\)#"
            self._conn.send_command(f"interface {kind} {name}", expect_string=prompt,
                                    read_timeout=self._target.command_timeout_s)
        except Exception as exc:
            raise classify(exc) from exc

    def exit_interface(self) -> None:
        try:
            self._conn.exit_config_mode()
        except Exception as exc:
            raise classify(exc) from exc

    def alive(self) -> bool:
        try:
            return bool(self._conn.is_alive())
        except Exception:
            return False

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken session must not fail the poll
            self._conn.disconnect()
