"""X-Twilio-Signature (Twilio's own vectors) and our stream token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from callcenter.settings import load_settings
from callcenter.telephony.signatures import (
    StreamTokenError,
    _params,
    create_stream_token,
    sign,
    validate_stream_upgrade,
    validate_webhook,
    verify_stream_token,
)
from tests.support.paths import TWILIO_FIXTURES

VECTORS: dict[str, Any] = json.loads(
    (TWILIO_FIXTURES / "request_validator_vectors.json").read_text()
)


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c.get("note", c["uri"]))
def test_twilio_vectors_validate(case: dict[str, Any]) -> None:
    params = case.get("params") or [tuple(p) for p in case["params_multi"]]
    validator = RequestValidator("12345")
    # Through our adapter (dicts and repeated keys) exactly as RequestValidator sees them.
    assert validator.validate(case["uri"], _params(params), case["signature"])
    assert not validator.validate(case["uri"], _params(params), case["signature"][:-2] + "x=")


def test_wss_vector_signs_the_websocket_url_only() -> None:
    (case,) = VECTORS["computed_here_with_twilio_9.13.0"]
    assert sign(case["token"], case["uri"], {}) == case["signature"]
    settings = load_settings(public_url="https://agent.example.com", twilio_auth_token="12345")
    # Our Stream URL is public_url + /twilio/media; the vector signed .../media.
    assert settings.public_ws_url == "wss://agent.example.com/twilio/media"
    good = sign("12345", settings.public_ws_url)
    assert validate_stream_upgrade(settings, good)
    assert not validate_stream_upgrade(
        settings, sign("12345", "https://agent.example.com/twilio/media")
    )
    assert not validate_stream_upgrade(settings, None)
    assert not validate_stream_upgrade(settings, "")


def test_webhook_uses_public_url_and_every_param() -> None:
    settings = load_settings(public_url="https://agent.example.com", twilio_auth_token="tok")
    params = {"CallSid": "CA1", "From": "+15550001111", "To": "+15005550006"}
    good = sign("tok", "https://agent.example.com/twilio/voice", params)
    assert validate_webhook(settings, "/twilio/voice", params, good)
    assert not validate_webhook(settings, "/twilio/voice", {**params, "To": "+1999"}, good)
    assert not validate_webhook(settings, "/twilio/voice", {**params, "Extra": "1"}, good)
    assert not validate_webhook(settings, "/twilio/status", params, good)
    # Signed for the URL the app sees locally (not the public one): rejected.
    local = sign("tok", "http://127.0.0.1:8080/twilio/voice", params)
    assert not validate_webhook(settings, "/twilio/voice", params, local)
    assert not validate_webhook(settings, "/twilio/voice", params, None)
    with_query = sign("tok", "https://agent.example.com/twilio/dial-result?call_id=c1", params)
    assert validate_webhook(settings, "/twilio/dial-result", params, with_query, "call_id=c1")
    assert not validate_webhook(settings, "/twilio/dial-result", params, with_query, "call_id=c2")


def test_stream_token_round_trip_and_rejections() -> None:
    token = create_stream_token("s3cret", "call-1", "CA1", ttl_s=60, now=1000)
    verify_stream_token("s3cret", token, "call-1", "CA1", now=1059)
    cases = {
        "expired": dict(secret="s3cret", token=token, call_id="call-1", call_sid="CA1", now=1061),
        "wrong call": dict(
            secret="s3cret", token=token, call_id="call-2", call_sid="CA1", now=1001
        ),
        "wrong sid": dict(secret="s3cret", token=token, call_id="call-1", call_sid="CA2", now=1001),
        "wrong key": dict(secret="other", token=token, call_id="call-1", call_sid="CA1", now=1001),
        "tampered expiry": dict(
            secret="s3cret", token="9" + token, call_id="call-1", call_sid="CA1", now=1001
        ),
    }
    reasons = {}
    for name, kwargs in cases.items():
        with pytest.raises(StreamTokenError) as error:
            verify_stream_token(**kwargs)  # type: ignore[arg-type]
        reasons[name] = error.value.reason
    assert reasons == {
        "expired": "expired",
        "wrong call": "bad_signature",
        "wrong sid": "bad_signature",
        "wrong key": "bad_signature",
        "tampered expiry": "bad_signature",
    }
    # Single-use tokens must differ even when made for one call in the same second.
    assert create_stream_token("s3cret", "call-1", "CA1", ttl_s=60, now=1000) != token
    expires, nonce, mac = token.split(".")
    with pytest.raises(StreamTokenError, match="bad_signature"):
        verify_stream_token("s3cret", f"{expires}.x{nonce}.{mac}", "call-1", "CA1", now=1001)
    # Rotation: a list of keys verifies a token made with any of them.
    verify_stream_token(["new-key", "s3cret"], token, "call-1", "CA1", now=1001)
    for bad in ("", "abc", "12.", ".abc", "x1.abc", "１２.abc", "12.abc", "12..abc", "1.a.b.c"):
        with pytest.raises(StreamTokenError, match="malformed"):
            verify_stream_token("s3cret", bad, "call-1", "CA1", now=1001)
