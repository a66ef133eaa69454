"""Our voicemail-beep detector on synthetic beeps, real speech and DTMF."""

from __future__ import annotations

import numpy as np

from callcenter.asr.bench import phone_frames
from callcenter.audio.beep import FRAME, RATE, BeepDetector, long_greeting
from tests.support.paths import SPEECH


def tone(hz: float | tuple[float, float], ms: int, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(RATE * ms // 1000) / RATE
    freqs = hz if isinstance(hz, tuple) else (hz,)
    return (amplitude * sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)).astype(
        np.float32
    )


def beeps(audio: np.ndarray) -> list[int]:
    """Stream ms at which a beep was reported (its end)."""
    detector = BeepDetector()
    return [
        i * 20
        for i in range(len(audio) // FRAME)
        if detector.push(audio[i * FRAME : (i + 1) * FRAME])
    ]


def test_a_beep_after_a_greeting_is_found_where_it_ends() -> None:
    greeting = phone_frames(SPEECH / "osr_8k" / "OSR_us_000_0034_8k.wav")[: RATE * 4]
    audio = np.concatenate([greeting, tone(1000, 500), np.zeros(RATE // 2, np.float32)])
    found = beeps(audio)
    assert len(found) == 1 and 4480 <= found[0] <= 4560, found


def test_speech_and_dtmf_are_not_beeps() -> None:
    speech = phone_frames(SPEECH / "osr_8k" / "OSR_us_000_0034_8k.wav")
    assert beeps(speech) == []
    dtmf = np.concatenate([tone((697, 1209), 300), np.zeros(RATE // 5, np.float32)])
    assert beeps(dtmf) == []
    assert beeps(np.concatenate([tone(1000, 100), np.zeros(RATE // 5, np.float32)])) == []


def test_a_long_greeting_is_a_machine() -> None:
    assert long_greeting(5200.0) and not long_greeting(900.0)
