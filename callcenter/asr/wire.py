"""The ASR service's wire format: pure encoding, no I/O.

``POST /v1/transcribe``: the body is one utterance of raw mono 16 kHz samples,
little-endian, ``float32`` (``X-Audio-Format: f32le``, the default: bit-exact, so a
remote transcript equals the in-process one) or ``int16`` (``s16le``: half the bytes).
``X-ASR-Hint: digits`` selects the digits decoder. ``X-ASR-Language: es`` is the call's
language so far (sent once the caller's words have settled it): a prior for the
multilingual model, and what picks a language's own model on a service that has one
(``CALLCENTER_LANGUAGE_ASR_MODELS``). The answer is a JSON Transcript.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any, Literal

import numpy as np

from callcenter.asr.base import ASR_RATE, HINT_DATE, HINT_DIGITS, HINT_YES_NO, Transcript
from callcenter.service_auth import bearer_headers as bearer_headers
from callcenter.service_errors import WireError

TRANSCRIBE_PATH = "/v1/transcribe"
INFO_PATH = "/v1/info"
FORMAT_HEADER = "x-audio-format"
HINT_HEADER = "x-asr-hint"
LANGUAGE_HEADER = "x-asr-language"
# An ISO 639 code as the settings spell them ("en", "es", "de"; three letters allowed).
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
AudioFormat = Literal["f32le", "s16le"]
AUDIO_FORMATS: dict[str, str] = {"f32le": "<f4", "s16le": "<i2"}
HINTS = frozenset({HINT_DIGITS, HINT_DATE, HINT_YES_NO})
# Longest utterance the ASR service accepts; endpointing cuts turns far shorter.
MAX_UTTERANCE_S = 120
MAX_BODY_BYTES = MAX_UTTERANCE_S * ASR_RATE * 4


def encode_audio(samples: np.ndarray, audio_format: AudioFormat = "f32le") -> bytes:
    audio = np.asarray(samples, dtype=np.float32).reshape(-1)
    if audio_format == "s16le":
        return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
    return audio.astype("<f4").tobytes()


def decode_audio(body: bytes, audio_format: str) -> np.ndarray:
    dtype = AUDIO_FORMATS.get(audio_format)
    if dtype is None:
        raise WireError(
            f"{FORMAT_HEADER} must be one of {sorted(AUDIO_FORMATS)}, got {audio_format!r}"
        )
    width = np.dtype(dtype).itemsize
    if len(body) % width:
        raise WireError(f"{audio_format} body of {len(body)} bytes is not whole samples")
    samples = np.frombuffer(body, dtype=dtype)
    if audio_format == "s16le":
        return (samples.astype(np.float32) / 32768.0).astype(np.float32)
    return samples.astype(np.float32)


def check_hint(hint: str | None) -> str | None:
    if hint in (None, ""):
        return None
    if hint not in HINTS:
        raise WireError(f"{HINT_HEADER} must be one of {sorted(HINTS)}, got {hint!r}")
    return hint


def check_language(language: str | None) -> str | None:
    """The call's language from ``X-ASR-Language`` (None: not sent, first words)."""
    if not language:
        return None
    if not _LANGUAGE_CODE.fullmatch(language):
        raise WireError(
            f"{LANGUAGE_HEADER} must be a 2-3 letter lower-case language code like 'es', "
            f"got {language!r}"
        )
    return language


def transcript_to_json(transcript: Transcript) -> dict[str, Any]:
    return asdict(transcript)


def transcript_from_json(data: Any) -> Transcript:
    try:
        return Transcript(
            text=str(data["text"]),
            confidence=float(data["confidence"]),
            language=str(data.get("language", "en")),
            language_probability=float(data.get("language_probability", 1.0)),
            audio_s=float(data.get("audio_s", 0.0)),
            decode_s=float(data.get("decode_s", 0.0)),
            batch_size=int(data.get("batch_size", 1)),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise WireError(f"not a transcript: {data!r:.200}") from error
