"""Ticket notifications: signed JSON webhooks with retries, e-mail (zh-CN / en), repair-limit escalation.

The notices are sent by :mod:`alarms.dispatch` from the ticket audit trail."""

from alarms.notify.email import SmtpChannel
from alarms.notify.escalation import (
    Escalation,
    due_for_escalation,
    escalation_detail,
    escalation_from,
    escalation_marks,
    was_escalated,
)
from alarms.notify.events import Delivery, TicketEvent, delivery_id, merged_into, ticket_json
from alarms.notify.messages import Message, render
from alarms.notify.notifier import Channel, Notifier, mark_escalations
from alarms.notify.webhook import SIGNATURE_HEADER, WebhookChannel, backoff_delays, sign, verify

__all__ = [
    "SIGNATURE_HEADER",
    "Channel",
    "Delivery",
    "Escalation",
    "Message",
    "Notifier",
    "SmtpChannel",
    "TicketEvent",
    "WebhookChannel",
    "backoff_delays",
    "delivery_id",
    "due_for_escalation",
    "escalation_detail",
    "escalation_from",
    "escalation_marks",
    "mark_escalations",
    "merged_into",
    "render",
    "sign",
    "ticket_json",
    "verify",
    "was_escalated",
]
