"""Our own answering-machine cues, for trunks without Twilio's detection.

* :class:`BeepDetector`: the voicemail beep is one steady tone (usually 400-2500 Hz) for
  a few hundred milliseconds; speech never holds one frequency that long and DTMF is two
  tones at once. Fed 8 kHz frames, it says when such a tone ended (leave the message now).
* :func:`long_greeting`: people answer with a second or two ("Hello?"); a machine talks
  for several seconds without a pause for us.
"""

from __future__ import annotations

import numpy as np

RATE = 8000
FRAME = 160  # 20 ms
_BAND = (400.0, 2500.0)
_WINDOW = np.hanning(FRAME * 2)


class BeepDetector:
    """Feed 20 ms frames of 8 kHz float audio; :meth:`push` returns True once, when a beep
    (one pure tone held ``min_ms``) has just ended."""

    def __init__(self, min_ms: int = 200, purity: float = 0.7, level: float = 0.01) -> None:
        self.min_frames = max(1, min_ms // 20)
        self.purity, self.level = purity, level
        self._previous = np.zeros(FRAME, dtype=np.float32)
        self._run, self._freq = 0, 0.0

    def _tone(self, frame: np.ndarray) -> float:
        """The frame's frequency if it is one pure tone in the band, else 0."""
        x = np.concatenate([self._previous, frame]) * _WINDOW  # 40 ms: 25 Hz bins
        if np.sqrt(np.mean(x**2)) < self.level:
            return 0.0
        power = np.abs(np.fft.rfft(x)) ** 2
        freqs = np.fft.rfftfreq(len(x), 1.0 / RATE)
        peak = int(np.argmax(power))
        around = power[max(0, peak - 2) : peak + 3].sum()
        if not _BAND[0] <= freqs[peak] <= _BAND[1] or around < self.purity * power.sum():
            return 0.0
        return float(freqs[peak])

    def push(self, frame: np.ndarray) -> bool:
        frequency = self._tone(frame)
        self._previous = frame.astype(np.float32)
        if frequency and (self._run == 0 or abs(frequency - self._freq) <= 50.0):
            self._run, self._freq = self._run + 1, frequency
            return False
        ended = self._run >= self.min_frames
        self._run, self._freq = (1, frequency) if frequency else (0, 0.0)
        return ended


def long_greeting(first_speech_ms: float, threshold_ms: float = 3500.0) -> bool:
    """The callee's first stretch of speech is a machine's greeting, not a person."""
    return first_speech_ms >= threshold_ms
