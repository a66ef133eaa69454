"""Through the real media stream: the call recording holds both sides where they were
heard, and `simulate` waits for the answer, not for the backchannel before it."""

from __future__ import annotations

import argparse
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callcenter.audio.call_recording import recording_path
from callcenter.audio.g711 import ulaw_to_pcm16
from callcenter.dialogue.ports import MediaStreamHandler, StreamContext, StreamOutput
from callcenter.simulator import script as sc
from callcenter.simulator.caller import run_call
from callcenter.simulator.cli import _steps
from callcenter.store import calls as call_store
from callcenter.testing.handlers import EchoAgent, EchoAgentFactory, tone_ulaw
from tests.simulator.test_simulated_call import options
from tests.support.live_app import LiveApp, wait_for

FRAME = 160


def _loud_ms(channel: np.ndarray) -> int:
    frames = channel[: len(channel) // FRAME * FRAME].reshape(-1, FRAME).astype(np.int32)
    return int((np.abs(frames).max(axis=1) > 2000).sum()) * 20


def _first_loud_ms(channel: np.ndarray) -> int:
    return int(np.argmax(np.abs(channel.astype(np.int32)) > 2000)) * 1000 // 8000


async def test_the_recording_has_the_caller_left_and_the_agent_right(
    live_app: Callable[..., LiveApp], live_factory: Callable[[], object], tmp_path: Path
) -> None:
    agents = EchoAgentFactory(greeting=tone_ulaw(600, 500))
    app = live_app(handler_factory=agents, recordings_dir=tmp_path)
    steps: list[sc.Step] = [
        sc.WaitAgent(quiet_ms=300),
        sc.Say(ulaw=tone_ulaw(800, 300)),
        sc.WaitAgent(quiet_ms=300),
        sc.Silence(300),
    ]
    result = await run_call(app.url, steps, options())
    assert result.answer == "stream"
    with live_factory() as session:  # type: ignore[attr-defined]
        call = call_store.get_call_by_sid(session, result.call_sid)
        assert call is not None
    path = recording_path(tmp_path, call.id)
    assert wait_for(lambda: path.exists() and agents.agents[0].stop_reason is not None)

    def channels() -> tuple[np.ndarray, np.ndarray]:
        with wave.open(str(path), "rb") as wav:
            assert wav.getnchannels() == 2 and wav.getframerate() == 8000
            data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return data[0::2], data[1::2]

    assert wait_for(lambda: len(channels()[0]) > 0)  # the header is final once closed
    caller, agent = channels()
    assert 700 <= _loud_ms(caller) <= 900  # the caller's 800 ms turn
    assert 1200 <= _loud_ms(agent) <= 1400  # greeting 600 + echo 800, as played
    # The echo is heard after the caller's turn, where the caller heard it.
    turn_start = _first_loud_ms(caller)
    echo = agent.copy()
    echo[: (turn_start + 800) * 8] = 0
    assert _first_loud_ms(echo) >= turn_start + 800 + 250
    # The caller heard exactly what the agent side of the recording holds.
    heard = np.frombuffer(ulaw_to_pcm16(bytes(result.agent_audio)), dtype="<i2")
    assert abs(_loud_ms(heard) - _loud_ms(agent)) <= 60


@dataclass
class _SlowAnswer(EchoAgent):
    """Says a short "Got it." (a 400 ms tone), then the answer 2.2 s later."""

    answered: bool = False
    countdown: int | None = None

    async def _say(self, ulaw: bytes) -> None:
        if self.replies == 0 or self.answered:
            await super()._say(ulaw)
            return
        self.answered = True
        self.countdown = 110  # frames of 20 ms: 1.8 s of quiet after "Got it."
        await super()._say(tone_ulaw(400, 700))

    async def on_media(self, ulaw: bytes, timestamp_ms: int) -> None:
        if self.countdown is not None:
            self.countdown -= 1
            if self.countdown == 0:
                self.countdown = None
                await super()._say(tone_ulaw(1500, 700))
        await super().on_media(ulaw, timestamp_ms)


async def _slow(context: StreamContext, output: StreamOutput) -> MediaStreamHandler:
    agent = _SlowAnswer(context, output, greeting=tone_ulaw(600, 500))
    await agent.start()
    return agent


async def test_simulate_waits_for_the_answer_after_a_backchannel(
    live_app: Callable[..., LiveApp], tmp_path: Path
) -> None:
    app = live_app(handler_factory=_slow, recordings_dir=tmp_path)
    question = tmp_path / "question.wav"
    with wave.open(str(question), "wb") as wav:
        wav.setnchannels(1), wav.setsampwidth(2), wav.setframerate(8000)
        wav.writeframes(ulaw_to_pcm16(tone_ulaw(800, 300)))
    args = argparse.Namespace(script=None, wav=question, text=None, answer_timeout=30.0)
    result = await run_call(app.url, _steps(args), options())
    played_ms = sum(1 for byte in result.agent_audio if byte != 0xFF) // 8
    # Greeting 600 + "Got it." 400 + the answer 1500 were all heard before hanging up.
    assert played_ms >= 0.9 * (600 + 400 + 1500)
    assert not result.of_kind("wait_timeout")
