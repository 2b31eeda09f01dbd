"""The audit-trail dispatcher against a real SQLite ticket store, a local HTTP webhook receiver and a local
SMTP server (aiosmtpd): which changes give which notice, the Grafana points of every change, escalation
and breach, a stop in the middle of retries, and a SIGKILL between the send and the cursor."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from alarms.correlate import Topology
from alarms.dispatch import (
    GRAFANA_CURSOR,
    NOTIFY_CURSOR,
    Dispatcher,
    DispatchSettings,
    contiguous,
    notice_for,
    point_time,
    status_after,
)
from alarms.engine import EngineSettings
from alarms.maintenance import MaintenanceCalendar
from alarms.model import Action, AlarmKey, AlarmState, Impact, MergeTicket, RecordAlarm, Ticket, TicketStatus
from alarms.notify import Notifier, SmtpChannel, TicketEvent, WebhookChannel
from alarms.notify.notifier import Channel
from alarms.service import AlarmService, alarm_sample
from alarms.state_store import Snapshot
from alarms.tickets.store import SqlTicketStore, TicketChange, open_store
from collectors import measurements as m
from collectors.model import DeviceEvent, PollResult, Sample
from config.alarms import load_alarms
from config.loader import load
from config.tickets import Backoff, EventName, SmtpSettings, WebhookSettings
from tests.notify_fixtures import SECRET, Receiver, SmtpServer, receiver, smtp_server  # noqa: F401
from tests.tickets_fixtures import T0, alarm, db_url, open_action, service  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
S = TicketStatus


def change(cid: int, action: str, **detail: str) -> TicketChange:
    return TicketChange(cid, 1, "system", T0, action, detail)


# --- pure decisions ------------------------------------------------------------------------------------------

NOTICES = [
    ("opened", {}, TicketEvent.OPENED),
    ("recurred", {"previous_status": "resolved"}, TicketEvent.RECURRED),
    ("restored", {"restored": T0.isoformat()}, TicketEvent.RESOLVED),
    ("resolved", {"from": "open", "to": "resolved"}, TicketEvent.RESOLVED),
    ("reopened", {"from": "closed", "to": "open"}, TicketEvent.REOPENED),
    ("escalated", {"kind": "escalated"}, TicketEvent.ESCALATED),
    ("escalated", {}, TicketEvent.ESCALATED),  # a mark from before the two kinds
    ("escalated", {"kind": "breached"}, TicketEvent.BREACHED),
    ("acknowledged", {"from": "open", "to": "acknowledged"}, None),
    ("in_progress", {"from": "open", "to": "in_progress"}, None),
    ("closed", {"from": "resolved", "to": "closed", "cause_code": "fiber_cut"}, None),
    ("note", {"text": "on site"}, None),
    ("attached", {"symptoms": "a|b|"}, None),
    ("symptom_cleared", {"symptom": "a|b|"}, None),
    ("assigned", {"team": "east"}, None),
    ("complaint_linked", {"reported": T0.isoformat()}, None),
    ("merged", {"into": "7", "from": "open", "to": "closed", "cause_code": "duplicate"}, TicketEvent.MERGED),
    ("absorbed", {"from": "3", "root": "a|b|"}, None),  # the survivor: its own opened notice went out already
]


@pytest.mark.parametrize(("action", "detail", "event"), NOTICES)
def test_which_changes_give_a_notice(action: str, detail: dict[str, str], event: TicketEvent | None) -> None:
    assert notice_for(change(1, action, **detail)) is event


STATUSES = [
    ("opened", {}, S.ACKNOWLEDGED, S.OPEN),
    ("recurred", {}, S.ACKNOWLEDGED, S.OPEN),
    ("restored", {"from": "open", "to": "resolved"}, S.CLOSED, S.RESOLVED),
    ("restored", {}, S.IN_PROGRESS, S.RESOLVED),
    ("acknowledged", {"from": "open", "to": "acknowledged"}, S.CLOSED, S.ACKNOWLEDGED),
    ("reopened", {"from": "closed", "to": "open"}, S.RESOLVED, S.OPEN),
    ("note", {"text": "x"}, S.IN_PROGRESS, S.IN_PROGRESS),  # no move: the ticket's status
    ("escalated", {"kind": "breached"}, S.OPEN, S.OPEN),
    ("merged", {"into": "7", "from": "acknowledged", "to": "closed"}, S.ACKNOWLEDGED, S.CLOSED),
    ("merged", {"into": "7"}, S.OPEN, S.CLOSED),
    ("absorbed", {"from": "3"}, S.IN_PROGRESS, S.IN_PROGRESS),
]


@pytest.mark.parametrize(("action", "detail", "current", "after"), STATUSES)
def test_status_after_a_change(action: str, detail: dict[str, str], current: S, after: S) -> None:
    assert status_after(change(1, action, **detail), current) is after


GAPS = [
    # (ids read, cursor, gap first seen, now, ids handled, gap seen after)
    ([1, 2, 3], 0, None, 100.0, [1, 2, 3], None),
    ([5, 6], 4, None, 100.0, [5, 6], None),
    ([5, 7], 4, None, 100.0, [5], 100.0),  # 6 is missing: wait for it
    ([5, 7], 4, 99.0, 100.0, [5], 99.0),  # still within the grace
    ([5, 7], 4, 90.0, 100.0, [5, 7], None),  # grace over: 6 rolled back, go on
    ([6, 7], 4, None, 100.0, [], 100.0),
    ([], 4, 90.0, 100.0, [], None),
]


@pytest.mark.parametrize(("ids", "after", "since", "now", "handled", "since_after"), GAPS)
def test_holes_in_the_ids_are_waited_for(
    ids: list[int], after: int, since: float | None, now: float, handled: list[int], since_after: float | None
) -> None:
    ready, gap = contiguous([change(i, "note") for i in ids], after, since, now, grace_s=5.0)
    assert [c.id for c in ready] == handled and gap == since_after


def test_points_of_one_transaction_get_distinct_times() -> None:
    times = {point_time(change(i, "opened")) for i in range(1000, 1010)}
    assert len(times) == 10 and point_time(change(7, "x")) == point_time(change(7, "x"))


@pytest.mark.parametrize(
    ("subscribed", "sent"),
    [
        (("opened",), {"opened", "recurred", "reopened", "merged"}),
        (("escalated",), {"escalated", "breached"}),
        (("resolved",), {"resolved"}),
        (("opened", "escalated", "resolved"), {e.value for e in TicketEvent}),
        (("breached",), {"breached"}),
        (("recurred",), {"recurred"}),
        (("reopened", "merged"), {"reopened", "merged"}),
        (("merged", "resolved"), {"merged", "resolved"}),
    ],
)
def test_a_channel_gets_its_families(subscribed: tuple[str, ...], sent: set[str]) -> None:
    notifier = Notifier(((_webhook(Receiver()), frozenset(subscribed)),))
    assert {e.value for e in TicketEvent if notifier.wants(e)} == sent
    # notify.yaml accepts the same lists, for a webhook and for e-mail
    hook = WebhookSettings.model_validate({"name": "noc", "url": "http://x/", "secret": "k", "events": subscribed})
    mail = SmtpSettings.model_validate(
        {"host": "h", "sender": "a@b.cn", "recipients": ["c@d.cn"], "events": subscribed}
    )
    assert set(hook.events) == set(mail.events) == set(subscribed)


@pytest.mark.parametrize("events", [("merge",), ("opened", "absorbed"), ("escalate",)])
def test_notify_yaml_refuses_unknown_event_names(events: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError):
        WebhookSettings.model_validate({"name": "noc", "url": "http://x/", "secret": "k", "events": events})


# --- against a real store, receiver and SMTP server --------------------------------------------------------------


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class ListSink:
    """The sink port as a list (the real InfluxDB path is covered by the end-to-end test)."""

    samples: list[Sample] = field(default_factory=list)

    async def write(self, samples: Sequence[Sample]) -> None:
        self.samples.extend(samples)

    async def flush(self) -> None:
        pass

    async def close(self) -> None:
        pass


@pytest.fixture
def store() -> Iterator[SqlTicketStore]:
    with tempfile.TemporaryDirectory(prefix="netqos-dispatch-") as tmp, open_store(f"sqlite:///{tmp}/t.db") as st:
        yield st


@pytest.fixture
def any_store(db_url: str) -> Iterator[SqlTicketStore]:  # noqa: F811
    """The store on SQLite and on PostgreSQL."""
    with open_store(db_url) as st:
        yield st


def _webhook(rec: Receiver, attempts: int = 2, sleep: Callable[[float], None] = lambda s: None) -> WebhookChannel:
    return WebhookChannel("noc", rec.url, SECRET, Backoff(max_attempts=attempts, initial_s=0.05), sleep, 5.0)


def _smtp(server: SmtpServer) -> SmtpChannel:
    return SmtpChannel(server.host, server.port, "netqos@example.cn", ("noc@example.cn",), language="en")


def _h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


Op = Callable[[SqlTicketStore, int], object]
ROOT_KEY = AlarmKey("sh-olt-01", "device_unreachable", "")
OPS: dict[str, Op] = {
    "restore": lambda st, t: st.restore(ROOT_KEY, _h(1)),
    "ack": lambda st, t: st.transition(t, S.ACKNOWLEDGED, "alice", _h(0.5)),
    "start": lambda st, t: st.transition(t, S.IN_PROGRESS, "alice", _h(0.6)),
    "note": lambda st, t: st.add_note(t, "alice", "on site", _h(0.7)),
    "resolve": lambda st, t: st.transition(t, S.RESOLVED, "alice", _h(2)),
    "close": lambda st, t: st.transition(t, S.CLOSED, "alice", _h(3), cause_code="fiber_cut"),
    "reopen": lambda st, t: st.transition(t, S.OPEN, "bob", _h(4)),
    "attach": lambda st, t: st.attach(
        ROOT_KEY, [AlarmKey("sh-onu-1", "device_unreachable", "")], Impact((service("svc-2"),), 2), _h(0.2)
    ),
    "recur": lambda st, t: st.open_or_get(open_action(raised=_h(5)), None, _h(5)),
}
SCENARIOS = [
    # (what happens after the ticket opens, notices in order, Grafana statuses of the changes after "opened")
    ([], ["opened"], []),
    (["attach", "restore"], ["opened", "resolved"], ["open", "resolved"]),
    (["ack", "start", "note", "resolve", "close"], ["opened", "resolved"],
     ["acknowledged", "in_progress", "in_progress", "resolved", "closed"]),
    (["resolve", "reopen"], ["opened", "resolved", "reopened"], ["resolved", "open"]),
    (["restore", "recur"], ["opened", "resolved", "recurred"], ["resolved", "open"]),
]  # fmt: skip


@pytest.mark.parametrize(("ops", "notices", "statuses"), SCENARIOS)
async def test_each_change_gives_its_notice_once_and_a_point(
    any_store: SqlTicketStore,
    receiver: Receiver,  # noqa: F811
    smtp_server: SmtpServer,  # noqa: F811
    ops: list[str],
    notices: list[str],
    statuses: list[str],
) -> None:
    store = any_store
    receiver.reset([])
    mails = len(smtp_server.mailbox.messages)
    notifier = Notifier(((_webhook(receiver), ("opened", "escalated", "resolved")), (_smtp(smtp_server), ("opened",))))
    sink = ListSink()
    d = Dispatcher(store, clock=Clock(_h(6)), sink=sink, notifier=notifier)
    ticket, _ = store.open_or_get(open_action(), "east", T0)
    for op in ops:
        OPS[op](store, ticket.id)
    assert await d.pump(NOTIFY_CURSOR) == await d.pump(GRAFANA_CURSOR) > 0
    assert [r["body"]["event"] for r in receiver.requests] == notices
    ids = [r["delivery_id"] for r in receiver.requests]
    assert len(set(ids)) == len(ids) and receiver.accepted == ids
    assert {r["body"]["ticket"]["id"] for r in receiver.requests} == {ticket.id}
    wanted_mail = [n for n in notices if n in ("opened", "recurred", "reopened")]
    got_mail = [str(msg["X-Netqos-Event"]) for _, msg in smtp_server.mailbox.messages[mails:]]
    assert got_mail == wanted_mail
    # the Grafana feed: one point per audit row, whoever made it, with the status after that change
    trail = store.changes_since(0)
    assert len(sink.samples) == len(trail)
    assert {p.measurement for p in sink.samples} == {m.TICKET}
    assert len({p.time for p in sink.samples}) == len(trail)
    actors = {c.action: c.actor for c in trail}
    after_open = [p for p, c in zip(sink.samples, trail, strict=True) if c.action not in ("opened", "assigned")]
    assert [p.fields[m.F_STATUS_TEXT] for p in after_open] == statuses
    assert all(str(p.fields[m.F_TEXT]).startswith(f"{c.action} ({actors[c.action]})")
               for p, c in zip(sink.samples, trail, strict=True))  # fmt: skip
    assert [(p.fields[m.F_CHANGE], p.fields[m.F_ACTOR]) for p in sink.samples] == [(c.action, c.actor) for c in trail]
    # handled: the cursors moved to the end and nothing is sent or written again
    assert store.cursor(NOTIFY_CURSOR) == store.cursor(GRAFANA_CURSOR) == trail[-1].id
    assert await d.pump(NOTIFY_CURSOR) == await d.pump(GRAFANA_CURSOR) == 0
    assert len(receiver.requests) == len(notices) and len(sink.samples) == len(trail)


@pytest.mark.parametrize(("age_h", "sent"), [(1.0, True), (23.0, True), (25.0, False)])
async def test_stale_changes_get_no_notice(
    store: SqlTicketStore,
    receiver: Receiver,  # noqa: F811
    age_h: float,
    sent: bool,
) -> None:
    receiver.reset([])
    d = Dispatcher(store, clock=Clock(_h(age_h)), notifier=Notifier(((_webhook(receiver), ("opened",)),)))
    store.open_or_get(open_action(), None, T0)
    await d.pump(NOTIFY_CURSOR)
    assert len(receiver.accepted) == int(sent) and d.stats.notices_stale == int(not sent)


async def test_escalation_then_breach_are_two_notices(store: SqlTicketStore, receiver: Receiver) -> None:  # noqa: F811
    receiver.reset([])
    clock = Clock()
    d = Dispatcher(store, clock=clock, notifier=Notifier(((_webhook(receiver), ("escalated",)),)),
                   escalations=store, site_class=lambda site: "urban")  # fmt: skip
    urgent, _ = store.open_or_get(open_action(), None, T0)
    for hours, marked in [(30, 0), (37, 1), (38, 0), (49, 1), (50, 0)]:
        clock.now = _h(hours)
        assert await d.escalate() == marked, hours
        await d.pump(NOTIFY_CURSOR)
    bodies = [r["body"] for r in receiver.requests]
    assert [b["event"] for b in bodies] == ["escalated", "breached"]
    assert [b["escalation"]["breached"] for b in bodies] == [False, True]
    assert {b["escalation"]["deadline"] for b in bodies} == {"2026-03-03T08:00:00Z"}
    assert [b["escalation"]["elapsed_pct"] for b in bodies] == [pytest.approx(100 * 37 / 48, abs=0.1),
                                                                  pytest.approx(100 * 49 / 48, abs=0.1)]  # fmt: skip
    assert len(set(receiver.accepted)) == 2
    # resolved tickets are no longer looked at
    store.transition(urgent.id, S.RESOLVED, "alice", _h(51))
    clock.now = _h(80)
    assert await d.escalate() == 0


async def test_a_stop_during_retries_leaves_the_notice_for_the_next_start(
    store: SqlTicketStore,
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.reset([503] * 50)  # the receiver is down for now
    halt = threading.Event()

    def sleep(seconds: float) -> None:
        halt.wait(5.0)

    slow = _webhook(receiver, attempts=20, sleep=sleep)
    d = Dispatcher(store, clock=Clock(_h(1)), notifier=Notifier(((slow, ("opened",)),)), halt=halt,
                   settings=DispatchSettings(poll_s=0.05))  # fmt: skip
    store.open_or_get(open_action(), None, T0)
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop))
    for _ in range(500):
        if receiver.requests:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 10)  # the retry wait ends at once
    assert store.cursor(NOTIFY_CURSOR) == 0 and receiver.accepted == []
    first_id = receiver.requests[0]["delivery_id"]
    receiver.reset([])  # back up: the next start sends it, under the same delivery id
    again = Dispatcher(store, clock=Clock(_h(1)), notifier=Notifier(((_webhook(receiver), ("opened",)),)))
    assert await again.pump(NOTIFY_CURSOR) >= 1
    assert receiver.accepted == [first_id]


CHILD = """
import asyncio, os, signal, sys
from datetime import datetime
from alarms.dispatch import NOTIFY_CURSOR, Dispatcher
from alarms.notify import Notifier, WebhookChannel
from alarms.tickets.store import SqlTicketStore, open_store
from config.tickets import Backoff

class DiesBeforeTheCursor(SqlTicketStore):
    def set_cursor(self, name: str, value: int) -> None:
        os.kill(os.getpid(), signal.SIGKILL)  # sent, not yet recorded

store = DiesBeforeTheCursor(open_store(sys.argv[1]).engine)
channel = WebhookChannel("noc", sys.argv[2], sys.argv[3].encode(), Backoff(max_attempts=1), lambda s: None)
now = datetime.fromisoformat(sys.argv[4])
asyncio.run(Dispatcher(store, clock=lambda: now, notifier=Notifier(((channel, ("opened",)),))).pump(NOTIFY_CURSOR))
"""


async def test_a_kill_between_send_and_cursor_resends_once_with_the_same_id(receiver: Receiver) -> None:  # noqa: F811
    receiver.reset([])
    with tempfile.TemporaryDirectory(prefix="netqos-dispatch-kill-") as tmp:
        url = f"sqlite:///{tmp}/t.db"
        with open_store(url) as st:
            ticket, _ = st.open_or_get(open_action(), None, T0)
        child = subprocess.run(  # noqa: ASYNC221 (the child must die on its own)
            [sys.executable, "-c", CHILD, url, receiver.url, SECRET.decode(), _h(1).isoformat()],
            cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert child.returncode == -9, child.stderr[-2000:]
        assert len(receiver.requests) == 1
        with open_store(url) as st:
            assert st.cursor(NOTIFY_CURSOR) == 0  # the kill came before the cursor
            d = Dispatcher(st, clock=Clock(_h(1)), notifier=Notifier(((_webhook(receiver), ("opened",)),)))
            await d.pump(NOTIFY_CURSOR)
            assert await d.pump(NOTIFY_CURSOR) == 0
            assert st.cursor(NOTIFY_CURSOR) == st.changes_since(0)[-1].id
    ids = [r["delivery_id"] for r in receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1]  # resent once, same id
    assert receiver.accepted == [ids[0]]  # the receiver processed it once
    assert {r["body"]["ticket"]["id"] for r in receiver.requests} == {ticket.id}


def test_channel_protocol_is_met() -> None:
    channel: Channel = WebhookChannel("x", "http://127.0.0.1:1/", b"k", Backoff(), lambda s: None)
    assert channel.name == "x"


# --- the alarm pipeline's side: its points before its state, cleared symptoms on the tickets ----------------------


@dataclass
class WatchedStateStore:
    """The state store port (in memory) that notes, at each save, whether the sink already holds the
    ``raised`` point of every alarm the saved state has raised."""

    sink: ListSink
    saves: int = 0
    saved_before_point: list[AlarmKey] = field(default_factory=list)

    def save(self, snapshot: Snapshot) -> None:
        self.saves += 1
        written = {
            (str(p.tags[m.TAG_DEVICE]), str(p.tags[m.TAG_KIND]), str(p.tags[m.TAG_RESOURCE]))
            for p in self.sink.samples
            if p.measurement == m.ALARM and p.fields[m.F_CHANGE] == "raised"
        }
        for a in snapshot.engine.alarms():
            if a.raised_at is not None and (a.key.device, a.key.kind, a.key.resource) not in written:
                self.saved_before_point.append(a.key)

    def load(self) -> Snapshot | None:
        return None


async def test_the_pipeline_spools_alarm_points_before_saving_and_marks_cleared_symptoms(
    store: SqlTicketStore,
) -> None:
    sink = ListSink()
    clock = Clock(T0)
    service = _pipeline(store, sink, clock)
    states = service._state_store
    assert isinstance(states, WatchedStateStore)
    port = AlarmKey("agg-sh-mh-01", "interface_down", "ae0")
    # another root's ticket lists this port's alarm as a symptom
    listing, _ = store.open_or_get(open_action("core-sh-01", symptoms=()), None, T0)
    store.attach(AlarmKey("core-sh-01", "device_unreachable", ""), [port], Impact((), 4), T0)
    await service.on_event(DeviceEvent(port.device, "linkDown", port.resource, T0, severity="major"))
    for s in range(5, 400, 5):
        clock.now = T0 + timedelta(seconds=s)
        if s == 200:
            await service.on_event(DeviceEvent(port.device, "linkUp", port.resource, clock.now, clears="linkDown"))
        await service.tick()
    changes = [str(p.fields[m.F_CHANGE]) for p in sink.samples if p.tags[m.TAG_RESOURCE] == port.resource]
    assert changes[0] == "raised" and changes[-1] == "cleared", changes
    assert states.saves > 0 and states.saved_before_point == []  # no state ever got ahead of its points
    cleared = [c for c in store.changes_since(0) if c.action == "symptom_cleared" and c.ticket_id == listing.id]
    assert [c.detail["symptom"] for c in cleared] == [str(port)]
    assert T0 + timedelta(seconds=200) <= cleared[0].time <= clock.now


def _pipeline(store: SqlTicketStore, sink: ListSink, clock: Clock, poll_s: float = 30.0) -> AlarmService:
    loaded = load(ROOT / "inventory.yaml", ROOT / "config", env={})
    inv = loaded.inventory
    cfg = load_alarms(ROOT / "config" / "alarms.yaml", {d.name for d in inv.devices}, {s.name for s in inv.sites})
    topo = Topology.from_inventory(inv)
    return AlarmService(
        inventory=inv, rules=cfg.rules, settings=EngineSettings.from_config(cfg, poll_s), topology=topo,
        calendar=MaintenanceCalendar.build((), topo), tickets=store,
        state_store=WatchedStateStore(sink),  # type: ignore[arg-type]
        sink=sink, clock=clock,
    )  # fmt: skip


@pytest.mark.parametrize("repeats", [1, 2])  # a crash before the state is saved carries it out again
def test_a_merge_closes_the_duplicate_and_moves_its_alarms_once(any_store: SqlTicketStore, repeats: int) -> None:
    store = any_store
    pipeline = _pipeline(store, ListSink(), Clock(T0))
    older, _ = store.open_or_get(open_action("olt-sh-pd-01", symptoms=("onu-7",)), None, T0)
    root, _ = store.open_or_get(open_action("agg-sh-pd-01", services=("svc-9",)), None, _h(0.1))
    olt = AlarmKey("olt-sh-pd-01", "device_unreachable", "")
    agg = AlarmKey("agg-sh-pd-01", "device_unreachable", "")
    onu = AlarmKey("onu-7", "device_unreachable", "")
    merge = MergeTicket(
        agg, olt, (alarm("olt-sh-pd-01"), alarm("onu-7")), Impact((service("svc-1"), service("svc-9")), 1)
    )
    for _ in range(repeats):
        pipeline._carry_out([merge], _h(0.2))
    into, dup = store.get(root.id), store.get(older.id)
    assert into is not None and dup is not None
    assert into.symptoms == (olt, onu) and into.priority == 1 and into.status is S.OPEN
    assert [s.service_id for s in into.services] == ["svc-9", "svc-1"]
    assert (dup.status, dup.cause_code, dup.symptoms, dup.notes) == (S.CLOSED, "duplicate", (), ())
    trail = [(c.action, c.ticket_id) for c in store.changes_since(0)][-3:]
    assert trail == [("merged", older.id), ("absorbed", root.id), ("attached", root.id)]  # the priority 2→1
    assert pipeline.stats.tickets_merged == 1 and pipeline.stats.symptoms_attached == 2


class Recorder:
    """Carries out the pipeline's actions as before and keeps them (to replay one)."""

    def __init__(self, service: AlarmService) -> None:
        self.actions: list[Action] = []
        self._carry_out = service._carry_out

    def __call__(self, actions: Sequence[Action], now: datetime) -> None:
        self.actions.extend(actions)
        self._carry_out(actions, now)


LATE_ROOT = [
    # (events the channel lists in notify.yaml, the notices it gets)
    (("opened",), ["opened", "opened", "merged"]),
    (("merged",), ["merged"]),
    (("escalated", "resolved"), []),
]


@pytest.mark.parametrize(("subscribed", "notices"), LATE_ROOT)
async def test_a_root_found_late_takes_over_the_ticket_of_its_symptom(
    any_store: SqlTicketStore,
    receiver: Receiver,  # noqa: F811
    subscribed: tuple[EventName, ...],
    notices: list[str],
) -> None:
    """Engine → service → store → dispatcher. The aggregation router is polled every 5 min (so its outage may
    be seen up to a poll late): the OLT behind it opens its ticket (with a port alarm as its symptom) before the
    router's outage is seen; when it is, one ticket remains — the router's — holding the OLT and its symptom,
    and the OLT's ticket is closed as a duplicate, with a ``merged`` notice pointing at the router's ticket."""
    store = any_store
    receiver.reset([])
    sink, clock = ListSink(), Clock(T0)
    pipeline = _pipeline(store, sink, clock, poll_s=300.0)
    recorder = Recorder(pipeline)
    pipeline._carry_out = recorder  # type: ignore[method-assign]
    olt, agg = "olt-sh-pd-01", "agg-sh-pd-01"
    window = pipeline._settings.group_window_s
    agg_seen = 320.0 + 300.0  # its second failed poll: after the OLT's ticket opened
    assert 300.0 + window < agg_seen
    for s in range(0, int(agg_seen + window) + 30, 10):
        clock.now = T0 + timedelta(seconds=s)
        if s in (0, 300):
            await pipeline.on_result(PollResult(olt, "system", clock.now, 1.0, error="timeout"))
        if s == 10:
            await pipeline.on_event(DeviceEvent(olt, "linkDown", "0/0/15", clock.now, severity="major"))
        if s in (320, agg_seen):
            await pipeline.on_result(PollResult(agg, "system", clock.now, 1.0, error="timeout"))
        await pipeline.tick()
    merges = [a for a in recorder.actions if isinstance(a, MergeTicket)]
    assert [(str(a.into_root), str(a.from_root)) for a in merges] == [(f"{agg}|device_unreachable|",
                                                                       f"{olt}|device_unreachable|")]  # fmt: skip
    open_now = store.list(status=[S.OPEN])
    assert [t.root.device for t in open_now] == [agg]
    survivor = open_now[0]
    assert {str(k) for k in survivor.symptoms} == {f"{olt}|device_unreachable|", f"{olt}|interface_down|0/0/15"}
    (dup,) = [t for t in store.list(status=[S.CLOSED]) if t.root.device == olt]
    assert dup.cause_code == "duplicate" and dup.audit[-1].action == "merged"
    assert dup.audit[-1].detail["into"] == str(survivor.id)
    assert dup.services == () and {s.service_id for s in survivor.services} >= _services_of(dup) != set()
    # the same MergeTicket again (a crash before the state was saved) changes nothing
    trail = store.changes_since(0)
    pipeline._carry_out(merges, clock.now)
    assert store.changes_since(trail[-1].id) == [] and store.get(survivor.id) == survivor
    # the dispatcher: a merged notice for the channels that want it, a Grafana point for every change
    channel = _webhook(receiver)
    d = Dispatcher(store, clock=clock, sink=(points := ListSink()), notifier=Notifier(((channel, subscribed),)))
    await d.pump(NOTIFY_CURSOR)
    await d.pump(GRAFANA_CURSOR)
    assert [r["body"]["event"] for r in receiver.requests] == notices
    for body in (r["body"] for r in receiver.requests if r["body"]["event"] == "merged"):
        assert body["merged_into"] == survivor.id and body["ticket"]["id"] == dup.id
        assert (body["ticket"]["status"], body["ticket"]["cause_code"]) == ("closed", "duplicate")
    assert len(points.samples) == len(trail)
    merged_points = [p for p in points.samples if p.fields[m.F_CHANGE] == "merged"]
    assert [(p.tags[m.TAG_TICKET], p.fields[m.F_STATUS_TEXT]) for p in merged_points] == [(str(dup.id), "closed")]


def _services_of(ticket: Ticket) -> set[str]:
    """The services a merged ticket held (they moved away: its ``merged`` audit entry lists them)."""
    return set(filter(None, ticket.audit[-1].detail.get("services", "").split(",")))


@pytest.mark.parametrize(
    ("text", "reason", "expected"),
    [
        ("Gi0/0/1 down", "admin-down", "Gi0/0/1 down; clear reason: admin-down"),
        ("Gi0/0/1 down", "", "Gi0/0/1 down"),
        ("", "admin-down", "clear reason: admin-down"),
        ("", "", ""),
    ],
)
def test_the_alarm_point_says_why_it_cleared(text: str, reason: str, expected: str) -> None:
    a = replace(alarm("agg-sh-pd-01", "interface_down", "Gi0/0/1"), state=AlarmState.CLEARED, text=text,
                clear_reason=reason, cleared_at=T0)  # fmt: skip
    point = alarm_sample(RecordAlarm(a, "cleared"), {m.TAG_SITE: "pd"}, T0)
    assert point.fields[m.F_TEXT] == expected and set(point.fields) == set(_schema(m.ALARM).fields)  # no new field
    assert (point.fields[m.F_ACTIVE], point.fields[m.F_CHANGE], point.tags[m.TAG_SITE]) == (0, "cleared", "pd")


def _schema(name: str) -> m.Measurement:
    return next(x for x in m.SCHEMA if x.name == name)
