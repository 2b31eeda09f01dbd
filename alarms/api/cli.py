"""``netqos tickets list|show|ack|resolve|complaint|assign``, ``netqos tokens add|list|remove`` and ``netqos api``: the
argparse pieces and the commands; the composition root (netqos/cli.py, netqos/app.py) opens the store and
the token file and calls these. Exit status: 0 done, 1 no such ticket/token, 2 refused (lifecycle, bad input).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from fastapi import FastAPI

from alarms.api.desk import TicketDesk
from alarms.api.tokens import PRODUCTION_KDF, ApiRole, KdfParams, TokenError, TokenStore, issue
from alarms.model import InvalidTransition, Ticket, TicketStatus
from alarms.tickets.store import SymptomState

DEFAULT_TOKEN_FILE = Path("var/api-tokens.json")


def add_ticket_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    tickets = sub.add_parser("tickets", help="list, show, acknowledge and resolve trouble tickets")
    tsub = tickets.add_subparsers(dest="tickets_command", required=True)
    ls = tsub.add_parser("list", help="tickets, newest first")
    ls.add_argument("--status", action="append", choices=[s.value for s in TicketStatus], default=[],
                    help="only this status (repeatable; default: all but closed)")
    ls.add_argument("--all", action="store_true", help="closed tickets too")
    ls.add_argument("--team")
    ls.add_argument("--region")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--format", choices=("table", "json"), default="table")
    show = tsub.add_parser("show", help="one ticket with its alarms, impact, notes and audit trail")
    show.add_argument("id", type=int)
    show.add_argument("--format", choices=("text", "json"), default="text")
    for name, text in (("ack", "acknowledge"), ("resolve", "mark resolved (service restored)")):
        p = tsub.add_parser(name, help=text)
        p.add_argument("id", type=int)
        p.add_argument("--as", dest="actor", default=None, help="who (default: $USER)")
        p.add_argument("--note", help="add this note too (kept only if the move is allowed)")
    complaint = tsub.add_parser("complaint", help="link a customer complaint (the repair clock counts from it)")
    complaint.add_argument("id", type=int)
    complaint.add_argument("--reported-at", required=True, metavar="ISO",
                           help="when the customer reported it, with a UTC offset (e.g. 2026-11-25T09:30+08:00)")
    complaint.add_argument("--reference", default="", help="e.g. the hotline's case number")
    complaint.add_argument("--contact", default="", help="who reported it and how to reach them")
    complaint.add_argument("--as", dest="actor", default=None, help="who (default: $USER)")
    assign = tsub.add_parser("assign", help="assign a field team of the inventory")
    assign.add_argument("id", type=int)
    assign.add_argument("team")
    assign.add_argument("--as", dest="actor", default=None, help="who (default: $USER)")
    return tickets


def add_token_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    tokens = sub.add_parser("tokens", help="API tokens (stored hashed; shown once)")
    tsub = tokens.add_subparsers(dest="tokens_command", required=True)
    add = tsub.add_parser("add", help="create a token and print it once")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in ApiRole])
    add.add_argument("--team", help="the technician's team (required for --role technician)")
    tsub.add_parser("list", help="token names, roles and teams (never the tokens)")
    rm = tsub.add_parser("remove", help="revoke a token by name")
    rm.add_argument("name")
    for p in tsub.choices.values():
        p.add_argument("--tokens-file", type=Path, default=DEFAULT_TOKEN_FILE, help="default: var/api-tokens.json")
    return tokens


def add_api_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    api = sub.add_parser("api", help="serve the ticket API and the technician page")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8080)
    api.add_argument("--tokens-file", type=Path, default=DEFAULT_TOKEN_FILE)
    return api


def _line(t: Ticket) -> str:
    return (f"{t.id:>6}  {t.status.value:<12}  P{t.priority}  {t.team or '-':<14}  {t.region:<10}  "
            f"{t.site:<18}  {t.title}")


def _summary(t: Ticket) -> dict[str, object]:
    return {"id": t.id, "status": t.status.value, "priority": t.priority, "team": t.team, "region": t.region,
            "site": t.site, "title": t.title, "detected": t.clock.detected.isoformat()}


def _show(t: Ticket, symptoms: Sequence[SymptomState], out: TextIO) -> None:
    c = t.clock
    out.write(f"ticket #{t.id}  {t.status.value}  P{t.priority}  {t.title}\n")
    out.write(f"  team {t.team or '-'}  region {t.region}  site {t.site}\n")
    cleared = {str(s.key): s.cleared_at for s in symptoms}
    out.write(f"  root cause  {t.root}{_state(t.clock.restored)}\n")
    for k in t.symptoms:
        out.write(f"  symptom     {k}{_state(cleared.get(str(k)))}\n")
    for s in t.services:
        out.write(f"  affects     {s.customer} {s.service_id} ({s.service_class}, {s.subscribers}) via {s.via}\n")
    for name in ("detected", "reported", "acknowledged", "restored", "closed"):
        v = getattr(c, name)
        if v is not None:
            out.write(f"  {name:<12}{v.isoformat()}\n")
    if t.cause_code:
        out.write(f"  cause       {t.cause_code}\n")
    for n in t.notes:
        out.write(f"  note        {n.time.isoformat()} {n.author}: {n.text}\n")
    for a in t.audit:
        detail = " ".join(f"{k}={v}" for k, v in a.detail.items())
        out.write(f"  audit       {a.time.isoformat()} {a.actor} {a.action} {detail}".rstrip() + "\n")


def _state(cleared_at: datetime | None) -> str:
    return "" if cleared_at is None else f"  (cleared {cleared_at.isoformat()})"


def _reported_at(text: str, now: datetime) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--reported-at {text!r} is not an ISO 8601 time") from None
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"--reported-at {text!r} has no UTC offset (e.g. 2026-11-25T09:30+08:00)")
    if t > now:
        raise ValueError(f"--reported-at {text!r} is in the future")
    return t


def tickets_command(args: argparse.Namespace, store: TicketDesk, now: Callable[[], datetime], out: TextIO,
                    err: TextIO, teams: Collection[str] = ()) -> int:
    """``teams``: the inventory's field team names (``assign`` refuses any other)."""
    cmd = args.tickets_command
    if cmd == "list":
        statuses = [TicketStatus(s) for s in args.status] or (
            [] if args.all else [s for s in TicketStatus if s is not TicketStatus.CLOSED])
        found = store.list(status=statuses, team=args.team, region=args.region, limit=args.limit)
        if args.format == "json":
            json.dump([_summary(t) for t in found], out, ensure_ascii=False, indent=2)
            out.write("\n")
        else:
            for t in found:
                out.write(_line(t) + "\n")
        return 0
    ticket = store.get(args.id)
    if ticket is None:
        err.write(f"netqos: no ticket {args.id}\n")
        return 1
    if cmd == "show":
        if args.format == "json":
            json.dump(_summary(ticket) | {"root": str(ticket.root), "symptoms": [str(k) for k in ticket.symptoms]},
                      out, ensure_ascii=False, indent=2)
            out.write("\n")
        else:
            _show(ticket, store.symptoms_of([ticket.id]).get(ticket.id, ()), out)
        return 0
    actor = args.actor or os.environ.get("USER") or "cli"
    try:
        if cmd == "complaint":
            when = now()
            ticket = store.link_complaint(ticket.id, _reported_at(args.reported_at, when), actor, when,
                                          reference=args.reference, contact=args.contact)
        elif cmd == "assign":
            if args.team not in teams:
                known = ", ".join(sorted(teams)) or "(none configured)"
                raise ValueError(f"unknown team {args.team!r}: known teams are {known}")
            ticket = store.assign(ticket.id, args.team, actor, now())
        else:
            to = {"ack": TicketStatus.ACKNOWLEDGED, "resolve": TicketStatus.RESOLVED}[cmd]
            ticket = store.transition(ticket.id, to, actor, now(), note=args.note or None)
    except (InvalidTransition, ValueError) as e:
        err.write(f"netqos: ticket {args.id}: {e}\n")
        return 2
    out.write(_line(ticket) + "\n")
    return 0


def tokens_command(args: argparse.Namespace, tokens: TokenStore, now: Callable[[], datetime], out: TextIO,
                   err: TextIO, kdf: KdfParams = PRODUCTION_KDF) -> int:
    cmd = args.tokens_command
    if cmd == "add":
        try:
            token = issue(tokens, args.name, ApiRole(args.role), args.team, now(), kdf)
        except TokenError as e:
            err.write(f"netqos: {e}\n")
            return 2
        out.write(token + "\n")
        err.write("netqos: store this token now: it is kept only as a hash and cannot be shown again\n")
        return 0
    if cmd == "list":
        for r in sorted(tokens.all(), key=lambda r: r.name):
            out.write(f"{r.name:<24}  {r.role.value:<10}  {r.team or '-':<14}  {r.created.isoformat()}\n")
        return 0
    if not tokens.remove(args.name):
        err.write(f"netqos: no token named {args.name!r}\n")
        return 1
    return 0


def serve(app: FastAPI, host: str, port: int) -> int:
    """Run the API until Ctrl-C (uvicorn; one process — put a reverse proxy with TLS in front)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)
    return 0
