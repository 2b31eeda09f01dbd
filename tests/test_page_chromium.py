"""The technician page in headless Chromium (Debian's /usr/bin/chromium driven by playwright; no browser
download): log in with a technician token, see the team's ticket only, open it, acknowledge it (the database
changes), add a note, switch to English. CJK text is checked as text content.

Chromium missing is a failure, not a skip: scripts/setup.sh installs it."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from alarms.model import TicketStatus
from tests.api_world import NOW, World, serve, world

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; scripts/setup.sh "
                    "does it). The page test needs a real browser and must not be skipped.")
    with tempfile.TemporaryDirectory(prefix="netqos-chromium-") as profile, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=ARGS, locale="zh-CN",
            viewport={"width": 390, "height": 844}, timezone_id="UTC",
        )
        ctx.set_default_timeout(15_000)
        try:
            yield ctx
        finally:
            ctx.close()


@pytest.fixture
def live() -> Iterator[tuple[World, str]]:
    with world("zh-CN") as w, serve(w.app) as base:
        yield w, base


def _page(browser: BrowserContext, errors: list[str]) -> Page:
    page = browser.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


def test_technician_acknowledges_and_switches_to_english(browser: BrowserContext, live: tuple[World, str]) -> None:
    w, base = live
    mine = w.ticket("field-east", customer="上海浦东发展银行", device="olt-pudong-01")
    theirs = w.ticket("field-north", customer="崇明农商银行", device="mw-chongming-07")
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(base)

    # log in (zh-CN by default)
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("label[for=token]")).to_have_text("API 令牌")
    page.fill("#token", w.tokens["tech-east"])
    page.click("#login")

    # my team's ticket only
    expect(page.locator("#list-view h2")).to_have_text("本班组未关闭工单")
    items = page.locator("#tickets li")
    expect(items).to_have_count(1)
    assert items.first.get_attribute("data-ticket-id") == str(mine.id)
    assert str(theirs.id) not in [i.get_attribute("data-ticket-id") for i in items.all()]
    expect(items.first).to_contain_text("待受理")
    expect(page.locator("#who")).to_have_text("zhang.wei · field-east")

    # the detail: root cause, symptoms, customers, site, address, deadline in Beijing time
    items.first.click()
    expect(page.locator("#detail-view")).to_be_visible()
    expect(page.locator("#d-root")).to_have_text("olt-pudong-01 · 设备不可达")
    expect(page.locator("#d-symptoms")).to_contain_text("ONU 光信号丢失")
    expect(page.locator("#d-services")).to_contain_text("上海浦东发展银行")
    expect(page.locator("#d-services")).to_contain_text("家庭宽带用户")
    expect(page.locator("#d-site")).to_have_text("pudong-olt-room (sh-east)")
    expect(page.locator("#d-address")).to_have_text("上海市浦东新区张杨路 1500 号 3 楼机房")
    expect(page.locator("#d-deadline")).to_have_text(re.compile(r"2026/11/26 10:00"))  # 02:00 UTC + 24 h, UTC+8
    expect(page.locator("#d-detected")).to_have_text(re.compile(r"2026/11/25 10:00"))
    expect(page.locator("#d-countdown")).to_have_text(re.compile(r"^剩余 23小时59分[0-5]\d秒$"))

    # acknowledge: the page and the database change
    page.click("#ack")
    expect(page.locator("#d-status")).to_have_attribute("data-status", "acknowledged")
    expect(page.locator("#d-status")).to_have_text("已受理")
    expect(page.locator("#ack")).to_be_disabled()
    stored = w.store.get(mine.id)
    assert stored is not None and stored.status is TicketStatus.ACKNOWLEDGED
    assert stored.audit[-1].actor == "zhang.wei" and stored.clock.acknowledged is not None

    # a note in Chinese
    page.fill("#note-text", "已到达机房，正在更换光模块")
    page.click("#note-submit")
    expect(page.locator("#d-notes")).to_contain_text("zhang.wei：已到达机房，正在更换光模块")
    stored = w.store.get(mine.id)
    assert stored is not None and [n.text for n in stored.notes] == ["已到达机房，正在更换光模块"]

    # English
    page.click("#lang-toggle")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#d-status")).to_have_text("acknowledged")
    expect(page.locator("#ack")).to_have_text("Acknowledge")
    expect(page.locator("#d-root")).to_have_text("olt-pudong-01 · device unreachable")
    expect(page.locator("#d-countdown")).to_have_text(re.compile(r"^23h 59m [0-5]\ds$"))
    expect(page.locator("#d-services")).to_contain_text("上海浦东发展银行")  # data stays as entered
    page.click("#back")
    expect(page.locator("#list-view h2")).to_have_text("My team's open tickets")

    assert errors == []
    page.close()


def test_bad_token_returns_to_login(browser: BrowserContext, live: tuple[World, str]) -> None:
    _, base = live
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(base)
    page.evaluate("localStorage.clear()")
    page.reload()
    page.fill("#token", "nqt_000000000000_" + "A" * 43)
    page.click("#login")
    expect(page.locator("#message")).to_have_text("令牌无效，请重新登录")
    expect(page.locator("#login-view")).to_be_visible()
    assert all("401" in e for e in errors), errors  # only the refused request is logged by the browser
    page.close()


def _login(browser: BrowserContext, base: str, token: str, errors: list[str]) -> Page:
    page = _page(browser, errors)
    page.goto(base)
    page.evaluate("sessionStorage.clear(); localStorage.clear()")
    page.reload()
    page.fill("#token", token)
    page.click("#login")
    expect(page.locator("#list-view")).to_be_visible()
    return page


def _open(page: Page, ticket_id: int) -> None:
    page.locator(f"#tickets li[data-ticket-id='{ticket_id}']").click()
    expect(page.locator("#detail-view")).to_be_visible()


def test_technician_closes_a_restored_ticket_with_a_cause_code(browser: BrowserContext,
                                                                live: tuple[World, str]) -> None:
    w, base = live
    t = w.ticket("field-east", device="olt-pudong-02")
    (symptom,) = t.symptoms
    assert w.store.mark_cleared(str(symptom), NOW + timedelta(minutes=7)) == [t.id]
    restored = w.store.restore(t.root, NOW + timedelta(minutes=9))  # the root clears: the ticket is resolved
    assert restored is not None and restored.status is TicketStatus.RESOLVED
    errors: list[str] = []
    page = _login(browser, base, w.tokens["tech-east"], errors)
    _open(page, t.id)
    expect(page.locator("#d-status")).to_have_text("已修复")
    # what cleared, and when (Beijing time)
    expect(page.locator("#d-root")).to_have_attribute("data-state", "cleared")
    root_text = re.compile(r"^olt-pudong-02 · 设备不可达 \(已清除 2026/11/25 10:09\)$")
    expect(page.locator("#d-root")).to_have_text(root_text)
    expect(page.locator("#d-symptoms li")).to_have_attribute("data-state", "cleared")
    expect(page.locator("#d-symptoms li")).to_contain_text("已清除 2026/11/25 10:07")
    # no reopen for a technician; the close form offers the store's cause codes, in Chinese
    expect(page.locator("#reopen")).to_be_hidden()
    expect(page.locator("#close-form")).to_be_visible()
    options = page.locator("#cause option")
    expect(options).to_have_count(len(w.store.causes) + 1)
    values = [o.get_attribute("value") for o in options.all()]
    assert values == ["", *w.store.causes]
    expect(page.locator("#cause option[value=fiber_cut]")).to_have_text(w.store.causes["fiber_cut"].zh)
    expect(page.locator("#cause option[value=force_majeure]")).to_contain_text("不计入考核")
    expect(page.locator("#close")).to_be_disabled()  # no cause chosen yet
    page.select_option("#cause", "fiber_cut")
    expect(page.locator("#close")).to_be_enabled()
    page.click("#close")
    expect(page.locator("#d-status")).to_have_attribute("data-status", "closed")
    expect(page.locator("#close-form")).to_be_hidden()
    stored = w.store.get(t.id)
    assert stored is not None and stored.status is TicketStatus.CLOSED and stored.cause_code == "fiber_cut"
    assert stored.audit[-1].actor == "zhang.wei" and stored.clock.restored == NOW + timedelta(minutes=9)
    # English labels for the picker
    page.click("#lang-toggle")
    expect(page.locator("#cause option[value=fiber_cut]")).to_have_text("fiber cut")
    assert errors == []
    page.close()


@pytest.mark.parametrize(("status", "reopen_enabled"), [
    (TicketStatus.CLOSED, True), (TicketStatus.RESOLVED, True), (TicketStatus.ACKNOWLEDGED, False),
])
def test_noc_reopens(browser: BrowserContext, live: tuple[World, str], status: TicketStatus,
                     reopen_enabled: bool) -> None:
    w, base = live
    t = w.ticket("field-north", status)
    errors: list[str] = []
    page = _login(browser, base, w.tokens["noc"], errors)
    if status is TicketStatus.CLOSED:  # the list holds tickets not closed: open it by id
        page.evaluate(f"openTicket({t.id})")
    else:
        _open(page, t.id)
    expect(page.locator("#d-status")).to_have_attribute("data-status", status.value)
    expect(page.locator("#reopen")).to_be_visible()
    expect(page.locator("#reopen")).to_have_text("重新打开")
    if not reopen_enabled:
        expect(page.locator("#reopen")).to_be_disabled()
        assert w.store.get(t.id) == t
    else:
        page.click("#reopen")
        expect(page.locator("#d-status")).to_have_attribute("data-status", "open")
        stored = w.store.get(t.id)
        assert stored is not None and stored.status is TicketStatus.OPEN
        assert (stored.audit[-1].actor, stored.audit[-1].action) == ("noc-duty", "reopened")
    assert errors == []
    page.close()
