"""Who may do what (pure): the role matrix of the ticket API.

* ``noc`` reads and changes every ticket;
* ``auditor`` reads every ticket and changes none (403);
* ``technician`` reads and changes only the tickets of their own team; another team's ticket (or one with no
  team yet) answers 404, exactly as a ticket that does not exist, so ticket ids of other teams do not leak.
  Technicians may acknowledge, start work, add notes, resolve and close; reopening, assigning a team and
  linking a customer complaint are the NOC's (403).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from alarms.api.tokens import ApiRole, Principal
from alarms.model import Ticket


class Action(StrEnum):
    READ = "read"
    ACK = "ack"
    PROGRESS = "progress"
    NOTE = "note"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    ASSIGN = "assign"
    COMPLAINT = "link complaints to"


ALLOWED: Mapping[ApiRole, frozenset[Action]] = MappingProxyType({
    ApiRole.NOC: frozenset(Action),
    ApiRole.AUDITOR: frozenset({Action.READ}),
    ApiRole.TECHNICIAN: frozenset(Action) - {Action.REOPEN, Action.ASSIGN, Action.COMPLAINT},
})


def may(principal: Principal, action: Action) -> bool:
    """The role allows the action at all (False → 403)."""
    return action in ALLOWED[principal.role]


def sees(principal: Principal, ticket: Ticket) -> bool:
    """The ticket is visible to the caller (False → 404)."""
    if principal.role is ApiRole.TECHNICIAN:
        return ticket.team is not None and ticket.team == principal.team
    return True


def team_filter(principal: Principal, requested: str | None) -> tuple[str | None, bool]:
    """The team filter to apply to a listing, and whether the listing is empty by rule (a technician asking
    for another team's tickets)."""
    if principal.role is ApiRole.TECHNICIAN:
        return principal.team, requested is not None and requested != principal.team
    return requested, False
