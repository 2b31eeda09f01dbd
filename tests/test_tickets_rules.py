"""Pure ticket rules: the lifecycle table, cause codes, team assignment."""

from __future__ import annotations

import itertools

import pytest

from alarms.model import AlarmKey, InvalidTransition, TicketStatus
from alarms.tickets import (
    DEFAULT_CAUSES,
    allowed,
    assign_team,
    audit_action,
    check_transition,
    excluded_from_sla,
    next_states,
    required_skills,
)
from config.models import Team

S = TicketStatus
ALLOWED = {
    (S.OPEN, S.ACKNOWLEDGED),
    (S.OPEN, S.IN_PROGRESS),
    (S.OPEN, S.RESOLVED),
    (S.ACKNOWLEDGED, S.IN_PROGRESS),
    (S.ACKNOWLEDGED, S.RESOLVED),
    (S.IN_PROGRESS, S.RESOLVED),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.OPEN),
    (S.CLOSED, S.OPEN),
}


@pytest.mark.parametrize(("frm", "to"), list(itertools.product(S, S)))
def test_lifecycle_table(frm: TicketStatus, to: TicketStatus) -> None:
    expected = (frm, to) in ALLOWED
    assert allowed(frm, to) is expected
    assert (to in next_states(frm)) is expected
    if expected:
        check_transition(frm, to, cause_code="fiber_cut")
    else:
        with pytest.raises(InvalidTransition):
            check_transition(frm, to, cause_code="fiber_cut")


@pytest.mark.parametrize(
    ("frm", "to", "cause", "ok"),
    [
        (S.RESOLVED, S.CLOSED, None, False),
        (S.RESOLVED, S.CLOSED, "", False),
        (S.RESOLVED, S.CLOSED, "fiber_cut", True),
        (S.RESOLVED, S.CLOSED, "made_up", False),
        (S.IN_PROGRESS, S.RESOLVED, None, True),
        (S.IN_PROGRESS, S.RESOLVED, "made_up", False),
    ],
)
def test_cause_code_rules(frm: TicketStatus, to: TicketStatus, cause: str | None, ok: bool) -> None:
    known = set(DEFAULT_CAUSES)
    if ok:
        check_transition(frm, to, cause_code=cause, known_causes=known)
    else:
        with pytest.raises(InvalidTransition):
            check_transition(frm, to, cause_code=cause, known_causes=known)


@pytest.mark.parametrize(
    ("frm", "to", "action"),
    [(S.RESOLVED, S.OPEN, "reopened"), (S.CLOSED, S.OPEN, "reopened"), (S.OPEN, S.ACKNOWLEDGED, "acknowledged")],
)
def test_audit_action(frm: TicketStatus, to: TicketStatus, action: str) -> None:
    assert audit_action(frm, to) == action


@pytest.mark.parametrize(
    ("code", "excluded"),
    [
        ("customer_side", True),
        ("force_majeure", True),
        ("planned_maintenance", True),
        ("no_access", True),
        ("duplicate", True),  # a merged ticket: its outage counts on the survivor
        ("fiber_cut", False),
        ("equipment_failure", False),
        ("unknown", False),
        (None, False),
    ],
)
def test_excluded_from_sla(code: str | None, excluded: bool) -> None:
    assert excluded_from_sla(code) is excluded


def test_cause_codes_have_both_languages() -> None:
    assert all(c.zh and c.en and c.code == k for k, c in DEFAULT_CAUSES.items())


TEAMS = (
    Team(name="east-ip", regions=("sh-east",), skills=("ip",)),
    Team(name="east-all", regions=("sh-east",), skills=("fiber", "ip", "power", "radio")),
    Team(name="roaming", regions=("sh-east", "sh-north"), skills=("fiber", "radio")),
    Team(name="north", regions=("sh-north",), skills=("ip", "power")),
)


@pytest.mark.parametrize(
    ("region", "skills", "team"),
    [
        ("sh-east", ["ip"], "east-ip"),  # both east teams have ip: the first in inventory order
        ("sh-east", ["fiber"], "east-all"),  # east-all and roaming have fiber: the more local one
        ("sh-east", ["fiber", "power"], "east-all"),
        ("sh-north", ["radio"], "roaming"),
        ("sh-north", ["ip"], "north"),
        ("sh-north", ["welding"], "north"),  # nobody has it: a team of the region anyway (more local)
        ("sh-west", ["ip"], None),
        ("sh-east", [], "east-ip"),
    ],
)
def test_assign_team(region: str, skills: list[str], team: str | None) -> None:
    assert assign_team(TEAMS, region, skills) == team


@pytest.mark.parametrize(
    ("key", "role", "skills"),
    [
        (AlarmKey("olt1", "pon_down", "0/1/3"), "olt", ("fiber",)),
        (AlarmKey("olt1", "onu_los", "0/1/3:7"), None, ("fiber",)),
        (AlarmKey("mw1", "radio_rsl_low", "r1"), "microwave", ("radio",)),
        (AlarmKey("pw1", "on_battery"), "power", ("power",)),
        (AlarmKey("mw1", "device_unreachable"), "microwave", ("radio",)),
        (AlarmKey("r1", "device_unreachable"), "router", ("ip",)),
        (AlarmKey("r1", "interface_down", "Gi0/0/1"), None, ("ip",)),
    ],
)
def test_required_skills(key: AlarmKey, role: str | None, skills: tuple[str, ...]) -> None:
    assert required_skills(key, role) == skills
