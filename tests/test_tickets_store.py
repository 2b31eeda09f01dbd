"""The ticket store against real databases: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event

from alarms.model import AlarmKey, Impact, InvalidTransition, Ticket, TicketStatus
from alarms.tickets import SqlTicketStore, TicketNotFound, open_store
from tests.servers.postgres import postgres  # noqa: F401  (fixture)
from tests.tickets_fixtures import T0, at, db_url, open_action, service  # noqa: F401  (db_url: fixture)

S = TicketStatus


@pytest.fixture
def store(db_url: str) -> Iterator[SqlTicketStore]:  # noqa: F811
    st = open_store(db_url)
    try:
        yield st
    finally:
        st.close()


def test_open_or_get_twice_gives_one_ticket(store: SqlTicketStore) -> None:
    first, created = store.open_or_get(open_action(), "field-east", at(0))
    again, created_again = store.open_or_get(open_action(), "field-east", at(5))
    assert (created, created_again) == (True, False)
    assert again == first
    assert store.list() == [first]
    assert store.find_open(str(AlarmKey("sh-olt-01", "device_unreachable"))) == first


def test_opened_ticket_fields(store: SqlTicketStore) -> None:
    action = open_action(symptoms=("onu-a", "onu-b"), services=("svc-1", "svc-2"), priority=1, raised=at(-3))
    t, _ = store.open_or_get(action, "field-east", at(0))
    assert t.status is S.OPEN
    assert (t.priority, t.region, t.site, t.team) == (1, "sh-east", "pudong-1", "field-east")
    assert t.root == action.root.key and t.dedup_key == str(action.root.key)
    assert t.symptoms == (AlarmKey("onu-a", "device_unreachable"), AlarmKey("onu-b", "device_unreachable"))
    assert [s.service_id for s in t.services] == ["svc-1", "svc-2"]
    assert t.clock.detected == at(-3) and t.clock.detected.tzinfo is not None
    assert [a.action for a in t.audit] == ["opened", "assigned", "attached"]
    assert store.get(t.id) == t


@pytest.mark.parametrize("rounds", [6])
def test_concurrent_open_or_get_gives_one_ticket(db_url: str, rounds: int) -> None:  # noqa: F811
    """Two stores (two engines, two connections) race to open the same keys."""
    stores = [open_store(db_url), open_store(db_url, migrate_schema=False)]
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    try:
        for r in range(rounds):
            barrier = threading.Barrier(len(stores))

            def run(st: SqlTicketStore, device: str = f"race-{r}", b: threading.Barrier = barrier) -> None:
                try:
                    b.wait(timeout=10)
                    t, created = st.open_or_get(open_action(device), None, at(0))
                    with lock:
                        results.append((t.id, created))
                except BaseException as exc:  # collected and re-raised in the main thread
                    with lock:
                        errors.append(exc)

            threads = [threading.Thread(target=run, args=(st,)) for st in stores]
            for th in threads:
                th.start()
            for th in threads:
                th.join(timeout=30)
        assert errors == []
        by_ticket: dict[int, list[bool]] = {}
        for tid, created in results:
            by_ticket.setdefault(tid, []).append(created)
        assert len(by_ticket) == rounds
        assert all(sorted(v) == [False, True] for v in by_ticket.values())
        assert len(stores[0].list(limit=1000)) == rounds
    finally:
        for st in stores:
            st.close()


def test_concurrent_recurrence_recurs_once(db_url: str) -> None:  # noqa: F811
    """Two stores see the same fault come back to a restored ticket at the same time. Store A reads the ticket
    and, before writing, waits (up to 1.5 s) for store B to have read it too: were the read not locked, both
    would find it restored and both would recur it. Exactly one ``recurred`` entry must result."""
    a, b = open_store(db_url), open_store(db_url, migrate_schema=False)
    a_read, b_read = threading.Event(), threading.Event()
    waited: list[bool] = []
    errors: list[BaseException] = []

    def a_after(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM tickets" in statement:
            a_read.set()

    def a_before(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if a_read.is_set() and not waited and not statement.lstrip().upper().startswith("SELECT"):
            waited.append(b_read.wait(timeout=1.5))

    def b_after(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM tickets" in statement:
            b_read.set()

    try:
        t, _ = a.open_or_get(open_action("flap"), None, at(0))
        assert a.restore(t.root, at(1)) is not None
        event.listen(a.engine, "after_cursor_execute", a_after)
        event.listen(a.engine, "before_cursor_execute", a_before)
        event.listen(b.engine, "after_cursor_execute", b_after)

        def run(st: SqlTicketStore, first: threading.Event | None) -> None:
            try:
                if first is not None:
                    assert first.wait(timeout=10)
                got, created = st.open_or_get(open_action("flap", symptoms=("onu-z",)), None, at(2))
                assert not created and got.status is S.OPEN
            except BaseException as exc:  # collected and re-raised in the main thread
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(a, None)), threading.Thread(target=run, args=(b, a_read))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=30)
        assert errors == []
        assert waited == [False], "store B read the ticket while store A was about to change it"
        final = b.get(t.id)
        assert final is not None and final.status is S.OPEN and final.clock.restored is None
        actions = [x.action for x in final.audit]
        assert actions.count("recurred") == 1 and actions.count("attached") == 1
    finally:
        a.close()
        b.close()


LIFECYCLE_PATHS = [
    # (path of statuses from open, cause code given at each step (or None), ok?)
    ([S.ACKNOWLEDGED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED], {S.CLOSED: "fiber_cut"}, True),
    ([S.IN_PROGRESS, S.RESOLVED, S.CLOSED], {S.RESOLVED: "equipment_failure"}, True),
    ([S.RESOLVED, S.CLOSED], {S.CLOSED: "customer_side"}, True),
    ([S.RESOLVED, S.OPEN, S.ACKNOWLEDGED], {}, True),
    ([S.RESOLVED, S.CLOSED, S.OPEN, S.RESOLVED, S.CLOSED], {S.CLOSED: "software"}, True),
    ([S.CLOSED], {S.CLOSED: "fiber_cut"}, False),
    ([S.ACKNOWLEDGED, S.ACKNOWLEDGED], {}, False),
    ([S.IN_PROGRESS, S.ACKNOWLEDGED], {}, False),
    ([S.RESOLVED, S.CLOSED], {}, False),  # no cause code
    ([S.RESOLVED, S.CLOSED], {S.CLOSED: "gremlins"}, False),  # unknown cause code
    ([S.RESOLVED, S.CLOSED, S.ACKNOWLEDGED], {S.CLOSED: "fiber_cut"}, False),
    ([S.OPEN], {}, False),
    ([S.ACKNOWLEDGED], {S.ACKNOWLEDGED: "fiber_cut"}, False),  # cause codes only when resolving/closing
]


@pytest.mark.parametrize(("path", "causes", "ok"), LIFECYCLE_PATHS)
def test_lifecycle_paths(store: SqlTicketStore, path: list[TicketStatus], causes: dict[S, str], ok: bool) -> None:
    t, _ = store.open_or_get(open_action(), None, at(0))
    *good, last = path
    for i, to in enumerate(good):
        t = store.transition(t.id, to, "li.wei", at(i + 1), cause_code=causes.get(to))
        assert t.status is to
    if ok:
        t = store.transition(t.id, last, "li.wei", at(len(path)), cause_code=causes.get(last))
        assert t.status is last
        assert t.audit[-1].actor == "li.wei" and t.audit[-1].time == at(len(path))
    else:
        before = store.get(t.id)
        with pytest.raises(InvalidTransition):
            store.transition(t.id, last, "li.wei", at(len(path)), cause_code=causes.get(last))
        assert store.get(t.id) == before  # nothing changed, no audit entry


def test_repair_clock(store: SqlTicketStore) -> None:
    t, _ = store.open_or_get(open_action(raised=at(-2)), None, at(0))
    t = store.link_complaint(t.id, at(10), "hotline", at(11))
    t = store.link_complaint(t.id, at(5), "hotline", at(12))  # an earlier report wins
    t = store.link_complaint(t.id, at(30), "hotline", at(31))  # a later one does not
    t = store.transition(t.id, S.ACKNOWLEDGED, "li.wei", at(20))
    t = store.transition(t.id, S.IN_PROGRESS, "li.wei", at(25))
    restored = store.restore(t.root, at(40))
    assert restored is not None and restored.status is S.RESOLVED  # the root clearing resolves the ticket
    assert store.restore(t.root, at(45)) == restored  # idempotent: the first restore time stays
    t = store.transition(t.id, S.CLOSED, "li.wei", at(60), cause_code="fiber_cut")
    assert (t.clock.detected, t.clock.reported, t.clock.acknowledged, t.clock.restored, t.clock.closed) == (
        at(-2),
        at(5),
        at(20),
        at(40),
        at(60),
    )
    assert t.cause_code == "fiber_cut"
    actions = [a.action for a in t.audit]
    assert actions == [
        "opened",
        "complaint_linked",
        "complaint_linked",
        "complaint_linked",
        "acknowledged",
        "in_progress",
        "restored",
        "closed",
    ]
    assert t.audit[6].actor == "system"
    assert t.audit[6].detail == {"restored": at(40).isoformat(), "from": "in_progress", "to": "resolved"}


def test_resolve_without_alarm_clear_sets_restored(store: SqlTicketStore) -> None:
    t, _ = store.open_or_get(open_action(), None, at(0))
    t = store.transition(t.id, S.RESOLVED, "li.wei", at(7))
    assert t.clock.restored == at(7) and t.clock.acknowledged is None


def test_reopen_clears_the_end_of_the_clock(store: SqlTicketStore) -> None:
    t, _ = store.open_or_get(open_action(), None, at(0))
    store.restore(t.root, at(3))
    store.transition(t.id, S.CLOSED, "li.wei", at(5), cause_code="software")
    assert store.find_open(t.dedup_key) is None
    t = store.transition(t.id, S.OPEN, "wang.fang", at(9))
    assert (t.status, t.clock.restored, t.clock.closed, t.cause_code) == (S.OPEN, None, None, None)
    assert t.audit[-1].action == "reopened"
    assert t.audit[-1].detail["previous_cause_code"] == "software"
    assert t.audit[-1].detail["previous_closed"] == at(5).isoformat()
    assert store.find_open(t.dedup_key) == t


def test_closed_ticket_then_new_alarm_opens_new_ticket_and_blocks_reopen(store: SqlTicketStore) -> None:
    old, _ = store.open_or_get(open_action(), None, at(0))
    store.transition(old.id, S.RESOLVED, "li.wei", at(1), cause_code="software")
    store.transition(old.id, S.CLOSED, "li.wei", at(2))
    new, created = store.open_or_get(open_action(raised=at(10)), None, at(10))
    assert created and new.id != old.id
    with pytest.raises(InvalidTransition):
        store.transition(old.id, S.OPEN, "li.wei", at(11))
    assert store.get(old.id) is not None and store.get(old.id).status is S.CLOSED  # type: ignore[union-attr]


def test_notes_and_assignment(store: SqlTicketStore) -> None:
    t, _ = store.open_or_get(open_action(), None, at(0))
    store.add_note(t.id, "li.wei", "到达现场，光缆被挖断", at(1))
    t = store.add_note(t.id, "wang.fang", "splice done", at(2))
    assert [(n.author, n.time, n.text) for n in t.notes] == [
        ("li.wei", at(1), "到达现场，光缆被挖断"),
        ("wang.fang", at(2), "splice done"),
    ]
    t = store.assign(t.id, "field-north", "dispatcher", at(3))
    t = store.assign(t.id, "field-north", "dispatcher", at(4))  # no change, no entry
    assert t.team == "field-north"
    assert [(a.actor, a.action) for a in t.audit] == [
        ("system", "opened"),
        ("li.wei", "note"),
        ("wang.fang", "note"),
        ("dispatcher", "assigned"),
    ]
    with pytest.raises(ValueError):
        store.add_note(t.id, "x", "   ", at(5))


def test_attach_symptoms_and_services(store: SqlTicketStore) -> None:
    t, _ = store.open_or_get(open_action(symptoms=("onu-a",)), None, at(0))
    impact = Impact((service("svc-1"), service("svc-9")), priority=1)
    keys = [AlarmKey("onu-a", "device_unreachable"), AlarmKey("onu-b", "device_unreachable")]
    t2 = store.attach(t.root, keys, impact, at(2))
    assert t2 is not None
    assert t2.symptoms == tuple(keys)
    assert [s.service_id for s in t2.services] == ["svc-1", "svc-9"]
    assert t2.priority == 1
    assert t2.audit[-1].action == "attached"
    assert t2.audit[-1].detail == {"symptoms": str(keys[1]), "services": "svc-9", "priority": "2→1"}
    assert store.attach(t.root, keys, impact, at(3)) == t2  # idempotent
    assert store.attach(AlarmKey("nobody", "x"), keys, impact, at(3)) is None
    assert store.restore(AlarmKey("nobody", "x"), at(3)) is None


def ids(tickets: list[Ticket]) -> list[int]:
    return [t.id for t in tickets]


def test_list_filters(store: SqlTicketStore) -> None:
    a, _ = store.open_or_get(open_action("dev-a"), "field-east", at(0))
    b, _ = store.open_or_get(open_action("dev-b"), "field-north", at(1))
    c, _ = store.open_or_get(open_action("dev-c"), "field-east", at(2))
    store.transition(b.id, S.ACKNOWLEDGED, "x", at(3))
    assert ids(store.list()) == [c.id, b.id, a.id]
    assert ids(store.list(status=[S.OPEN])) == [c.id, a.id]
    assert ids(store.list(team="field-east")) == [c.id, a.id]
    assert ids(store.list(team="field-north", status=[S.ACKNOWLEDGED, S.IN_PROGRESS])) == [b.id]
    assert ids(store.list(region="nowhere")) == []
    assert ids(store.list(limit=1, offset=1)) == [b.id]


def test_unknown_ticket(store: SqlTicketStore) -> None:
    assert store.get(999) is None
    with pytest.raises(TicketNotFound):
        store.transition(999, S.ACKNOWLEDGED, "x", at(0))
    with pytest.raises(TicketNotFound):
        store.add_note(999, "x", "y", at(0))


def test_times_come_back_utc_aware(store: SqlTicketStore) -> None:
    from zoneinfo import ZoneInfo

    shanghai = datetime(2026, 3, 1, 16, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    t, _ = store.open_or_get(open_action(raised=shanghai), None, shanghai)
    got = store.get(t.id)
    assert got is not None and got.clock.detected == T0.replace(hour=8, minute=30)
    assert got.clock.detected.utcoffset() is not None and got.clock.detected.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


# --- the audit trail as a feed (the notification dispatcher reads it) -------------------------------------


def test_changes_since_is_the_audit_trail_in_id_order(store: SqlTicketStore) -> None:
    a, _ = store.open_or_get(open_action("dev-a", symptoms=("onu-a",)), "field-east", at(0))
    b, _ = store.open_or_get(open_action("dev-b"), None, at(1))
    store.add_note(a.id, "li.wei", "on site", at(2))
    store.transition(b.id, S.ACKNOWLEDGED, "wang.fang", at(3))
    changes = store.changes_since(0)
    assert [(c.ticket_id, c.actor, c.action) for c in changes] == [
        (a.id, "system", "opened"),
        (a.id, "system", "assigned"),
        (a.id, "system", "attached"),
        (b.id, "system", "opened"),
        (a.id, "li.wei", "note"),
        (b.id, "wang.fang", "acknowledged"),
    ]
    assert [c.id for c in changes] == sorted({c.id for c in changes})
    assert changes[4].time == at(2) and changes[4].detail == {"text": "on site"}
    assert changes[0].detail == {"root": a.dedup_key, "priority": "2"}
    assert store.changes_since(changes[2].id) == changes[3:]
    assert store.changes_since(changes[0].id, limit=2) == changes[1:3]
    assert store.changes_since(changes[-1].id) == []


@pytest.mark.parametrize(("writes", "expected"), [((), 0), ((7,), 7), ((7, 3), 3), ((7, 12, 40), 40)])
def test_cursor_round_trip(store: SqlTicketStore, writes: tuple[int, ...], expected: int) -> None:
    for w in writes:
        store.set_cursor("notify", w)
    assert store.cursor("notify") == expected
    assert store.cursor("other") == 0


def test_list_active_is_every_working_ticket_oldest_first(store: SqlTicketStore) -> None:
    made = [store.open_or_get(open_action(f"dev-{i}"), None, at(i))[0] for i in range(5)]
    store.transition(made[1].id, S.ACKNOWLEDGED, "x", at(10))
    store.transition(made[2].id, S.IN_PROGRESS, "x", at(10))
    store.transition(made[3].id, S.RESOLVED, "x", at(10))
    store.transition(made[4].id, S.RESOLVED, "x", at(10), cause_code="software")
    store.transition(made[4].id, S.CLOSED, "x", at(11))
    many = [store.open_or_get(open_action(f"bulk-{i}"), None, at(20))[0] for i in range(120)]
    active = store.list_active()
    assert ids(active) == [made[0].id, made[1].id, made[2].id, *ids(many)]
    assert {t.status for t in active} == {S.OPEN, S.ACKNOWLEDGED, S.IN_PROGRESS}


# --- a fault that comes back, the root clearing, symptoms clearing ------------------------------------------


def _to(store: SqlTicketStore, t: Ticket, how: str) -> Ticket:
    """Bring a fresh ticket into a state: by the technician's moves or by the root alarm clearing."""
    steps: dict[str, list[tuple[S, str | None]]] = {
        "open": [],
        "acknowledged": [(S.ACKNOWLEDGED, None)],
        "in_progress": [(S.IN_PROGRESS, None)],
        "resolved_by_tech": [(S.RESOLVED, "software")],
        "closed": [(S.RESOLVED, None), (S.CLOSED, "fiber_cut")],
    }
    if how == "restored":
        got = store.restore(t.root, at(5))
        assert got is not None
        return got
    for i, (to, code) in enumerate(steps[how]):
        t = store.transition(t.id, to, "li.wei", at(5 + i), cause_code=code)
    return t


RECURRENCE = [
    # state when the fault comes back, recurs?, a new ticket?
    ("open", False, False),
    ("acknowledged", False, False),
    ("in_progress", False, False),
    ("restored", True, False),
    ("resolved_by_tech", True, False),
    ("closed", False, True),
]


@pytest.mark.parametrize(("state", "recurs", "new_ticket"), RECURRENCE)
def test_a_fault_that_comes_back(store: SqlTicketStore, state: str, recurs: bool, new_ticket: bool) -> None:
    first, _ = store.open_or_get(open_action(symptoms=("onu-a",), services=("svc-1",), priority=2), "east", at(0))
    before = _to(store, first, state)
    again = open_action(symptoms=("onu-a", "onu-b"), services=("svc-1", "svc-2"), priority=1, raised=at(30))
    t, created = store.open_or_get(again, "east", at(30))
    assert created is new_ticket
    assert (t.id != first.id) is new_ticket
    if new_ticket:
        assert store.get(first.id) == before  # a closed ticket is never reopened by the system
        return
    if not recurs:
        assert t == before  # nothing changed, no audit entry
        return
    assert t.status is S.OPEN and t.clock.restored is None and t.cause_code is None
    assert t.clock.detected == first.clock.detected  # the repair clock of the ticket goes on
    recurred = [a for a in t.audit if a.action == "recurred"]
    assert len(recurred) == 1 and recurred[0].actor == "system" and recurred[0].time == at(30)
    assert recurred[0].detail["root"] == first.dedup_key
    assert recurred[0].detail["previous_status"] == before.status.value
    assert recurred[0].detail["previous_restored"] == before.clock.restored.isoformat()  # type: ignore[union-attr]
    assert [str(k) for k in t.symptoms] == [
        str(AlarmKey("onu-a", "device_unreachable")),
        str(AlarmKey("onu-b", "device_unreachable")),
    ]
    assert [s.service_id for s in t.services] == ["svc-1", "svc-2"] and t.priority == 1
    assert t.audit[-1].action == "attached" and t.audit[-1].detail["symptoms"] == str(
        AlarmKey("onu-b", "device_unreachable")
    )
    assert store.open_or_get(again, "east", at(31)) == (t, False)  # the next tick changes nothing


RESTORE_FROM = [
    ("open", S.RESOLVED, {"from": "open", "to": "resolved"}),
    ("acknowledged", S.RESOLVED, {"from": "acknowledged", "to": "resolved"}),
    ("in_progress", S.RESOLVED, {"from": "in_progress", "to": "resolved"}),
    ("resolved_by_tech", S.RESOLVED, None),  # resolved first: restored stays the technician's resolve time
]


@pytest.mark.parametrize(("state", "status", "moved"), RESTORE_FROM)
def test_the_root_clearing_resolves(store: SqlTicketStore, state: str, status: S, moved: dict[str, str] | None) -> None:
    t, _ = store.open_or_get(open_action(), None, at(0))
    before = _to(store, t, state)
    got = store.restore(t.root, at(20))
    assert got is not None and got.status is status
    if moved is None:
        assert got == before and got.clock.restored == before.clock.restored
        return
    assert got.clock.restored == at(20) and got.clock.acknowledged == before.clock.acknowledged
    assert got.audit[-1].actor == "system" and got.audit[-1].action == "restored"
    assert got.audit[-1].detail == {"restored": at(20).isoformat(), **moved}
    closed = store.transition(t.id, S.CLOSED, "li.wei", at(25), cause_code="power_failure")
    assert (closed.clock.restored, closed.clock.closed, closed.cause_code) == (at(20), at(25), "power_failure")


def test_symptoms_clear_and_come_back(store: SqlTicketStore) -> None:
    a, _ = store.open_or_get(open_action("olt-a", symptoms=("onu-1", "onu-2")), None, at(0))
    b, _ = store.open_or_get(open_action("olt-b", symptoms=("onu-1",)), None, at(0))
    c, _ = store.open_or_get(open_action("olt-c", symptoms=("onu-1",)), None, at(0))
    _to(store, c, "closed")
    onu1, onu2 = (str(AlarmKey(d, "device_unreachable")) for d in ("onu-1", "onu-2"))
    assert store.mark_cleared(onu1, at(10)) == [a.id, b.id]  # the closed ticket is left alone
    assert store.mark_cleared(onu1, at(11)) == []  # already cleared: nothing touched
    assert store.mark_cleared(str(AlarmKey("nobody", "x")), at(11)) == []
    states = store.symptoms_of([a.id, b.id, c.id, 999])
    assert [(str(x.key), x.attached_at, x.cleared_at) for x in states[a.id]] == [
        (onu1, at(0), at(10)),
        (onu2, at(0), None),
    ]
    assert states[b.id][0].cleared_at == at(10) and states[c.id][0].cleared_at is None and 999 not in states
    got = store.get(a.id)
    assert got is not None and got.audit[-1].action == "symptom_cleared"
    assert got.audit[-1].detail == {"symptom": onu1, "cleared": at(10).isoformat()}
    # the symptom alarm comes back: attached again, it is active again
    again = store.attach(a.root, [AlarmKey.parse(onu1)], Impact((), 5), at(20))
    assert again is not None and again.audit[-1].detail == {"active_again": onu1}
    assert store.symptoms_of([a.id])[a.id][0].cleared_at is None


@pytest.mark.parametrize(
    ("state", "to", "note", "ok"),
    [
        ("open", S.RESOLVED, "换了光模块", True),
        ("open", S.ACKNOWLEDGED, "on my way", True),
        ("closed", S.RESOLVED, "too late", False),  # refused move: the note is not kept
        ("resolved_by_tech", S.ACKNOWLEDGED, "x", False),
        ("open", S.RESOLVED, "   ", False),  # blank note: refused before anything
    ],
)
def test_transition_with_a_note_is_one_change(store: SqlTicketStore, state: str, to: S, note: str, ok: bool) -> None:
    t, _ = store.open_or_get(open_action(), None, at(0))
    before = _to(store, t, state)
    if not ok:
        with pytest.raises(ValueError):  # InvalidTransition is a ValueError
            store.transition(t.id, to, "li.wei", at(9), note=note)
        assert store.get(t.id) == before
        return
    got = store.transition(t.id, to, "li.wei", at(9), note=note)
    assert got.status is to and [n.text for n in got.notes] == [note]
    assert [a.action for a in got.audit[-2:]] == ["note", to.value]


def test_complaint_reference_and_contact(store: SqlTicketStore) -> None:
    t, _ = store.open_or_get(open_action(), None, at(0))
    t = store.link_complaint(t.id, at(3), "noc-duty", at(4), reference="10000-2611250042", contact="王先生 138…")
    assert t.clock.reported == at(3)
    assert t.audit[-1].detail == {
        "reported": at(3).isoformat(),
        "reference": "10000-2611250042",
        "contact": "王先生 138…",
    }


def test_every_change_writes_an_audit_row(store: SqlTicketStore) -> None:
    """Each store call that changes a ticket adds audit rows (the dispatcher's feed) with these names."""
    t, _ = store.open_or_get(open_action(symptoms=("onu-1",)), "east", at(0))
    calls: list[tuple[str, Callable[[], object], list[str]]] = [
        ("attach", lambda: store.attach(t.root, [AlarmKey("onu-2", "x")], Impact((), 2), at(1)), ["attached"]),
        ("clear", lambda: store.mark_cleared(str(AlarmKey("onu-1", "device_unreachable")), at(2)), ["symptom_cleared"]),
        ("complaint", lambda: store.link_complaint(t.id, at(2), "noc", at(3)), ["complaint_linked"]),
        ("assign", lambda: store.assign(t.id, "north", "noc", at(3)), ["assigned"]),
        ("ack", lambda: store.transition(t.id, S.ACKNOWLEDGED, "li", at(4)), ["acknowledged"]),
        ("note", lambda: store.add_note(t.id, "li", "hi", at(5)), ["note"]),
        ("escalate", lambda: store.mark_escalated(t.id, at(6), limit_h="48"), ["escalated"]),
        ("restore", lambda: store.restore(t.root, at(7)), ["restored"]),
        ("recur", lambda: store.open_or_get(open_action(symptoms=("onu-1",)), "east", at(8)), ["recurred", "attached"]),
        ("resolve", lambda: store.transition(t.id, S.RESOLVED, "li", at(9), note="done"), ["note", "resolved"]),
        ("close", lambda: store.transition(t.id, S.CLOSED, "li", at(10), cause_code="software"), ["closed"]),
        ("reopen", lambda: store.transition(t.id, S.OPEN, "noc", at(11)), ["reopened"]),
        ("merge", lambda: store.merge_duplicate(AlarmKey("onu-2", "x"), t.root, at(12)), []),  # no ticket: no-op
        ("open 2", lambda: store.open_or_get(open_action("onu-2"), None, at(13)), ["opened"]),
        ("merge 2", lambda: store.merge_duplicate(AlarmKey("onu-2", "device_unreachable"), t.root, at(14)),
         ["merged", "absorbed"]),
    ]  # fmt: skip
    seen = store.changes_since(0)
    assert [c.action for c in seen] == ["opened", "assigned", "attached"]
    for name, call, actions in calls:
        call()
        new = store.changes_since(seen[-1].id)
        assert [c.action for c in new] == actions, name
        assert ({c.ticket_id for c in new} <= {t.id}) is (" " not in name), name  # "x 2": the other ticket
        seen += new
    # every action name the trail can hold is documented (docs/tickets.md, the audit trail's table)
    doc = (Path(__file__).resolve().parents[1] / "docs" / "tickets.md").read_text(encoding="utf-8")
    table = doc.split("### Audit trail", 1)[1].split("\n\n###", 1)[0]
    documented = {name for line in table.splitlines() if line.startswith("| `")
                  for name in re.findall(r"`(\w+)`", line.split("|")[1])}  # fmt: skip
    assert {c.action for c in seen} <= documented, {c.action for c in seen} - documented


# --- merging a duplicate ticket into the one that explains it ------------------------------------------------

OLT, AGG = AlarmKey("olt-m", "device_unreachable"), AlarmKey("agg-m", "device_unreachable")


def _k(device: str) -> str:
    return str(AlarmKey(device, "device_unreachable"))


MERGES = [
    # (old ticket's state, its symptoms, the survivor's symptoms, symptoms cleared before the merge,
    #  the survivor's symptoms after: key → active?, its services after)
    ("open", ("onu-1", "onu-2"), (), (), {"olt-m": True, "onu-1": True, "onu-2": True}, ["svc-9", "svc-1"]),
    ("acknowledged", ("onu-1",), ("onu-1", "onu-3"), (), {"onu-1": True, "onu-3": True, "olt-m": True},
     ["svc-9", "svc-1"]),
    # a symptom cleared on the old ticket stays cleared; cleared on the survivor, active on the old: active
    ("in_progress", ("onu-1", "onu-2"), ("onu-2",), ("onu-1", "onu-2"),
     {"onu-2": False, "olt-m": True, "onu-1": False}, ["svc-9", "svc-1"]),
    ("restored", ("agg-m",), (), (), {"olt-m": True}, ["svc-9", "svc-1"]),  # the survivor's root is no symptom
    ("resolved_by_tech", (), ("olt-m",), ("olt-m",), {"olt-m": True}, ["svc-9", "svc-1"]),
]  # fmt: skip


@pytest.mark.parametrize(("state", "old_sym", "into_sym", "cleared", "after", "services"), MERGES)
def test_merge_duplicate_moves_everything_and_closes_the_old_ticket(
    store: SqlTicketStore,
    state: str,
    old_sym: tuple[str, ...],
    into_sym: tuple[str, ...],
    cleared: tuple[str, ...],
    after: dict[str, bool],
    services: list[str],
) -> None:
    old, _ = store.open_or_get(open_action("olt-m", symptoms=old_sym, priority=3), "east", at(0))
    old = _to(store, old, state)
    into, _ = store.open_or_get(open_action("agg-m", symptoms=into_sym, services=("svc-9",), priority=2), None, at(1))
    for d in cleared:
        store.mark_cleared(_k(d), at(2))
    survivor = store.merge_duplicate(OLT, AGG, at(30))
    assert survivor is not None and survivor.id == into.id and survivor.status is S.OPEN
    states = store.symptoms_of([into.id, old.id])
    assert {str(x.key): x.cleared_at is None for x in states[into.id]} == {_k(d): v for d, v in after.items()}
    assert len(states[into.id]) == len(after) and old.id not in states  # each once; none left behind
    assert [s.service_id for s in survivor.services] == services
    assert survivor.priority == 2 and survivor.team is None and survivor.clock == into.clock
    dup = store.get(old.id)
    assert dup is not None and dup.status is S.CLOSED and dup.cause_code == "duplicate"
    assert dup.symptoms == () and dup.services == () and dup.clock.closed == at(30)
    assert dup.clock.restored == old.clock.restored  # the outage goes on, on the survivor
    new_sym = [_k(d) for d in after if AlarmKey.parse(_k(d)) not in into.symptoms]
    merged = {
        "into": str(into.id),
        "from": old.status.value,
        "to": "closed",
        "cause_code": "duplicate",
        "services": "svc-1",
        **({"symptoms": ",".join(map(str, old.symptoms))} if old.symptoms else {}),
    }
    absorbed = {
        "from": str(old.id),
        "root": str(OLT),
        "services": "svc-1",
        **({"symptoms": ",".join(sorted(new_sym, key=list(map(_k, after)).index))} if new_sym else {}),
    }
    trail = store.changes_since(0)
    assert [(c.action, c.ticket_id, c.actor, c.detail) for c in trail[-2:]] == [
        ("merged", old.id, "system", merged), ("absorbed", into.id, "system", absorbed)
    ]  # fmt: skip
    # a repeat (the engine's action carried out again after a crash) changes nothing
    assert store.merge_duplicate(OLT, AGG, at(31)) is None
    assert store.changes_since(trail[-1].id) == [] and store.get(into.id) == survivor
    # the old key is free: the OLT going down again later opens a new ticket
    again, created = store.open_or_get(open_action("olt-m"), None, at(40))
    assert created and again.id not in (old.id, into.id)


@pytest.mark.parametrize(
    ("old_prio", "into_prio", "old_reported", "into_reported", "prio", "reported", "extra"),
    [
        (1, 3, None, None, 1, None, {"priority": "3→1"}),
        (3, 1, 5.0, None, 1, 5.0, {"reported": at(5).isoformat()}),
        (2, 2, 5.0, 8.0, 2, 5.0, {"reported": at(5).isoformat(), "previous_reported": at(8).isoformat()}),
        (2, 2, 9.0, 8.0, 2, 8.0, {}),  # the survivor's earlier complaint stays
    ],
)
def test_merge_brings_the_priority_and_the_earliest_complaint(
    store: SqlTicketStore,
    old_prio: int,
    into_prio: int,
    old_reported: float | None,
    into_reported: float | None,
    prio: int,
    reported: float | None,
    extra: dict[str, str],
) -> None:
    old, _ = store.open_or_get(open_action("olt-m", services=(), priority=old_prio), None, at(0))
    into, _ = store.open_or_get(open_action("agg-m", services=(), priority=into_prio), None, at(1))
    for t, when in ((old, old_reported), (into, into_reported)):
        if when is not None:
            store.link_complaint(t.id, at(when), "hotline", at(10))
    survivor = store.merge_duplicate(OLT, AGG, at(30))
    assert survivor is not None and survivor.priority == prio
    assert survivor.clock.reported == (None if reported is None else at(reported))
    assert survivor.audit[-1].detail == {"from": str(old.id), "root": str(OLT), "symptoms": str(OLT), **extra}


@pytest.mark.parametrize(
    ("tickets", "frm", "into"),
    [
        (("agg-m",), OLT, AGG),  # no ticket to merge (already merged, or never opened)
        (("olt-m",), OLT, AGG),  # the survivor has no ticket yet: the old one is left alone
        (("olt-m", "agg-m"), OLT, OLT),  # into itself
        (("olt-m", "agg-m", "closed:agg-m"), OLT, AGG),  # the survivor's ticket is closed
    ],
)
def test_merge_with_nothing_to_merge_changes_nothing(
    store: SqlTicketStore, tickets: tuple[str, ...], frm: AlarmKey, into: AlarmKey
) -> None:
    for spec in tickets:
        how, _, device = spec.rpartition(":")
        t, _ = store.open_or_get(open_action(device), None, at(0))
        if how == "closed":
            _to(store, t, "closed")
    before = store.list(limit=100)
    trail = store.changes_since(0)
    assert store.merge_duplicate(frm, into, at(30)) is None
    assert store.list(limit=100) == before and store.changes_since(trail[-1].id) == []


@pytest.mark.parametrize("rounds", [4])
def test_concurrent_merges_merge_once(db_url: str, rounds: int) -> None:  # noqa: F811
    """Two stores carry out the same merge at the same time (e.g. two pipelines on one database after a
    failover): the rows are locked, so one merges and the other finds nothing left to merge."""
    stores = [open_store(db_url), open_store(db_url, migrate_schema=False)]
    errors: list[BaseException] = []
    try:
        for r in range(rounds):
            frm, into = AlarmKey(f"olt-{r}", "device_unreachable"), AlarmKey(f"agg-{r}", "device_unreachable")
            old, _ = stores[0].open_or_get(open_action(frm.device, symptoms=(f"onu-{r}",)), None, at(0))
            survivor, _ = stores[0].open_or_get(open_action(into.device, services=("svc-9",)), None, at(1))
            barrier = threading.Barrier(len(stores))
            got: list[Ticket | None] = []

            def run(
                st: SqlTicketStore,
                b: threading.Barrier = barrier,
                f: AlarmKey = frm,
                i: AlarmKey = into,
                out: list[Ticket | None] = got,
            ) -> None:
                try:
                    b.wait(timeout=10)
                    out.append(st.merge_duplicate(f, i, at(30)))
                except BaseException as exc:  # collected and re-raised in the main thread
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(st,)) for st in stores]
            for th in threads:
                th.start()
            for th in threads:
                th.join(timeout=30)
            assert errors == []
            assert sorted(t is None for t in got) == [False, True]
            final = stores[1].get(survivor.id)
            assert final is not None and [str(k) for k in final.symptoms] == [str(frm), _k(f"onu-{r}")]
            actions = [c.action for c in stores[1].changes_since(0) if c.ticket_id in (old.id, survivor.id)]
            assert actions.count("merged") == actions.count("absorbed") == 1
    finally:
        for st in stores:
            st.close()
