"""The consoles in real headless Chromium against a real server and PostgreSQL.

Waits are on selectors and states; nothing sleeps and then asserts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.store.models import AuditLog, Handoff, HandoffStatus, PromptVersion, User
from tests.web.helpers import PASSWORD, WebServer, add_handoff, echo_endpoint, seed_call

pytestmark = pytest.mark.browser
WAIT_MS = 20_000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope: Playwright's sync API keeps an event loop running in this thread
    # while it lives, which would break the asyncio tests of other modules.
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _login(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header.top nav", timeout=WAIT_MS)


def test_agent_sees_a_new_handoff_live_and_works_it(web_server: WebServer, browser: Any) -> None:
    username = web_server.create_user("agent")
    seeded = seed_call(web_server.factory)
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        _login(page, web_server.base, username)
        page.goto(web_server.base + "/agent")
        page.wait_for_selector("body[data-live='1']")  # the first snapshot has arrived
        page.evaluate("window.__sameDocument = true")

        handoff_id = add_handoff(web_server.factory, seeded.call_id)
        row = page.wait_for_selector(f"tr[data-handoff-id='{handoff_id}']")
        assert page.evaluate("window.__sameDocument") is True  # no reload happened
        assert "Dispute a card charge" in row.inner_text()
        assert "pending" in row.inner_text()

        page.click(f"tr[data-handoff-id='{handoff_id}'] a")
        page.wait_for_selector("#summary")
        assert page.inner_text("#summary-intent") == "Dispute a card charge"
        assert "Open a dispute for the charge" in page.inner_text("#summary-open")
        assert "get_balance: balance read out" in page.inner_text("#summary-actions")
        assert page.inner_text("#summary-sentiment") == "negative"
        identity = page.inner_text("#identity")
        assert "Verified" in identity and "1001" in identity and "Dana Whitfield" in identity
        transcript = page.locator("#transcript")
        assert seeded.caller_text in transcript.inner_text()
        interrupted = transcript.locator("li[data-seq='3']")
        assert interrupted.locator(".heard").inner_text() == seeded.heard
        unheard = interrupted.locator("del.unheard").inner_text()
        assert "four hundred and seventeen dollars." in unheard
        assert "0:03.6" in interrupted.locator(".time").inner_text()
        tools = page.inner_text("#tool-calls")
        assert "get_balance" in tools and "2417.35" in tools

        page.click("#accept")
        page.wait_for_selector("#handoff-status:text('accepted')")
        assert page.inner_text("#assigned-to") == username
        page.fill("#note", "Opened dispute 5521 for the caller.")
        page.click("#resolve")
        page.wait_for_selector("#handoff-status:text('resolved')")
        assert page.inner_text("#resolution-note") == "Opened dispute 5521 for the caller."
    finally:
        context.close()

    with web_server.factory() as session:
        handoff = session.get(Handoff, handoff_id)
        user = session.scalar(select(User).where(User.username == username))
        assert handoff is not None and user is not None
        assert handoff.status == HandoffStatus.resolved and handoff.assigned_user_id == user.id
        assert handoff.accepted_at is not None and handoff.resolved_at is not None
        actions = session.scalars(
            select(AuditLog.action).where(
                AuditLog.target_type == "handoff", AuditLog.target_id == str(handoff_id)
            )
        ).all()
        assert sorted(actions) == ["handoff.accept", "handoff.resolve"]


def test_admin_edits_previews_publishes_and_diffs_the_system_prompt(
    web_server: WebServer, browser: Any
) -> None:
    username = web_server.create_user("admin")
    marker = f"Always mention ticket {uuid.uuid4().hex[:6]} for ${{company_name}}."
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        _login(page, web_server.base, username)
        page.goto(web_server.base + "/admin/prompts/system")
        body = page.input_value("#body")
        page.fill("#body", body + "\n" + marker)
        page.click("#preview-button")
        preview = page.wait_for_selector("#preview-text").inner_text()
        assert marker.replace("${company_name}", "Harbor Bank") in preview  # rendered

        page.click("#save-draft")
        page.wait_for_selector("p.flash:has-text('as a draft')")
        with web_server.factory() as session:
            draft = session.scalar(
                select(PromptVersion)
                .where(PromptVersion.name == "system")
                .order_by(PromptVersion.version.desc())
            )
            assert draft is not None and draft.body.endswith(marker)
            version = draft.version
        # The shipped scenario suite has not run on the draft: it asks for a reason.
        page.fill(f"#override-{version}", "tested by hand")
        page.click(f"button.publish[data-version='{version}']")
        page.wait_for_selector(f"tr[data-version='{version}'] .badge:text('published')")

        page.select_option("#diff-from", str(version - 1))
        page.select_option("#diff-to", str(version))
        page.click("#diff-button")
        added = page.wait_for_selector("#diff ins").inner_text()
        assert added == "+" + marker

        page.goto(web_server.base + f"/admin/audit?action=prompt.&actor={username}")
        audit = page.wait_for_selector("#audit").inner_text()
        assert "prompt.publish" in audit and "prompt.draft" in audit and username in audit
    finally:
        context.close()


def test_admin_defines_an_http_tool_and_test_runs_it(web_server: WebServer, browser: Any) -> None:
    username = web_server.create_user("admin")
    name = f"order_status_{uuid.uuid4().hex[:6]}"
    secret = "key-" + uuid.uuid4().hex
    schema = {
        "type": "object",
        "properties": {"order_id": {"type": "string", "description": "The order number"}},
        "required": ["order_id"],
    }
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        with echo_endpoint() as (url, received):
            _login(page, web_server.base, username)
            page.goto(web_server.base + "/admin/tools")
            page.click("#new-tool")
            page.fill("#name", name)
            page.fill("#description", "Tell the caller where their order is.")
            page.fill("#parameters", json.dumps(schema))
            page.fill("#url", url)
            page.select_option("#method", "POST")
            page.fill("#header_name_0", "X-Api-Key")
            page.fill("#header_value_0", secret)
            page.check("#header_secret_0")
            page.click("#save-tool")
            page.wait_for_selector("p.flash:has-text('as a draft')")

            page.fill("#arguments", '{"order_id": "A-17"}')
            page.click("#test-run")
            output = page.wait_for_selector("#test-output").inner_text()
            assert page.inner_text("#test-status") == "ok"
            assert "shipped on Tuesday" in output and "A-17" in output
            assert "[redacted]" in output and secret not in output
            assert received[-1]["headers"]["x-api-key"] == secret
            assert secret not in page.content()
    finally:
        context.close()


def test_a_session_saved_before_logout_is_dead_after_it(
    web_server: WebServer, browser: Any
) -> None:
    """An attacker who copied the cookie (a shared machine, a stolen cookie jar) gets
    nothing once its owner logs out."""
    username = web_server.create_user("admin")
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        _login(page, web_server.base, username)
        saved = context.cookies()
        assert any(c["name"] == "callcenter_session" for c in saved)
        page.click("form[action='/logout'] button")
        page.wait_for_url("**/login")

        thief = browser.new_context()
        try:
            thief.add_cookies(saved)
            stolen = thief.new_page()
            stolen.goto(web_server.base + "/admin/users")
            assert stolen.url.startswith(web_server.base + "/login?next="), stolen.url
            assert stolen.locator("#username").is_visible()
            assert stolen.evaluate("fetch('/api/v1/me').then(r => r.status)") == 401
        finally:
            thief.close()
    finally:
        context.close()
