"""Twilio Media Streams wire format: pure JSON <-> typed events, no I/O.

Inbound (Twilio -> us): ``connected``, ``start``, ``media``, ``dtmf``, ``mark``, ``stop``.
Outbound (us -> Twilio): ``media``, ``mark``, ``clear`` with exactly the documented
fields, because Twilio answers extra or missing fields with error 31951 and binary
frames with 31950 (https://www.twilio.com/docs/voice/media-streams/websocket-messages).

Every malformed input raises :class:`ProtocolError` with a machine-readable ``reason``
so the edge can count it (``malformed_frames_total{reason}``) and skip the frame.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Twilio's inbound media frames are ~300 bytes of JSON; 64 KiB is far above anything
# legitimate and bounds what one frame can cost us to parse.
MAX_MESSAGE_BYTES = 64 * 1024
DTMF_DIGITS = frozenset("0123456789*#ABCD")


class ProtocolErrorReason(enum.StrEnum):
    malformed_json = "malformed_json"
    not_an_object = "not_an_object"
    unknown_event = "unknown_event"
    missing_field = "missing_field"
    bad_field = "bad_field"
    bad_base64 = "bad_base64"
    oversize = "oversize"
    binary_frame = "binary_frame"
    # Raised by the edge, not the codec: valid frames at the wrong time or for another stream.
    before_start = "before_start"
    wrong_stream = "wrong_stream"
    duplicate_start = "duplicate_start"


class ProtocolError(ValueError):
    """A frame we cannot use; ``reason`` is a stable label, ``detail`` is for the log."""

    def __init__(self, reason: ProtocolErrorReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


# --- inbound events ---------------------------------------------------------------------


@dataclass(frozen=True)
class MediaFormat:
    encoding: str = "audio/x-mulaw"
    sample_rate: int = 8000
    channels: int = 1


@dataclass(frozen=True)
class Connected:
    protocol: str
    version: str


@dataclass(frozen=True)
class Start:
    stream_sid: str
    call_sid: str
    account_sid: str
    tracks: tuple[str, ...]
    custom_parameters: Mapping[str, str] = field(hash=False)
    media_format: MediaFormat
    sequence_number: int | None = None


@dataclass(frozen=True)
class Media:
    stream_sid: str
    track: str
    chunk: int
    timestamp_ms: int
    payload: bytes
    sequence_number: int | None = None


@dataclass(frozen=True)
class Dtmf:
    stream_sid: str
    digit: str
    track: str = "inbound_track"
    sequence_number: int | None = None


@dataclass(frozen=True)
class Mark:
    stream_sid: str
    name: str
    sequence_number: int | None = None


@dataclass(frozen=True)
class Stop:
    stream_sid: str
    call_sid: str
    account_sid: str
    sequence_number: int | None = None


InboundEvent = Connected | Start | Media | Dtmf | Mark | Stop


def _obj(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        raise ProtocolError(ProtocolErrorReason.missing_field, f"missing {key!r}")
    if not isinstance(value, dict):
        raise ProtocolError(ProtocolErrorReason.bad_field, f"{key!r} must be an object")
    return value


def _str(parent: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = parent.get(key)
    if value is None:
        if default is not None:
            return default
        raise ProtocolError(ProtocolErrorReason.missing_field, f"missing {key!r}")
    if not isinstance(value, str):
        raise ProtocolError(ProtocolErrorReason.bad_field, f"{key!r} must be a string")
    return value


def _int(parent: Mapping[str, Any], key: str, *, required: bool = True) -> int | None:
    """Twilio sends counters as decimal strings ("chunk": "1"); accept ints too."""
    value = parent.get(key)
    if value is None:
        if required:
            raise ProtocolError(ProtocolErrorReason.missing_field, f"missing {key!r}")
        return None
    if isinstance(value, bool):
        raise ProtocolError(ProtocolErrorReason.bad_field, f"{key!r} must be an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        number = int(value)
    else:
        raise ProtocolError(ProtocolErrorReason.bad_field, f"{key!r} must be an integer")
    if number < 0:
        raise ProtocolError(ProtocolErrorReason.bad_field, f"{key!r} must not be negative")
    return number


def _payload(media: Mapping[str, Any]) -> bytes:
    text = _str(media, "payload")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ProtocolError(ProtocolErrorReason.bad_base64, str(error)) from None


def _parse_start(msg: Mapping[str, Any], seq: int | None) -> Start:
    start = _obj(msg, "start")
    params = start.get("customParameters") or {}
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in params.items()
    ):
        raise ProtocolError(ProtocolErrorReason.bad_field, "customParameters must map str->str")
    tracks = start.get("tracks", ["inbound"])
    if not isinstance(tracks, list) or not all(isinstance(t, str) for t in tracks):
        raise ProtocolError(ProtocolErrorReason.bad_field, "tracks must be a list of strings")
    fmt = _obj(start, "mediaFormat")
    media_format = MediaFormat(
        encoding=_str(fmt, "encoding"),
        sample_rate=_int(fmt, "sampleRate") or 0,
        channels=_int(fmt, "channels") or 0,
    )
    return Start(
        stream_sid=_str(start if "streamSid" in start else msg, "streamSid"),
        call_sid=_str(start, "callSid"),
        account_sid=_str(start, "accountSid"),
        tracks=tuple(tracks),
        custom_parameters=dict(params),
        media_format=media_format,
        sequence_number=seq,
    )


def parse_inbound(raw: str | bytes) -> InboundEvent:
    """One Twilio text frame -> a typed event, or :class:`ProtocolError`."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError(ProtocolErrorReason.oversize, f"{len(raw)} bytes")
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, bad UTF-8, deep nesting
        raise ProtocolError(ProtocolErrorReason.malformed_json, str(error)[:200]) from None
    if not isinstance(msg, dict):
        raise ProtocolError(ProtocolErrorReason.not_an_object, type(msg).__name__)
    event = msg.get("event")
    seq = _int(msg, "sequenceNumber", required=False)
    if event == "connected":
        return Connected(protocol=_str(msg, "protocol", ""), version=_str(msg, "version", ""))
    if event == "start":
        return _parse_start(msg, seq)
    stream_sid = _str(msg, "streamSid")
    if event == "media":
        media = _obj(msg, "media")
        return Media(
            stream_sid=stream_sid,
            track=_str(media, "track"),
            chunk=_int(media, "chunk") or 0,
            timestamp_ms=_int(media, "timestamp") or 0,
            payload=_payload(media),
            sequence_number=seq,
        )
    if event == "dtmf":
        dtmf = _obj(msg, "dtmf")
        digit = _str(dtmf, "digit")
        if digit not in DTMF_DIGITS:
            raise ProtocolError(ProtocolErrorReason.bad_field, f"not a DTMF digit: {digit!r}")
        return Dtmf(stream_sid, digit, _str(dtmf, "track", "inbound_track"), seq)
    if event == "mark":
        return Mark(stream_sid, _str(_obj(msg, "mark"), "name"), seq)
    if event == "stop":
        stop = _obj(msg, "stop")
        return Stop(stream_sid, _str(stop, "callSid", ""), _str(stop, "accountSid", ""), seq)
    raise ProtocolError(ProtocolErrorReason.unknown_event, f"event={str(event)[:40]!r}")


# --- outbound commands ------------------------------------------------------------------


@dataclass(frozen=True)
class SendMedia:
    stream_sid: str
    payload: bytes  # raw 8 kHz μ-law, no header


@dataclass(frozen=True)
class SendMark:
    stream_sid: str
    name: str


@dataclass(frozen=True)
class Clear:
    stream_sid: str


OutboundCommand = SendMedia | SendMark | Clear


def outbound_message(command: OutboundCommand) -> dict[str, Any]:
    """The documented message as a dict: exactly these fields, nothing else (31951)."""
    if isinstance(command, SendMedia):
        payload = base64.b64encode(command.payload).decode("ascii")
        return {"event": "media", "streamSid": command.stream_sid, "media": {"payload": payload}}
    if isinstance(command, SendMark):
        return {"event": "mark", "streamSid": command.stream_sid, "mark": {"name": command.name}}
    return {"event": "clear", "streamSid": command.stream_sid}


def encode_outbound(command: OutboundCommand) -> str:
    """A text frame for Twilio (never binary: 31950)."""
    return json.dumps(outbound_message(command), separators=(",", ":"))
