"""Speech clips the turn-taking benchmarks share: real recordings and espeak-ng voices,
cut to their speech, and fed as Twilio's 20 ms μ-law frames."""

from __future__ import annotations

import io
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callcenter.audio.g711 import PHONE_RATE, float_to_ulaw
from callcenter.audio.resample import resample

FRAME = PHONE_RATE // 50
ESPEAK_VOICES = ("en-us", "en-gb+f3", "en-us+m3")


@dataclass(frozen=True)
class Utterance:
    name: str
    audio: np.ndarray  # 8 kHz float32, speech only (trimmed)


def espeak(text: str, voice: str) -> np.ndarray:
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "160", "--stdout", text], capture_output=True, check=True
    ).stdout
    with wave.open(io.BytesIO(out)) as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return resample(pcm.astype(np.float32) / 32768.0, rate, PHONE_RATE).astype(np.float32)


def trim(audio: np.ndarray, level: float = 0.02) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > level)
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


def osr_sentences(speech_data: Path) -> list[Utterance]:
    from callcenter.asr.bench import phone_frames
    from callcenter.audio.vad import Endpointer, EndpointingPolicy, SpeechEnded

    audio = phone_frames(speech_data / "osr_8k" / "OSR_us_000_0034_8k.wav")
    endpointer = Endpointer(EndpointingPolicy(min_silence_ms=450, speech_pad_ms=0))
    ends = [e for e in endpointer.push(audio) if isinstance(e, SpeechEnded)]
    out = []
    for index, end in enumerate(ends):
        speech = resample(end.audio, 16000, PHONE_RATE).astype(np.float32)
        out.append(Utterance(f"osr-{index + 1}", trim(speech)))
    return out


def frames(audio: np.ndarray) -> list[bytes]:
    ulaw = float_to_ulaw(audio)
    return [ulaw[i : i + FRAME] for i in range(0, len(ulaw) - FRAME + 1, FRAME)]
