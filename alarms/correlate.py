"""Root cause from topology (pure): which down alarm explains another.

:class:`Topology` is built once from the inventory. :func:`explainer` names the alarm that directly
explains one alarm; :func:`top_root` follows those explanations to the root. The rules:

- ``device_unreachable`` on D is explained when *every* upstream link of D is broken — the upstream
  device is down (``device_unreachable``), or, when the inventory names the upstream's port (or radio link)
  towards D, that port or link is down (``radio_down``, ``interface_down``) or flapping
  (``interface_flapping``). The explainer is the break on the first broken link in inventory order (the
  primary upstream), so a dual-homed device whose two uplinks are both down is a symptom of the root behind
  its primary upstream, whatever order the alarms came in.
- failing that, a site power alarm (``on_battery`` on any device of D's site) explains D's unreachability,
  its interfaces, radios and PON ports going down, and a battery running low (thresholds ``battery_low``,
  ``battery_runtime_low``);
- ``interface_down`` on D port P is explained by ``radio_down`` on D link P (a radio's carrier is both an
  interface and a radio link: one fault, seen twice);
- any other alarm on D (ports, radios, BGP, thresholds, traps) is explained by D's own ``device_unreachable``;
- ``onu_los`` on ``olt:pon:onu`` is explained by ``pon_down`` on ``olt:pon``, else by the OLT being down.
``on_battery`` and ``interface_flapping`` are never symptoms.

Time (:class:`Timing`): an alarm already down well before a candidate root went down is not its symptom —
evidence gathered while the path was up cannot be caused by the path going down. A candidate explainer
whose onset is later than the alarm's onset plus the detection lag (one poll of the job that sees the
root, e.g. two failed 30 s polls) is passed over, as if it were not down: the alarm stays its own root, or
is explained by an older alarm. A root seen *after* its symptoms by up to the lag (its poll came later in
the cycle, or needed a second failure) still explains them.

:func:`cut_off` names the devices a broken link takes off the network (everything whose every path up
goes through it): impact uses it for a radio link or port down.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alarms.model import AlarmKey, Kind
from config.models import Inventory


@dataclass(frozen=True, slots=True)
class Link:
    """An upstream link: the parent device and, when known, the parent's port this device hangs off."""

    device: str
    port: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceRef:
    service_id: str
    customer: str
    service_class: str
    subscribers: int
    device: str
    interface: str | None = None
    pon: str | None = None
    onu: int | None = None


@dataclass(frozen=True, slots=True)
class Topology:
    upstreams: Mapping[str, tuple[Link, ...]] = field(default_factory=dict)
    site: Mapping[str, str] = field(default_factory=dict)
    region: Mapping[str, str] = field(default_factory=dict)
    monitored: Mapping[str, frozenset[str]] = field(default_factory=dict)
    services: tuple[ServiceRef, ...] = ()
    by_site: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    """Derived from ``site`` (devices per site, sorted)."""
    children: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    """Derived from ``upstreams``: the devices that have a link to each device, sorted."""

    def __post_init__(self) -> None:
        sites: dict[str, list[str]] = {}
        for d, s in self.site.items():
            sites.setdefault(s, []).append(d)
        object.__setattr__(self, "by_site", {s: tuple(sorted(ds)) for s, ds in sites.items()})
        kids: dict[str, set[str]] = {}
        for d, links in self.upstreams.items():
            for link in links:
                kids.setdefault(link.device, set()).add(d)
        object.__setattr__(self, "children", {p: tuple(sorted(ks)) for p, ks in kids.items()})

    @classmethod
    def from_inventory(cls, inv: Inventory) -> Topology:
        regions = {s.name: s.region for s in inv.sites}
        return cls(
            upstreams={d.name: tuple(Link(u.device, u.port) for u in d.upstream) for d in inv.devices},
            site={d.name: d.site for d in inv.devices},
            region={d.name: regions.get(d.site, "") for d in inv.devices},
            monitored={d.name: frozenset((*d.monitored_ports, *d.pon_ports)) for d in inv.devices},
            services=tuple(
                ServiceRef(
                    s.id, s.customer, s.service_class.value, s.subscribers,
                    s.carrier.device, s.carrier.interface, s.carrier.pon, s.carrier.onu,
                )
                for s in inv.services
            ),
        )

    def devices_at(self, site: str) -> tuple[str, ...]:
        return self.by_site.get(site, ())


DEFER = AlarmKey("", "defer", "")
"""``top_root``'s answer when an alarm on the way to the root is still pending: decide later."""

_POWER_EXPLAINS = frozenset(
    {Kind.DEVICE_UNREACHABLE, Kind.INTERFACE_DOWN, Kind.RADIO_DOWN, Kind.PON_DOWN, Kind.ONU_LOS}
)
_BATTERY_THRESHOLDS = frozenset({"battery_low", "battery_runtime_low"})
"""Threshold resources a site on battery explains (the battery draining is the mains failure's effect)."""
_NEVER_SYMPTOM = frozenset({Kind.ON_BATTERY, Kind.INTERFACE_FLAPPING})
_LINK_DOWN = (Kind.RADIO_DOWN, Kind.INTERFACE_DOWN, Kind.INTERFACE_FLAPPING)
"""Alarms on the upstream's port/link towards a device that break that link, in order of preference."""


@dataclass(frozen=True, slots=True)
class Timing:
    """When each down alarm's current occurrence began (``onset``) and how late a root may be seen after
    its symptoms (``lag``). An alarm without an onset is never ruled out."""

    onset: Mapping[AlarmKey, datetime]
    lag: timedelta

    def can_explain(self, cause: AlarmKey, effect: AlarmKey) -> bool:
        """False when ``effect`` went down more than ``lag`` before ``cause``: it predates the cause."""
        c, e = self.onset.get(cause), self.onset.get(effect)
        return c is None or e is None or e >= c - self.lag


@dataclass(frozen=True, slots=True)
class _Causes:
    """The down alarms that may explain ``effect``: in ``down`` and, with a timing, not later than it."""

    down: Container[AlarmKey]
    effect: AlarmKey
    timing: Timing | None

    def __contains__(self, key: object) -> bool:
        if key not in self.down:
            return False
        return self.timing is None or not isinstance(key, AlarmKey) or self.timing.can_explain(key, self.effect)


def _link_break(link: Link, down: Container[AlarmKey]) -> AlarmKey | None:
    k = AlarmKey(link.device, Kind.DEVICE_UNREACHABLE)
    if k in down:
        return k
    if link.port is not None:
        for kind in _LINK_DOWN:
            k = AlarmKey(link.device, kind, link.port)
            if k in down:
                return k
    return None


def cut_off(device: str, port: str, topo: Topology) -> tuple[str, ...]:
    """The devices cut off when ``device``'s port or radio link ``port`` breaks: those whose every upstream
    link is that one or leads to a device already cut off (a dual-homed device with another way up stays),
    sorted."""
    out: set[str] = set()
    todo = [device]
    while todo:
        parent = todo.pop()
        for child in topo.children.get(parent, ()):
            if child in out or child == device:
                continue
            links = topo.upstreams.get(child, ())
            if links and all((x.device == device and x.port == port) or x.device in out for x in links):
                out.add(child)
                todo.append(child)
    return tuple(sorted(out))


def _power(device: str, down: Container[AlarmKey], topo: Topology) -> AlarmKey | None:
    site = topo.site.get(device)
    if site is None:
        return None
    for other in topo.devices_at(site):
        k = AlarmKey(other, Kind.ON_BATTERY)
        if k in down:
            return k
    return None


def explainer(
    key: AlarmKey, down: Mapping[AlarmKey, object], topo: Topology, timing: Timing | None = None
) -> AlarmKey | None:
    """The down alarm that directly explains ``key`` (``down``: alarms pending, raised or clearing); with
    ``timing``, only one that did not go down after ``key`` (beyond the lag)."""
    if key.kind in _NEVER_SYMPTOM:
        return None
    return _explainer(key, _Causes(down, key, timing), topo)


def _explainer(key: AlarmKey, down: Container[AlarmKey], topo: Topology) -> AlarmKey | None:
    if key.kind == Kind.DEVICE_UNREACHABLE:
        links = topo.upstreams.get(key.device, ())
        breaks = [_link_break(link, down) for link in links]
        if breaks and all(b is not None for b in breaks):
            return breaks[0]
    elif key.kind == Kind.ONU_LOS:
        pon = key.resource.rsplit(":", 1)[0]
        for k in (AlarmKey(key.device, Kind.PON_DOWN, pon), AlarmKey(key.device, Kind.DEVICE_UNREACHABLE)):
            if k in down:
                return k
    else:
        own = AlarmKey(key.device, Kind.DEVICE_UNREACHABLE)
        if own in down:
            return own
        if key.kind == Kind.INTERFACE_DOWN:
            radio = AlarmKey(key.device, Kind.RADIO_DOWN, key.resource)
            if radio in down:
                return radio
    if key.kind in _POWER_EXPLAINS or (key.kind == Kind.THRESHOLD and key.resource in _BATTERY_THRESHOLDS):
        return _power(key.device, down, topo)
    return None


def top_root(
    key: AlarmKey,
    down: Mapping[AlarmKey, object],
    topo: Topology,
    *,
    is_pending: Mapping[AlarmKey, bool],
    settled_root: Mapping[AlarmKey, AlarmKey | None],
    timing: Timing | None = None,
) -> AlarmKey:
    """Follow explanations from ``key`` to its root.

    Stops at an alarm already settled (its root is fixed: returns that root), answers :data:`DEFER` when
    an alarm on the way is still pending (its hold-down may raise or drop it), and never loops. With
    ``timing``, each step only goes to an explainer that did not go down after the alarm it explains.
    """
    seen = {key}
    cur = key
    while True:
        nxt = explainer(cur, down, topo, timing)
        if nxt is None:
            return cur
        if is_pending.get(nxt, False):
            return DEFER
        if nxt in settled_root:
            root = settled_root[nxt]
            return nxt if root is None else root
        if nxt in seen:
            return cur
        seen.add(nxt)
        cur = nxt
