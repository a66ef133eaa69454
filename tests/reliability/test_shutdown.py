"""SIGTERM with a call live: readiness goes false, new calls get the busy transfer, the
live call goes on through the grace period, then is handed to a human ("shutdown"),
and the process exits cleanly."""

from __future__ import annotations

import asyncio
import signal
import uuid

import httpx
from sqlalchemy import select

from callcenter.simulator.caller import SimulationOptions, answer_webhook
from callcenter.simulator.script import Say, Silence, WaitAgent
from callcenter.store.models import CallStatus, Handoff, Speaker
from callcenter.telephony.twiml import BUSY_LINE
from tests.reliability.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Stack,
    caller_turns_asked,
    wait_until,
)

GREETING = WaitAgent(quiet_ms=700, timeout_ms=30_000)
REPLY = WaitAgent(quiet_ms=900, timeout_ms=30_000)
# Two answers fit in it on a loaded 2-core machine: the first (with its backchannel), the
# caller's second question, its 1.2 s end of turn, and the second answer (8 s was too short
# once under a full test run).
GRACE_S = 15


async def test_sigterm_drains_then_hands_live_calls_to_a_human(stack: Stack) -> None:
    server = stack.serve(shutdown_grace_s=str(GRACE_S))
    steps = [
        GREETING,
        Say(text="What are your opening hours?"),
        REPLY,
        Silence(1000),
        Say(text="And what is your address?"),
        REPLY,
        Silence(60_000),  # the caller stays on the line past the grace period
    ]
    call = asyncio.create_task(stack.call(steps))
    await asyncio.to_thread(wait_until, lambda: caller_turns_asked(stack, 1), 90, "turn 1")
    server.popen.send_signal(signal.SIGTERM)

    async with httpx.AsyncClient(timeout=10) as client:
        ready = await client.get(stack.url + "/readyz")
        assert ready.status_code == 503
        options = SimulationOptions(auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID)
        status, twiml = await answer_webhook(stack.url, options, "CA" + uuid.uuid4().hex, client)
    assert status == 200 and BUSY_LINE in twiml and "<Enqueue" in twiml, twiml

    result = await asyncio.wait_for(call, 90)
    assert result.end_reason == "transfer", result.end_reason
    exit_code = await asyncio.to_thread(server.popen.wait, 60)
    assert exit_code == 0, server.log()

    turns = stack.turns(result.call_sid)
    said = " ".join(t.text for t in turns if t.speaker == Speaker.agent)
    assert "Harbor Street" in said, said  # answered during the grace period
    row = stack.call_row(result.call_sid)
    assert row is not None and row.status == CallStatus.transferred
    with stack.session() as session:
        handoff = session.scalar(select(Handoff).where(Handoff.call_id == row.id))
    assert handoff is not None and handoff.reason == "shutdown"
    redirects = [
        r for r in stack.twilio.requests if r.call_sid == result.call_sid and "Twiml" in r.form
    ]
    assert redirects and "<Enqueue" in redirects[0].form["Twiml"]
