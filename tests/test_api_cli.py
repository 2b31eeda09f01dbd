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
from tests.api_world import CHEAP, NOW, World, world


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
    code = tickets_command(parser().parse_args(["tickets", *argv]), w.store, lambda: NOW, out, err)
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
