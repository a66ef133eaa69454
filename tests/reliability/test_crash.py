"""kill -9 of the server mid-call: every completed turn is in Postgres (the caller turn
is committed before the LLM request that answers it), and the next server process marks
the call interrupted."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from callcenter.simulator.script import Say, Silence, WaitAgent
from callcenter.store.models import Call, CallStatus, Speaker
from tests.reliability.conftest import Stack, caller_turns_asked, wait_until

GREETING = WaitAgent(quiet_ms=700, timeout_ms=30_000)
REPLY = WaitAgent(quiet_ms=900, timeout_ms=30_000)


async def test_kill_9_mid_call_keeps_every_turn_and_marks_the_call_interrupted(
    stack: Stack,
) -> None:
    first = stack.serve("serve-1")
    steps = [
        GREETING,
        Say(text="What are your opening hours?"),
        REPLY,
        Say(text="Please check something slow for me."),
        Silence(60_000),
    ]
    call = asyncio.create_task(stack.call(steps))
    # The LLM now holds the request for the second question (it stalls): the caller turn
    # it answers must already be committed.
    await asyncio.to_thread(wait_until, lambda: caller_turns_asked(stack, 2), 90, "turn 2")
    turns = stack.turns(call_sid := _call_sid(stack))
    caller = [t.text.lower() for t in turns if t.speaker == Speaker.caller]
    assert len(caller) == 2, caller

    first.kill9()
    result = await asyncio.wait_for(call, 30)
    assert result.end_reason == "server_closed", result.end_reason

    turns = stack.turns(call_sid)
    speakers = [t.speaker for t in turns]
    # greeting, question, answer, question: everything that was said
    assert speakers == [Speaker.agent, Speaker.caller, Speaker.agent, Speaker.caller], speakers
    assert "Monday to Friday" in turns[2].text
    row = stack.call_row(call_sid)
    assert row is not None and row.status == CallStatus.in_progress  # nobody recorded the end

    stack.serve("serve-2")  # a new process, a new server_id
    row = stack.call_row(call_sid)
    assert row is not None and row.status == CallStatus.interrupted
    assert row.end_reason == "server_lost" and row.ended_at is not None


def _call_sid(stack: Stack) -> str:
    with stack.session() as session:
        rows = list(session.scalars(select(Call.call_sid)))
    assert len(rows) == 1, rows
    return rows[0]
