"""ifIndex → ifName of each device, learned from the interface samples of the latest polls.

The trap receiver uses it to name the interface of a linkDown/linkUp (traps carry only the ifIndex).
"""

from __future__ import annotations

from collections.abc import Iterable

from collectors import measurements as m
from collectors.model import Sample


class IfNameCache:
    """Fed with every poll's samples (``observe``); answers ``ifname(device, ifindex)``."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, int], str] = {}

    def observe(self, samples: Iterable[Sample]) -> None:
        for s in samples:
            if s.measurement != m.INTERFACE:
                continue
            device, index, name = s.tags.get(m.TAG_DEVICE), s.tags.get(m.TAG_IFINDEX), s.tags.get(m.TAG_IFNAME)
            if device and index and name and index.isdigit():
                self._names[(device, int(index))] = name

    def ifname(self, device: str, ifindex: int) -> str | None:
        return self._names.get((device, ifindex))
