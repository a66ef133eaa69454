"""The caller's mood: a frustration estimate per caller turn, smoothed over the call.

Two cues, both computed here, no model: the voice (loudness, pitch and speaking rate
against the caller's own first turns: people who get angry get louder, higher and faster)
and the words (a small lexicon of complaint and anger). The rate is syllables (counted in
the transcript) per second of voiced audio, so pauses do not slow it; it is a weak cue on
its own (a caller in a hurry talks fast too) and only adds to the voice part. Each turn's
estimate is in [0, 1]; the call's level is an exponential moving average, so one loud
turn does not hand the call over but a rising trend does. What it cannot do: tell anger
from excitement or hurry, or a naturally loud, fast caller from an angry one before it has
a baseline; sarcasm and polite, quiet frustration pass unnoticed. It is a nudge towards a
person, never a verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

RATE = 16000
_FRAME = 640  # 40 ms
BASELINE_TURNS = 2
# The speaking rate: judged on turns of at least this much, full marks at this much faster
# than the caller's own first turns, and at most this share of the voice part.
MIN_RATE_SYLLABLES = 4
MIN_RATE_SPEECH_S = 0.6
FASTER_FULL = 0.4  # 40 % more syllables per second
RATE_WEIGHT = 0.3

_ANGRY_WORDS = re.compile(
    r"\b(ridiculous|useless|stupid|idiot\w*|angry|furious|frustrat\w*|unacceptable|"
    r"terrible|awful|worst|pathetic|waste\w*|hate|damn\w*|hell|crap|seriously|"
    r"(?:already|just) told you|again and again|not listening|listen to me|"
    r"speak to (?:a|your) (?:manager|supervisor|human|person)|sick of|fed up|complain\w*)\b",
    re.IGNORECASE,
)
_SPOKEN = re.compile(r"[a-z']+|\d", re.IGNORECASE)  # a digit is read as about one syllable
_VOWELS = re.compile(r"[aeiouy]+")


@dataclass(frozen=True)
class VoiceFeatures:
    energy_db: float  # mean loudness of the voiced frames
    pitch_hz: float  # median pitch of the voiced frames (0 = none found)
    speech_s: float = 0.0  # how long the voiced frames last (pauses left out)


def voice_features(audio: np.ndarray) -> VoiceFeatures | None:
    """Loudness, pitch and voiced length of a 16 kHz turn (None: too little voice)."""
    frames = len(audio) // _FRAME
    if frames < 5:
        return None
    x = audio[: frames * _FRAME].astype(np.float64).reshape(frames, _FRAME)
    rms = np.sqrt(np.mean(x**2, axis=1)) + 1e-9
    db = 20 * np.log10(rms)
    loud = db > db.max() - 25
    voiced = x[loud]
    pitches = [p for p in (_pitch(frame) for frame in voiced[:: max(1, len(voiced) // 40)]) if p]
    return VoiceFeatures(
        energy_db=float(np.mean(db[loud])),
        pitch_hz=float(np.median(pitches)) if pitches else 0.0,
        speech_s=len(voiced) * _FRAME / RATE,
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


def syllables(text: str) -> int:
    """A rough count of the syllables in English text: vowel groups per word, a silent
    final "e" left out ("balance" 2, "people" 2), each digit one."""
    count = 0
    for word in _SPOKEN.findall(text.lower()):
        groups = len(_VOWELS.findall(word))
        if groups > 1 and word.endswith("e") and not word.endswith(("le", "ee")):
            groups -= 1
        count += max(1, groups)
    return count


def speaking_rate(text: str, features: VoiceFeatures | None) -> float | None:
    """Syllables per second of voiced audio; None when the turn is too short to tell."""
    if features is None or features.speech_s < MIN_RATE_SPEECH_S:
        return None
    count = syllables(text)
    return count / features.speech_s if count >= MIN_RATE_SYLLABLES else None


def words_score(text: str) -> float:
    return min(1.0, 0.45 * len(_ANGRY_WORDS.findall(text)))


@dataclass(frozen=True)
class _Before:
    """What one turn changed, to undo it when the turn is taken back."""

    seq: int | None
    level: float
    baseline: int
    rates: int


@dataclass
class MoodTracker:
    """Per call. ``smoothing``: weight of the newest turn in the moving average."""

    smoothing: float = 0.5
    level: float = 0.0
    turns: list[float] = field(default_factory=list)
    _baseline: list[VoiceFeatures] = field(default_factory=list)
    _rates: list[float] = field(default_factory=list)  # the first turns' speaking rates
    _undo: list[_Before] = field(default_factory=list)

    def voice_score(self, features: VoiceFeatures | None, rate: float | None = None) -> float:
        if features is None:
            return 0.0
        faster = self._faster(rate)
        if len(self._baseline) < BASELINE_TURNS:
            self._baseline.append(features)
            return 0.0
        energy = np.median([b.energy_db for b in self._baseline])
        louder = max(0.0, features.energy_db - float(energy)) / 8.0  # +8 dB: shouting
        pitches = [b.pitch_hz for b in self._baseline if b.pitch_hz]
        higher = 0.0
        if pitches and features.pitch_hz:
            higher = max(0.0, features.pitch_hz / float(np.median(pitches)) - 1.0) / 0.3
        score = 0.6 * min(1.0, louder) + 0.4 * min(1.0, higher) + RATE_WEIGHT * faster
        return float(min(1.0, score))

    def _faster(self, rate: float | None) -> float:
        """How much faster than the caller's own first turns, in [0, 1] (0 while learning)."""
        if rate is None:
            return 0.0
        if len(self._rates) < BASELINE_TURNS:
            self._rates.append(rate)
            return 0.0
        usual = float(np.median(self._rates))
        return min(1.0, max(0.0, rate / usual - 1.0) / FASTER_FULL)

    def turn(self, audio: np.ndarray | None, text: str, seq: int | None = None) -> float:
        """One caller turn: its estimate (also added to the call's smoothed level)."""
        self._undo.append(_Before(seq, self.level, len(self._baseline), len(self._rates)))
        features = voice_features(audio) if audio is not None else None
        voice = self.voice_score(features, speaking_rate(text, features))
        words = words_score(text)
        estimate = max(words, 0.5 * voice + 0.5 * words, voice * 0.8)
        self.turns.append(round(estimate, 3))
        self.level = (1 - self.smoothing) * self.level + self.smoothing * estimate
        return estimate

    def take_back(self, seq: int | None = None) -> bool:
        """The last turn was a speculation the caller talked over: forget it, baseline
        included. With ``seq``, only if the last reading was of that turn (a turn that
        was never read, e.g. keypad, takes nothing back). True = a reading was undone."""
        if not self._undo or (seq is not None and self._undo[-1].seq != seq):
            return False
        before = self._undo.pop()
        self.level = before.level
        self.turns.pop()
        del self._baseline[before.baseline :]
        del self._rates[before.rates :]
        return True
