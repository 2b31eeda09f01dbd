"""What the API shows beside the ticket itself: the site's address and class, the repair deadline.

The ticket store knows a ticket's site by name only; the composition root builds :class:`SiteInfo` s from the
inventory (:func:`sites_from_inventory`) and picks the repair-time limits (the SLA standards' urban/rural
limits) for :func:`deadline_by_site_class`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from alarms.model import Ticket
from config.models import Inventory


@dataclass(frozen=True, slots=True)
class SiteInfo:
    name: str
    region: str
    site_class: str
    address: str


RepairDeadline = Callable[[Ticket], datetime | None]


def sites_from_inventory(inventory: Inventory) -> dict[str, SiteInfo]:
    return {s.name: SiteInfo(s.name, s.region, s.site_class.value, s.address) for s in inventory.sites}


def no_deadline(ticket: Ticket) -> datetime | None:
    return None


def deadline_by_site_class(sites: Mapping[str, SiteInfo], limits: Mapping[str, timedelta]) -> RepairDeadline:
    """Deadline = (customer report, else detection) + the limit for the ticket's site class; None when the
    site or its class has no limit."""

    def deadline(ticket: Ticket) -> datetime | None:
        site = sites.get(ticket.site)
        limit = limits.get(site.site_class) if site is not None else None
        if limit is None:
            return None
        start = ticket.clock.reported or ticket.clock.detected
        return start + limit

    return deadline
