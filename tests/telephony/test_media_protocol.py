"""The pure codec: Twilio's documented examples, typed errors, and fuzzing."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.telephony.media_protocol import (
    MAX_MESSAGE_BYTES,
    Clear,
    Connected,
    Dtmf,
    Mark,
    Media,
    ProtocolError,
    ProtocolErrorReason,
    SendMark,
    SendMedia,
    Start,
    Stop,
    encode_outbound,
    parse_inbound,
)
from tests.support.paths import TWILIO_FIXTURES
from tests.telephony.malformed import malformed_messages

INBOUND = [
    json.loads(line)
    for line in (TWILIO_FIXTURES / "twilio_docs_examples_inbound.jsonl").read_text().splitlines()
    if line.strip()
]
OUTBOUND = [
    json.loads(line)
    for line in (TWILIO_FIXTURES / "twilio_docs_examples_outbound.jsonl").read_text().splitlines()
    if line.strip()
]
SID = "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"


def _shape(message: Any) -> Any:
    """Field names, recursively: what Twilio checks for error 31951."""
    if isinstance(message, dict):
        return {key: _shape(value) for key, value in message.items()}
    return type(message).__name__


def test_documented_inbound_examples_parse() -> None:
    kinds = []
    for message in INBOUND:
        if message["event"] == "media" and message["media"]["payload"].endswith("..."):
            # The docs truncate payloads with "..." (not base64): strict decoding says so.
            with pytest.raises(ProtocolError) as error:
                parse_inbound(json.dumps(message))
            assert error.value.reason is ProtocolErrorReason.bad_base64
            message["media"]["payload"] = base64.b64encode(b"\xff" * 160).decode()
        kinds.append(type(parse_inbound(json.dumps(message))))
    assert kinds == [Connected, Start, Media, Media, Mark, Dtmf, Stop]

    start = parse_inbound(json.dumps(INBOUND[1]))
    assert isinstance(start, Start)
    assert start.stream_sid == SID and start.call_sid.startswith("CA")
    assert start.account_sid.startswith("AC") and start.tracks == ("inbound",)
    assert start.custom_parameters == {"FirstName": "Jane", "LastName": "Doe", "RemoteParty": "Bob"}
    assert (start.media_format.encoding, start.media_format.sample_rate) == ("audio/x-mulaw", 8000)
    media = parse_inbound(json.dumps(INBOUND[3]))
    assert isinstance(media, Media)
    assert (media.track, media.chunk, media.timestamp_ms) == ("inbound", 2, 5)
    assert len(media.payload) == 160
    assert parse_inbound(json.dumps(INBOUND[5])) == Dtmf(SID, "1", "inbound_track", 5)
    assert parse_inbound(json.dumps(INBOUND[4])) == Mark(SID, "my label", 4)


def test_outbound_encoding_has_exactly_the_documented_fields() -> None:
    ours = [
        json.loads(encode_outbound(SendMedia(SID, b"\x7f" * 320))),
        json.loads(encode_outbound(SendMark(SID, "my label"))),
        json.loads(encode_outbound(Clear(SID))),
    ]
    assert [_shape(m) for m in ours] == [_shape(m) for m in OUTBOUND]
    assert ours[1] == OUTBOUND[1] and ours[2] == OUTBOUND[2]
    assert base64.b64decode(ours[0]["media"]["payload"]) == b"\x7f" * 320


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{", ProtocolErrorReason.malformed_json),
        (b"\xff\xfe", ProtocolErrorReason.malformed_json),
        ("[1]", ProtocolErrorReason.not_an_object),
        ('{"event":"nope","streamSid":"MZ"}', ProtocolErrorReason.unknown_event),
        ('{"event":"media","streamSid":"MZ"}', ProtocolErrorReason.missing_field),
        ('{"event":"media","streamSid":"MZ","media":[]}', ProtocolErrorReason.bad_field),
        (
            '{"event":"media","streamSid":"MZ","media":{"track":"inbound","chunk":"1",'
            '"timestamp":"-5","payload":""}}',
            ProtocolErrorReason.bad_field,
        ),
        (
            '{"event":"media","streamSid":"MZ","media":{"track":"inbound","chunk":"1",'
            '"timestamp":"5","payload":"@@"}}',
            ProtocolErrorReason.bad_base64,
        ),
        ('{"event":"dtmf","streamSid":"MZ","dtmf":{"digit":"x"}}', ProtocolErrorReason.bad_field),
        (
            '{"event":"start","start":{"streamSid":"MZ","callSid":"CA","accountSid":"AC",'
            '"customParameters":{"a":1},"mediaFormat":{"encoding":"x","sampleRate":8000,'
            '"channels":1}}}',
            ProtocolErrorReason.bad_field,
        ),
        (
            '{"event":"mark","streamSid":"MZ","mark":{"name":' + "[" * 100000 + "]" * 100000 + "}}",
            ProtocolErrorReason.oversize,
        ),
        (
            '{"event":"mark","streamSid":"MZ","mark":{"name":' + "[" * 30000 + "]" * 30000 + "}}",
            ProtocolErrorReason.malformed_json,
        ),
        (
            '{"event":"mark","streamSid":"MZ","sequenceNumber":true,"mark":{"name":"a"}}',
            ProtocolErrorReason.bad_field,
        ),
    ],
)
def test_typed_errors(raw: str | bytes, reason: ProtocolErrorReason) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_inbound(raw)
    assert error.value.reason is reason


def test_oversize_limit_is_64_kib() -> None:
    name = "x" * (MAX_MESSAGE_BYTES - 60)
    assert isinstance(
        parse_inbound(json.dumps({"event": "mark", "streamSid": "MZ", "mark": {"name": name}})),
        Mark,
    )
    with pytest.raises(ProtocolError, match="oversize"):
        parse_inbound(json.dumps({"event": "mark", "streamSid": "MZ", "mark": {"name": name * 2}}))


@settings(max_examples=4000, deadline=None, suppress_health_check=list(HealthCheck))
@given(malformed_messages())
def test_codec_fuzz_only_raises_protocol_error(message: str | bytes) -> None:
    if isinstance(message, bytes):  # binary frames never reach the codec (the edge skips them)
        message = message.decode("latin-1")
    with contextlib.suppress(ProtocolError):
        parse_inbound(message)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 10**9), st.integers(0, 10**9))
def test_media_round_trip(payload: bytes, chunk: int, timestamp: int) -> None:
    from callcenter.simulator import wire

    event = parse_inbound(wire.media(SID, 7, chunk, timestamp, payload))
    assert event == Media(SID, "inbound", chunk, timestamp, payload, 7)
