"""The wire format of the speech services (each engine package holds its own half)."""

from __future__ import annotations

from callcenter.asr.wire import (
    AUDIO_FORMATS,
    FORMAT_HEADER,
    HINT_HEADER,
    HINTS,
    INFO_PATH,
    MAX_BODY_BYTES,
    MAX_UTTERANCE_S,
    TRANSCRIBE_PATH,
    AudioFormat,
    check_hint,
    decode_audio,
    encode_audio,
    transcript_from_json,
    transcript_to_json,
)
from callcenter.service_errors import WireError, bearer_headers
from callcenter.tts.wire import (
    MAX_TEXT_CHARS,
    STREAM_PATH,
    TTS_ENCODING,
    decode_chunk,
    parse_tts_event,
    parse_tts_request,
    tts_event,
    tts_request,
)

__all__ = [
    "AUDIO_FORMATS",
    "FORMAT_HEADER",
    "HINTS",
    "HINT_HEADER",
    "INFO_PATH",
    "MAX_BODY_BYTES",
    "MAX_TEXT_CHARS",
    "MAX_UTTERANCE_S",
    "STREAM_PATH",
    "TRANSCRIBE_PATH",
    "TTS_ENCODING",
    "AudioFormat",
    "WireError",
    "bearer_headers",
    "check_hint",
    "decode_audio",
    "decode_chunk",
    "encode_audio",
    "parse_tts_event",
    "parse_tts_request",
    "transcript_from_json",
    "transcript_to_json",
    "tts_event",
    "tts_request",
]
