"""Turn-taking policy as plain typed data, and DTMF digit collection.

Defaults are chosen for a phone line and documented here; every field is a setting.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.settings import Settings


@dataclass(frozen=True)
class TurnPolicy:
    # Caller speech while the agent speaks counts as barge-in after this much speech
    # (measured from its onset). Shorter blips (coughs, "mm-hm", line noise, the agent's
    # own echo on a speakerphone) do not interrupt.
    barge_in_min_speech_ms: int = 120
    # Keys: a run of digits ends with '#' or after this pause; '*' erases the run.
    dtmf_pause_ms: int = 2500
    # No caller speech for this long after the agent finished: re-prompt, then hang up.
    silence_reprompt_s: float = 8.0
    silence_max_reprompts: int = 2
    # ... and this long once the caller asked for time ("give me a moment") or keys.
    patient_silence_s: float = 30.0
    # Low-confidence transcripts in a row before escalating to a human.
    max_low_confidence_turns: int = 3
    low_confidence: float = 0.35

    @classmethod
    def from_settings(cls, settings: Settings) -> TurnPolicy:
        return cls(
            barge_in_min_speech_ms=settings.barge_in_min_speech_ms,
            silence_reprompt_s=settings.silence_reprompt_s,
            silence_max_reprompts=settings.silence_max_reprompts,
            patient_silence_s=settings.patient_silence_s,
        )


class DtmfCollector:
    """Collects keyed digits into runs ("1001#" -> "1001")."""

    def __init__(self) -> None:
        self._digits = ""

    @property
    def pending(self) -> str:
        return self._digits

    def press(self, key: str) -> str | None:
        """Feed one key; returns a finished run when '#' ends it.

        '*' erases the digits typed so far; pressed with nothing typed it starts a star
        code ("*2": slower, see ``text/caller_requests.py``), which the next key ends.
        """
        if key == "*":
            self._digits = "" if self._digits else "*"
            return None
        if key == "#":
            return self.take()
        if key.isdigit():
            self._digits += key
            if self._digits.startswith("*"):
                return self.take()
        return None

    def take(self) -> str | None:
        run, self._digits = self._digits, ""
        return run or None
