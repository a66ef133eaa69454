"""Stand-in call handlers for tests of the edge: a recorder, and a turn-taking echo agent
used by the simulator tests and demos.

The echo agent needs no models but behaves like a voice agent on the wire: it waits
for the caller to finish a turn, answers (with the caller's own audio) through a
:class:`PlayoutTracker`, stops talking with ``clear`` when the caller barges in, and
answers each DTMF digit with a mark ``dtmf-<digit>``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from callcenter.audio.g711 import FRAME_MS, PHONE_RATE, float_to_ulaw, ulaw_to_float
from callcenter.dialogue.playout import PlayoutTracker
from callcenter.dialogue.ports import (
    MediaStreamHandler,
    StopReason,
    StreamContext,
    StreamOutput,
)


def tone_ulaw(ms: int, freq_hz: float = 440.0, level: float = 0.3) -> bytes:
    """A sine tone as μ-law: speech-like energy without a model."""
    t = np.arange(PHONE_RATE * ms // 1000, dtype=np.float32) / PHONE_RATE
    return float_to_ulaw((level * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32))


def ulaw_rms(ulaw: bytes) -> int:
    """Root-mean-square level on the PCM16 scale (0..32767)."""
    if not ulaw:
        return 0
    samples = ulaw_to_float(ulaw)
    return int(np.sqrt(np.mean(samples * samples)) * 32768)


@dataclass
class RecordingHandler:
    """Records what the edge delivered. The caller hears nothing."""

    context: StreamContext
    output: StreamOutput
    media: list[tuple[int, bytes]] = field(default_factory=list)
    digits: list[str] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)
    stop_reason: StopReason | None = None

    async def on_media(self, ulaw: bytes, timestamp_ms: int) -> None:
        self.media.append((timestamp_ms, ulaw))

    async def on_dtmf(self, digit: str) -> None:
        self.digits.append(digit)

    async def on_mark(self, name: str) -> None:
        self.marks.append(name)

    async def on_stop(self, reason: StopReason) -> None:
        self.stop_reason = reason


class RecordingHandlerFactory:
    """A HandlerFactory that keeps every handler it made (tests read them)."""

    def __init__(self, keep: int = 64) -> None:
        # Bounded: a long test run must not keep every call's audio.
        self.handlers: deque[RecordingHandler] = deque(maxlen=keep)

    async def __call__(self, context: StreamContext, output: StreamOutput) -> MediaStreamHandler:
        handler = RecordingHandler(context, output)
        self.handlers.append(handler)
        return handler


@dataclass
class EchoAgent:
    """Turn-taking echo: replays each caller turn once the caller has been quiet."""

    context: StreamContext
    output: StreamOutput
    greeting: bytes = b""
    speech_rms: int = 300  # μ-law frames above this RMS count as speech
    end_of_turn_ms: int = 300
    barge_in_ms: int = 60
    tracker: PlayoutTracker = field(init=False)
    turn_audio: bytearray = field(default_factory=bytearray)
    speech_ms: int = 0
    quiet_ms: int = 0
    replies: int = 0
    cleared: int = 0
    digits: list[str] = field(default_factory=list)
    stop_reason: StopReason | None = None

    def __post_init__(self) -> None:
        self.tracker = PlayoutTracker(self.output)

    async def start(self) -> None:
        if self.greeting:
            await self._say(self.greeting)

    async def _say(self, ulaw: bytes) -> None:
        self.replies += 1
        self.tracker.begin(f"r{self.replies}")
        await self.tracker.send_audio(ulaw)
        await self.tracker.end()

    async def on_media(self, ulaw: bytes, timestamp_ms: int) -> None:
        if ulaw_rms(ulaw) >= self.speech_rms:
            self.turn_audio += ulaw
            self.speech_ms += FRAME_MS
            self.quiet_ms = 0
            if self.tracker.is_playing and self.speech_ms >= self.barge_in_ms:
                self.cleared += 1
                await self.tracker.clear()
            return
        if not self.speech_ms:
            return
        self.quiet_ms += FRAME_MS
        if self.quiet_ms >= self.end_of_turn_ms:
            reply = bytes(self.turn_audio)
            self.turn_audio.clear()
            self.speech_ms = self.quiet_ms = 0
            await self._say(reply)

    async def on_dtmf(self, digit: str) -> None:
        self.digits.append(digit)
        await self.output.send_mark(f"dtmf-{digit}")

    async def on_mark(self, name: str) -> None:
        self.tracker.on_mark(name)

    async def on_stop(self, reason: StopReason) -> None:
        self.stop_reason = reason


class EchoAgentFactory:
    def __init__(self, greeting: bytes = b"") -> None:
        self.greeting = greeting
        self.agents: list[EchoAgent] = []

    async def __call__(self, context: StreamContext, output: StreamOutput) -> MediaStreamHandler:
        agent = EchoAgent(context, output, greeting=self.greeting)
        self.agents.append(agent)
        await agent.start()
        return agent
