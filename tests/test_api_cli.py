"""`netqos tickets …` and `netqos tokens …` command functions, on the real SQLite store and token file."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator

import pytest

from alarms.api.cli import add_api_command, add_ticket_commands, add_token_commands, tickets_command, tokens_command
from alarms.api.tokens import ApiRole, Authenticator, FileTokenStore, Principal
from alarms.model import TicketStatus
from tests.api_world import CHEAP, NOW, TEAMS, World, world


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="netqos")
    sub = p.add_subparsers(dest="command", required=True)
    add_ticket_commands(sub)
    add_token_commands(sub)
    add_api_command(sub)
    return p


@pytest.fixture
def w() -> Iterator[World]:
    with world() as w:
        yield w


def run_tickets(w: World, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = tickets_command(parser().parse_args(["tickets", *argv]), w.store, lambda: NOW, out, err, TEAMS)
    return code, out.getvalue(), err.getvalue()


def test_list_and_show(w: World) -> None:
    a = w.ticket("field-east", customer="上海浦东发展银行")
    b = w.ticket("field-north", TicketStatus.CLOSED)
    cases = [
        (["list"], {a.id}),
        (["list", "--all"], {a.id, b.id}),
        (["list", "--status", "closed"], {b.id}),
        (["list", "--team", "field-north"], set()),
    ]
    for argv, ids in cases:
        code, out, _ = run_tickets(w, *argv, "--format", "json")
        assert code == 0 and {t["id"] for t in json.loads(out)} == ids, argv
    code, out, _ = run_tickets(w, "list")
    assert code == 0 and out.split()[0] == str(a.id)
    code, out, _ = run_tickets(w, "show", str(a.id))
    assert code == 0 and f"root cause  {a.root}" in out and "上海浦东发展银行" in out
    assert run_tickets(w, "show", "9999")[0] == 1


@pytest.mark.parametrize(("before", "argv", "code", "after"), [
    (TicketStatus.OPEN, ["ack"], 0, TicketStatus.ACKNOWLEDGED),
    (TicketStatus.ACKNOWLEDGED, ["ack"], 2, TicketStatus.ACKNOWLEDGED),
    (TicketStatus.IN_PROGRESS, ["resolve", "--note", "更换光模块后恢复"], 0, TicketStatus.RESOLVED),
    (TicketStatus.CLOSED, ["resolve"], 2, TicketStatus.CLOSED),
])
def test_ack_and_resolve(w: World, before: TicketStatus, argv: list[str], code: int, after: TicketStatus) -> None:
    t = w.ticket("field-east", before)
    got, _, err = run_tickets(w, *argv, str(t.id), "--as", "li.na")
    assert got == code, err
    stored = w.store.get(t.id)
    assert stored is not None and stored.status is after
    if code == 0:
        assert stored.audit[-1].actor == "li.na"
    if "--note" in argv:
        assert [n.text for n in stored.notes] == ["更换光模块后恢复"]


@pytest.mark.parametrize(("before", "argv"), [
    (TicketStatus.CLOSED, ["resolve", "--note", "太晚了"]),
    (TicketStatus.RESOLVED, ["ack", "--note", "on my way"]),
    (TicketStatus.OPEN, ["resolve", "--note", "   "]),
])
def test_a_refused_move_keeps_no_note(w: World, before: TicketStatus, argv: list[str]) -> None:
    t = w.ticket("field-east", before)
    code, _, err = run_tickets(w, *argv, str(t.id))
    assert code == 2 and f"ticket {t.id}" in err
    assert w.store.get(t.id) == t


@pytest.mark.parametrize(("before", "argv", "code", "reported"), [
    (TicketStatus.OPEN, ["--reported-at", "2026-11-25T09:30+08:00", "--reference", "10000-42", "--contact", "王先生"],
     0, "2026-11-25T01:30:00+00:00"),
    (TicketStatus.RESOLVED, ["--reported-at", "2026-11-25T01:00:00Z"], 0, "2026-11-25T01:00:00+00:00"),
    (TicketStatus.OPEN, ["--reported-at", "2026-11-25T09:30"], 2, None),  # no offset
    (TicketStatus.OPEN, ["--reported-at", "2026-11-25T11:30+08:00"], 2, None),  # after now (10:00 Shanghai)
    (TicketStatus.OPEN, ["--reported-at", "yesterday"], 2, None),
    (TicketStatus.CLOSED, ["--reported-at", "2026-11-25T01:00:00Z"], 2, None),
])
def test_complaint(w: World, before: TicketStatus, argv: list[str], code: int, reported: str | None) -> None:
    t = w.ticket("field-east", before)
    got, out, err = run_tickets(w, "complaint", str(t.id), *argv, "--as", "noc.chen")
    assert got == code, err
    stored = w.store.get(t.id)
    assert stored is not None
    if reported is None:
        assert stored == t
        return
    assert stored.clock.reported is not None and stored.clock.reported.isoformat() == reported
    entry = stored.audit[-1]
    assert (entry.actor, entry.action, entry.detail["reported"]) == ("noc.chen", "complaint_linked", reported)
    if "--reference" in argv:
        assert (entry.detail["reference"], entry.detail["contact"]) == ("10000-42", "王先生")
    assert out.split()[0] == str(t.id)


@pytest.mark.parametrize(("team", "to", "code"), [
    ("field-east", "field-north", 0),
    (None, "field-east", 0),  # a ticket with no team is assignable
    ("field-east", "field-east", 0),  # no change: no audit entry
    ("field-east", "field-nowhere", 2),  # not a team of the inventory
])
def test_assign(w: World, team: str | None, to: str, code: int) -> None:
    t = w.ticket(team)
    got, _, err = run_tickets(w, "assign", str(t.id), to, "--as", "noc.chen")
    assert got == code, err
    stored = w.store.get(t.id)
    assert stored is not None
    if code != 0 or team == to:
        assert stored == t
        return
    assert stored.team == to and stored.audit[-1].actor == "noc.chen" and stored.audit[-1].action == "assigned"


def test_show_tells_cleared_alarms(w: World) -> None:
    t = w.ticket("field-east")
    (symptom,) = t.symptoms
    assert w.store.mark_cleared(str(symptom), NOW) == [t.id]
    code, out, _ = run_tickets(w, "show", str(t.id))
    assert code == 0
    assert f"symptom     {symptom}  (cleared {NOW.isoformat()})" in out
    assert f"root cause  {t.root}\n" in out  # the root is still active


def test_tokens_add_list_remove(w: World) -> None:
    path = w.dir / "cli-tokens.json"
    store = FileTokenStore(path)

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        args = parser().parse_args(["tokens", *argv, "--tokens-file", str(path)])
        assert args.tokens_file == path
        return tokens_command(args, store, lambda: NOW, out, err, CHEAP), out.getvalue(), err.getvalue()

    code, out, err = run("add", "zhao.lei", "--role", "technician", "--team", "field-east")
    token = out.strip()
    assert code == 0 and "cannot be shown again" in err and token not in path.read_text()
    assert Authenticator(store).authenticate(token) == Principal("zhao.lei", ApiRole.TECHNICIAN, "field-east")
    assert run("add", "x", "--role", "technician")[0] == 2
    assert run("add", "zhao.lei", "--role", "noc")[0] == 2
    code, out, _ = run("list")
    assert code == 0 and out.split()[:3] == ["zhao.lei", "technician", "field-east"] and token not in out
    assert run("remove", "zhao.lei")[0] == 0 and run("remove", "zhao.lei")[0] == 1
    assert Authenticator(store).authenticate(token) is None
