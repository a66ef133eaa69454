"""The app answering calls through `asr-server` and `tts-server` (how web pods share GPUs)
gets the same results as with in-process engines."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from callcenter.asr.remote import RemoteTranscriber
from callcenter.simulator.caller import CallRemote, SimulationOptions, run_call
from callcenter.simulator.result import SimulationResult
from callcenter.simulator.script import Hangup, Say, Step, WaitAgent
from callcenter.store.db import make_session_factory
from callcenter.store.models import Call, Speaker, Turn
from tests.e2e.conftest import ACCOUNT_SID, AUTH_TOKEN, SpeechApp, running_speech_app
from tests.remote.conftest import ASR_ENV, TTS_ENV, speech_service
from tests.support.asr import transcribe_ulaw, words

SCRIPT: list[Step] = [
    WaitAgent(quiet_ms=700, timeout_ms=30_000),
    Say(text="What are your opening hours?"),
    WaitAgent(quiet_ms=900, timeout_ms=30_000),
    Hangup(),
]


async def call(app: SpeechApp) -> SimulationResult:
    remote = CallRemote()
    options = SimulationOptions(auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID)
    options.call_sid = "CA" + uuid.uuid4().hex
    app.twilio.attach(options.call_sid, remote)
    return await run_call(app.url, SCRIPT, options, remote)


def caller_texts(app: SpeechApp, call_sid: str) -> list[str]:
    with make_session_factory(app.engine)() as session:
        call_id = session.scalar(select(Call.id).where(Call.call_sid == call_sid))
        turns = session.scalars(
            select(Turn).where(Turn.call_id == call_id, Turn.speaker == Speaker.caller)
        )
        return [t.text for t in turns]


async def test_remote_speech_services_answer_like_in_process(speech_app: SpeechApp) -> None:
    local = await call(speech_app)
    local_said = caller_texts(speech_app, local.call_sid)
    with (
        speech_service("asr-server", ASR_ENV) as asr_url,
        speech_service("tts-server", TTS_ENV) as tts_url,
        running_speech_app(asr_url=asr_url, tts_url=tts_url) as remote_app,
    ):
        assert isinstance(remote_app.runtime.services.transcriber, RemoteTranscriber)  # type: ignore[union-attr]
        remote = await call(remote_app)
        remote_said = caller_texts(remote_app, remote.call_sid)
    # The same caller audio gives the same transcript through the ASR service...
    assert remote_said == local_said and local_said
    # ...and the agent's answer, synthesised by the TTS service, says the same thing.
    heard_local = words(transcribe_ulaw(local.agent_audio))
    heard_remote = words(transcribe_ulaw(remote.agent_audio))
    for word in ("monday", "friday"):
        assert word in heard_local and word in heard_remote, (heard_local, heard_remote)
