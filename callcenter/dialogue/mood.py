"""The caller's mood: a frustration estimate per caller turn, smoothed over the call.

Two cues, both computed here, no model: the voice (loudness and pitch against the
caller's own first turns: people who get angry get louder and higher) and the words (a
small lexicon of complaint and anger). Each turn's estimate is in [0, 1]; the call's level
is an exponential moving average, so one loud turn does not hand the call over but a
rising trend does. What it cannot do: tell anger from excitement, or a naturally loud
caller from an angry one before it has a baseline; sarcasm and polite, quiet frustration
pass unnoticed. It is a nudge towards a person, never a verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

RATE = 16000
_FRAME = 640  # 40 ms
BASELINE_TURNS = 2

_ANGRY_WORDS = re.compile(
    r"\b(ridiculous|useless|stupid|idiot\w*|angry|furious|frustrat\w*|unacceptable|"
    r"terrible|awful|worst|pathetic|waste\w*|hate|damn\w*|hell|crap|seriously|"
    r"(?:already|just) told you|again and again|not listening|listen to me|"
    r"speak to (?:a|your) (?:manager|supervisor|human|person)|sick of|fed up|complain\w*)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class VoiceFeatures:
    energy_db: float  # mean loudness of the voiced frames
    pitch_hz: float  # median pitch of the voiced frames (0 = none found)


def voice_features(audio: np.ndarray) -> VoiceFeatures | None:
    """Loudness and pitch of a 16 kHz turn (None when there is too little voice)."""
    frames = len(audio) // _FRAME
    if frames < 5:
        return None
    x = audio[: frames * _FRAME].astype(np.float64).reshape(frames, _FRAME)
    rms = np.sqrt(np.mean(x**2, axis=1)) + 1e-9
    db = 20 * np.log10(rms)
    voiced = x[db > db.max() - 25]
    pitches = [p for p in (_pitch(frame) for frame in voiced[:: max(1, len(voiced) // 40)]) if p]
    return VoiceFeatures(
        energy_db=float(np.mean(db[db > db.max() - 25])),
        pitch_hz=float(np.median(pitches)) if pitches else 0.0,
    )


def _pitch(frame: np.ndarray) -> float:
    """Autocorrelation pitch in 70-400 Hz, or 0 when the frame is not clearly periodic."""
    frame = frame - frame.mean()
    corr = np.correlate(frame, frame, mode="full")[len(frame) - 1 :]
    if corr[0] <= 0:
        return 0.0
    lo, hi = RATE // 400, RATE // 70
    lag = lo + int(np.argmax(corr[lo:hi]))
    return RATE / lag if corr[lag] / corr[0] > 0.4 else 0.0


def words_score(text: str) -> float:
    return min(1.0, 0.45 * len(_ANGRY_WORDS.findall(text)))


@dataclass
class MoodTracker:
    """Per call. ``smoothing``: weight of the newest turn in the moving average."""

    smoothing: float = 0.5
    level: float = 0.0
    turns: list[float] = field(default_factory=list)
    _baseline: list[VoiceFeatures] = field(default_factory=list)
    _levels: list[float] = field(default_factory=list)  # level before each turn

    def voice_score(self, features: VoiceFeatures | None) -> float:
        if features is None:
            return 0.0
        if len(self._baseline) < BASELINE_TURNS:
            self._baseline.append(features)
            return 0.0
        energy = np.median([b.energy_db for b in self._baseline])
        louder = max(0.0, features.energy_db - float(energy)) / 8.0  # +8 dB: shouting
        pitches = [b.pitch_hz for b in self._baseline if b.pitch_hz]
        higher = 0.0
        if pitches and features.pitch_hz:
            higher = max(0.0, features.pitch_hz / float(np.median(pitches)) - 1.0) / 0.3
        return float(min(1.0, 0.6 * min(1.0, louder) + 0.4 * min(1.0, higher)))

    def turn(self, audio: np.ndarray | None, text: str) -> float:
        """One caller turn: its estimate (also added to the call's smoothed level)."""
        voice = self.voice_score(voice_features(audio) if audio is not None else None)
        words = words_score(text)
        estimate = max(words, 0.5 * voice + 0.5 * words, voice * 0.8)
        self.turns.append(round(estimate, 3))
        self._levels.append(self.level)
        self.level = (1 - self.smoothing) * self.level + self.smoothing * estimate
        return estimate

    def take_back(self) -> None:
        """The last turn was a speculation the caller talked over: forget it."""
        if self._levels:
            self.level = self._levels.pop()
            self.turns.pop()
