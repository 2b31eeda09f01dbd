"""Per-device CLI sessions: reused across polls, one user at a time, blocking work run in a thread.

- one :class:`asyncio.Lock` per device (concurrency 1 per device, FIFO), plus a :class:`threading.Lock` so a
  worker thread left running by a cancelled poll is never overlapped by the next one;
- a session is kept after a poll and reused by the next; one that fails (or looks dead) is closed and dropped,
  and a poll that failed on a *reused* session reconnects once and retries (a stale connection is not a fault
  of the device);
- netmiko blocks: each unit of work runs through :func:`asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from collectors.ssh.session import REASON_AUTH, REASON_HOSTKEY, CliSession, SshError, SshTarget, classify

T = TypeVar("T")

Opener = Callable[[SshTarget], CliSession]
"""Opens a logged-in session (raises :class:`SshError`); e.g. :meth:`NetmikoSession.open`."""

_NO_RETRY = frozenset({REASON_AUTH, REASON_HOSTKEY})


class SessionPool:
    """Keeps one CLI session per device and runs blocking work on it, one unit at a time per device."""

    def __init__(self, opener: Opener, *, logger: logging.Logger | None = None) -> None:
        self._opener = opener
        self._log = logger or logging.getLogger(__name__)
        self._locks: dict[str, asyncio.Lock] = {}
        self._thread_locks: dict[str, threading.Lock] = {}
        self._sessions: dict[str, CliSession] = {}
        self._guard = threading.Lock()
        self.opened = 0
        """Sessions opened so far (reuse shows as fewer opens than polls)."""

    async def run(self, target: SshTarget, work: Callable[[CliSession], T]) -> T:
        """Run ``work(session)`` on ``target``'s session in a worker thread; raises :class:`SshError`."""
        lock = self._locks.setdefault(target.name, asyncio.Lock())
        async with lock:
            return await asyncio.to_thread(self._run_sync, target, work)

    def _thread_lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._thread_locks.setdefault(name, threading.Lock())

    def _run_sync(self, target: SshTarget, work: Callable[[CliSession], T]) -> T:
        with self._thread_lock(target.name):
            session = self._sessions.get(target.name)
            if session is not None and not session.alive():
                self._drop(target.name)
                session = None
            reused = session is not None
            try:
                return work(session if session is not None else self._open(target))
            except Exception as exc:
                err = classify(exc)
                self._drop(target.name)
                if not reused or err.reason in _NO_RETRY:
                    raise err from exc
                self._log.info("device=%s: reused SSH session failed (%s); reconnecting", target.name, err)
            try:
                return work(self._open(target))
            except Exception as exc:
                self._drop(target.name)
                raise classify(exc) from exc

    def _open(self, target: SshTarget) -> CliSession:
        session = self._opener(target)
        self.opened += 1
        self._sessions[target.name] = session
        self._log.debug("device=%s: SSH session opened to %s:%d", target.name, target.address, target.port)
        return session

    def _drop(self, name: str) -> None:
        session = self._sessions.pop(name, None)
        if session is not None:
            session.close()

    async def close(self) -> None:
        """Log out of every kept session."""
        names = list(self._sessions)
        for name in names:
            lock = self._locks.setdefault(name, asyncio.Lock())
            async with lock:
                await asyncio.to_thread(self._close_one, name)

    def _close_one(self, name: str) -> None:
        with self._thread_lock(name):
            self._drop(name)


__all__ = ["Opener", "SessionPool", "SshError"]
