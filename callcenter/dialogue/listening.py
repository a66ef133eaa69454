"""Listening: caller audio -> turn events (VAD + endpointing), plus what barge-in needs.

The only stage that sees raw caller audio. It says when the caller started, paused and
ended a turn, and how long the current stretch of speech has lasted; it never decides
what to do about it (that is turn-taking's job). At each pause it asks the turn-completion
model (and the speculative transcript, via :meth:`Listening.heard_so_far`) how long the
silence must last before the turn is over (``dialogue/end_of_turn.py``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import numpy as np

from callcenter.audio.g711 import PHONE_RATE, ulaw_to_float
from callcenter.audio.turn_completion import TurnCompletionModel
from callcenter.audio.vad import (
    Endpointer,
    EndpointingPolicy,
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
)
from callcenter.dialogue.end_of_turn import EndOfTurnPolicy, words_unfinished
from callcenter.dialogue.events import CallerPaused, CallerSpeechStarted, CallerTurnEnded
from callcenter.settings import Settings

log = logging.getLogger(__name__)

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
    def hearing_speech(self) -> bool:
        """The latest VAD window was speech, even before it is long enough to start a
        turn (the agent pauses on it: cheap, and undone when the sound dies away)."""

    @property
    def speech_ms(self) -> float:
        """How long the current turn has been going (0 when the caller is quiet)."""

    def feed(self, ulaw: bytes) -> list[ListeningEvent]: ...

    def heard_so_far(self, text: str, end_ms: float, *, answered: bool = False) -> None:
        """The speculative transcript of the pause at ``end_ms`` (words can extend it).
        ``answered``: the words wholly answer the agent's pending question."""


def default_completion_model(settings: Settings) -> TurnCompletionModel | None:
    """Smart Turn from the model cache; silence alone (with a warning) if it is missing."""
    if settings.turn_model == "off":
        return None
    from callcenter.audio.smart_turn_files import SmartTurnModelMissing, installed_model
    from callcenter.audio.turn_completion import SmartTurn

    try:
        return SmartTurn(installed_model(settings.cache_dir))
    except SmartTurnModelMissing as exc:
        log.warning("%s Ending turns on silence alone.", exc)
        return None


class Listening:
    def __init__(
        self,
        settings: Settings,
        endpointer: Endpointer | None = None,
        *,
        completion: TurnCompletionModel | str | None = "default",
        offload: bool = True,
    ) -> None:
        """``completion``: the turn-completion model ("default" = per the settings, None =
        silence alone). ``offload``: run it in a thread (tests run it inline)."""
        self.endpointer = endpointer or Endpointer(
            EndpointingPolicy.from_settings(settings), input_rate=PHONE_RATE
        )
        self.position_ms = 0.0
        self._onset_ms: float | None = None
        self.completion = (
            default_completion_model(settings) if isinstance(completion, str) else completion
        )
        # Without a model: None = no verdict, wait as for an unsure turn (the model file
        # is missing); 1.0 = silence alone (asked for: ``completion=None``, "off").
        model_missing = isinstance(completion, str) and settings.turn_model != "off"
        self._no_model_probability = None if model_missing else 1.0
        self.end_policy = EndOfTurnPolicy.from_settings(settings)
        self._offload = offload
        # The pause being judged (its end_ms) and what is known about it.
        self._pause_ms: float | None = None
        self._probability: float | None = None
        self._text: str | None = None
        self._answered = False  # the pause's words answer the agent's pending question
        self.verdicts: list[tuple[float, float]] = []  # (pause end_ms, probability), for tests

    @property
    def in_turn(self) -> bool:
        return self.endpointer.speaking

    @property
    def in_speech(self) -> bool:
        return self.endpointer.speaking and not self.endpointer.pausing

    @property
    def hearing_speech(self) -> bool:
        return self.endpointer.hearing_speech

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
                log.debug("SpeechStarted at %.0f ms (now %.0f ms)", event.at_ms, self.position_ms)
                self._onset_ms = event.at_ms
                out.append(CallerSpeechStarted(at_ms=event.at_ms))
                continue
            # When the caller stopped talking, on the loop's clock (the latency baseline).
            lag_s = max(0.0, (self.position_ms - event.at_ms) / 1000.0)
            log.debug(
                "%s at %.0f ms (now %.0f ms)", type(event).__name__, event.at_ms, self.position_ms
            )
            if isinstance(event, SpeechPaused):
                self._judge(event.at_ms, event.audio)
                out.append(CallerPaused(event.audio, end_ms=event.at_ms, end_wall=now - lag_s))
            elif isinstance(event, SpeechEnded):
                unfinished = (
                    not event.truncated
                    and event.at_ms == self._pause_ms
                    and self.end_policy.prompt_after_ms > 0
                    and self.end_policy.verdict(
                        self._probability, self._text, answered=self._answered
                    )
                    == "unfinished"
                )
                out.append(
                    CallerTurnEnded(
                        event.audio,
                        end_ms=event.at_ms,
                        end_wall=now - lag_s,
                        lag_s=lag_s,
                        truncated=event.truncated,
                        unfinished=unfinished,
                    )
                )
        return out

    # --- semantic end of turn --------------------------------------------------------

    def heard_so_far(self, text: str, end_ms: float, *, answered: bool = False) -> None:
        if end_ms == self._pause_ms and self.endpointer.pausing:
            self._text, self._answered = text, answered
            self._apply()

    def _judge(self, end_ms: float, audio: np.ndarray) -> None:
        self._pause_ms, self._probability, self._text = end_ms, None, None
        self._answered = False
        model = self.completion
        if model is None:
            self._apply()
            return
        # Until the model has spoken, wait as for an unsure turn.
        self.endpointer.hold(self.end_policy.max_silence_ms)
        if not self._offload:
            self._verdict(end_ms, model.probability(audio))
            return
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, model.probability, audio)
        future.add_done_callback(lambda done: self._done(end_ms, done))

    def _done(self, end_ms: float, done: asyncio.Future[float]) -> None:
        if done.cancelled():
            return
        if done.exception() is not None:
            log.warning("turn-completion model failed: %r", done.exception())
            self._verdict(end_ms, 1.0)  # fall back to silence alone
            return
        self._verdict(end_ms, done.result())

    def _verdict(self, end_ms: float, probability: float) -> None:
        log.debug("pause at %.0f ms: turn complete with p=%.2f", end_ms, probability)
        self.verdicts.append((end_ms, probability))
        if end_ms == self._pause_ms:
            self._probability = probability
            self._apply()

    def _apply(self) -> None:
        if not self.endpointer.pausing:
            return
        probability = self._probability
        if self.completion is None:
            probability = self._no_model_probability
            if probability is not None:  # silence alone, unless the words stop mid-sentence
                if self._text is not None and words_unfinished(self._text):
                    self.endpointer.hold(self.end_policy.silence_ms(None, self._text))
                return
        # Until the model and the pause's words are in, the policy waits as for an unsure
        # turn. That costs the reply nothing: the speculative reply needs the same words.
        self.endpointer.hold(
            self.end_policy.silence_ms(probability, self._text, answered=self._answered)
        )
