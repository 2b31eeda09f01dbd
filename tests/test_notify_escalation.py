"""Repair-limit escalation: the pure table, and the marks it records in a SQLite store."""

from __future__ import annotations

import tempfile
from dataclasses import replace

import pytest

from alarms.model import AuditEntry, Ticket, TicketStatus
from alarms.notify import (
    Escalation,
    due_for_escalation,
    escalation_detail,
    escalation_from,
    escalation_marks,
    mark_escalations,
    was_escalated,
)
from alarms.tickets import open_store
from config.tickets import NotifySettings, RepairLimits
from tests.notify_fixtures import T0, hours, ticket
from tests.tickets_fixtures import open_action

SITES = {"pudong-1": "urban", "chongming-1": "rural", "lab": "unknown-class"}
LIMITS = RepairLimits(urban_h=48, rural_h=72)
S = TicketStatus

CASES = [
    # (ticket kwargs, hours after T0, threshold %, due?, breached?)
    ({}, 35.9, 75, False, False),  # urban: 75 % of 48 h = 36 h
    ({}, 36.0, 75, True, False),
    ({}, 49.0, 75, True, True),
    ({"site": "chongming-1"}, 36.0, 75, False, False),  # rural: 72 h limit → 54 h
    ({"site": "chongming-1"}, 54.0, 75, True, False),
    ({"site": "chongming-1"}, 72.0, 75, True, True),
    ({"reported": T0 + hours(10)}, 40.0, 75, False, False),  # counted from the customer's report
    ({"reported": T0 + hours(10)}, 46.0, 75, True, False),
    ({}, 24.0, 50, True, False),  # the threshold is config
    ({"restored": T0 + hours(30)}, 40.0, 75, False, False),  # repaired: nothing to escalate
    ({"status": S.RESOLVED}, 40.0, 75, False, False),
    ({"status": S.CLOSED}, 80.0, 75, False, False),
    ({"status": S.IN_PROGRESS}, 40.0, 75, True, False),
    ({"audit": ("opened", "escalated")}, 40.0, 75, False, False),  # already warned
    ({"audit": ("opened", "escalated")}, 48.0, 75, True, True),  # warned, now exceeded: the second notice
    ({"audit": ("opened", "escalated", "breached")}, 60.0, 75, False, False),  # both sent already
    ({"audit": ("opened", "breached")}, 60.0, 75, False, False),  # exceeded at the first look: one notice
    ({}, 60.0, 75, True, True),  # never warned, already exceeded: the breach only
    ({"audit": ("opened", "escalated", "reopened")}, 40.0, 75, True, False),  # reopened: escalate again
    ({"audit": ("opened", "escalated", "breached", "recurred")}, 60.0, 75, True, True),  # recurred: again
    ({"site": "lab"}, 100.0, 75, False, False),  # a site class without a limit
    ({"site": "nowhere"}, 100.0, 75, False, False),  # unknown site
]


def _ticket(**kwargs: object) -> Ticket:
    """A fixture ticket whose audit names ``breached`` stand for an ``escalated`` entry of kind breached."""
    t = ticket(**kwargs)  # type: ignore[arg-type]
    audit = tuple(
        AuditEntry(a.actor, a.time, "escalated", {"kind": "breached"}) if a.action == "breached" else a for a in t.audit
    )
    return replace(t, audit=audit)


@pytest.mark.parametrize(("kwargs", "after_h", "threshold", "due", "breached"), CASES)
def test_due_for_escalation(
    kwargs: dict[str, object], after_h: float, threshold: float, due: bool, breached: bool
) -> None:
    t = _ticket(**kwargs)
    got = due_for_escalation([t], SITES.get, LIMITS, threshold, T0 + hours(after_h))
    assert [e.ticket.id for e in got] == ([t.id] if due else [])
    if due:
        e = got[0]
        start = t.clock.reported or t.clock.detected
        assert e.start == start and e.deadline == start + e.limit
        assert e.breached is breached and e.kind == ("breached" if breached else "escalated")
        assert escalation_from(t, escalation_detail(e)) == replace(e, elapsed_pct=round(e.elapsed_pct, 1))
        assert e.elapsed_pct == pytest.approx(100 * (T0 + hours(after_h) - start) / e.limit)


def test_most_urgent_first() -> None:
    tickets = [ticket(1), ticket(2, detected=T0 - hours(10)), ticket(3, site="chongming-1")]
    got = due_for_escalation(tickets, SITES.get, LIMITS, 50, T0 + hours(40))
    assert [e.ticket.id for e in got] == [2, 1, 3]


@pytest.mark.parametrize(
    ("audit", "marks"),
    [
        (("opened",), set()),
        (("opened", "escalated"), {"escalated"}),
        (("opened", "escalated", "breached"), {"escalated", "breached"}),
        (("escalated", "reopened"), set()),
        (("escalated", "breached", "recurred"), set()),
        (("escalated", "reopened", "escalated"), {"escalated"}),
    ],
)
def test_escalation_marks(audit: tuple[str, ...], marks: set[str]) -> None:
    t = _ticket(audit=audit)
    assert escalation_marks(t) == marks
    assert was_escalated(t) is bool(marks)


@pytest.mark.parametrize("detail", [{}, {"kind": "breached"}, {"limit_h": "x", "site_class": "urban"}])
def test_an_incomplete_mark_gives_no_escalation(detail: dict[str, str]) -> None:
    assert escalation_from(ticket(), detail) is None


@pytest.mark.parametrize(
    ("steps", "kinds"),
    [
        ([37.0, 38.0], ["escalated"]),  # warned once, not again an hour later
        ([37.0, 49.0, 50.0], ["escalated", "breached"]),  # then exceeded: the second mark, once
        ([60.0, 61.0], ["breached"]),  # first looked at after the limit: the breach only
        ([10.0], []),
    ],
)
def test_marks_are_recorded_once_per_kind(steps: list[float], kinds: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="netqos-esc-") as tmp, open_store(f"sqlite:///{tmp}/t.db") as store:
        urgent, _ = store.open_or_get(open_action("dev-a"), None, T0)
        later, _ = store.open_or_get(open_action("dev-b", raised=T0 + hours(30)), None, T0 + hours(30))
        settings = NotifySettings()
        marked: list[Escalation] = []
        for h in steps:
            marked += mark_escalations(store.list_active(), store, lambda site: "urban", settings, T0 + hours(h))
        assert [(e.ticket.id, e.kind) for e in marked if e.ticket.id == urgent.id] == [(urgent.id, k) for k in kinds]
        got = store.get(urgent.id)
        assert got is not None
        details = [a.detail for a in got.audit if a.action == "escalated"]
        assert [d["kind"] for d in details] == kinds
        for d in details:
            assert d["deadline"] == "2026-03-03T08:00:00+00:00" and d["limit_h"] == "48"
        assert all(e.ticket.id in (urgent.id, later.id) for e in marked)
