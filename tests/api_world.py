"""A small world for the ticket API tests: the real SQLite ticket store in a private temp dir, tokens for
each role, tickets of two teams (and one with no team), and a live uvicorn server on a free port."""

from __future__ import annotations

import itertools
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from alarms.api import create_app
from alarms.api.context import SiteInfo, deadline_by_site_class
from alarms.api.tokens import ApiRole, FileTokenStore, KdfParams, issue
from alarms.model import (
    AffectedService,
    Alarm,
    AlarmKey,
    AlarmState,
    Impact,
    OpenTicket,
    Severity,
    Ticket,
    TicketStatus,
)
from alarms.tickets.store import SqlTicketStore, open_store

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CHEAP = KdfParams(n=2**10)  # tests only: production tokens use KdfParams() (n=2**14)
SITES = {
    "pudong-olt-room": SiteInfo("pudong-olt-room", "sh-east", "urban", "上海市浦东新区张杨路 1500 号 3 楼机房"),
    "chongming-bts-07": SiteInfo("chongming-bts-07", "sh-north", "rural", "上海市崇明区陈家镇裕安路 88 号"),
}
LIMITS = {"urban": timedelta(hours=24), "rural": timedelta(hours=48)}
TEAMS = ("field-east", "field-north", "field-west")  # the inventory's field teams (field-west has no tickets)
TEAM_SITE = {"field-east": ("sh-east", "pudong-olt-room"), "field-north": ("sh-north", "chongming-bts-07"),
             None: ("sh-west", "nowhere")}


@dataclass
class World:
    dir: Path
    store: SqlTicketStore
    token_file: Path
    tokens: dict[str, str]  # role label → token text: noc, auditor, tech-east, tech-north
    app: FastAPI
    seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def ticket(self, team: str | None, status: TicketStatus = TicketStatus.OPEN, customer: str = "上海浦东发展银行",
               device: str | None = None) -> Ticket:
        """A fresh ticket of ``team`` (unique dedup key) moved to ``status`` by the system."""
        region, site = TEAM_SITE[team]
        n = next(self.seq)
        key = AlarmKey(device or f"olt-{n:03d}", "device_unreachable")
        root = Alarm(key, Severity.CRITICAL, AlarmState.RAISED, NOW, NOW, raised_at=NOW, text="no SNMP answer")
        symptom = Alarm(AlarmKey(f"onu-{n:03d}", "onu_los", "0/1/3:7"), Severity.MAJOR, AlarmState.RAISED, NOW, NOW,
                        root=key)
        impact = Impact((AffectedService(f"ent-{n:03d}", customer, "enterprise_line", 1, key.device),
                         AffectedService(f"hbb-{n:03d}", "家庭宽带用户", "home_broadband", 120, key.device)), 1)
        t, _ = self.store.open_or_get(OpenTicket(root, (symptom,), impact, region, site), team, NOW)
        path = {
            TicketStatus.OPEN: (),
            TicketStatus.ACKNOWLEDGED: (TicketStatus.ACKNOWLEDGED,),
            TicketStatus.IN_PROGRESS: (TicketStatus.IN_PROGRESS,),
            TicketStatus.RESOLVED: (TicketStatus.RESOLVED,),
            TicketStatus.CLOSED: (TicketStatus.RESOLVED, TicketStatus.CLOSED),
        }[status]
        for to in path:
            code = "fiber_cut" if to is TicketStatus.CLOSED else None
            t = self.store.transition(t.id, to, "system", NOW, cause_code=code)
        return t

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@contextmanager
def world(language: str = "zh-CN") -> Iterator[World]:
    with tempfile.TemporaryDirectory(prefix="netqos-api-") as d:
        store = open_store(f"sqlite:///{d}/tickets.db")
        token_file = Path(d) / "api-tokens.json"
        ts = FileTokenStore(token_file)
        tokens = {
            "noc": issue(ts, "noc-duty", ApiRole.NOC, None, NOW, CHEAP),
            "auditor": issue(ts, "auditor-li", ApiRole.AUDITOR, None, NOW, CHEAP),
            "tech-east": issue(ts, "zhang.wei", ApiRole.TECHNICIAN, "field-east", NOW, CHEAP),
            "tech-north": issue(ts, "wang.fang", ApiRole.TECHNICIAN, "field-north", NOW, CHEAP),
        }
        app = create_app(store, ts, lambda: NOW, language, sites=SITES,
                         repair_deadline=deadline_by_site_class(SITES, LIMITS), teams=TEAMS)
        try:
            yield World(Path(d), store, token_file, tokens, app)
        finally:
            store.close()


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 (a free port) in a thread; yields the base URL; stops it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
