"""Impact (pure): the services and customers a root alarm and its symptoms take down, and the priority.

What an alarm takes down (``via`` on each :class:`AffectedService`):

- ``device_unreachable`` on D: every service carried by D (``D``);
- ``interface_down`` / ``interface_flapping`` on D port P: services on P and its sub-interfaces ``P.n``,
  and every service carried by the devices cut off behind P (those whose upstream link is D's port P, and
  their own downstream; :func:`alarms.correlate.cut_off`) (``D:P``);
- ``radio_down`` on radio D link L: the same for the link — above all every service carried by the devices
  cut off behind L, the cell-site router's mobile backhaul (``D:L``);
- ``pon_down`` on OLT port P: every ONU service on P (``OLT:P``); ``onu_los`` on ``P:n``: that ONU's
  service (``OLT:P:n``);
- ``on_battery`` at a site: every service carried by the site's gear, which is at risk (``site:S``);
- anything else names no service.

Priority: 1 when any affected service is of a class in ``p1_classes`` (enterprise lines, mobile
backhaul); 2 when at least ``p2_min_subscribers`` subscribers are affected; 3 when at least
``p3_min_subscribers``; else 4.
"""

from __future__ import annotations

from collections.abc import Iterable

from alarms.correlate import ServiceRef, Topology, cut_off
from alarms.model import AffectedService, AlarmKey, Impact, Kind
from config.alarms import Priority


def _on_port(s: ServiceRef, port: str) -> bool:
    return s.interface is not None and (s.interface == port or s.interface.startswith(port + "."))


def services_of(key: AlarmKey, topo: Topology) -> list[tuple[ServiceRef, str]]:
    """(service, via) for every service ``key`` takes down."""
    d, r = key.device, key.resource
    if key.kind == Kind.DEVICE_UNREACHABLE:
        return [(s, d) for s in topo.services if s.device == d]
    if key.kind in (Kind.INTERFACE_DOWN, Kind.INTERFACE_FLAPPING, Kind.RADIO_DOWN):
        behind = set(cut_off(d, r, topo))
        return [(s, f"{d}:{r}") for s in topo.services if s.device in behind or (s.device == d and _on_port(s, r))]
    if key.kind == Kind.PON_DOWN:
        return [(s, f"{d}:{r}") for s in topo.services if s.device == d and s.pon == r]
    if key.kind == Kind.ONU_LOS:
        pon, _, onu = r.rpartition(":")
        return [
            (s, f"{d}:{r}")
            for s in topo.services
            if s.device == d and s.pon == pon and s.onu is not None and str(s.onu) == onu
        ]
    if key.kind == Kind.ON_BATTERY:
        site = topo.site.get(d, "")
        gear = set(topo.devices_at(site))
        return [(s, f"site:{site}") for s in topo.services if s.device in gear]
    return []


def priority(services: Iterable[AffectedService], rules: Priority) -> int:
    items = list(services)
    if any(s.service_class in rules.p1_classes for s in items):
        return 1
    subs = sum(s.subscribers for s in items)
    if subs >= rules.p2_min_subscribers:
        return 2
    if subs >= rules.p3_min_subscribers:
        return 3
    return 4


def impact(keys: Iterable[AlarmKey], topo: Topology, rules: Priority) -> Impact:
    """The services taken down by these alarms (a root and its symptoms), each once, and the priority."""
    seen: dict[str, AffectedService] = {}
    for key in keys:
        for s, via in services_of(key, topo):
            if s.service_id not in seen:
                seen[s.service_id] = AffectedService(s.service_id, s.customer, s.service_class, s.subscribers, via)
    services = tuple(sorted(seen.values(), key=lambda a: a.service_id))
    return Impact(services, priority(services, rules))
