"""Per-device CLI sessions: reused across polls, one unit of work at a time per device, in the pool's own threads.

- netmiko blocks: work runs in the pool's own :class:`~concurrent.futures.ThreadPoolExecutor` (sized to the SSH
  devices, bounded; never the loop's default executor, which every ``asyncio.to_thread`` shares);
- concurrency 1 per device: while a device's previous work is still running — a concurrent poll, or the
  thread of a poll the scheduler timed out (a thread cannot be cancelled) — a new poll is refused at once with
  :class:`SshError` ``busy`` instead of queueing behind it and holding a worker;
- a session is kept after a poll and reused by the next; one that fails (or looks dead) is closed and dropped,
  and a poll that failed on a *reused* session reconnects once and retries (a stale connection is not a fault
  of the device) — never after ``auth`` or ``hostkey`` errors;
- an :class:`~collectors.ssh.answers.AnswerError` (the device answered, but not with what was expected) passes
  through unchanged and keeps the session.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

from collectors.ssh.answers import AnswerError
from collectors.ssh.session import REASON_AUTH, REASON_BUSY, REASON_HOSTKEY, CliSession, SshError, SshTarget, classify

T = TypeVar("T")

Opener = Callable[[SshTarget], CliSession]
"""Opens a logged-in session (raises :class:`SshError`); e.g. :meth:`NetmikoSession.open`."""

MAX_WORKERS: Final = 16
"""Upper bound of the pool's threads (each holds one device's blocking netmiko call)."""

_NO_RETRY: Final = frozenset({REASON_AUTH, REASON_HOSTKEY})


def workers_for(devices: int, cap: int = MAX_WORKERS) -> int:
    """Threads for ``devices`` SSH devices: one each (a device never uses two), at least 1, at most ``cap``."""
    return max(1, min(devices, cap))


class SessionPool:
    """Keeps one CLI session per device and runs blocking work on it, one unit at a time per device."""

    def __init__(self, opener: Opener, *, workers: int = 4, logger: logging.Logger | None = None) -> None:
        self._opener = opener
        self._log = logger or logging.getLogger(__name__)
        self._workers = max(1, workers)
        self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="netqos-ssh")
        self._guard = threading.Lock()
        self._busy: set[str] = set()
        self._sessions: dict[str, CliSession] = {}
        self._closed = False
        self.opened = 0
        """Sessions opened so far (reuse shows as fewer opens than polls)."""

    @property
    def workers(self) -> int:
        return self._workers

    def busy(self, name: str) -> bool:
        """Whether work for device ``name`` is running (or queued) in the pool."""
        with self._guard:
            return name in self._busy

    async def run(self, target: SshTarget, work: Callable[[CliSession], T]) -> T:
        """Run ``work(session)`` on ``target``'s session in a pool thread; raises :class:`SshError`
        (``busy`` at once when the device's previous work is still running)."""
        name = target.name
        with self._guard:
            if self._closed:
                raise SshError("closed", "the session pool is closed")
            if name in self._busy:
                raise SshError(REASON_BUSY, "the previous command on this device is still running")
            self._busy.add(name)
        try:
            fut = self._executor.submit(self._work, target, work)
        except BaseException:
            self._release(name)
            raise
        try:
            return await asyncio.wrap_future(fut)
        except asyncio.CancelledError:
            if fut.cancel():  # never started: nothing holds the device
                self._release(name)
            raise  # started: the thread releases the device when it ends

    def _release(self, name: str) -> None:
        with self._guard:
            self._busy.discard(name)

    def _work(self, target: SshTarget, work: Callable[[CliSession], T]) -> T:
        try:
            return self._run_sync(target, work)
        finally:
            with self._guard:
                self._busy.discard(target.name)
                late = self._closed
            if late:  # the pool closed while this thread ran: log out here
                self._drop(target.name)

    def _run_sync(self, target: SshTarget, work: Callable[[CliSession], T]) -> T:
        session = self._sessions.get(target.name)
        if session is not None and not session.alive():
            self._drop(target.name)
            session = None
        reused = session is not None
        try:
            return work(session if session is not None else self._open(target))
        except AnswerError:
            raise  # the device answered (an error or an unknown shape): the session itself is fine
        except Exception as exc:
            err = classify(exc)
            self._drop(target.name)
            if not reused or err.reason in _NO_RETRY:
                raise err from exc
            self._log.info("device=%s: reused SSH session failed (%s); reconnecting", target.name, err)
        try:
            return work(self._open(target))
        except AnswerError:
            raise
        except Exception as exc:
            self._drop(target.name)
            raise classify(exc) from exc

    def _open(self, target: SshTarget) -> CliSession:
        session = self._opener(target)
        with self._guard:
            self.opened += 1
        self._sessions[target.name] = session
        self._log.debug("device=%s: SSH session opened to %s:%d", target.name, target.address, target.port)
        return session

    def _drop(self, name: str) -> None:
        session = self._sessions.pop(name, None)
        if session is not None:
            session.close()

    def _drop_all(self, names: list[str]) -> None:
        for name in names:
            self._drop(name)

    async def close(self) -> None:
        """Log out of every idle session and stop the threads; a device still busy logs out when its work
        ends (bounded by its command timeout)."""
        with self._guard:
            self._closed = True
            idle = [n for n in self._sessions if n not in self._busy]
        if idle:
            await asyncio.wrap_future(self._executor.submit(self._drop_all, idle))
        self._executor.shutdown(wait=False, cancel_futures=True)


__all__ = ["MAX_WORKERS", "Opener", "SessionPool", "SshError", "workers_for"]
