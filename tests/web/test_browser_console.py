"""The calls list, a call page with its recording, and the dashboard in real Chromium.

Screenshots go to bench-results/screenshots/ (ignored by git) for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from callcenter.audio.call_recording import CallRecording, recording_path
from callcenter.store.db import transaction
from callcenter.store.seed import DEMO_CUSTOMERS, seed_demo
from callcenter.testing.handlers import tone_ulaw
from tests.web.helpers import WebServer, seed_answered_call, unique
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, _login

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "bench-results" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_an_admin_finds_a_call_hears_it_and_sees_the_dashboard(
    web_server: WebServer, browser: Any
) -> None:
    words = unique("What are your opening hours")
    call_id = seed_answered_call(web_server, words=words, started=datetime.now(UTC))
    assert web_server.state_dir is not None
    recording = CallRecording(recording_path(web_server.state_dir / "recordings", call_id))
    for i in range(300):  # 6 s: the caller's tone first, the agent's after
        recording.caller(tone_ulaw(20, 300) if i < 90 else b"\xff" * 160, timestamp_ms=i * 20)
        if i == 120:
            recording.agent(tone_ulaw(1500, 600))
    recording.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        _login(page, web_server.base, web_server.create_user("admin"))
        page.click("header.top nav >> text=Calls")
        page.wait_for_selector("#calls")
        page.fill("#q", words)
        page.click("#filter")
        row = page.wait_for_selector(f"tr[data-call-id='{call_id}']")
        assert "resolved" in row.inner_text() and "0:42" in row.inner_text()
        assert page.inner_text("#calls-total").startswith("1 call")
        page.fill("#q", "")
        page.click("#filter")
        page.wait_for_selector("#calls tbody tr")
        _shot(page, "calls-list")

        page.goto(f"{web_server.base}/calls?q={words}")
        page.click(f"tr[data-call-id='{call_id}'] a")
        page.wait_for_selector("#transcript")
        assert words in page.inner_text("#transcript")
        assert page.inner_text("#summary-intent") == "Asked for the opening hours"
        assert page.inner_text("#summary-notes") == "Answered from the FAQ."
        assert "barge in" in page.inner_text("#events")
        # The recording plays in the page and the transcript follows it.
        duration = page.wait_for_function(
            "() => { const p = document.getElementById('player');"
            " return p.readyState >= 1 && p.duration; }"
        ).json_value()
        assert 5.9 <= duration <= 6.1
        page.evaluate("document.getElementById('player').currentTime = 2.5")
        page.wait_for_selector("#transcript li[data-seq='2'].playing")
        assert page.get_attribute("#transcript li[data-seq='2']", "aria-current") == "true"
        page.click("#transcript li[data-seq='3'] button.seek")
        page.wait_for_selector("#transcript li[data-seq='3'].playing")
        _shot(page, "call-page")

        page.click("header.top nav >> text=Dashboard")
        page.wait_for_selector("#kpis")
        assert int(page.inner_text("#kpi-calls")) >= 1
        assert page.locator("svg#chart-calls-per-hour rect.bar").count() >= 1
        desc = page.text_content("svg#chart-outcomes desc") or ""
        assert "resolved:" in desc
        _shot(page, "dashboard")

        page.goto(web_server.base + "/no/such/page")
        page.wait_for_selector("text=Back to the console")
        _shot(page, "not-found")
    finally:
        context.close()


def _birth_date_spellings(iso: str) -> list[str]:
    born = date.fromisoformat(iso)
    return [
        iso,
        born.strftime("%m/%d/%Y"),
        born.strftime("%d/%m/%Y"),
        f"{born:%B} {born.day}, {born.year}",
        f"{born.day} {born:%B} {born.year}",
    ]


def _assert_no_secrets(page: Any) -> None:
    """No PIN and no birth date, neither in the page's text nor anywhere in its HTML."""
    shown = page.inner_text("body") + page.content()
    for demo in DEMO_CUSTOMERS:
        assert demo.pin not in shown, demo.account_number
        for spelling in _birth_date_spellings(demo.date_of_birth):
            assert spelling not in shown, (demo.account_number, spelling)
    assert "$argon2" not in shown


def test_an_admin_browses_demo_customers_and_an_account_without_secrets(
    web_server: WebServer, browser: Any
) -> None:
    with transaction(web_server.factory) as session:
        seed_demo(session)
    first = DEMO_CUSTOMERS[0]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        _login(page, web_server.base, web_server.create_user("admin"))
        page.click("header.top nav >> text=Customers")
        page.wait_for_selector("#customers")
        for demo in DEMO_CUSTOMERS:
            row = page.inner_text(f"tr[data-account='{demo.account_number}']")
            assert demo.name in row and demo.card_last4 in row
        # A one-machine (loopback) install offers the reset.
        assert page.is_visible("#reset-demo")
        _assert_no_secrets(page)
        _shot(page, "customers")

        page.click(f"tr[data-account='{first.account_number}'] a")
        page.wait_for_selector("#transactions")
        assert page.url == f"{web_server.base}/admin/accounts/{first.account_number}"
        assert page.inner_text("h1").startswith(f"Account {first.account_number}")
        assert first.name in page.inner_text("#account")
        listed = page.inner_text("#transactions")
        assert all(description in listed for _, description, _ in first.transactions)
        _assert_no_secrets(page)
        _shot(page, "account")

        page.click("text=All customers")
        page.wait_for_selector("#customers")
    finally:
        context.close()
