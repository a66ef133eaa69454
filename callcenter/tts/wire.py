"""The TTS service's wire format: pure encoding, no I/O.

WebSocket ``/v1/stream``, one connection per clause: the client sends ``{"text": ...}``
and, to hear another language than the engine's own, ``"language": "es"``; the server
answers ``{"type": "start", "sample_rate", "encoding"}``, then one binary
message per audio chunk (float32 LE samples), then ``{"type": "end"}``, or
``{"type": "error", "message"}``. The client closing the socket stops synthesis. A new
socket per clause costs one loopback-cheap handshake and makes "stop" a close, with no
cancel message to race against audio already in flight.

``/v1/info`` gives the engine's ``sample_rate``, its own ``language`` and whether it is
``multilingual`` (speaks any language asked for: XTTS).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import numpy as np

from callcenter.service_auth import bearer_headers as bearer_headers
from callcenter.service_errors import WireError

STREAM_PATH = "/v1/stream"
INFO_PATH = "/v1/info"
TTS_ENCODING = "f32le"
MAX_TEXT_CHARS = 4000
# An ISO 639 code: "es", "de", "yue".
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")


def tts_request(text: str, language: str = "") -> str:
    return json.dumps({"text": text, "language": language} if language else {"text": text})


def parse_tts_request(message: str) -> tuple[str, str]:
    """The text and language ("" for the engine's own) of a client's first message
    ``{"text": ..., "language": ...}``."""
    try:
        data = json.loads(message)
    except json.JSONDecodeError as error:
        raise WireError(f"expected a JSON object, got {message!r:.100}") from error
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str):
        raise WireError('expected {"text": "<clause to speak>"}')
    if len(text) > MAX_TEXT_CHARS:
        raise WireError(f"text is {len(text)} characters; at most {MAX_TEXT_CHARS} per stream")
    language = data.get("language", "")
    if not isinstance(language, str) or (language and not LANGUAGE_CODE.fullmatch(language)):
        raise WireError(
            f"language must be an ISO code of 2 or 3 lower-case letters (like es), "
            f"got {language!r:.40}"
        )
    return text, language


def tts_event(kind: Literal["start", "end", "error"], **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


def parse_tts_event(message: str) -> dict[str, Any]:
    try:
        data = json.loads(message)
    except json.JSONDecodeError as error:
        raise WireError(f"expected a JSON event, got {message!r:.100}") from error
    if not isinstance(data, dict) or data.get("type") not in {"start", "end", "error"}:
        raise WireError(f"unknown TTS event {message!r:.100}")
    return data


def encode_chunk(samples: np.ndarray) -> bytes:
    """One binary stream message: float32 little-endian samples (``TTS_ENCODING``)."""
    return np.asarray(samples, dtype=np.float32).reshape(-1).astype("<f4").tobytes()


def decode_chunk(payload: bytes) -> np.ndarray:
    if len(payload) % 4:
        raise WireError(f"audio chunk of {len(payload)} bytes is not whole float32 samples")
    return np.frombuffer(payload, dtype="<f4").astype(np.float32)
