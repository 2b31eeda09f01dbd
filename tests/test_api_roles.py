"""The ticket API per role: the access matrix, authentication failures, lifecycle conflicts, listings.

Real SQLite ticket store (tests/api_world.py); every case makes its own fresh tickets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from alarms.model import TicketStatus
from tests.api_world import NOW, World, world

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def w() -> Iterator[World]:
    with world() as w:
        yield w


@pytest.fixture(scope="module")
def client(w: World) -> TestClient:
    return TestClient(w.app)


# endpoint → (HTTP method, path suffix, JSON body, the status the ticket needs first, the status after)
ENDPOINTS: dict[str, tuple[str, str, dict[str, str] | None, TicketStatus, TicketStatus]] = {
    "get": ("GET", "", None, TicketStatus.OPEN, TicketStatus.OPEN),
    "ack": ("POST", "/ack", None, TicketStatus.OPEN, TicketStatus.ACKNOWLEDGED),
    "progress": ("POST", "/progress", None, TicketStatus.ACKNOWLEDGED, TicketStatus.IN_PROGRESS),
    "notes": ("POST", "/notes", {"text": "已到站，正在熔接光缆"}, TicketStatus.OPEN, TicketStatus.OPEN),
    "resolve": ("POST", "/resolve", None, TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED),
    "close": ("POST", "/close", {"cause_code": "fiber_cut"}, TicketStatus.RESOLVED, TicketStatus.CLOSED),
    "reopen": ("POST", "/reopen", None, TicketStatus.CLOSED, TicketStatus.OPEN),
    "complaint": ("POST", "/complaints", {"reported_at": "2026-11-25T09:00:00+08:00", "reference": "10000-7"},
                  TicketStatus.OPEN, TicketStatus.OPEN),
    "assign": ("POST", "/assign", {"team": "field-west"}, TicketStatus.OPEN, TicketStatus.OPEN),
}

# role × endpoint → expected status for a ticket of: (the caller's team, another team, no team).
# The technician belongs to field-east. 404 (not 403) for other teams' tickets: ids do not leak.
MATRIX: dict[str, dict[str, tuple[int, int, int]]] = {
    "noc": {
        "get": (200, 200, 200), "ack": (200, 200, 200), "progress": (200, 200, 200), "notes": (200, 200, 200),
        "resolve": (200, 200, 200), "close": (200, 200, 200), "reopen": (200, 200, 200),
        "complaint": (200, 200, 200), "assign": (200, 200, 200),
    },
    "auditor": {
        "get": (200, 200, 200), "ack": (403, 403, 403), "progress": (403, 403, 403), "notes": (403, 403, 403),
        "resolve": (403, 403, 403), "close": (403, 403, 403), "reopen": (403, 403, 403),
        "complaint": (403, 403, 403), "assign": (403, 403, 403),
    },
    "tech-east": {
        "get": (200, 404, 404), "ack": (200, 404, 404), "progress": (200, 404, 404), "notes": (200, 404, 404),
        "resolve": (200, 404, 404), "close": (200, 404, 404), "reopen": (403, 403, 403),
        "complaint": (403, 403, 403), "assign": (403, 403, 403),
    },
}
TARGETS = {"own": "field-east", "other": "field-north", "no team": None}
CASES = [
    pytest.param(role, ep, target, MATRIX[role][ep][i], id=f"{role}-{ep}-{target}")
    for role in MATRIX
    for ep in ENDPOINTS
    for i, target in enumerate(TARGETS)
]


@pytest.mark.parametrize(("role", "endpoint", "target", "expected"), CASES)
def test_role_matrix(w: World, client: TestClient, role: str, endpoint: str, target: str, expected: int) -> None:
    method, suffix, body, before, after = ENDPOINTS[endpoint]
    ticket = w.ticket(TARGETS[target], before)
    r = client.request(method, f"/api/tickets/{ticket.id}{suffix}", headers=w.headers(role), json=body)
    assert r.status_code == expected, r.text
    stored = w.store.get(ticket.id)
    assert stored is not None
    if expected == 200:
        assert r.headers["content-type"] == "application/json"
        assert r.json()["id"] == ticket.id and r.json()["status"] == after.value
        assert stored.status is after
        if method == "POST":  # the audit trail names the token's owner
            assert stored.audit[-1].actor == {"noc": "noc-duty", "tech-east": "zhang.wei"}[role]
    else:
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == expected
        assert stored == ticket, "a refused request changed the ticket"
        assert str(ticket.id) not in r.json()["title"]


PROTECTED = [("GET", "/api/me"), ("GET", "/api/tickets"), ("GET", "/api/tickets/{id}")] + [
    ("POST", f"/api/tickets/{{id}}{suffix}") for m, suffix, *_ in ENDPOINTS.values() if m == "POST"
]


def _bad_tokens(w: World) -> dict[str, dict[str, str]]:
    noc = w.tokens["noc"]
    tid = noc.split("_")[1]
    return {
        "none": {},
        "empty bearer": {"Authorization": "Bearer "},
        "garbage": {"Authorization": "Bearer hunter2"},
        "unknown id": {"Authorization": "Bearer nqt_000000000000_" + noc.split("_", 2)[2]},
        "right id, wrong secret": {"Authorization": f"Bearer nqt_{tid}_" + "A" * 43},
        "truncated": {"Authorization": "Bearer " + noc[:-1]},
        "basic scheme": {"Authorization": "Basic " + noc},
        "non-ascii": {"Authorization": "Bearer nqt_令牌"},
    }


BAD = ["none", "empty bearer", "garbage", "unknown id", "right id, wrong secret", "truncated", "basic scheme",
       "non-ascii"]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("bad", BAD)
def test_no_or_wrong_token_is_401(w: World, client: TestClient, method: str, path: str, bad: str) -> None:
    ticket = w.ticket("field-east")
    headers = {k: v.encode("utf-8") for k, v in _bad_tokens(w)[bad].items()}
    r = client.request(method, path.format(id=ticket.id), headers=headers,
                       json={"text": "x", "cause_code": "fiber_cut"} if method == "POST" else None)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"] == "application/problem+json"
    assert w.store.get(ticket.id) == ticket


def test_revoked_token_is_401_at_once(w: World, client: TestClient) -> None:
    from alarms.api.tokens import ApiRole, FileTokenStore, issue
    from tests.api_world import CHEAP, NOW

    ts = FileTokenStore(w.token_file)
    token = issue(ts, "temp-noc", ApiRole.NOC, None, NOW, CHEAP)
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert ts.remove("temp-noc")
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


@pytest.mark.parametrize(("role", "name", "team"), [
    ("noc", "noc-duty", None), ("auditor", "auditor-li", None), ("tech-east", "zhang.wei", "field-east"),
    ("tech-north", "wang.fang", "field-north"),
])
def test_me(w: World, client: TestClient, role: str, name: str, team: str | None) -> None:
    body = client.get("/api/me", headers=w.headers(role)).json()
    assert (body["name"], body["role"], body["team"]) == (name, role.split("-")[0].replace("tech", "technician"), team)
    assert body["language"] == "zh-CN" and body["timezone"] == "Asia/Shanghai"


def test_healthz_needs_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(("endpoint", "before", "body", "expected"), [
    ("ack", TicketStatus.ACKNOWLEDGED, None, 409),
    ("ack", TicketStatus.CLOSED, None, 409),
    ("progress", TicketStatus.RESOLVED, None, 409),
    ("resolve", TicketStatus.RESOLVED, None, 409),
    ("close", TicketStatus.OPEN, {"cause_code": "fiber_cut"}, 409),  # only from resolved
    ("close", TicketStatus.RESOLVED, {"cause_code": "no_such_cause"}, 409),  # unknown cause code
    ("close", TicketStatus.RESOLVED, {}, 422),  # cause code missing
    ("close", TicketStatus.RESOLVED, {"cause_code": "bad code!"}, 422),
    ("reopen", TicketStatus.OPEN, None, 409),
    ("notes", TicketStatus.OPEN, {"text": "   "}, 422),
    ("notes", TicketStatus.OPEN, {"text": "\u3000\n"}, 422),  # ideographic space only
    ("notes", TicketStatus.OPEN, {"text": "a\u0000b"}, 422),
    ("notes", TicketStatus.OPEN, {"text": "x" * 4001}, 422),
    ("notes", TicketStatus.OPEN, {"text": "ok", "extra": "field"}, 422),
    ("complaints", TicketStatus.CLOSED, {"reported_at": "2026-11-25T01:00:00Z"}, 409),  # reopen it first
    ("complaints", TicketStatus.OPEN, {"reported_at": "2026-11-25T09:00:00"}, 422),  # no UTC offset
    ("complaints", TicketStatus.OPEN, {"reported_at": "2026-11-25T02:00:01Z"}, 422),  # after now
    ("complaints", TicketStatus.OPEN, {"reported_at": "1999-12-31T23:59:59Z"}, 422),
    ("complaints", TicketStatus.OPEN, {"reported_at": "9999-12-31T23:59:59-23:59"}, 422),
    ("complaints", TicketStatus.OPEN, {"reported_at": "2026-11-25T01:00:00Z", "reference": "a\u0000b"}, 422),
    ("complaints", TicketStatus.OPEN, {"reported_at": "2026-11-25T01:00:00Z", "contact": "x" * 201}, 422),
    ("complaints", TicketStatus.OPEN, {}, 422),
    ("assign", TicketStatus.OPEN, {"team": "field-nowhere"}, 422),  # not a team of the inventory
    ("assign", TicketStatus.OPEN, {"team": ""}, 422),
    ("assign", TicketStatus.OPEN, {"team": "field-west", "extra": 1}, 422),
])
def test_conflicts_and_bad_bodies(w: World, client: TestClient, endpoint: str, before: TicketStatus,
                                  body: dict[str, object] | None, expected: int) -> None:
    ticket = w.ticket("field-east", before)
    r = client.post(f"/api/tickets/{ticket.id}/{endpoint}", headers=w.headers("noc"), json=body)
    assert r.status_code == expected, r.text
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert problem["status"] == expected and problem["detail"] and problem["instance"].endswith(endpoint)
    assert w.store.get(ticket.id) == ticket


def test_lone_surrogate_note_is_422(w: World, client: TestClient) -> None:
    ticket = w.ticket("field-east")
    r = client.post(f"/api/tickets/{ticket.id}/notes", content=b'{"text": "ok \\ud800"}',
                    headers={**w.headers("noc"), "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("body.text")  # pydantic's JSON parser refuses it
    assert w.store.get(ticket.id) == ticket


@pytest.mark.parametrize(("path", "expected"), [
    ("/api/tickets/0", 422), ("/api/tickets/-1", 422), ("/api/tickets/abc", 422),
    ("/api/tickets/99999999", 404), (f"/api/tickets/{2**63}", 422), (f"/api/tickets/{2**63 - 1}", 404),
    ("/api/tickets?limit=0", 422), ("/api/tickets?limit=501", 422), ("/api/tickets?status=broken", 422),
    ("/api/tickets?team=" + "x" * 65, 422),
])
def test_bad_requests(w: World, client: TestClient, path: str, expected: int) -> None:
    r = client.get(path, headers=w.headers("noc"))
    assert r.status_code == expected, r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_ticket_detail_has_alarms_impact_site_and_deadline(w: World, client: TestClient) -> None:
    t = w.ticket("field-north", customer="崇明农商银行")
    body = client.get(f"/api/tickets/{t.id}", headers=w.headers("tech-north")).json()
    assert [a["role"] for a in body["alarms"]] == ["root", "symptom"]
    assert body["root"]["key"] == str(t.root) and body["alarms"][1]["kind"] == "onu_los"
    assert body["impact"]["customers"] == ["崇明农商银行", "家庭宽带用户"] and body["impact"]["subscribers"] == 121
    assert body["site"] == {"name": "chongming-bts-07", "region": "sh-north", "site_class": "rural",
                            "address": "上海市崇明区陈家镇裕安路 88 号"}
    assert body["clock"]["repair_deadline"] == "2026-11-27T02:00:00Z"  # rural: 48 h from detection


def _ids(client: TestClient, w: World, who: str, query: str) -> set[int]:
    r = client.get(f"/api/tickets?{query}", headers=w.headers(who))
    assert r.status_code == 200, r.text
    return {t["id"] for t in r.json()["items"]}


def test_listing_filters_and_team_scope() -> None:
    with world() as w:
        c = TestClient(w.app)
        east = [w.ticket("field-east"), w.ticket("field-east", TicketStatus.ACKNOWLEDGED),
                w.ticket("field-east", TicketStatus.CLOSED)]
        north = [w.ticket("field-north"), w.ticket("field-north", TicketStatus.RESOLVED)]
        loose = w.ticket(None)
        every = {t.id for t in [*east, *north, loose]}
        cases: list[tuple[str, str, set[int]]] = [
            ("noc", "", every),
            ("auditor", "", every),
            ("noc", "team=field-north", {t.id for t in north}),
            ("noc", "region=sh-east", {t.id for t in east}),
            ("noc", "status=open&status=resolved", {east[0].id, north[0].id, north[1].id, loose.id}),
            ("tech-east", "", {t.id for t in east}),
            ("tech-east", "team=field-north", set()),  # never another team's
            ("tech-east", "region=sh-north", set()),
            ("tech-east", "status=open", {east[0].id}),
            ("tech-north", "", {t.id for t in north}),
            ("noc", "team=field%20east", set()),
            ("noc", "region=sh-east%00", set()),
            ("noc", "limit=2", {loose.id, north[1].id}),  # newest first
            ("noc", "limit=2&offset=2", {north[0].id, east[2].id}),
        ]
        for who, query, expected in cases:
            assert _ids(c, w, who, query) == expected, (who, query)


def test_alarm_states_show_what_cleared(w: World, client: TestClient) -> None:
    t = w.ticket("field-east")
    (symptom,) = t.symptoms
    cleared = NOW + timedelta(minutes=7)
    cases: list[tuple[str, list[tuple[str, str | None]]]] = [
        ("raised", [("active", None), ("active", None)]),
        ("symptom cleared", [("active", None), ("cleared", "2026-11-25T02:07:00Z")]),
        ("root cleared", [("cleared", "2026-11-25T02:09:00Z"), ("cleared", "2026-11-25T02:07:00Z")]),
    ]
    for step, expected in cases:
        if step == "symptom cleared":
            assert w.store.mark_cleared(str(symptom), cleared) == [t.id]
        if step == "root cleared":
            assert w.store.restore(t.root, cleared + timedelta(minutes=2)) is not None
        for path in (f"/api/tickets/{t.id}", "/api/tickets?status=open&status=resolved&limit=500"):
            body = client.get(path, headers=w.headers("tech-east")).json()
            ticket = body if "items" not in body else next(x for x in body["items"] if x["id"] == t.id)
            assert [(a["state"], a["cleared_at"]) for a in ticket["alarms"]] == expected, (step, path)
            assert ticket["root"]["state"] == expected[0][0]
    assert client.get(f"/api/tickets/{t.id}", headers=w.headers("tech-east")).json()["status"] == "resolved"


@pytest.mark.parametrize("who", ["noc", "auditor", "tech-east"])
def test_cause_codes(w: World, client: TestClient, who: str) -> None:
    r = client.get("/api/causes", headers=w.headers(who))
    assert r.status_code == 200, r.text
    got = {c["code"]: c for c in r.json()}
    assert set(got) == set(w.store.causes)
    assert got["fiber_cut"]["zh"] == w.store.causes["fiber_cut"].zh
    assert [c for c, v in got.items() if v["excluded_from_sla"]] == [
        c for c, v in w.store.causes.items() if v.excluded_from_sla]
    assert client.get("/api/causes").status_code == 401


def test_a_ticket_with_no_team_reaches_the_team_it_is_assigned_to(w: World, client: TestClient) -> None:
    t = w.ticket(None)
    assert client.get(f"/api/tickets/{t.id}", headers=w.headers("tech-east")).status_code == 404
    r = client.post(f"/api/tickets/{t.id}/assign", headers=w.headers("noc"), json={"team": "field-east"})
    assert r.status_code == 200 and r.json()["team"] == "field-east"
    assert client.get(f"/api/tickets/{t.id}", headers=w.headers("tech-east")).status_code == 200
    assert r.json()["audit"][-1] == {"actor": "noc-duty", "time": "2026-11-25T02:00:00Z", "action": "assigned",
                                     "detail": {"team": "field-east"}}
