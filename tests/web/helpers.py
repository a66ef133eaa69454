"""Shared set-up for console tests: users, logins, a call with a handoff, a tiny endpoint."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from callcenter.store import users as user_store
from callcenter.store.db import transaction
from callcenter.store.models import (
    Account,
    Call,
    CallEvent,
    CallStatus,
    Handoff,
    Speaker,
    ToolInvocation,
    ToolStatus,
    Turn,
)
from callcenter.store.seed import seed_demo
from tests.support.servers import free_port

PASSWORD = "correct-horse-battery"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@dataclass
class WebServer:
    base: str
    url: str  # the server's database
    factory: sessionmaker[Session]
    state_dir: Path | None = None  # where the server keeps its generated secret key

    def create_user(self, role: str, username: str | None = None) -> str:
        username = username or unique(role)
        with transaction(self.factory) as session:
            user_store.create_user(session, username=username, password=PASSWORD, role=role)
        return username

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30, follow_redirects=False)


def csrf_from(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/account").text)


@dataclass(frozen=True)
class SeededCall:
    call_id: str
    heard: str
    unheard: str
    caller_text: str


def seed_call(factory: sessionmaker[Session]) -> SeededCall:
    """A call that verified account 1001, had a barge-in and one tool call."""
    heard, unheard = "Your balance is two thousand", " four hundred and seventeen dollars."
    caller_text = "I want to talk to a person about a charge."
    with transaction(factory) as session:
        seed_demo(session)
        account = session.scalar(select(Account).where(Account.account_number == "1001"))
        assert account is not None
        call = Call(
            call_sid="CA" + uuid.uuid4().hex,
            from_number="+15551230001",
            verified_account_id=account.id,
        )
        session.add(call)
        session.flush()
        session.add_all(
            [
                Turn(call_id=call.id, seq=1, speaker=Speaker.agent, text="Hi, this is Ava.",
                     heard_text="Hi, this is Ava.", start_ms=0, end_ms=1500),
                Turn(call_id=call.id, seq=2, speaker=Speaker.caller, text="What's my balance?",
                     start_ms=2000, end_ms=3200, asr_confidence=0.91),
                Turn(call_id=call.id, seq=3, speaker=Speaker.agent, text=heard + unheard,
                     heard_text=heard, interrupted=True, start_ms=3600, end_ms=5200),
                Turn(call_id=call.id, seq=4, speaker=Speaker.caller, text=caller_text,
                     start_ms=5000, end_ms=7000),
                ToolInvocation(call_id=call.id, turn_seq=3, name="get_balance", arguments={},
                               result={"ok": True, "balance": "2417.35"}, status=ToolStatus.ok,
                               duration_ms=12),
            ]
        )  # fmt: skip
        return SeededCall(call.id, heard, unheard, caller_text)


def seed_answered_call(web_server: WebServer, *, words: str, started: datetime) -> str:
    """A call the agent resolved on its own: no handoff, a summary, a barge-in."""
    with transaction(web_server.factory) as session:
        call = Call(
            call_sid="CA" + uuid.uuid4().hex,
            from_number="+1555" + uuid.uuid4().hex[:7],
            status=CallStatus.completed,
            started_at=started,
            ended_at=started + timedelta(seconds=42),
            summary={
                "disposition": "resolved",
                "intent": "Asked for the opening hours",
                "sentiment": "positive",
                "notes": "Answered from the FAQ.",
            },
        )
        session.add(call)
        session.flush()
        session.add_all(
            [
                Turn(call_id=call.id, seq=1, speaker=Speaker.caller, text=words, end_ms=1800),
                Turn(call_id=call.id, seq=2, speaker=Speaker.agent, text="We open at nine.",
                     heard_text="We open at nine.", start_ms=2400, end_ms=3900, latency_ms=600),
                Turn(call_id=call.id, seq=3, speaker=Speaker.agent, text="Anything else?",
                     heard_text="Anything else?", start_ms=4000, end_ms=5000, latency_ms=800),
                CallEvent(call_id=call.id, kind="barge_in", at_ms=4500, payload={"heard": 1}),
                CallEvent(call_id=call.id, kind="mark", at_ms=4600, payload={}),
            ]
        )  # fmt: skip
        return call.id


def add_handoff(factory: sessionmaker[Session], call_id: str, **summary: Any) -> int:
    with transaction(factory) as session:
        handoff = Handoff(
            call_id=call_id,
            reason="caller asked for a person",
            summary_source="llm",
            summary={
                "reason": "caller asked for a person",
                "verified": True,
                "caller_intent": "Dispute a card charge",
                "actions": ["get_balance: balance read out"],
                "open_items": ["Open a dispute for the charge"],
                "sentiment": "negative",
            }
            | summary,
        )
        session.add(handoff)
        session.flush()
        return handoff.id


@contextmanager
def echo_endpoint() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP server on loopback standing in for a CRM; it echoes what it got."""
    received: list[dict[str, Any]] = []

    async def order_status(request: Request) -> JSONResponse:
        body = await request.json() if request.method == "POST" else dict(request.query_params)
        received.append({"body": body, "headers": dict(request.headers)})
        return JSONResponse(
            {
                "order_id": body.get("order_id"),
                "status": "shipped on Tuesday",
                # An endpoint that (badly) echoes its key: the tool must scrub it.
                "echoed_key": request.headers.get("x-api-key", ""),
                "say": "Your order shipped on Tuesday.",
            }
        )

    app = Starlette(routes=[Route("/orders", order_status, methods=["GET", "POST"])])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("echo endpoint did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/orders", received
    finally:
        server.should_exit = True
        thread.join(timeout=10)
