"""Which field team gets a ticket: pure functions over the inventory's teams."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from alarms.model import AlarmKey, Kind
from config.models import Team

_SKILL_BY_KIND = {
    Kind.PON_DOWN.value: "fiber",
    Kind.ONU_LOS.value: "fiber",
    Kind.ONU_RX_POWER.value: "fiber",
    Kind.RADIO_RSL_LOW.value: "radio",
    Kind.ON_BATTERY.value: "power",
}
_SKILL_BY_ROLE = {"olt": "fiber", "microwave": "radio", "power": "power"}


def required_skills(root: AlarmKey, role: str | None = None) -> tuple[str, ...]:
    """The skill a ticket's root alarm calls for: by alarm kind, else by device role, else ``ip``."""
    skill = _SKILL_BY_KIND.get(root.kind) or (_SKILL_BY_ROLE.get(role) if role else None) or "ip"
    return (skill,)


def assign_team(teams: Sequence[Team], region: str, skills: Collection[str]) -> str | None:
    """The team to assign: among the teams serving ``region``, the one with the most of ``skills``
    (all of them first); ties go to the more local team (fewer regions), then to inventory order.
    None when no team serves the region."""
    wanted = set(skills)
    best: tuple[int, int, int] | None = None
    chosen: str | None = None
    for order, team in enumerate(teams):
        if region not in team.regions:
            continue
        rank = (-len(wanted & set(team.skills)), len(team.regions), order)
        if best is None or rank < best:
            best, chosen = rank, team.name
    return chosen
