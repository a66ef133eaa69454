"""Twilio's side of the Media Streams wire: encode what Twilio sends, check what it gets.

:func:`parse_outbound` is as strict as Twilio: a frame with extra or missing fields is
error 31951, a binary frame 31950 (https://www.twilio.com/docs/api/errors/31951).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from callcenter.telephony.media_protocol import Clear, OutboundCommand, SendMark, SendMedia

BINARY_FRAME = 31950
BAD_MESSAGE = 31951

_FIELDS: dict[str, tuple[set[str], str | None, set[str]]] = {
    # event: (top-level keys, nested object key, nested keys)
    "media": ({"event", "streamSid", "media"}, "media", {"payload"}),
    "mark": ({"event", "streamSid", "mark"}, "mark", {"name"}),
    "clear": ({"event", "streamSid"}, None, set()),
}


class TwilioStreamError(ValueError):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"Twilio error {code}: {detail}")
        self.code = code
        self.detail = detail


def _dump(message: Mapping[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def connected() -> str:
    return _dump({"event": "connected", "protocol": "Call", "version": "1.0.0"})


def start(
    stream_sid: str, call_sid: str, account_sid: str, parameters: Mapping[str, str], seq: int
) -> str:
    return _dump(
        {
            "event": "start",
            "sequenceNumber": str(seq),
            "start": {
                "accountSid": account_sid,
                "streamSid": stream_sid,
                "callSid": call_sid,
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": dict(parameters),
            },
            "streamSid": stream_sid,
        }
    )


def media(stream_sid: str, seq: int, chunk: int, timestamp_ms: int, payload: bytes) -> str:
    return _dump(
        {
            "event": "media",
            "sequenceNumber": str(seq),
            "media": {
                "track": "inbound",
                "chunk": str(chunk),
                "timestamp": str(timestamp_ms),
                "payload": base64.b64encode(payload).decode("ascii"),
            },
            "streamSid": stream_sid,
        }
    )


def dtmf(stream_sid: str, seq: int, digit: str) -> str:
    return _dump(
        {
            "event": "dtmf",
            "streamSid": stream_sid,
            "sequenceNumber": str(seq),
            "dtmf": {"track": "inbound_track", "digit": digit},
        }
    )


def mark(stream_sid: str, seq: int, name: str) -> str:
    return _dump(
        {
            "event": "mark",
            "sequenceNumber": str(seq),
            "streamSid": stream_sid,
            "mark": {"name": name},
        }
    )


def stop(stream_sid: str, seq: int, call_sid: str, account_sid: str) -> str:
    return _dump(
        {
            "event": "stop",
            "sequenceNumber": str(seq),
            "stop": {"accountSid": account_sid, "callSid": call_sid},
            "streamSid": stream_sid,
        }
    )


def parse_outbound(raw: str | bytes) -> OutboundCommand:
    """What the app sent, checked field by field like Twilio does."""
    if isinstance(raw, bytes):
        raise TwilioStreamError(BINARY_FRAME, "binary frames are not supported")
    try:
        message = json.loads(raw)
    except ValueError as error:
        raise TwilioStreamError(BAD_MESSAGE, f"not JSON: {error}") from None
    if not isinstance(message, dict):
        raise TwilioStreamError(BAD_MESSAGE, "not a JSON object")
    event = message.get("event")
    if event not in _FIELDS:
        raise TwilioStreamError(BAD_MESSAGE, f"unknown event {event!r}")
    top, nested_key, nested = _FIELDS[event]
    if set(message) != top:
        raise TwilioStreamError(BAD_MESSAGE, f"{event}: fields {sorted(message)} != {sorted(top)}")
    if not isinstance(message["streamSid"], str):
        raise TwilioStreamError(BAD_MESSAGE, "streamSid must be a string")
    if nested_key is not None:
        body = message[nested_key]
        if not isinstance(body, dict) or set(body) != nested:
            raise TwilioStreamError(BAD_MESSAGE, f"{event}.{nested_key} must be {sorted(nested)}")
        if not all(isinstance(v, str) for v in body.values()):
            raise TwilioStreamError(BAD_MESSAGE, f"{event}.{nested_key} values must be strings")
    sid = message["streamSid"]
    if event == "media":
        try:
            payload = base64.b64decode(message["media"]["payload"], validate=True)
        except (binascii.Error, ValueError) as error:
            raise TwilioStreamError(BAD_MESSAGE, f"bad base64 payload: {error}") from None
        return SendMedia(sid, payload)
    if event == "mark":
        return SendMark(sid, message["mark"]["name"])
    return Clear(sid)
