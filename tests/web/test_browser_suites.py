"""Scenario suites, the publish gate and the text-chat tester in real Chromium.

Screenshots go to bench-results/screenshots/ (ignored by git) for people to look at.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import update

from callcenter.store.db import transaction
from callcenter.store.models import (
    Call,
    CallEvent,
    CallStatus,
    ScenarioSuite,
    ToolInvocation,
    ToolStatus,
)
from tests.web.helpers import WebServer
from tests.web.test_browser import WAIT_MS, _login
from tests.web.test_browser_console import _shot, browser  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser


def test_an_admin_writes_a_scenario_runs_it_and_chats_with_a_draft(
    web_server: WebServer,
    browser: Any,  # noqa: F811
) -> None:
    name = f"Card calls {uuid.uuid4().hex[:6]}"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS * 4)  # a run plays every scenario before the page loads
    try:
        _login(page, web_server.base, web_server.create_user("admin"))
        page.click("header.top nav >> text=Suites")
        page.wait_for_selector("#suites")
        assert page.locator("#suites >> text=Caller tasks (default)").count() == 1
        _shot(page, "suites")
        page.fill("#suite-name", name)
        page.uncheck("input[name=required]")
        page.click("#new-suite button[type=submit]")
        page.wait_for_selector(f"h1:text('{name}')")

        page.fill("#sc-name", "block a lost card")
        page.fill(
            "#sc-steps",
            "say: I lost my card and need to block it.\npress: 1001#\nsay: four three two one\n"
            "say: Yes, please.",
        )
        page.fill("#sc-verified", "1001")
        page.select_option("#sc-card", "blocked_lost")
        page.fill("#sc-tools", "verify_identity, block_card")
        page.click("#add-scenario-button")
        page.wait_for_selector("tr[data-scenario='block a lost card']")
        _shot(page, "suite")

        page.click("#run-button")
        page.wait_for_selector("#run-result")
        assert "1 of 1 scenarios passed" in page.inner_text("#run-result")
        page.click(".scenario-result summary")
        assert page.locator(".text-call .turn.agent .badge:text('block_card: ok')").count() == 1
        _shot(page, "suite-run")

        page.click("header.top nav >> text=Chat tester")
        page.fill("#chat-message", "What's my balance?")
        page.click("#chat-send")
        page.wait_for_selector(".text-call .turn.caller")
        assert "account number" in page.inner_text(".text-call .turn.agent >> nth=-1")
        page.fill("#chat-message", "1001#")
        page.click("#chat-press")
        page.fill("#chat-message", "four three two one")
        page.click("#chat-send")
        page.wait_for_selector("#chat-status .badge:text('verified')")
        last = page.inner_text(".text-call .turn.agent >> nth=-1")
        assert "$2,417.35" in last and "slot_parser" in last
        assert page.evaluate("document.activeElement.id") == "chat-message"  # ready to type
        _shot(page, "chat-tester")

        page.fill("#save-name", "balance by keypad")
        page.select_option("#save-suite", label=name)
        page.click("#save-button")
        page.wait_for_selector("tr[data-scenario='balance by keypad']")

        # The shipped suite is required and never ran on a new draft: publishing asks why.
        page.goto(web_server.base + "/admin/prompts/greeting")
        page.fill("#body", "Hello, you've reached Harbor Bank. How can I help you today?")
        page.click("#save-draft")
        page.wait_for_selector("p.flash:has-text('as a draft')")
        gate = page.locator(".gate").first
        assert "never run against this version" in gate.inner_text()
        assert gate.locator("label:text('Override reason')").count() == 1
        _shot(page, "publish-gate")
    finally:
        context.close()
        with transaction(web_server.factory) as session:
            session.execute(
                update(ScenarioSuite).where(ScenarioSuite.name == name).values(required=False)
            )


def test_the_dashboard_shows_task_success_by_flow(
    web_server: WebServer,
    browser: Any,  # noqa: F811
) -> None:
    with transaction(web_server.factory) as session:
        for outcome in (ToolStatus.ok, ToolStatus.ok, ToolStatus.error):
            call = Call(call_sid="CA" + uuid.uuid4().hex, status=CallStatus.completed)
            session.add(call)
            session.flush()
            session.add_all(
                [
                    CallEvent(call_id=call.id, kind="flow_turn",
                              payload={"intent": "block_card", "flow": "verify"}),
                    ToolInvocation(call_id=call.id, name="verify_identity", status=ToolStatus.ok),
                    ToolInvocation(call_id=call.id, name="block_card", status=outcome),
                ]
            )  # fmt: skip
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        _login(page, web_server.base, web_server.create_user("admin"))
        page.goto(web_server.base + "/admin/dashboard?period=24h")
        row = page.wait_for_selector("#flow-success tr[data-flow='block_card']")
        cells = [cell.inner_text() for cell in row.query_selector_all("td")]
        assert cells[0] == "block card" and int(cells[1]) >= 3
        assert "block card:" in (page.text_content("svg#chart-flow-success desc") or "")
        page.locator("#h-flows").scroll_into_view_if_needed()
        _shot(page, "dashboard-flows")
    finally:
        context.close()
