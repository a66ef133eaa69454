"""Our own voicemail check for outbound calls, on trunks without Twilio's detection.

A person answers with a second or two ("Hello?") and waits; a machine talks for several
seconds, then beeps. For the first moments of an outbound call the agent listens only:

* the callee's first turn ends short of ``greeting_ms`` -> a person: the agent greets;
* nobody speaks for ``QUIET_HUMAN_MS`` -> a person waiting for us: the agent greets;
* the first stretch of speech reaches ``greeting_ms`` (pauses shorter than the end of a
  turn do not break it) -> a machine: wait for the beep;
* a beep (one pure tone, ``audio/beep.py``) at any point -> a machine, and the recording
  has started: leave the message now;
* after a machine's greeting, no beep within ``BEEP_WAIT_MS`` of its end -> leave the
  message anyway (some machines do not beep).

What it cannot tell: a person who answers with a long sentence is taken for a machine,
and a machine with a one-word greeting and no beep for a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from callcenter.audio.beep import BeepDetector, long_greeting
from callcenter.audio.g711 import ulaw_to_float
from callcenter.audio.vad import VAD_RATE, EndpointingPolicy
from callcenter.dialogue.events import CallerSpeechStarted, CallerTurnEnded, CallEvent

QUIET_HUMAN_MS = 3000
BEEP_WAIT_MS = 4000
_FRAME_MS = 20
PAD_MS = EndpointingPolicy().speech_pad_ms

Verdict = Literal["human", "machine", "leave_message"]


class VoicemailCheck:
    """Feed every inbound frame (with what listening made of it) until :attr:`decided`."""

    def __init__(self, greeting_ms: int = 3500) -> None:
        self.greeting_ms = greeting_ms
        self._beep = BeepDetector()
        self._elapsed_ms = 0
        self._heard_speech = False
        self._machine_since_ms: int | None = None  # when the machine's greeting ended
        self.machine = False
        self.beeped = False
        self.decided: Verdict | None = None

    @property
    def answered_by(self) -> str:
        """The outcome in Twilio's words, for the call's record."""
        if not self.machine:
            return "human"
        return "machine_end_beep" if self.beeped else "machine_end_other"

    def hear(self, ulaw: bytes, events: Sequence[CallEvent], speech_ms: float) -> Verdict | None:
        """One frame. Returns a verdict once ("human": greet, "machine": stay quiet,
        then "leave_message"), else None."""
        if self.decided in ("human", "leave_message"):
            return None
        self._elapsed_ms += _FRAME_MS
        if self._beep.push(ulaw_to_float(ulaw)):
            self.machine = self.beeped = True
            return self._decide("leave_message")
        for event in events:
            if isinstance(event, CallerSpeechStarted):
                self._heard_speech = True
            elif isinstance(event, CallerTurnEnded):
                if self.machine:
                    self._machine_since_ms = self._elapsed_ms
                elif not long_greeting(_speech_ms(event), self.greeting_ms):
                    return self._decide("human")
        if self.machine:
            since = self._machine_since_ms
            if since is not None and self._elapsed_ms - since >= BEEP_WAIT_MS:
                return self._decide("leave_message")
            return None
        if long_greeting(speech_ms, self.greeting_ms):
            self.machine = True
            return self._decide("machine")
        if not self._heard_speech and self._elapsed_ms >= QUIET_HUMAN_MS:
            return self._decide("human")
        return None

    def _decide(self, verdict: Verdict) -> Verdict:
        self.decided = verdict
        return verdict


def _speech_ms(ended: CallerTurnEnded) -> float:
    """The turn's speech, without the padding listening keeps around it."""
    return max(0.0, len(ended.audio) / (VAD_RATE / 1000) - 2 * PAD_MS)
