"""Ticket notifications and escalation: pydantic models of ``config/notify.yaml`` and their loader.

Secrets (the webhook's HMAC key, the SMTP password) are given by reference — ``{env: NAME}`` or
``{file: path}`` — and resolved by :mod:`config.loader`'s mechanism. Repair-time limits default to the
MIIT rule (《电信条例》: urban 48 h / rural 72 h from the customer's report).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from config.loader import load_side_file

NOTIFY_FILE = "notify.yaml"

EventName = Literal["opened", "escalated", "resolved", "recurred", "reopened", "breached", "merged"]
"""What a channel subscribes to: the three families (``opened`` also brings recurred, reopened and merged;
``escalated`` also brings breached) or one of those events alone."""
ALL_EVENTS: tuple[EventName, ...] = ("opened", "escalated", "resolved")
"""The default subscription: the three families, i.e. every event."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RepairLimits(_Model):
    """Repair-time limit per site class, hours, counted from ``reported`` (else ``detected``)."""

    urban_h: float = Field(default=48.0, gt=0)
    rural_h: float = Field(default=72.0, gt=0)

    def hours(self, site_class: str) -> float | None:
        return {"urban": self.urban_h, "rural": self.rural_h}.get(site_class)


class EscalationSettings(_Model):
    threshold_pct: float = Field(default=75.0, gt=0, le=100)
    """Escalate a ticket once this share of its repair limit has elapsed."""
    limits: RepairLimits = RepairLimits()


class Backoff(_Model):
    max_attempts: int = Field(default=6, ge=1, le=20)
    initial_s: float = Field(default=1.0, gt=0)
    factor: float = Field(default=2.0, ge=1)
    max_s: float = Field(default=300.0, gt=0)


class WebhookSettings(_Model):
    name: str
    url: str = Field(pattern=r"^https?://")
    secret: SecretStr
    """HMAC-SHA256 key of the ``X-Netqos-Signature`` header (by reference only)."""
    events: tuple[EventName, ...] = ALL_EVENTS
    timeout_s: float = Field(default=10.0, gt=0)
    retry: Backoff = Backoff()


class SmtpSettings(_Model):
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    sender: str
    recipients: tuple[str, ...] = Field(min_length=1)
    events: tuple[EventName, ...] = ALL_EVENTS
    timeout_s: float = Field(default=30.0, gt=0)


class NotifySettings(_Model):
    language: Literal["zh-CN", "en"] = "zh-CN"
    timezone: str = "Asia/Shanghai"
    """Times in messages are shown in this zone (stored and sent in JSON as UTC)."""
    webhooks: tuple[WebhookSettings, ...] = ()
    email: SmtpSettings | None = None
    escalation: EscalationSettings = EscalationSettings()


def load_notify(path: Path, env: Mapping[str, str]) -> NotifySettings:
    """Read, resolve secrets in and validate ``notify.yaml``; :class:`ConfigError` lists every problem.

    A missing file is not an error: no channels, default escalation.
    """
    return load_side_file(path, NotifySettings, env)


__all__ = [
    "ALL_EVENTS",
    "NOTIFY_FILE",
    "Backoff",
    "EscalationSettings",
    "EventName",
    "NotifySettings",
    "RepairLimits",
    "SmtpSettings",
    "WebhookSettings",
    "load_notify",
]
