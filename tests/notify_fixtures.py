"""Helpers for the notification tests: ticket values, a local webhook receiver, a local SMTP server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from alarms.model import AffectedService, AlarmKey, AuditEntry, RepairClock, Ticket, TicketStatus
from alarms.notify import verify

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
SECRET = b"s3cret-hmac-key"


def ticket(
    tid: int = 7,
    *,
    site: str = "pudong-1",
    status: TicketStatus = TicketStatus.OPEN,
    detected: datetime = T0,
    reported: datetime | None = None,
    restored: datetime | None = None,
    audit: tuple[str, ...] = ("opened",),
    cause_code: str | None = None,
) -> Ticket:
    return Ticket(
        id=tid,
        dedup_key=f"sh-olt-{tid:02d}|pon_down|0/1/3",
        status=status,
        priority=1,
        title=f"sh-olt-{tid:02d} pon_down 0/1/3",
        root=AlarmKey(f"sh-olt-{tid:02d}", "pon_down", "0/1/3"),
        symptoms=(AlarmKey(f"sh-olt-{tid:02d}", "onu_los", "0/1/3:1"),),
        services=(AffectedService("ent-001", "上海某银行", "enterprise_line", 1, f"sh-olt-{tid:02d}:0/1/3:1"),),
        region="sh-east",
        site=site,
        team="field-east",
        clock=RepairClock(detected=detected, reported=reported, restored=restored),
        cause_code=cause_code,
        audit=tuple(AuditEntry("system", detected, a) for a in audit),
    )


def hours(h: float) -> timedelta:
    return timedelta(hours=h)


def with_status(t: Ticket, status: TicketStatus) -> Ticket:
    return replace(t, status=status)


# --- a local webhook receiver ---------------------------------------------------------------------------


@dataclass
class Receiver:
    """Answers each POST with the next status of ``script`` (then 200); records every request; a delivery
    id is accepted (processed) only once."""

    port: int = 0
    script: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def reset(self, script: list[int]) -> None:
        with self.lock:
            self.script, self.requests, self.accepted = list(script), [], []

    def handle(self, body: bytes, headers: dict[str, str]) -> int:
        with self.lock:
            signed = verify(SECRET, body, headers.get("X-Netqos-Signature"))
            did = headers.get("X-Netqos-Delivery", "")
            self.requests.append({"delivery_id": did, "signed": signed, "body": json.loads(body)})
            if not signed:
                return 401
            if self.script:
                return self.script.pop(0)
            if did not in self.accepted:
                self.accepted.append(did)
            return 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.handle(body, {k: v for k, v in self.headers.items()})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- a local SMTP server (aiosmtpd) ----------------------------------------------------------------------


@dataclass
class Mailbox:
    messages: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append((envelope, msg))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpServer]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, box)
    finally:
        controller.stop()
