"""Digits asked for on a multilingual deployment: the number-only and the free decode are
both read in the call's language (through the gloss), and the free decode's number wins
outside English (the number-only vocabulary is English: it spelled Spanish "uno cero
cero uno" as "1, 2, 3, 4"); a free decode that reads as words loses to a far surer
number-only one."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import numpy as np
import pytest

from callcenter.asr.base import HINT_DIGITS
from callcenter.asr.faster_whisper import Request, WhisperEngine, _choose_digits
from callcenter.audio.g711 import ulaw_to_float
from callcenter.audio.resample import resample
from callcenter.simulator.script import Say, render
from callcenter.text.gloss import gloss
from callcenter.text.spoken_numbers import parse_digits


@pytest.mark.parametrize(
    ("digits", "free", "language", "expected"),
    [
        # Spanish words now count as a number: the free decode is read through the gloss.
        (("1, 2, 3, 4,", -0.5), ("Uno, cero, cero, uno.", -0.6), "es", "Uno, cero, cero, uno."),
        # The free decode is no number ("morzuno"): the number-only beam is kept.
        (("4, 3, 2, 1", -0.55), ("cuatro, tres, morzuno.", -0.59), "es", "4, 3, 2, 1"),
        (("1 0 0 1", -0.4), ("Eins, null, null, ein.", -0.5), "de", "Eins, null, null, ein."),
        # English as before: both numbers, the number-only beam is more accurate.
        (("1 0 0 1", -0.4), ("One zero, one.", -0.5), "en", "1 0 0 1"),
        # A free decode that reads as words, but far less sure than the number-only beam
        # (Whisper base on espeak-ng "one zero zero one"): the number wins ...
        (
            ("One, zero, zero, one", -0.69),
            ("One year or nearly a one", -1.2),
            "en",
            "One, zero, zero, one",
        ),
        # ... and a caller who framed the number in words keeps them.
        (
            ("1.", -2.0),
            ("My account number is 1, near or near or 1.", -0.46),
            "en",
            "My account number is 1, near or near or 1.",
        ),
        # Words, not digits, in any language.
        (
            ("2", -1.9),
            ("Eher, drei, zwei, und das war es.", -1.6),
            "de",
            "Eher, drei, zwei, und das war es.",
        ),
    ],
)
def test_digits_are_read_in_the_calls_language(
    digits: tuple[str, float], free: tuple[str, float], language: str, expected: str
) -> None:
    assert _choose_digits(digits, free, language)[0] == expected


@pytest.fixture(scope="module")
def base() -> WhisperEngine:
    return WhisperEngine("base", languages=("en", "es", "de"), min_window_s=10.0)


def spoken(text: str, voice: str, tmp_path: Path) -> np.ndarray:
    wav = tmp_path / "said.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(wav), text], check=True)
    ulaw = asyncio.run(render(Say(wav=str(wav)), None))
    return resample(ulaw_to_float(ulaw), 8000, 16000).astype(np.float32)


@pytest.mark.parametrize(
    ("text", "voice", "language", "number"),
    [
        ("cuatro tres dos uno", "es", "es", "4321"),
        ("uno cero cero uno", "es-419", "es", "1001"),
        ("eins null null eins", "de", "de", "1001"),
    ],
)
def test_a_spoken_number_in_spanish_or_german_is_heard(
    base: WhisperEngine, tmp_path: Path, text: str, voice: str, language: str, number: str
) -> None:
    heard = base.transcribe_batch([Request(spoken(text, voice, tmp_path), HINT_DIGITS, language)])
    assert parse_digits(gloss(heard[0].text, language)) == number, heard[0].text
