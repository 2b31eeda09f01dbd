"""E-mail subject and body for a ticket event, in zh-CN or English: pure functions.

Times are shown in the configured zone (Asia/Shanghai by default) with the zone named; the data stays UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from alarms.model import Ticket
from alarms.notify.escalation import Escalation
from alarms.notify.events import TicketEvent, merged_into
from alarms.tickets.causes import DEFAULT_CAUSES, CauseCode

Language = Literal["zh-CN", "en"]


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    body: str


_TEXT: Mapping[str, Mapping[str, str]] = {
    "zh-CN": {
        "opened": "【netqos】新故障工单 #{id} P{priority} {title}",
        "recurred": "【netqos】故障复发，工单重新打开 #{id} P{priority} {title}",
        "reopened": "【netqos】工单已重新打开 #{id} P{priority} {title}",
        "escalated": "【netqos】修复时限预警 #{id}：已用 {pct:.0f}%，时限 {deadline} {title}",
        "breached": "【netqos】已超修复时限 #{id}：时限 {deadline}，已用 {pct:.0f}% {title}",
        "resolved": "【netqos】故障已恢复 #{id} {title}",
        "merged": "【netqos】工单已合并至 #{into}，本工单 #{id} 关闭 {title}",
        "merged_into": "已合并至工单",
        "ticket": "工单",
        "status": "状态",
        "priority": "优先级",
        "where": "区域 / 站点",
        "team": "维护班组",
        "root": "根告警",
        "symptoms": "关联告警",
        "services": "受影响业务",
        "detected": "发现时间",
        "reported": "用户申告时间",
        "acknowledged": "受理时间",
        "restored": "恢复时间",
        "cause": "故障原因",
        "deadline": "修复时限",
        "limit": "{hours:g} 小时（{cls}，自{start_kind}起算）",
        "from_reported": "用户申告",
        "from_detected": "告警发现",
        "urban": "城镇",
        "rural": "农村",
        "overdue": "已超时",
        "none": "无",
        "unassigned": "未分配",
        "count": "{n} 条",
        "footer": "此邮件由 netqos 自动发送，请勿直接回复。",
    },
    "en": {
        "opened": "[netqos] New trouble ticket #{id} P{priority} {title}",
        "recurred": "[netqos] Fault recurred, ticket reopened #{id} P{priority} {title}",
        "reopened": "[netqos] Ticket reopened #{id} P{priority} {title}",
        "escalated": "[netqos] Repair limit warning #{id}: {pct:.0f}% used, due {deadline} {title}",
        "breached": "[netqos] Repair limit EXCEEDED #{id}: due {deadline}, {pct:.0f}% used {title}",
        "resolved": "[netqos] Service restored #{id} {title}",
        "merged": "[netqos] Ticket #{id} merged into #{into} and closed {title}",
        "merged_into": "Merged into ticket",
        "ticket": "Ticket",
        "status": "Status",
        "priority": "Priority",
        "where": "Region / site",
        "team": "Field team",
        "root": "Root alarm",
        "symptoms": "Attached alarms",
        "services": "Affected services",
        "detected": "Detected",
        "reported": "Customer report",
        "acknowledged": "Acknowledged",
        "restored": "Restored",
        "cause": "Cause",
        "deadline": "Repair deadline",
        "limit": "{hours:g} h ({cls}, from {start_kind})",
        "from_reported": "the customer's report",
        "from_detected": "detection",
        "urban": "urban",
        "rural": "rural",
        "overdue": "OVERDUE",
        "none": "none",
        "unassigned": "unassigned",
        "count": "{n}",
        "footer": "Sent automatically by netqos; do not reply.",
    },
}


def local_time(t: datetime, tz: str) -> str:
    """``2026-03-01 16:00 (Asia/Shanghai)``."""
    return f"{t.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M} ({tz})"


def render(
    event: TicketEvent,
    ticket: Ticket,
    language: Language = "zh-CN",
    tz: str = "Asia/Shanghai",
    escalation: Escalation | None = None,
    causes: Mapping[str, CauseCode] = DEFAULT_CAUSES,
) -> Message:
    """The e-mail for ``event`` on ``ticket`` (``escalation`` is needed for an escalation)."""
    w = _TEXT[language]
    deadline = local_time(escalation.deadline, tz) if escalation is not None else ""
    pct = escalation.elapsed_pct if escalation is not None else 0.0
    into = merged_into(ticket) if event is TicketEvent.MERGED else None
    subject = w[event.value].format(
        id=ticket.id, priority=ticket.priority, title=ticket.title, pct=pct, deadline=deadline, into=into or "?"
    )
    c = ticket.clock
    rows: list[tuple[str, str]] = [
        (w["ticket"], f"#{ticket.id} {ticket.title}"),
        (w["status"], ticket.status.value),
        (w["priority"], f"P{ticket.priority}"),
        (w["where"], f"{ticket.region} / {ticket.site}"),
        (w["team"], ticket.team or w["unassigned"]),
        (w["root"], str(ticket.root)),
        (w["symptoms"], w["count"].format(n=len(ticket.symptoms)) if ticket.symptoms else w["none"]),
        (w["detected"], local_time(c.detected, tz)),
    ]
    for name, value in (("reported", c.reported), ("acknowledged", c.acknowledged), ("restored", c.restored)):
        if value is not None:
            rows.append((w[name], local_time(value, tz)))
    if escalation is not None:
        start_kind = w["from_reported"] if c.reported is not None else w["from_detected"]
        limit = w["limit"].format(
            hours=escalation.limit.total_seconds() / 3600, cls=w.get(escalation.site_class, escalation.site_class),
            start_kind=start_kind,
        )  # fmt: skip
        late = f" — {w['overdue']}" if escalation.breached else ""
        rows.append((w["deadline"], f"{deadline}, {limit}{late}"))
    if into is not None:
        rows.append((w["merged_into"], f"#{into}"))
    if ticket.cause_code:
        cause = causes.get(ticket.cause_code)
        label = (cause.zh if language == "zh-CN" else cause.en) if cause is not None else ticket.cause_code
        rows.append((w["cause"], label))
    lines = [f"{k}: {v}" for k, v in rows]
    if ticket.services:
        lines.append(f"{w['services']}:")
        lines.extend(f"  - {s.service_id} {s.customer} ({s.service_class}, {s.via})" for s in ticket.services)
    lines += ["", w["footer"]]
    return Message(subject, "\n".join(lines) + "\n")
