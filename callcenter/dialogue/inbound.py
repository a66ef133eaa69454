"""Caller audio -> turns: VAD endpointing plus the bookkeeping barge-in needs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from callcenter.audio.g711 import PHONE_RATE
from callcenter.audio.vad import (
    Endpointer,
    EndpointingPolicy,
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
)
from callcenter.settings import Settings


@dataclass(frozen=True, eq=False)
class Utterance:
    """A finished caller turn: 16 kHz audio, and where the speech ended (stream ms)."""

    audio: np.ndarray = field(repr=False)
    end_ms: float
    truncated: bool = False


@dataclass(frozen=True, eq=False)
class Pause:
    """The caller went quiet; the turn may be over (speculative work can start)."""

    audio: np.ndarray = field(repr=False)
    end_ms: float


class InboundSpeech:
    def __init__(self, settings: Settings, endpointer: Endpointer | None = None) -> None:
        self.endpointer = endpointer or Endpointer(
            EndpointingPolicy.from_settings(settings), input_rate=PHONE_RATE
        )
        self.position_ms = 0.0
        self._onset_ms: float | None = None

    @property
    def in_turn(self) -> bool:
        """Between the start and the end of a caller turn (pauses included)."""
        return self.endpointer.speaking

    @property
    def in_speech(self) -> bool:
        """The caller is talking right now (a pause inside a turn is not speech)."""
        return self.endpointer.speaking and not self.endpointer.pausing

    @property
    def speech_ms(self) -> float:
        """How long the current turn has been going (0 when the caller is quiet)."""
        if self._onset_ms is None or not self.endpointer.speaking:
            return 0.0
        return self.position_ms - self._onset_ms

    @property
    def onset_ms(self) -> float | None:
        return self._onset_ms if self.endpointer.speaking else None

    def feed(self, samples_8k: np.ndarray) -> list[Utterance | Pause]:
        self.position_ms += len(samples_8k) * 1000.0 / PHONE_RATE
        out: list[Utterance | Pause] = []
        for event in self.endpointer.push(samples_8k):
            if isinstance(event, SpeechStarted):
                self._onset_ms = event.at_ms
            elif isinstance(event, SpeechPaused):
                out.append(Pause(audio=event.audio, end_ms=event.at_ms))
            elif isinstance(event, SpeechEnded):
                out.append(
                    Utterance(audio=event.audio, end_ms=event.at_ms, truncated=event.truncated)
                )
        return out

    def flush(self) -> list[Utterance]:
        return [
            Utterance(audio=e.audio, end_ms=e.at_ms)
            for e in self.endpointer.flush()
            if isinstance(e, SpeechEnded)
        ]
