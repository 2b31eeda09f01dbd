"""Maintenance windows (pure): is a device in a planned window at a given time?

Alarms raised on a device in a window are recorded with ``maintenance=True``, open no ticket, and the
SLA module excludes them. Windows come from ``config/alarms.yaml`` or the API (:meth:`with_window`).
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

    def with_window(self, window: Window) -> MaintenanceCalendar:
        return MaintenanceCalendar((*self.windows, window))

    def active(self, device: str, now: datetime) -> Window | None:
        return next((w for w in self.windows if w.covers(device, now)), None)

    def in_window(self, device: str, now: datetime) -> bool:
        return self.active(device, now) is not None
