"""A test call from the console in real Chromium, with a fake microphone fed from a WAV.

The whole pipeline is real: Chromium captures the "microphone" (an espeak-ng voice, not
the agent's Piper), the page's AudioWorklet makes 8 kHz μ-law frames and speaks Twilio's
Media Streams protocol to /console/media; the app runs Silero VAD, faster-whisper, the
task flows and Piper; the page plays the agent's audio and echoes its marks (the agent's
playout waits for them), and the keypad sends DTMF. The prompt draft picked in the page
is what the agent says first. Screenshot: bench-results/screenshots/test-call.png.
"""

from __future__ import annotations

import io
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from callcenter.audio.resample import resample
from callcenter.store import prompts as prompt_store
from callcenter.store import users as user_store
from callcenter.store.db import make_session_factory, transaction
from callcenter.store.models import Call, CallDirection, CallEvent
from tests.e2e.conftest import SpeechApp, running_speech_app
from tests.support.asr import whisper, words
from tests.web.helpers import PASSWORD, unique
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, _login

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "bench-results" / "screenshots"
# The greeting plays first (a browser test call has no TwiML, so no recording notice is
# said: Twilio says it on phone calls); the caller speaks after it, with time to spare.
LEAD_SILENCE_S = 9.0
SPEECH_WAIT_MS = 90_000  # ASR, flows and Piper on a shared 2-core machine


def caller_wav(text: str, path: Path) -> Path:
    """espeak-ng's en-us voice at 16 kHz, 16-bit mono (what Chromium's fake capture
    reads), with silence before it (the greeting) and after it (no loop back)."""
    spoken = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(spoken), text], check=True)
    with wave.open(str(spoken), "rb") as source:
        rate, width = source.getframerate(), source.getsampwidth()
        audio = np.frombuffer(source.readframes(source.getnframes()), dtype=np.int16)
    assert width == 2
    # To 16 kHz by linear interpolation (espeak-ng writes 22.05 kHz).
    times = np.arange(0, len(audio) / rate, 1 / 16_000)
    resampled = np.interp(times, np.arange(len(audio)) / rate, audio).astype(np.int16)
    silence = np.zeros(int(16_000 * LEAD_SILENCE_S), dtype=np.int16)
    tail = np.zeros(16_000 * 120, dtype=np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(np.concatenate([silence, resampled, tail]).tobytes())
    return path


@pytest.fixture(scope="module")
def flows_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpeechApp]:
    recordings = tmp_path_factory.mktemp("recordings")
    with running_speech_app(dialogue_mode="flows", recordings_dir=recordings) as app:
        yield app


@pytest.fixture(scope="module")
def microphone_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    wav = caller_wav("Can you tell me my balance?", tmp_path_factory.mktemp("mic") / "caller.wav")
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
        "--autoplay-policy=no-user-gesture-required",
    ]
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield launched
        launched.close()


def transcribe_agent(wav_bytes: bytes, seconds: float) -> str:
    """The agent's side (right channel) of a call recording, as the test's Whisper hears it."""
    with wave.open(io.BytesIO(wav_bytes), "rb") as wav:
        frames = wav.readframes(min(wav.getnframes(), int(seconds * wav.getframerate())))
    agent = np.frombuffer(frames, dtype="<i2")[1::2].astype(np.float32) / 32768
    audio = resample(agent, 8000, 16000).astype(np.float32)
    segments, _ = whisper().transcribe(audio, language="en", beam_size=1)
    return " ".join(segment.text.strip() for segment in segments)


def _live_turns(page: Any) -> list[str]:
    return [
        str(t)
        for t in page.eval_on_selector_all("#live-transcript li", "l => l.map(e => e.textContent)")
    ]


def _wait_turn(page: Any, needle: str, after: int) -> int:
    """Waits for a transcript line (after the first ``after`` lines) containing needle."""
    page.wait_for_function(
        "([needle, after]) => Array.from(document.querySelectorAll('#live-transcript li'))"
        ".slice(after).some(li => li.textContent.toLowerCase().includes(needle))",
        arg=[needle, after],
        timeout=SPEECH_WAIT_MS,
    )
    lines = _live_turns(page)
    return next(i for i, line in enumerate(lines) if i >= after and needle in line.lower())


def test_an_admin_calls_the_agent_from_the_browser_and_hears_it(
    flows_app: SpeechApp, microphone_browser: Any
) -> None:
    factory = make_session_factory(flows_app.engine)
    username = unique("admin")
    with transaction(factory) as session:
        user_store.create_user(session, username=username, password=PASSWORD, role="admin")
        draft = prompt_store.create_draft(
            session,
            "greeting",
            "Welcome to the orange river test line. How can I help you today?",
            None,
        )
        draft_id = draft.id

    context = microphone_browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        _login(page, flows_app.url, username)
        page.click("header.top nav >> text=Test call")
        page.select_option("#draft", str(draft_id))
        page.click("#call-start")
        page.wait_for_selector("#call-status:has-text('Connected')")

        # The fake microphone asks; the recogniser hears it; the flow answers aloud.
        asked = _wait_turn(page, "balance", 0)
        assert _live_turns(page)[asked].startswith("You:")
        heard_before = float(page.inner_text("#audio-received"))
        answered = _wait_turn(page, "account number", asked + 1)
        assert _live_turns(page)[answered].startswith("Agent:")
        # The answer's audio reached the page (it plays only as fast as marks echo).
        page.wait_for_function(
            "least => Number(document.getElementById('audio-received').textContent) > least",
            arg=heard_before + 3,
            timeout=SPEECH_WAIT_MS,
        )

        # The keypad sends DTMF: the flow takes the account number and asks for the PIN.
        for digit in "1001#":
            page.click(f".key[data-digit='{digit}']")
        _wait_turn(page, "pin", answered + 1)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "test-call.png"), full_page=True)

        page.click("#call-hangup")
        page.wait_for_selector("#call-status:has-text('You hung up')")
        call_id = page.get_attribute("#call-link", "href").rsplit("/", 1)[1]

        # Stored like any call, direction "browser", and listed with the others.
        page.goto(f"{flows_app.url}/calls?direction=browser")
        page.wait_for_selector(f"tr[data-call-id='{call_id}']")
        recording = page.request.get(f"{flows_app.url}/calls/{call_id}/recording")
        assert recording.status == 200 and recording.body()[:4] == b"RIFF"
        # The draft, not the published greeting, is what the agent said first.
        said_first = words(transcribe_agent(recording.body(), seconds=12))
        assert "orange" in said_first and "thanks for calling" not in said_first, said_first
    except Exception:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "test-call-failed.png"), full_page=True)
        print("page status:", page.inner_text("#call-status"), "\nconsole:", console)
        raise
    finally:
        context.close()

    with factory() as session:
        call = session.get(Call, call_id)
        assert call is not None and call.direction == CallDirection.browser
        kinds = session.scalars(select(CallEvent.kind).where(CallEvent.call_id == call_id)).all()
        digits = [
            e.payload.get("digit")
            for e in session.scalars(
                select(CallEvent).where(CallEvent.call_id == call_id, CallEvent.kind == "dtmf")
            )
        ]
    assert "browser_call" in kinds
    assert digits == list("1001#"), digits
