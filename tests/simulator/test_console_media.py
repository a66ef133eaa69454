"""Who may open /console/media, the browser test call's Media Stream, and what it does:
a signed-in user, from this site's own origin, with the single-use token minted for a
call that user placed; such a call runs through the same edge as a phone call."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from contextlib import closing
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from callcenter.simulator import wire
from callcenter.store import users as user_store
from callcenter.store.db import transaction
from callcenter.store.models import Call, CallDirection
from callcenter.testing.handlers import EchoAgentFactory, tone_ulaw
from callcenter.web.browser_call import same_origin
from tests.support.live_app import LiveApp, wait_for
from tests.web.helpers import PASSWORD, login, unique

SILENCE = b"\xff" * 160


def _user(factory: Callable[[], Any], role: str = "agent") -> str:
    username = unique(role)
    with transaction(factory) as session:  # type: ignore[arg-type]
        user_store.create_user(session, username=username, password=PASSWORD, role=role)
    return username


def _signed_in(app: LiveApp, factory: Callable[[], Any]) -> tuple[httpx.Client, str]:
    web = httpx.Client(base_url=app.url, timeout=30)
    return web, login(web, _user(factory))


def _place(web: httpx.Client, csrf: str) -> dict[str, str]:
    response = web.post("/api/v1/test-calls", json={}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text
    placed: dict[str, str] = response.json()
    return placed


def _headers(web: httpx.Client, app: LiveApp, origin: str | None = None) -> dict[str, str]:
    cookie = "; ".join(f"{name}={value}" for name, value in web.cookies.items())
    return {"Cookie": cookie, "Origin": origin or app.url}


async def _closed_with(url: str, headers: dict[str, str], first: list[str]) -> int | None:
    async with connect(url, additional_headers=headers) as ws:
        try:
            for message in first:  # the server may close before all of it is sent
                await ws.send(message)
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


def _start(placed: dict[str, str], token: str | None = None) -> list[str]:
    stream_sid = "MZ" + placed["call_sid"][2:]
    params = {"call_id": placed["call_id"], "token": token or placed["token"]}
    return [wire.connected(), wire.start(stream_sid, placed["call_sid"], "", params, 1)]


def test_same_origin_is_the_host_the_browser_used_or_the_public_url() -> None:
    assert same_origin("http://127.0.0.1:8080", "127.0.0.1:8080", "https://cc.example")
    assert same_origin("https://cc.example", "10.0.0.5:8080", "https://cc.example")
    assert not same_origin("https://evil.example", "127.0.0.1:8080", "https://cc.example")
    assert not same_origin(None, "127.0.0.1:8080", "https://cc.example")
    assert not same_origin("null", "127.0.0.1:8080", "https://cc.example")


def test_placing_a_test_call_needs_the_csrf_token(
    live_app: Callable[..., LiveApp], live_factory: Callable[[], Any]
) -> None:
    app = live_app(handler_factory=EchoAgentFactory())
    web, csrf = _signed_in(app, live_factory)
    with closing(web):
        assert web.post("/api/v1/test-calls", json={}).status_code == 403
        bad = web.post(
            "/api/v1/test-calls", json={"prompt_version_ids": ["x"]}, headers={"X-CSRF-Token": csrf}
        )
        assert bad.status_code == 422
        placed = _place(web, csrf)
    assert placed["call_sid"].startswith("BR") and placed["media_path"] == "/console/media"
    with live_factory() as session:
        call = session.get(Call, placed["call_id"])
        assert call is not None and call.direction == CallDirection.browser


async def test_the_console_stream_refuses_strangers_and_other_users(
    live_app: Callable[..., LiveApp], live_factory: Callable[[], Any]
) -> None:
    app = live_app(handler_factory=EchoAgentFactory())
    url = app.url.replace("http://", "ws://") + "/console/media"
    web, csrf = _signed_in(app, live_factory)
    other, _ = _signed_in(app, live_factory)
    with closing(web), closing(other):
        placed = _place(web, csrf)
        start = _start(placed)
        # No session cookie; a foreign page using the user's cookie; another user.
        assert await _closed_with(url, {"Origin": app.url}, start) == 1008
        evil = _headers(web, app, origin="https://evil.example")
        assert await _closed_with(url, evil, start) == 1008
        assert await _closed_with(url, _headers(other, app), start) == 1008
        # The right user with a forged token.
        forged = _start(placed, token="1.2.3")
        assert await _closed_with(url, _headers(web, app), forged) == 1008
    with live_factory() as session:
        call = session.get(Call, placed["call_id"])
        assert call is not None and call.stream_sid is None  # nothing started


async def test_a_browser_call_runs_through_the_edge_and_its_token_works_once(
    live_app: Callable[..., LiveApp], live_factory: Callable[[], Any]
) -> None:
    agents = EchoAgentFactory(greeting=tone_ulaw(600, 300))
    app = live_app(handler_factory=agents)
    url = app.url.replace("http://", "ws://") + "/console/media"
    web, csrf = _signed_in(app, live_factory)
    with closing(web):
        placed = _place(web, csrf)
        headers = _headers(web, app)
    stream_sid = "MZ" + placed["call_sid"][2:]
    heard = bytearray()
    async with connect(url, additional_headers=headers) as ws:
        for message in _start(placed):
            await ws.send(message)
        for chunk in range(1, 26):  # 500 ms of the caller
            await ws.send(wire.media(stream_sid, chunk + 1, chunk, chunk * 20, SILENCE))
        await ws.send(wire.dtmf(stream_sid, 30, "5"))
        while len(heard) < 600 * 8:  # the greeting comes back as Twilio media messages
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert message["streamSid"] == stream_sid
            if message["event"] == "media":
                heard += base64.b64decode(message["media"]["payload"])
        await ws.send(wire.stop(stream_sid, 31, placed["call_sid"], ""))
    assert wait_for(lambda: agents.agents and agents.agents[0].stop_reason == "hangup")
    assert agents.agents[0].digits == ["5"]
    with live_factory() as session:
        call = session.get(Call, placed["call_id"])
        assert call is not None and call.stream_sid == stream_sid
    # The token was spent: the same start again is refused.
    assert await _closed_with(url, headers, _start(placed)) == 1008


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_the_test_call_page_is_there_for_both_roles(
    live_app: Callable[..., LiveApp], live_factory: Callable[[], Any], role: str
) -> None:
    app = live_app(handler_factory=EchoAgentFactory())
    with httpx.Client(base_url=app.url, timeout=30) as web:
        login(web, _user(live_factory, role))
        page = web.get("/test-call")
    assert page.status_code == 200
    assert 'id="call-start"' in page.text and "/static/test-call.js" in page.text
