"""Speculation: answer during the endpointing silence.

When the caller goes quiet, transcribe at once and start the reply, but hold everything
with an effect (audio to Twilio, tool calls) behind a gate that opens only when the
endpointer confirms the turn is over. If the caller goes on, drop it all: the reply is
cancelled before anything was heard or done, and the caller turn it recorded is taken back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from callcenter.asr.base import Transcript
from callcenter.dialogue.events import CallerPaused, CallerText, CallerTurnEnded
from callcenter.turn_timing import TurnTiming

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Speculation:
    end_ms: float  # stream time where the caller's speech ended (identifies the turn)
    end_wall: float  # the same moment on the loop's clock
    timing: TurnTiming = field(default_factory=TurnTiming)
    # Opens when the endpointer confirms the turn; audio out and tool calls wait on it.
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[Any] | None = None
    transcript_ready: float | None = None
    confirmed_at: float | None = None
    abandoned: bool = False
    # Set once the caller turn was recorded (so an abandoned one can be taken back).
    seq: int | None = None
    history_entry: dict[str, Any] | None = None
    merged: str = ""
    backchannel: bool = False  # its words were a "mm-hmm" over the agent: no caller turn


class SpeculationHost(Protocol):
    async def transcribe(self, audio: np.ndarray) -> Transcript: ...

    def pause_words(self, text: str, end_ms: float) -> bool:
        """What the caller said up to the pause at ``end_ms`` (may extend the pause).
        True: a backchannel over the agent, not a turn to answer."""

    async def caller_said(
        self, said: CallerText, timing: TurnTiming, speculation: Speculation | None
    ) -> None: ...

    def withdraw(self, speculation: Speculation) -> None:
        """Cancel what the speculation started and take back the caller turn it recorded."""

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...


class Speculator:
    def __init__(self, host: SpeculationHost) -> None:
        self._host = host
        self.current: Speculation | None = None

    def start(self, pause: CallerPaused) -> None:
        self.abandon()
        spec = Speculation(end_ms=pause.end_ms, end_wall=pause.end_wall)
        spec.task = self._host.spawn(self._run(spec, pause.audio))
        self.current = spec

    async def _run(self, spec: Speculation, audio: np.ndarray) -> None:
        try:
            transcript = await self._host.transcribe(audio)
        except Exception:
            self._host.pause_words("", spec.end_ms)  # no words: the model decides alone
            raise
        spec.transcript_ready = _now()
        if spec.confirmed_at is not None:
            spec.timing.asr_ms = (spec.transcript_ready - spec.confirmed_at) * 1000.0
        text = transcript.text.strip()
        log.debug("pause at %.0f ms heard %r (abandoned=%s)", spec.end_ms, text, spec.abandoned)
        if self._host.pause_words(text, spec.end_ms):
            spec.backchannel = True
            return
        if not text:
            return
        said = CallerText(text, "speech", spec.end_wall, transcript.confidence)
        await self._host.caller_said(said, spec.timing, spec)

    def confirm(self, ended: CallerTurnEnded) -> bool:
        """The turn ended where the speculation paused: open its gate (True). Otherwise
        the speculation is dropped and the caller turn must be handled afresh (False)."""
        spec = self.current
        if spec is None or spec.end_ms != ended.end_ms:
            log.debug("turn end at %.0f ms: no speculation on it", ended.end_ms)
            self.abandon()
            return False
        self.current = None
        spec.confirmed_at = _now()
        spec.timing.endpoint_ms = ended.lag_s * 1000.0
        spec.timing.speculative_asr = True
        if spec.transcript_ready is not None:
            spec.timing.asr_ms = 0.0  # ready before the endpoint: ASR cost no latency
        spec.gate.set()
        return True

    def shelve(self, ended: CallerTurnEnded) -> Speculation | None:
        """The turn ended unfinished: the speculation's caller words stay recorded, its
        gate never opens (the caller is prompted instead). None: no speculation for it."""
        spec = self.current
        if spec is None or spec.end_ms != ended.end_ms:
            return None
        self.current = None
        return spec

    def abandon(self) -> None:
        """The caller went on talking: whatever was started for the pause is dropped."""
        spec, self.current = self.current, None
        if spec is None or spec.confirmed_at is not None:
            return
        spec.abandoned = True
        log.debug("speculation at %.0f ms abandoned", spec.end_ms)
        if spec.task is not None:
            spec.task.cancel()
        self._host.withdraw(spec)


def _now() -> float:
    return asyncio.get_running_loop().time()
