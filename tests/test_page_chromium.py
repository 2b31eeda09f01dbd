"""The technician page in headless Chromium (Debian's /usr/bin/chromium driven by playwright; no browser
download): log in with a technician token, see the team's ticket only, open it, acknowledge it (the database
changes), add a note, switch to English. CJK text is checked as text content.

Chromium missing is a failure, not a skip: scripts/setup.sh installs it."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from alarms.model import TicketStatus
from tests.api_world import World, serve, world

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
