"""What a caller asked of the call itself: pace, volume, keypad, patience, language.

One :class:`CallPreferences` per call, shared by the stages that honour it (the voice
speaks in its style, turn-taking waits longer, task flows prompt for the keypad). Only
these non-sensitive choices are kept; the returning-callers store remembers them by a
keyed hash of the caller ID, never with anything about the account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callcenter.tts.style import VoiceStyle


@dataclass
class CallPreferences:
    style: VoiceStyle = field(default_factory=VoiceStyle)
    keypad: bool = False  # prompts say which keys to press; the caller need not speak
    more_time: bool = False  # the caller asked for time: longer silence before a re-prompt
    # The caller's language (an ISO 639-1 code), for the multilingual dialogue; None =
    # the deployment's default.
    language: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """What is remembered for a returning caller (nothing from the account)."""
        return {
            "rate": self.style.rate,
            "volume": self.style.volume,
            "keypad": self.keypad,
            "more_time": self.more_time,
            "language": self.language,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallPreferences:
        """From a stored row; unknown or bad values fall back to the defaults."""
        language = data.get("language")
        return cls(
            style=VoiceStyle.of(_number(data.get("rate")), _number(data.get("volume"))),
            keypad=data.get("keypad") is True,
            more_time=data.get("more_time") is True,
            language=language if isinstance(language, str) and 1 < len(language) < 16 else None,
        )

    def take(self, other: CallPreferences) -> None:
        """Become ``other`` in place (the stages hold this object)."""
        self.style, self.keypad = other.style, other.keypad
        self.more_time, self.language = other.more_time, other.language

    @property
    def is_default(self) -> bool:
        return self.as_dict() == CallPreferences().as_dict()


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 1.0
