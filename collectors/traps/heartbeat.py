"""Is a northbound feed alive? Pure steps over a frozen :class:`FeedState`, with the time passed in.

A vendor mapping with a ``heartbeat`` (e.g. Huawei U2000/iMaster NBI keep-alives, every 60 s) is watched:
:func:`beat` on each heartbeat, :func:`tick` now and then. When ``missed`` periods pass without a
heartbeat, :func:`tick` yields one ``emsFeedLost`` event; the next heartbeat yields ``emsFeedRestored``,
which clears it (same device and resource, so the alarm engine pairs them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from collectors.model import DeviceEvent
from config.traps import Heartbeat, VendorMapping

FEED_LOST: Final = "emsFeedLost"
FEED_RESTORED: Final = "emsFeedRestored"


@dataclass(frozen=True, slots=True)
class FeedState:
    """One mapping's feed. ``since`` is the last heartbeat (or the watch's start); None: not yet watched.
    ``device`` is who the feed events are about (configured, else the last heartbeat's sender);
    ``lost_device`` is the device the standing ``emsFeedLost`` was raised on (its clear must match)."""

    mapping: str
    heartbeat: Heartbeat
    device: str | None = None
    since: datetime | None = None
    lost_device: str | None = None

    @property
    def lost(self) -> bool:
        return self.lost_device is not None

    @property
    def limit_s(self) -> float:
        return self.heartbeat.period_s * self.heartbeat.missed


def start(mp: VendorMapping, now: datetime) -> FeedState:
    """A mapping's feed at receiver start: watched at once when the heartbeat names its EMS device."""
    hb = mp.heartbeat
    if hb is None:
        raise ValueError(f"mapping {mp.name!r} has no heartbeat")
    return FeedState(mp.name, hb, hb.device, now if hb.device is not None else None)


def beat(state: FeedState, sender: str, now: datetime) -> tuple[FeedState, DeviceEvent | None]:
    """A heartbeat from ``sender``: the feed is alive; a lost feed is restored."""
    device = state.heartbeat.device or sender
    if state.lost_device is None:
        return replace(state, device=device, since=now), None
    gone_s = (now - state.since).total_seconds() if state.since is not None else 0.0
    event = DeviceEvent(
        state.lost_device, FEED_RESTORED, state.mapping, now, severity="cleared", clears=FEED_LOST,
        text=f"EMS feed {state.mapping} restored on {state.lost_device}: heartbeat again after {gone_s:.0f} s",
        attrs={"mapping": state.mapping, "sender": sender},
    )
    return replace(state, device=device, since=now, lost_device=None), event


def tick(state: FeedState, now: datetime) -> tuple[FeedState, DeviceEvent | None]:
    """Time passes: ``missed`` periods without a heartbeat lose the feed (once, until it is restored)."""
    if state.lost_device is not None or state.since is None or state.device is None:
        return state, None
    silent_s = (now - state.since).total_seconds()
    if silent_s < state.limit_s:
        return state, None
    hb = state.heartbeat
    event = DeviceEvent(
        state.device, FEED_LOST, state.mapping, now, severity="major",
        text=(f"EMS feed {state.mapping} lost on {state.device}: no heartbeat for {silent_s:.0f} s "
              f"({hb.missed} periods of {hb.period_s:g} s)"),
        attrs={"mapping": state.mapping, "last_heartbeat": state.since.isoformat()},
    )
    return replace(state, lost_device=state.device), event
