"""Repair-limit escalation: the pure table, and one run through the notifier against a SQLite store."""

from __future__ import annotations

import tempfile
from datetime import timedelta

import pytest

from alarms.model import TicketStatus
from alarms.notify import Notifier, due_for_escalation, was_escalated
from alarms.tickets import open_store
from config.tickets import NotifySettings, RepairLimits
from tests.notify_fixtures import T0, Receiver, hours, receiver, ticket  # noqa: F401
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
    ({"audit": ("opened", "escalated")}, 40.0, 75, False, False),  # already escalated
    ({"audit": ("opened", "escalated", "reopened")}, 40.0, 75, True, False),  # reopened: escalate again
    ({"site": "lab"}, 100.0, 75, False, False),  # a site class without a limit
    ({"site": "nowhere"}, 100.0, 75, False, False),  # unknown site
]


@pytest.mark.parametrize(("kwargs", "after_h", "threshold", "due", "breached"), CASES)
def test_due_for_escalation(
    kwargs: dict[str, object], after_h: float, threshold: float, due: bool, breached: bool
) -> None:
    t = ticket(**kwargs)  # type: ignore[arg-type]
    got = due_for_escalation([t], SITES.get, LIMITS, threshold, T0 + hours(after_h))
    assert [e.ticket.id for e in got] == ([t.id] if due else [])
    if due:
        e = got[0]
        start = t.clock.reported or t.clock.detected
        assert e.start == start and e.deadline == start + e.limit
        assert e.breached is breached
        assert e.elapsed_pct == pytest.approx(100 * (T0 + hours(after_h) - start) / e.limit)


def test_most_urgent_first() -> None:
    tickets = [ticket(1), ticket(2, detected=T0 - hours(10)), ticket(3, site="chongming-1")]
    got = due_for_escalation(tickets, SITES.get, LIMITS, 50, T0 + hours(40))
    assert [e.ticket.id for e in got] == [2, 1, 3]


@pytest.mark.parametrize(("audit", "escalated"), [(("opened",), False), (("opened", "escalated"), True),
                                                  (("escalated", "reopened"), False),
                                                  (("escalated", "reopened", "escalated"), True)])  # fmt: skip
def test_was_escalated(audit: tuple[str, ...], escalated: bool) -> None:
    assert was_escalated(ticket(audit=audit)) is escalated


def test_escalation_run_marks_and_notifies_once(receiver: Receiver) -> None:  # noqa: F811
    from alarms.notify import WebhookChannel
    from config.tickets import Backoff
    from tests.notify_fixtures import SECRET

    receiver.reset([])
    channel = WebhookChannel("noc", receiver.url, SECRET, Backoff(max_attempts=2), lambda s: None)
    notifier = Notifier(((channel, {"escalated"}),))
    with tempfile.TemporaryDirectory(prefix="netqos-esc-") as tmp, open_store(f"sqlite:///{tmp}/t.db") as store:
        urgent, _ = store.open_or_get(open_action("dev-a"), None, T0)
        store.open_or_get(open_action("dev-b", raised=T0 + hours(30)), None, T0 + hours(30))
        settings = NotifySettings()
        now = T0 + timedelta(hours=37)
        due = notifier.escalate(store.list(), store, lambda site: "urban", settings, now)
        assert [e.ticket.id for e in due] == [urgent.id]
        again = notifier.escalate(store.list(), store, lambda site: "urban", settings, now + hours(1))
        assert again == []
        marked = store.get(urgent.id)
        assert marked is not None and marked.audit[-1].action == "escalated"
    assert len(receiver.accepted) == 1
    body = receiver.requests[0]["body"]
    assert body["event"] == "escalated" and body["escalation"]["limit_h"] == 48
    assert body["escalation"]["deadline"] == "2026-03-03T08:00:00Z"
