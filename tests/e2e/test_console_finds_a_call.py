"""The console's "checked by", end to end: a phone call that is not handed off, then an
admin who finds it from the console's navigation in real Chromium.

The call goes through the real speech loop (faster-whisper, Silero VAD, Piper, the
scripted LLM); the caller's voice is espeak-ng's, not the agent's. In the browser the
admin clicks Calls, then the call's row, reads the caller's words and the agent's answer
in the transcript, finds the recording loaded in the player (the agent's answer is on
it), and sees the dashboard count the call as resolved without a person. Screenshots go to
bench-results/screenshots/speech-call-*.png (ignored by git) for people to look at.
"""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from callcenter.bench.languages import espeak_ulaw
from callcenter.simulator.script import Hangup, Say, Step, WaitAgent
from callcenter.store import users as user_store
from callcenter.store.db import make_session_factory, transaction
from callcenter.store.models import Call, CallEvent, Handoff
from callcenter.tasks.post_call import run_post_call
from tests.e2e.conftest import SpeechApp, running_speech_app
from tests.e2e.test_speech_loop import call
from tests.support.asr import words
from tests.support.live_app import wait_for
from tests.web.helpers import PASSWORD, unique
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, _login
from tests.web.test_browser_call import transcribe_agent

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "bench-results" / "screenshots"
QUESTION = "What are your opening hours?"
ANSWER = "Monday to Friday"  # the scripted model's answer (tests/e2e/conftest.py RULES)
# Speech on a shared 2-core machine: every wait is for a state, with room to spare.
SPEECH_WAIT_MS = 90_000
PAGE_WAIT_MS = 30_000
ONSET_TOLERANCE_MS = 600  # the stream clock against the audio actually played


@pytest.fixture(scope="module")
def recorded_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpeechApp]:
    with running_speech_app(recordings_dir=tmp_path_factory.mktemp("recordings")) as app:
        yield app


def _ask_the_opening_hours(app: SpeechApp) -> str:
    """One phone call: the caller waits for the greeting, asks, hears the answer, hangs up.
    Returns once the server has closed the call (its recording is final then)."""
    question = Say(ulaw=espeak_ulaw(QUESTION, "en"))
    steps: list[Step] = [
        WaitAgent(quiet_ms=700, timeout_ms=SPEECH_WAIT_MS),
        question,
        WaitAgent(quiet_ms=900, timeout_ms=SPEECH_WAIT_MS),
        Hangup(),
    ]
    result = asyncio.run(call(app, steps))
    assert result.answer == "stream" and not result.of_kind("wait_timeout"), result.kinds()
    factory = make_session_factory(app.engine)

    def closed() -> str | None:
        with factory() as session:
            return session.scalar(
                select(Call.id)
                .join(CallEvent, CallEvent.call_id == Call.id)
                .where(Call.call_sid == result.call_sid, CallEvent.kind == "stream_stopped")
            )

    call_id = wait_for(closed, timeout_s=60)
    assert call_id, "the server did not close the call"
    with factory() as session:  # not handed off
        assert session.scalar(select(Handoff.id).where(Handoff.call_id == call_id)) is None
    # The post-call job, as a Celery worker runs it (this app has no worker); without a
    # model it stores the deterministic summary, and the disposition is code's.
    assert run_post_call(factory, call_id, None, app.settings) == "fallback"
    return call_id


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_an_admin_finds_a_spoken_call_with_its_transcript_recording_and_count(
    recorded_app: SpeechApp,
) -> None:
    app = recorded_app
    call_id = _ask_the_opening_hours(app)
    username = unique("admin")
    with transaction(make_session_factory(app.engine)) as session:
        user_store.create_user(session, username=username, password=PASSWORD, role="admin")

    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(PAGE_WAIT_MS)
        try:
            _find_the_call(page, app.url, username, call_id)
            _read_and_hear_it(page, app.url, call_id)
            _see_it_counted(page)
        except Exception:
            _shot(page, "speech-call-failed")
            raise
        finally:
            browser.close()


def _find_the_call(page: Any, base: str, username: str, call_id: str) -> None:
    _login(page, base, username)
    page.click("header.top nav >> text=Calls")
    page.wait_for_selector("#calls")
    row = page.wait_for_selector(f"tr[data-call-id='{call_id}']")
    assert page.inner_text("#calls-total").startswith("1 call")
    cells = row.inner_text()
    assert "+15550001111" in cells and "inbound" in cells and "resolved" in cells
    _shot(page, "speech-call-list")
    page.click(f"tr[data-call-id='{call_id}'] a")
    page.wait_for_selector("#transcript")
    assert page.url == f"{base}/calls/{call_id}"


def _read_and_hear_it(page: Any, base: str, call_id: str) -> None:
    caller = " ".join(page.locator("#transcript li.turn.caller .text").all_inner_texts())
    assert {"opening", "hours"} <= set(words(caller).split()), caller
    agent = page.locator("#transcript li.turn.agent")
    assert agent.count() >= 2  # the greeting and the answer
    answer = agent.filter(has_text=ANSWER)
    assert answer.count() == 1, agent.all_inner_texts()
    assert ANSWER in answer.locator(".heard").inner_text()  # played in full, not cut off
    assert page.get_attribute("#player", "src") == f"/calls/{call_id}/recording"
    # The source loads: the browser reads the WAV's header and knows how long it is.
    duration = page.wait_for_function(
        "() => { const p = document.getElementById('player');"
        " return !p.error && p.readyState >= 1 && isFinite(p.duration) && p.duration; }"
    ).json_value()
    assert duration > 3, duration  # greeting, question and answer
    # The transcript follows playback: at the answer's start, its turn is the current one.
    start_ms = int(answer.get_attribute("data-start-ms"))
    page.evaluate(f"document.getElementById('player').currentTime = {start_ms / 1000 + 0.3}")
    page.wait_for_selector(f"#transcript li.turn.agent[data-start-ms='{start_ms}'].playing")
    recording = page.request.get(f"{base}/calls/{call_id}/recording")
    assert recording.status == 200 and recording.body()[:4] == b"RIFF"
    assert "monday" in words(transcribe_agent(recording.body(), duration))
    # The turns' times are where their audio is in the recording (the transcript follows
    # playback, and a click on a turn plays it from its start).
    greeting_ms = int(agent.first.get_attribute("data-start-ms"))
    agent_audio = _agent_onsets_ms(recording.body())
    assert abs(greeting_ms - agent_audio[0]) <= ONSET_TOLERANCE_MS, (greeting_ms, agent_audio)
    caller_end = int(page.get_attribute("#transcript li.turn.caller", "data-end-ms"))
    answer_audio = next(ms for ms in agent_audio if ms > caller_end)
    assert abs(start_ms - answer_audio) <= ONSET_TOLERANCE_MS, (start_ms, agent_audio)
    _shot(page, "speech-call-page")
    page.evaluate("document.getElementById('player').currentTime = 0")


def _agent_onsets_ms(wav_bytes: bytes) -> list[int]:
    """Where the agent's side of a recording starts sounding after a pause of 0.4 s or
    more (20 ms frames, stream time)."""
    with wave.open(io.BytesIO(wav_bytes), "rb") as wav:
        agent = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")[1::2]
    frames = agent[: len(agent) // 160 * 160].reshape(-1, 160).astype(np.int32)
    loud = np.abs(frames).max(axis=1) > 1500
    onsets, quiet = [], 20
    for index, sounding in enumerate(loud):
        if sounding and quiet >= 20:
            onsets.append(index * 20)
        quiet = 0 if sounding else quiet + 1
    return onsets


def _see_it_counted(page: Any) -> None:
    assert page.inner_text("#call-outcome") == "resolved"
    page.click("header.top nav >> text=Dashboard")
    page.wait_for_selector("#kpis")
    assert page.inner_text("#kpi-calls") == "1"  # a fresh database: this call only
    assert page.inner_text("#kpi-live") == "0"
    assert page.inner_text("#kpi-containment") == "100.0 %"  # resolved without a person
    assert page.locator("svg#chart-calls-per-hour rect.bar").count() >= 1
    described = page.text_content("svg#chart-outcomes desc") or ""
    assert "resolved: 1" in described, described
    _shot(page, "speech-call-dashboard")
