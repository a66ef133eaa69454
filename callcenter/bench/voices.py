"""Caller voices that are not the agent's: espeak-ng variants, and real people for digits.

The agent speaks with Piper; a simulated caller with the same voice would flatter the
speech recogniser. espeak-ng (Debian package ``espeak-ng``) is a formant synthesiser with
many accents; FSDD (tests/data/speech/fsdd_8k) holds real recordings of single digits,
so a caller "with a human voice for digits" says account numbers and PINs as a person
would. Renders are cached on disk, keyed by voice and text.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from callcenter.simulator.script import trim_silence, wav_to_ulaw

DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
GAP_ULAW = b"\xff" * 8 * 180  # 180 ms between digits said one by one


class VoiceUnavailable(RuntimeError):
    """espeak-ng is not installed, or a recording the voice needs is missing."""


@dataclass(frozen=True)
class CallerVoice:
    name: str
    espeak: str  # espeak-ng voice, e.g. "en-us", "en-gb-x-rp", "en-us+f3"
    words_per_minute: int = 160
    # A FSDD speaker ("george", "jackson", ...): lines that are only digits are spoken
    # with that person's recordings instead of espeak-ng.
    fsdd_speaker: str | None = None


VOICES: dict[str, CallerVoice] = {
    voice.name: voice
    for voice in (
        CallerVoice("us", "en-us"),
        CallerVoice("rp", "en-gb-x-rp"),
        CallerVoice("us-f3", "en-us+f3", words_per_minute=150),
        CallerVoice("us-human-digits", "en-us", fsdd_speaker="jackson"),
        CallerVoice("rp-human-digits", "en-gb-x-rp", fsdd_speaker="george"),
    )
}
DEFAULT_VOICES = ("us", "rp-human-digits")


def parse_voices(spec: str) -> list[CallerVoice]:
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in VOICES]
    if unknown or not names:
        raise ValueError(f"unknown voice(s) {unknown or spec!r}; choose from {', '.join(VOICES)}")
    return [VOICES[name] for name in names]


def only_digits(text: str) -> str | None:
    """ "one zero zero one." -> "1001"; None when the line is not just digits."""
    tokens = re.findall(r"[a-z]+|\d", text.lower())
    if not tokens or any(token not in DIGIT_WORDS and not token.isdigit() for token in tokens):
        return None
    return "".join(DIGIT_WORDS.get(token, token) for token in tokens)


class VoiceRenderer:
    """Text -> 8 kHz μ-law for one caller voice, cached under ``cache_dir``."""

    def __init__(self, voice: CallerVoice, cache_dir: Path, fsdd_dir: Path | None = None) -> None:
        self.voice = voice
        self.cache_dir = cache_dir / voice.name
        self.fsdd_dir = fsdd_dir
        if shutil.which("espeak-ng") is None:
            raise VoiceUnavailable("espeak-ng is not installed (Debian: apt-get install espeak-ng)")

    def render(self, text: str, repeats: int = 0) -> bytes:
        """``repeats``: how many times in a row this line was already said; each repeat
        is slower (a caller who was not understood speaks more carefully)."""
        rate = max(100, self.voice.words_per_minute - 25 * repeats)
        key = hashlib.sha1(f"{self.voice}|{rate}|{text}".encode()).hexdigest()[:20]
        cached = self.cache_dir / f"{key}.ulaw"
        if cached.exists():
            return cached.read_bytes()
        digits = only_digits(text) if self.voice.fsdd_speaker else None
        # A person's digits do not slow down on request: repeats fall back to espeak-ng.
        audio = self._fsdd(digits) if digits and not repeats else self._espeak(text, rate)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(audio)
        return audio

    def _espeak(self, text: str, rate: int) -> bytes:
        with tempfile.TemporaryDirectory(prefix="caller-voice-") as folder:
            wav = Path(folder) / "line.wav"
            command = ["espeak-ng", "-v", self.voice.espeak, "-s", str(rate)]
            subprocess.run([*command, "-w", str(wav), text], check=True, capture_output=True)
            return trim_silence(wav_to_ulaw(wav))

    def _fsdd(self, digits: str) -> bytes:
        if self.fsdd_dir is None:
            raise VoiceUnavailable(f"voice {self.voice.name} needs the FSDD recordings")
        parts = []
        for index, digit in enumerate(digits):
            # Take a different recording of a repeated digit, as a person never says
            # "zero zero" twice the same way.
            take = (index + int(digit)) % 5
            path = self.fsdd_dir / f"{digit}_{self.voice.fsdd_speaker}_{take}.wav"
            if not path.exists():
                raise VoiceUnavailable(f"missing recording {path}")
            parts.append(trim_silence(wav_to_ulaw(path)))
        return GAP_ULAW.join(parts)
