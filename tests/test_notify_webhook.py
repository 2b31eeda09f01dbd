"""Signed webhooks against a local HTTP receiver: signature, retries with backoff, one delivery id."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace

import pytest

from alarms.model import AuditEntry
from alarms.notify import TicketEvent, WebhookChannel, backoff_delays, delivery_id, sign, verify
from alarms.notify.webhook import webhook_body
from config.tickets import Backoff
from tests.notify_fixtures import SECRET, T0, Receiver, free_port, receiver, ticket  # noqa: F401


@pytest.mark.parametrize(
    ("body", "secret"),
    [(b"{}", b"k"), ('{"title":"光缆中断"}'.encode(), SECRET), (b"", b"another key")],
)
def test_sign_is_hmac_sha256_hex(body: bytes, secret: bytes) -> None:
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    assert sign(secret, body) == expected
    assert verify(secret, body, expected)
    assert not verify(secret + b"x", body, expected)
    assert not verify(secret, body + b" ", expected)
    assert not verify(secret, body, None)


@pytest.mark.parametrize(
    ("policy", "delays"),
    [
        (Backoff(max_attempts=1), []),
        (Backoff(max_attempts=4, initial_s=1, factor=2, max_s=300), [1, 2, 4]),
        (Backoff(max_attempts=6, initial_s=0.5, factor=3, max_s=10), [0.5, 1.5, 4.5, 10, 10]),
        (Backoff(max_attempts=3, initial_s=2, factor=1, max_s=5), [2, 2]),
    ],
)
def test_backoff_delays(policy: Backoff, delays: list[float]) -> None:
    assert list(backoff_delays(policy)) == pytest.approx(delays)


CASES = [
    # (statuses the receiver answers before 200, max attempts, delivered?, attempts, sleeps)
    ([500, 500], 6, True, 3, [1.0, 2.0]),
    ([], 6, True, 1, []),
    ([503, 429, 502], 6, True, 4, [1.0, 2.0, 4.0]),
    ([500, 500, 500], 3, False, 3, [1.0, 2.0]),
    ([400], 6, False, 1, []),  # a client error is not retried
    ([404, 500], 6, False, 1, []),
]


@pytest.mark.parametrize(("script", "max_attempts", "ok", "attempts", "sleeps"), CASES)
def test_retries_and_delivers_once(
    receiver: Receiver,  # noqa: F811
    script: list[int],
    max_attempts: int,
    ok: bool,
    attempts: int,
    sleeps: list[float],
) -> None:
    receiver.reset(script)
    slept: list[float] = []
    ch = WebhookChannel("noc", receiver.url, SECRET, Backoff(max_attempts=max_attempts), slept.append, 5.0)
    t = ticket()
    did = delivery_id(t, TicketEvent.OPENED)
    result = ch.send(TicketEvent.OPENED, t, did, T0, None)
    assert (result.ok, result.attempts, result.delivery_id) == (ok, attempts, did)
    assert slept == sleeps
    assert len(receiver.requests) == attempts
    assert {r["delivery_id"] for r in receiver.requests} == {did}
    assert all(r["signed"] for r in receiver.requests)
    assert receiver.accepted == ([did] if ok else [])
    body = receiver.requests[-1]["body"]
    assert body["event"] == "opened" and body["delivery_id"] == did
    assert body["ticket"]["id"] == t.id and body["ticket"]["clock"]["detected"] == "2026-03-01T08:00:00Z"
    assert body["ticket"]["services"][0]["customer"] == "上海某银行"


def test_a_resend_after_restart_has_the_same_delivery_id(receiver: Receiver) -> None:  # noqa: F811
    receiver.reset([])
    ch = WebhookChannel("noc", receiver.url, SECRET, Backoff(max_attempts=2), lambda s: None)
    t = ticket()
    for _ in range(2):  # the process sent, crashed before recording it, and sends again
        assert ch.send(TicketEvent.RESOLVED, t, delivery_id(t, TicketEvent.RESOLVED), T0, None).ok
    assert len(receiver.requests) == 2 and len(receiver.accepted) == 1


def test_wrong_secret_is_rejected_and_not_retried(receiver: Receiver) -> None:  # noqa: F811
    receiver.reset([])
    ch = WebhookChannel("noc", receiver.url, b"wrong", Backoff(max_attempts=5), lambda s: None)
    result = ch.send(TicketEvent.OPENED, ticket(), "d-1", T0, None)
    assert (result.ok, result.attempts, result.status) == (False, 1, 401)
    assert receiver.accepted == [] and [r["signed"] for r in receiver.requests] == [False]


def test_unreachable_receiver_is_retried_then_given_up() -> None:
    slept: list[float] = []
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    ch = WebhookChannel("noc", url, SECRET, Backoff(max_attempts=3, initial_s=0.25), slept.append, 2.0)
    result = ch.send(TicketEvent.OPENED, ticket(), "d-2", T0, None)
    assert (result.ok, result.attempts, result.status) == (False, 3, None)
    assert result.error and slept == [0.25, 0.5]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ((ticket(1), TicketEvent.OPENED), (ticket(1), TicketEvent.OPENED), True),
        ((ticket(1), TicketEvent.OPENED), (ticket(2), TicketEvent.OPENED), False),
        ((ticket(1), TicketEvent.OPENED), (ticket(1), TicketEvent.RESOLVED), False),
        ((ticket(1), TicketEvent.RESOLVED), (ticket(1, audit=("opened", "reopened")), TicketEvent.RESOLVED), False),
    ],
)
def test_delivery_ids(a: tuple[object, TicketEvent], b: tuple[object, TicketEvent], same: bool) -> None:
    from alarms.model import Ticket

    ta, tb = a[0], b[0]
    assert isinstance(ta, Ticket) and isinstance(tb, Ticket)
    assert (delivery_id(ta, a[1]) == delivery_id(tb, b[1])) is same


def test_body_is_stable_json() -> None:
    t = ticket()
    assert webhook_body(TicketEvent.OPENED, t, "x", T0) == webhook_body(TicketEvent.OPENED, t, "x", T0)


@pytest.mark.parametrize(
    ("event", "audit", "merged_into"),
    [
        (TicketEvent.MERGED, ("opened", "merged:12"), 12),
        (TicketEvent.MERGED, ("opened", "merged:12", "reopened", "merged:15"), 15),  # the last merge
        (TicketEvent.MERGED, ("opened",), None),  # no merge in the trail: null, never made up
        (TicketEvent.OPENED, ("opened", "merged:12"), "absent"),  # only a merged notice carries it
    ],
)
def test_a_merged_notice_names_the_surviving_ticket(
    event: TicketEvent, audit: tuple[str, ...], merged_into: int | str | None
) -> None:
    t = ticket()
    entries = tuple(
        AuditEntry("system", T0, a.partition(":")[0], {"into": a.partition(":")[2]} if ":" in a else {}) for a in audit
    )
    doc = json.loads(webhook_body(event, replace(t, audit=entries), "x", T0))
    assert doc.get("merged_into", "absent") == merged_into
    assert doc["event"] == event.value
