"""Picks a device's profile: the inventory's choice, or detected once from sysObjectID / sysDescr."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from collectors.model import SnmpClient, SnmpError, Target
from config.profiles import GENERIC, ProfileSet

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
AUTO = "auto"

log = logging.getLogger("netqos.detect")


class ProfileResolver:
    """Remembers each device's detected profile; a device that cannot be asked yet gets ``generic``
    (system + IF-MIB) for this poll and is asked again next time.

    Detection is serialised per device: the jobs of one device that start together wait for the one
    sysObjectID GET in flight and take its outcome (the profile, or ``generic`` when it failed) instead
    of each sending their own.
    """

    def __init__(self, profiles: ProfileSet, client_factory: Callable[[Target], SnmpClient]) -> None:
        self._profiles = profiles
        self._client_factory = client_factory
        self._detected: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._attempts: dict[str, int] = {}
        self._last: dict[str, str] = {}
        self._requests = 0

    @property
    def requests(self) -> int:
        """Detection GETs sent so far."""
        return self._requests

    async def resolve(self, target: Target, configured: str) -> str:
        if configured != AUTO:
            return configured
        known = self._detected.get(target.name)
        if known is not None:
            return known
        seen = self._attempts.get(target.name, 0)
        lock = self._locks.setdefault(target.name, asyncio.Lock())
        async with lock:
            known = self._detected.get(target.name)
            if known is not None:
                return known
            if self._attempts.get(target.name, 0) != seen:  # a detection finished while we waited: share it
                return self._last[target.name]
            name = await self._detect(target)
            self._attempts[target.name] = self._attempts.get(target.name, 0) + 1
            self._last[target.name] = name
            return name

    async def _detect(self, target: Target) -> str:
        client = self._client_factory(target)
        self._requests += 1
        try:
            answer = await client.get([SYS_OBJECT_ID, SYS_DESCR])
        except SnmpError as exc:
            log.info("device=%s job=detect: cannot detect the profile yet (%s)", target.name, exc.reason)
            return GENERIC
        finally:
            await client.close()
        oid = answer.get(SYS_OBJECT_ID)
        descr = answer.get(SYS_DESCR, b"")
        if not isinstance(oid, str):
            log.warning("device=%s job=detect: no sysObjectID; using %s", target.name, GENERIC)
            return GENERIC
        text = descr.decode("utf-8", "replace") if isinstance(descr, bytes) else str(descr)
        name = self._profiles.detect(oid, text)
        log.info("device=%s job=detect: sysObjectID %s -> profile %s", target.name, oid, name)
        self._detected[target.name] = name
        return name
