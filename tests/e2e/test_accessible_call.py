"""Accessibility through the whole app: real Piper, faster-whisper and Silero VAD, a caller
whose voice is espeak-ng (not the agent's).

A caller asks for slower speech: the agent's same line, said again afterwards, is measured
longer on the line. A caller who only presses keys gets keypad prompts and hears the
balance.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from callcenter.simulator.result import SimulationResult
from callcenter.simulator.script import Dtmf, Hangup, WaitAgent
from callcenter.store.db import make_session_factory
from callcenter.store.models import Call, CallEvent, Speaker, ToolInvocation
from tests.e2e.conftest import SpeechApp, running_speech_app
from tests.e2e.test_flows_call import espeak
from tests.e2e.test_speech_loop import GREETING, REPLY, call, turns_of


@pytest.fixture(scope="module")
def flows_app() -> Iterator[SpeechApp]:
    with running_speech_app(dialogue_mode="flows") as app:
        yield app


def reply_ms(result: SimulationResult) -> list[int]:
    """How much agent audio (ms) reached the line after each caller turn, before the next."""
    turns = result.turns
    bounds = [(t.end_ms, turns[i + 1].start_ms if i + 1 < len(turns) else 10**9)
              for i, t in enumerate(turns)]  # fmt: skip
    return [
        sum(e.data["bytes"] for e in result.of_kind("agent_media") if start < e.t_ms < end) // 8
        for start, end in bounds
    ]


def request_kinds(app: SpeechApp, call_sid: str) -> list[str]:
    with make_session_factory(app.engine)() as session:
        call_row = session.scalar(select(Call).where(Call.call_sid == call_sid))
        assert call_row is not None
        return [
            str(e.payload.get("request"))
            for e in session.scalars(
                select(CallEvent).where(
                    CallEvent.call_id == call_row.id, CallEvent.kind == "caller_request"
                )
            )
        ]


async def test_slower_makes_the_same_line_longer(flows_app: SpeechApp, tmp_path: Path) -> None:
    result = await call(
        flows_app,
        [
            GREETING,
            espeak("Can you tell me my balance?", tmp_path / "ask.wav"),
            REPLY,
            espeak("Can you repeat that?", tmp_path / "again1.wav"),
            REPLY,
            espeak("Please speak more slowly.", tmp_path / "slower.wav"),
            WaitAgent(quiet_ms=900, timeout_ms=40_000),
            espeak("Can you repeat that?", tmp_path / "again2.wav"),
            WaitAgent(quiet_ms=900, timeout_ms=40_000),
            Hangup(),
        ],
    )
    said = "\n".join(f"{t.speaker}: {t.text}" for t in turns_of(flows_app, result.call_sid))
    assert request_kinds(flows_app, result.call_sid) == ["repeat", "slower", "repeat"], said
    durations = reply_ms(result)
    assert len(durations) == 4, durations
    print(f"agent audio per reply (ms): {durations}\n{said}")
    _ask, normal, _slower, slow = durations
    # The same line ("What's your account number? ..."), before and after "slower": one
    # step is 0.75x the rate (Piper plays a line about 23 % longer; pauses do not stretch).
    assert slow > 1.12 * normal, (durations, said)


async def test_a_keypad_only_caller_hears_the_balance(flows_app: SpeechApp) -> None:
    # Keys only after the agent has been quiet a while: a line with a value is synthesised
    # sentence by sentence, and on a busy CPU a gap between sentences can pass seconds.
    reply = WaitAgent(quiet_ms=5000, timeout_ms=60_000)
    result = await call(
        flows_app,
        [
            GREETING,
            Dtmf("*4"),  # use the keypad
            reply,
            Dtmf("1#"),  # the menu: balance
            reply,
            Dtmf("1001#"),
            reply,
            Dtmf("4321#"),
            reply,
            Dtmf("2#"),  # nothing else
            WaitAgent(quiet_ms=3000, timeout_ms=40_000),
        ],
    )
    turns = turns_of(flows_app, result.call_sid)
    said = "\n".join(f"{t.speaker}: {t.text}" for t in turns)
    agent = " ".join(t.text for t in turns if t.speaker == Speaker.agent)
    # What the agent says is checked in the flow tests; a caller who keys before a line
    # ends cuts it here, so this checks the keypad prompts and the task.
    assert request_kinds(flows_app, result.call_sid) == ["keypad"], said
    assert "type your account number on your keypad" in agent, said
    with make_session_factory(flows_app.engine)() as session:
        call_row = session.scalar(select(Call).where(Call.call_sid == result.call_sid))
        assert call_row is not None
        names = [
            (i.name, str(i.status))
            for i in session.scalars(
                select(ToolInvocation).where(ToolInvocation.call_id == call_row.id)
            )
        ]
    assert ("get_balance", "ok") in names, said
    hangups = [
        r
        for r in flows_app.twilio.requests
        if r.call_sid == result.call_sid and r.form.get("Status") == "completed"
    ]
    assert hangups, said
