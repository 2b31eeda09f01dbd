"""Maintenance windows (pure): is a device in a planned window at a given time, and until when?

Alarms raised on a device in a window are recorded with ``maintenance=True`` and open no ticket while the
window lasts; one still up when the window ends loses the flag then and is grouped and ticketed like any
alarm (the engine treats :meth:`MaintenanceCalendar.coverage`'s end as a deadline). Each alarm keeps the
interval it spent in maintenance for the SLA module to exclude. Windows come from ``config/alarms.yaml``
(``maintenance:``) only, read at start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alarms.correlate import Topology
from config.alarms import MaintenanceWindow


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime
    devices: frozenset[str]
    reason: str = ""

    def covers(self, device: str, now: datetime) -> bool:
        return device in self.devices and self.start <= now < self.end


@dataclass(frozen=True, slots=True)
class MaintenanceCalendar:
    windows: tuple[Window, ...] = ()

    @classmethod
    def build(cls, windows: tuple[MaintenanceWindow, ...], topology: Topology) -> MaintenanceCalendar:
        """Windows from the config, a window's sites expanded to the devices at them."""
        out = []
        for w in windows:
            devices = set(w.devices)
            for site in w.sites:
                devices.update(topology.devices_at(site))
            out.append(Window(w.start, w.end, frozenset(devices), w.reason))
        return cls(tuple(out))

    def active(self, device: str, now: datetime) -> Window | None:
        return next((w for w in self.windows if w.covers(device, now)), None)

    def in_window(self, device: str, now: datetime) -> bool:
        return self.active(device, now) is not None

    def coverage(self, device: str, now: datetime) -> tuple[datetime, datetime] | None:
        """(start, end) of the maintenance covering ``device`` at ``now`` — overlapping and back-to-back
        windows taken as one — or None when no window covers it."""
        covering = [w for w in self.windows if w.covers(device, now)]
        if not covering:
            return None
        start, end = min(w.start for w in covering), max(w.end for w in covering)
        later = sorted((w for w in self.windows if device in w.devices and w.end > end), key=lambda w: w.start)
        for w in later:
            if w.start <= end < w.end:
                end = w.end
        return start, end
