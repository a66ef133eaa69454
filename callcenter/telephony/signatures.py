"""Who may talk to us: Twilio's request signatures, and our own short-lived stream token.

Twilio signs every webhook with ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token,
URL + sorted POST params)) and the Media Stream WebSocket upgrade the same way over the
exact ``wss://`` URL from our TwiML with no params (lowercase header). The URL is always
rebuilt from the configured public base URL: behind a proxy or tunnel the Host and
scheme the app sees are not what Twilio signed, and trusting request headers would let
a caller choose the URL we check against.

The stream token binds a Media Stream to the call we answered: the TwiML carries it as a
``<Parameter>``, and ``start.customParameters`` brings it back. Without it anyone who
could sign (or replay) an upgrade could attach a stream to any call id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence

from twilio.request_validator import RequestValidator

from callcenter.settings import Settings

SIGNATURE_HEADER = "x-twilio-signature"  # HTTP headers are case-insensitive; WS uses this
Params = Mapping[str, str] | Sequence[tuple[str, str]]


class _MultiParams:
    """Adapter so RequestValidator sees repeated form keys (it calls ``getlist``)."""

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self._items = list(items)

    def __iter__(self) -> Iterator[str]:
        return iter({key for key, _ in self._items})

    def getlist(self, key: str) -> list[str]:
        return [value for k, value in self._items if k == key]


def _params(params: Params) -> Mapping[str, str] | _MultiParams:
    if isinstance(params, Mapping):
        multi = getattr(params, "multi_items", None)  # Starlette FormData keeps repeats
        return _MultiParams(multi()) if callable(multi) else params
    return _MultiParams(params)


def webhook_url(settings: Settings, path: str, query: str = "") -> str:
    """The URL Twilio requested (and signed): public base + path (+ our own query)."""
    return settings.public_url + path + (f"?{query}" if query else "")


def sign(auth_token: str, url: str, params: Params | None = None) -> str:
    """What Twilio puts in X-Twilio-Signature (used by the simulator and tests)."""
    return str(RequestValidator(auth_token).compute_signature(url, _params(params or {})))


def validate_webhook(
    settings: Settings, path: str, params: Params, signature: str | None, query: str = ""
) -> bool:
    """Every form param is covered; a missing or empty signature never validates."""
    if not signature:
        return False
    validator = RequestValidator(settings.twilio_auth_token)
    url = webhook_url(settings, path, query)
    return bool(validator.validate(url, _params(params), signature))


def validate_stream_upgrade(settings: Settings, signature: str | None) -> bool:
    """The upgrade is signed over the exact Stream URL from our TwiML with no params."""
    if not signature:
        return False
    validator = RequestValidator(settings.twilio_auth_token)
    return bool(validator.validate(settings.public_ws_url, {}, signature))


# --- stream token -----------------------------------------------------------------------


class StreamTokenError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"stream token rejected: {reason}")
        self.reason = reason  # malformed | expired | bad_signature


def _token_mac(secret: str, call_id: str, call_sid: str, expires: int, nonce: str) -> str:
    # Domain-separated again, so a key handed in for another use cannot mint tokens.
    key = hashlib.sha256(b"callcenter/stream-token\0" + secret.encode()).digest()
    message = f"{call_id}\0{call_sid}\0{expires}\0{nonce}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def create_stream_token(
    secret: str, call_id: str, call_sid: str, ttl_s: int, now: float | None = None
) -> str:
    """``<expiry unix s>.<nonce>.<mac>``; the call id and CallSid travel beside it, not
    inside. The nonce makes every token distinct (they are single-use: two answers for
    one call in the same second must not share one)."""
    expires = int((time.time() if now is None else now) + ttl_s)
    nonce = secrets.token_urlsafe(9)
    return f"{expires}.{nonce}.{_token_mac(secret, call_id, call_sid, expires, nonce)}"


def verify_stream_token(
    secret: str | Sequence[str],
    token: str,
    call_id: str,
    call_sid: str,
    now: float | None = None,
) -> None:
    """Raises :class:`StreamTokenError` unless the token was made by us for this call.
    ``secret`` may list several keys (the current one and those being rotated out)."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise StreamTokenError("malformed")
    expires_text, nonce, mac = parts
    if not expires_text.isascii() or not expires_text.isdigit():
        raise StreamTokenError("malformed")
    expires = int(expires_text)
    keys = [secret] if isinstance(secret, str) else list(secret)
    given = mac.encode("utf-8", "replace")
    # Check the MAC before the expiry so the answer does not leak which part was wrong
    # to someone guessing; compare_digest is constant-time.
    matched = [
        hmac.compare_digest(_token_mac(key, call_id, call_sid, expires, nonce).encode(), given)
        for key in keys
    ]
    if not any(matched):
        raise StreamTokenError("bad_signature")
    if (time.time() if now is None else now) > expires:
        raise StreamTokenError("expired")
