"""E-mail notifications over SMTP (smtplib): plain text, UTF-8, subject and body from :mod:`messages`."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from alarms.model import Ticket
from alarms.notify.escalation import Escalation
from alarms.notify.events import Delivery, TicketEvent
from alarms.notify.messages import Language, render
from alarms.tickets.causes import DEFAULT_CAUSES, CauseCode

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SmtpChannel:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    language: Language = "zh-CN"
    tz: str = "Asia/Shanghai"
    security: str = "none"  # none | starttls | ssl
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0
    causes: Mapping[str, CauseCode] = field(default_factory=lambda: DEFAULT_CAUSES)
    name: str = "email"

    def build(
        self, event: TicketEvent, ticket: Ticket, delivery_id: str, now: datetime, escalation: Escalation | None
    ) -> EmailMessage:
        text = render(event, ticket, self.language, self.tz, escalation, self.causes)
        msg = EmailMessage()
        msg["Subject"] = text.subject
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = make_msgid(idstring=delivery_id, domain="netqos")
        msg["X-Netqos-Delivery"] = delivery_id
        msg["X-Netqos-Event"] = event.value
        msg.set_content(text.body, charset="utf-8")
        return msg

    def send(
        self, event: TicketEvent, ticket: Ticket, delivery_id: str, now: datetime, escalation: Escalation | None
    ) -> Delivery:
        msg = self.build(event, ticket, delivery_id, now, escalation)
        try:
            if self.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout_s, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None and self.password is not None:
                    smtp.login(self.username, self.password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            log.error("email: ticket #%d %s to %s:%d failed: %s", ticket.id, event.value, self.host, self.port, exc)
            return Delivery(self.name, delivery_id, False, 1, None, str(exc))
        return Delivery(self.name, delivery_id, True, 1)
