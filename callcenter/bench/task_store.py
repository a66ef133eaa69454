"""The database side of the task benchmark: reset the demo accounts between calls, and
read what one call left behind into a :class:`~callcenter.scenarios.judge.CallRecord`."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import Engine, func, select

from callcenter.scenarios.call_state import account_states, tool_uses
from callcenter.scenarios.demo_state import reset_demo_accounts
from callcenter.scenarios.judge import CallRecord, Spoken
from callcenter.store.db import make_session_factory, transaction
from callcenter.store.models import (
    Call,
    Callback,
    Handoff,
    Transaction,
    Turn,
)
from callcenter.store.prompts import DEFAULT_PROMPTS_DIR, default_prompt_bodies


def reset(engine: Engine) -> None:
    with transaction(make_session_factory(engine)) as session:
        reset_demo_accounts(session)


def known_texts() -> list[str]:
    """The knowledge base, prompts and their variables: where an agent's number may come
    from besides tool results and the caller."""
    texts = list(default_prompt_bodies().values())
    variables = DEFAULT_PROMPTS_DIR / "variables.json"
    if variables.exists():
        texts.append(variables.read_text())
    flow_lines = DEFAULT_PROMPTS_DIR / "flow_lines.txt"
    if flow_lines.exists():
        texts.append(flow_lines.read_text())
    return texts


def wait_call_written(engine: Engine, call_sid: str, timeout_s: float = 15.0) -> None:
    """The recorder writes off the call's path: wait until the call row says it ended."""
    deadline = time.monotonic() + timeout_s
    factory = make_session_factory(engine)
    while time.monotonic() < deadline:
        with factory() as session:
            ended = session.scalar(select(Call.ended_at).where(Call.call_sid == call_sid))
        if ended is not None:
            time.sleep(0.3)  # the last turn rows are written in the same burst
            return
        time.sleep(0.2)


def load_record(engine: Engine, call_sid: str) -> CallRecord:
    with make_session_factory(engine)() as session:
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        if call is None:
            raise LookupError(f"no call {call_sid} in the database")
        accounts, numbers = account_states(session)
        payments = [
            (numbers[tx.account_id], str(-tx.amount), tx.description)
            # Seeded transactions are dated a day or more back; anything newer is the call's.
            for tx in session.scalars(
                select(Transaction).where(
                    Transaction.posted_at > call.started_at - timedelta(minutes=5)
                )
            )
        ]
        callbacks = session.scalar(select(func.count()).where(Callback.call_id == call.id)) or 0
        handoffs = session.scalar(select(func.count()).where(Handoff.call_id == call.id)) or 0
        tools = tool_uses(session, call.id)
        turns = [
            Spoken(
                row.seq,
                str(row.speaker.value),
                row.heard_text if row.heard_text is not None else row.text,
            )
            for row in session.scalars(
                select(Turn).where(Turn.call_id == call.id).order_by(Turn.seq)
            )
        ]
        verified = numbers.get(call.verified_account_id) if call.verified_account_id else None
        return CallRecord(accounts, payments, callbacks, handoffs, verified, tools, turns)
