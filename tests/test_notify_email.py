"""E-mail through a real local SMTP server (aiosmtpd): subject and body in zh-CN and English."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from alarms.model import AuditEntry, Ticket, TicketStatus
from alarms.notify import Escalation, SmtpChannel, TicketEvent, render
from alarms.notify.messages import Language
from tests.notify_fixtures import T0, SmtpServer, free_port, smtp_server, ticket  # noqa: F401

CASES = [
    # (language, event, words in the subject, words in the body)
    ("zh-CN", TicketEvent.OPENED, ["新故障工单", "#7", "P1"], ["维护班组: field-east", "16:00 (Asia/Shanghai)"]),
    ("en", TicketEvent.OPENED, ["New trouble ticket", "#7", "P1"], ["Field team: field-east", "2026-03-01 16:00"]),
    ("zh-CN", TicketEvent.RESOLVED, ["故障已恢复", "#7"], ["恢复时间: 2026-03-01 18:30 (Asia/Shanghai)", "光缆中断"]),
    ("en", TicketEvent.RESOLVED, ["Service restored", "#7"], ["Restored: 2026-03-01 18:30", "Cause: fiber cut"]),
    ("zh-CN", TicketEvent.ESCALATED, ["修复时限预警", "已用 80%", "03-03 16:00"], ["48 小时（城镇，自告警发现起算）"]),
    ("en", TicketEvent.ESCALATED, ["Repair limit warning", "80% used"], ["48 h (urban, from detection)"]),
    ("zh-CN", TicketEvent.BREACHED, ["已超修复时限", "已用 110%", "03-03 16:00"], ["已超时"]),
    ("en", TicketEvent.BREACHED, ["Repair limit EXCEEDED", "110% used"], ["(urban, from detection) — OVERDUE"]),
    ("zh-CN", TicketEvent.RECURRED, ["故障复发", "#7", "P1"], ["维护班组: field-east"]),
    ("en", TicketEvent.REOPENED, ["Ticket reopened", "#7", "P1"], ["Field team: field-east"]),
    ("zh-CN", TicketEvent.MERGED, ["工单已合并至 #12", "#7 关闭"], ["已合并至工单: #12", "重复工单（已合并）"]),
    ("en", TicketEvent.MERGED, ["Ticket #7 merged into #12"], ["Merged into ticket: #12", "Cause: duplicate (merged)"]),
]  # fmt: skip


def _escalation(event: TicketEvent) -> Escalation | None:
    if event not in (TicketEvent.ESCALATED, TicketEvent.BREACHED):
        return None
    t = ticket()
    limit = timedelta(hours=48)
    late = event is TicketEvent.BREACHED
    return Escalation(t, "urban", T0, limit, T0 + limit, 110.0 if late else 80.0, late)


def _ticket(event: TicketEvent) -> Ticket:
    if event is TicketEvent.RESOLVED:
        return ticket(status=TicketStatus.RESOLVED, restored=T0 + timedelta(hours=2.5), cause_code="fiber_cut")
    if event is TicketEvent.MERGED:
        t = ticket(status=TicketStatus.CLOSED, cause_code="duplicate")
        merged = AuditEntry("system", T0, "merged", {"into": "12", "to": "closed", "cause_code": "duplicate"})
        return replace(t, audit=(*t.audit, merged))
    return ticket()


@pytest.mark.parametrize(("language", "event", "subject_has", "body_has"), CASES)
def test_email_is_received(
    smtp_server: SmtpServer,  # noqa: F811
    language: str,
    event: TicketEvent,
    subject_has: list[str],
    body_has: list[str],
) -> None:
    assert language in ("zh-CN", "en")
    ch = SmtpChannel(
        smtp_server.host,
        smtp_server.port,
        "netqos@example.cn",
        ("noc@example.cn", "li.wei@example.cn"),
        language="zh-CN" if language == "zh-CN" else "en",
    )
    before = len(smtp_server.mailbox.messages)
    result = ch.send(event, _ticket(event), "delivery-1", T0, _escalation(event))
    assert result.ok, result.error
    assert len(smtp_server.mailbox.messages) == before + 1
    envelope, msg = smtp_server.mailbox.messages[-1]
    assert envelope.mail_from == "netqos@example.cn"
    assert envelope.rcpt_tos == ["noc@example.cn", "li.wei@example.cn"]
    subject = str(msg["Subject"])
    for word in subject_has:
        assert word in subject
    body = msg.get_content()
    for word in body_has:
        assert word in body
    assert msg["X-Netqos-Delivery"] == "delivery-1" and msg["X-Netqos-Event"] == event.value


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_one_language_switch(language: str) -> None:
    lang: Language = "zh-CN" if language == "zh-CN" else "en"
    m = render(TicketEvent.OPENED, ticket(), lang)
    has_cjk = any("\u4e00" <= ch <= "\u9fff" for ch in m.subject + m.body.replace("上海某银行", ""))
    assert has_cjk is (language == "zh-CN")


def test_smtp_down_is_a_failed_delivery() -> None:
    ch = SmtpChannel("127.0.0.1", free_port(), "a@example.cn", ("b@example.cn",), timeout_s=2)
    result = ch.send(TicketEvent.OPENED, ticket(), "d", T0, None)
    assert not result.ok and result.error
