"""A re-sent INFORM is one notification: remember what identifies it for a short window (pure; the time is
passed in).

A sender whose acknowledgement was lost re-sends the INFORM. The receiver acknowledges it again (pysnmp
does) but must hand it on only once. Senders re-send in one of two ways, both seen from net-snmp:
the same PDU with the same request-id (``snmpinform -v3``, most agents), or the same varbinds — same
``sysUpTime.0`` to the centisecond — under a new request-id from the same socket (``snmpinform -v2c``).
:func:`inform_keys` gives one key for each; a repeat matches either.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from collectors.traps.model import RawTrap

SYS_UPTIME: Final = "1.3.6.1.2.1.1.3.0"
DEFAULT_MAX_KEYS: Final = 100_000
"""Bound on remembered keys: an inform storm can not grow the receiver's memory without limit."""

Key = tuple[str, ...]


def inform_keys(trap: RawTrap, request_id: int) -> tuple[Key, ...]:
    """What makes a re-sent INFORM the same one: (sender, credential, request-id), and — when it carries
    ``sysUpTime.0`` — (sender, its UDP port, credential, a digest of every varbind)."""
    sender = (trap.source, trap.version, trap.security_name)
    keys: list[Key] = [("request-id", *sender, str(request_id))]
    if any(oid == SYS_UPTIME for oid, _ in trap.varbinds):
        digest = hashlib.sha256(repr(trap.varbinds).encode()).hexdigest()[:32]
        keys.append(("varbinds", *sender, str(trap.port), digest))
    return tuple(keys)


class RecentKeys:
    """Keys seen within ``window_s``: :meth:`seen` answers "a repeat?" and remembers the keys."""

    def __init__(self, window_s: float, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self._window = timedelta(seconds=window_s)
        self._max = max_keys
        self._keys: OrderedDict[Key, datetime] = OrderedDict()

    def seen(self, keys: Sequence[Key], now: datetime) -> bool:
        """True when any of ``keys`` was seen in the last ``window_s`` (a repeat). Keys are remembered from
        their first sighting, so a sender retrying for longer than the window is let through again."""
        if self._window <= timedelta(0):
            return False
        self._expire(now)
        repeat = any(k in self._keys for k in keys)
        for k in keys:
            self._keys.setdefault(k, now)
        while len(self._keys) > self._max:
            self._keys.popitem(last=False)
        return repeat

    def _expire(self, now: datetime) -> None:
        horizon = now - self._window
        while self._keys:
            first = next(iter(self._keys.values()))
            if first > horizon:
                break
            self._keys.popitem(last=False)

    def __len__(self) -> int:
        return len(self._keys)
