"""Listening: caller audio -> turn events (VAD + endpointing), plus what barge-in needs.

The only stage that sees raw caller audio. It says when the caller started, paused and
ended a turn, and how long the current stretch of speech has lasted; it never decides
what to do about it (that is turn-taking's job).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from callcenter.audio.g711 import PHONE_RATE, ulaw_to_float
from callcenter.audio.vad import (
    Endpointer,
    EndpointingPolicy,
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
)
from callcenter.dialogue.events import CallerPaused, CallerSpeechStarted, CallerTurnEnded
from callcenter.settings import Settings

ListeningEvent = CallerSpeechStarted | CallerPaused | CallerTurnEnded


class ListeningStage(Protocol):
    """What the session needs from listening (tests drive the session with a scripted one)."""

    @property
    def in_turn(self) -> bool:
        """Between the start and the end of a caller turn (pauses included)."""

    @property
    def in_speech(self) -> bool:
        """The caller is talking right now (a pause inside a turn is not speech)."""

    @property
    def speech_ms(self) -> float:
        """How long the current turn has been going (0 when the caller is quiet)."""

    def feed(self, ulaw: bytes) -> list[ListeningEvent]: ...


class Listening:
    def __init__(self, settings: Settings, endpointer: Endpointer | None = None) -> None:
        self.endpointer = endpointer or Endpointer(
            EndpointingPolicy.from_settings(settings), input_rate=PHONE_RATE
        )
        self.position_ms = 0.0
        self._onset_ms: float | None = None

    @property
    def in_turn(self) -> bool:
        return self.endpointer.speaking

    @property
    def in_speech(self) -> bool:
        return self.endpointer.speaking and not self.endpointer.pausing

    @property
    def speech_ms(self) -> float:
        if self._onset_ms is None or not self.endpointer.speaking:
            return 0.0
        return self.position_ms - self._onset_ms

    def feed(self, ulaw: bytes) -> list[ListeningEvent]:
        samples = ulaw_to_float(ulaw)
        self.position_ms += len(samples) * 1000.0 / PHONE_RATE
        now = asyncio.get_running_loop().time()
        out: list[ListeningEvent] = []
        for event in self.endpointer.push(samples):
            if isinstance(event, SpeechStarted):
                self._onset_ms = event.at_ms
                out.append(CallerSpeechStarted(at_ms=event.at_ms))
                continue
            # When the caller stopped talking, on the loop's clock (the latency baseline).
            lag_s = max(0.0, (self.position_ms - event.at_ms) / 1000.0)
            if isinstance(event, SpeechPaused):
                out.append(CallerPaused(event.audio, end_ms=event.at_ms, end_wall=now - lag_s))
            elif isinstance(event, SpeechEnded):
                out.append(
                    CallerTurnEnded(
                        event.audio,
                        end_ms=event.at_ms,
                        end_wall=now - lag_s,
                        lag_s=lag_s,
                        truncated=event.truncated,
                    )
                )
        return out
