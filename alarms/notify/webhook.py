"""Signed JSON webhooks, retried with exponential backoff under one delivery id.

The body is ``{"delivery_id", "event", "sent_at", "ticket", ["escalation"], ["merged_into"]}``; the header
``X-Netqos-Signature: sha256=<hex>`` is HMAC-SHA256 of the raw body with the shared secret;
``X-Netqos-Delivery`` carries the delivery id (the same on every retry, so receivers can drop duplicates).
Connection errors, timeouts, 408, 429 and 5xx are retried; other 4xx are not.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alarms.model import Ticket
from alarms.notify.escalation import Escalation
from alarms.notify.events import Delivery, TicketEvent, merged_into, ticket_json
from config.tickets import Backoff

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Netqos-Signature"
DELIVERY_HEADER = "X-Netqos-Delivery"
EVENT_HEADER = "X-Netqos-Event"
_RETRY_STATUS = frozenset({408, 425, 429})


def sign(secret: bytes, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, body)."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the right signature of ``body`` (constant-time compare)."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def backoff_delays(policy: Backoff) -> Iterator[float]:
    """The waits between attempts: initial, initial·factor, … capped at ``max_s`` (max_attempts − 1 of them)."""
    delay = policy.initial_s
    for _ in range(policy.max_attempts - 1):
        yield min(delay, policy.max_s)
        delay *= policy.factor


def webhook_body(
    event: TicketEvent, ticket: Ticket, delivery_id: str, now: datetime, escalation: Escalation | None = None
) -> bytes:
    doc: dict[str, Any] = {
        "delivery_id": delivery_id,
        "event": event.value,
        "sent_at": now.isoformat().replace("+00:00", "Z"),
        "ticket": ticket_json(ticket),
    }
    if escalation is not None:
        doc["escalation"] = {
            "site_class": escalation.site_class,
            "start": escalation.start.isoformat().replace("+00:00", "Z"),
            "limit_h": escalation.limit.total_seconds() / 3600,
            "deadline": escalation.deadline.isoformat().replace("+00:00", "Z"),
            "elapsed_pct": round(escalation.elapsed_pct, 1),
            "breached": escalation.breached,
        }
    if event is TicketEvent.MERGED:
        doc["merged_into"] = merged_into(ticket)
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()


def _retryable(status: int) -> bool:
    return status >= 500 or status in _RETRY_STATUS


@dataclass(frozen=True, slots=True)
class WebhookChannel:
    """One webhook endpoint. ``sleep`` is injected (tests pass a recorder or a short real sleep)."""

    name: str
    url: str
    secret: bytes
    retry: Backoff
    sleep: Callable[[float], None]
    timeout_s: float = 10.0

    def post(self, body: bytes, delivery_id: str, event: str) -> Delivery:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(self.secret, body),
            DELIVERY_HEADER: delivery_id,
            EVENT_HEADER: event,
            "User-Agent": "netqos-webhook/1",
        }
        delays = backoff_delays(self.retry)
        attempt, status, error = 0, None, ""
        while True:
            attempt += 1
            req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    status = resp.status
                return Delivery(self.name, delivery_id, True, attempt, status)
            except urllib.error.HTTPError as exc:
                status, error = exc.code, f"HTTP {exc.code}"
                exc.close()
                if not _retryable(exc.code):
                    break
            except (OSError, urllib.error.URLError) as exc:
                status, error = None, str(getattr(exc, "reason", exc))
            wait = next(delays, None)
            if wait is None:
                break
            log.warning(
                "webhook %s: delivery %s attempt %d failed (%s); retrying in %.1f s",
                self.name, delivery_id, attempt, error, wait,
            )  # fmt: skip
            self.sleep(wait)
        log.error("webhook %s: delivery %s failed after %d attempts: %s", self.name, delivery_id, attempt, error)
        return Delivery(self.name, delivery_id, False, attempt, status, error)

    def send(
        self, event: TicketEvent, ticket: Ticket, delivery_id: str, now: datetime, escalation: Escalation | None
    ) -> Delivery:
        return self.post(webhook_body(event, ticket, delivery_id, now, escalation), delivery_id, event.value)
