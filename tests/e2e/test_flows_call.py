"""Task flows through the whole app: a caller whose voice is not the agent's (espeak-ng)
asks for the balance, keys the account number, says the PIN, hears the balance, hangs up.

No model writes a word of it: the turns are read by parsers and rules, the lines come from
the flow templates and the tool results (the scripted LLM would answer "Sorry, could you
say that again?" if anything asked it).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from callcenter.simulator.script import Dtmf, Say, WaitAgent
from callcenter.store.db import make_session_factory
from callcenter.store.models import Call, CallEvent, ToolInvocation
from tests.e2e.conftest import SpeechApp, running_speech_app
from tests.e2e.test_speech_loop import GREETING, REPLY, call, turns_of
from tests.support.asr import transcribe_ulaw, words


@pytest.fixture(scope="module")
def flows_app() -> Iterator[SpeechApp]:
    with running_speech_app(dialogue_mode="flows") as app:
        yield app


def espeak(text: str, path: Path) -> Say:
    """A caller line in espeak-ng's en-us voice (formant synthesis, nothing like Piper)."""
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    return Say(wav=str(path))


async def test_unverified_caller_verifies_and_hears_the_balance(
    flows_app: SpeechApp, tmp_path: Path
) -> None:
    flows_app.llm.clear()
    result = await call(
        flows_app,
        [
            GREETING,
            espeak("Can you tell me my balance?", tmp_path / "ask.wav"),
            REPLY,
            Dtmf("1001#"),
            REPLY,
            Dtmf("4321#"),
            REPLY,
            espeak("No, that's all. Goodbye.", tmp_path / "bye.wav"),
            WaitAgent(quiet_ms=1500, timeout_ms=30_000),
        ],
    )
    said = [f"{t.speaker}: {t.text}" for t in turns_of(flows_app, result.call_sid)]
    transcript = "\n".join(said)
    with make_session_factory(flows_app.engine)() as session:
        call_row = session.scalar(select(Call).where(Call.call_sid == result.call_sid))
        assert call_row is not None
        names = [
            (i.name, str(i.status))
            for i in session.scalars(
                select(ToolInvocation).where(ToolInvocation.call_id == call_row.id)
            )
        ]
        kinds = session.scalars(
            select(CallEvent.kind).where(CallEvent.call_id == call_row.id)
        ).all()
    assert ("verify_identity", "ok") in names, "\n".join([str(names), *said])
    assert ("get_balance", "ok") in names, transcript
    assert call_row.verified_account_id is not None
    assert "flow_turn" in kinds
    assert "2,417.35" in transcript, transcript
    heard = words(transcribe_ulaw(result.agent_audio))
    assert "2417" in heard or "two thousand" in heard or "2 417" in heard, heard
    # Nothing in this call needed the model.
    assert not flows_app.llm.requests, [r.messages[-1] for r in flows_app.llm.requests]
    hangups = [
        r
        for r in flows_app.twilio.requests
        if r.call_sid == result.call_sid and r.form.get("Status") == "completed"
    ]
    assert hangups, transcript
