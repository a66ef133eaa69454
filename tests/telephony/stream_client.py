"""A bare Twilio-side client for the live endpoint tests (sync websockets + httpx)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from callcenter.simulator import wire
from callcenter.simulator.twiml_reader import read_answer
from callcenter.telephony.signatures import sign
from tests.support.live_app import ACCOUNT_SID, AUTH_TOKEN, LiveApp


def post_signed(
    app: LiveApp,
    path: str,
    params: dict[str, str],
    token: str = AUTH_TOKEN,
    signature: str | None = None,
) -> httpx.Response:
    if signature is None:
        signature = sign(token, app.settings.public_url + path, params)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return httpx.post(app.url + path, data=params, headers=headers, timeout=10)


def answer_call(app: LiveApp, call_sid: str | None = None) -> tuple[str, dict[str, str]]:
    """The voice webhook as Twilio calls it; returns the CallSid and the Stream parameters."""
    call_sid = call_sid or "CA" + uuid.uuid4().hex
    response = post_signed(
        app,
        "/twilio/voice",
        {
            "CallSid": call_sid,
            "AccountSid": ACCOUNT_SID,
            "From": "+15550001111",
            "To": "+15005550006",
            "Direction": "inbound",
            "CallStatus": "ringing",
        },
    )
    assert response.status_code == 200, response.text
    return call_sid, read_answer(response.text).parameters


def open_ws(app: LiveApp, signature: str | None = "auto") -> ClientConnection:
    headers = {}
    if signature == "auto":
        signature = sign(AUTH_TOKEN, app.settings.public_ws_url)
    if signature:
        headers["x-twilio-signature"] = signature
    return connect(app.ws_url, additional_headers=headers, open_timeout=10)


def start_stream(ws: ClientConnection, call_sid: str, params: dict[str, str]) -> str:
    stream_sid = "MZ" + uuid.uuid4().hex
    ws.send(wire.connected())
    ws.send(wire.start(stream_sid, call_sid, ACCOUNT_SID, params, 1))
    return stream_sid


def receive_json(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    return dict(json.loads(ws.recv(timeout=timeout)))


def wait_for_mark(ws: ClientConnection, name: str, timeout: float = 10) -> None:
    """Read (skipping agent media) until the server sends the mark ``name``."""
    while True:
        message = receive_json(ws, timeout)
        if message["event"] == "mark" and message["mark"]["name"] == name:
            return
