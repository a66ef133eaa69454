"""The database side of the task benchmark: reset the demo accounts between calls, and
read what one call left behind into a :class:`~callcenter.bench.task_judge.CallRecord`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from callcenter.bench.task_judge import AccountState, CallRecord, Spoken, ToolUse
from callcenter.store.db import make_session_factory, transaction
from callcenter.store.models import (
    Account,
    Call,
    Callback,
    CardStatus,
    Handoff,
    ToolInvocation,
    Transaction,
    Turn,
)
from callcenter.store.prompts import DEFAULT_PROMPTS_DIR, default_prompt_bodies
from callcenter.store.seed import DEMO_CUSTOMERS, seed_demo


def demo_baseline() -> dict[str, AccountState]:
    """The demo accounts as seeded (and as :func:`reset_demo_accounts` leaves them)."""
    return {
        demo.account_number: AccountState(
            card_status=CardStatus.active.value, address=demo.address, balance=demo.balance
        )
        for demo in DEMO_CUSTOMERS
    }


def demo_transactions() -> dict[str, list[str]]:
    """Each demo account's transaction descriptions and amounts (account facts)."""
    return {
        demo.account_number: [
            part for _, text, amount in demo.transactions for part in (text, amount)
        ]
        for demo in DEMO_CUSTOMERS
    }


def reset_demo_accounts(session: Session) -> None:
    """Put the demo accounts back as seeded, so every benchmark call starts the same:
    card active, seeded address and balance, only the seeded transactions."""
    seed_demo(session)
    now = datetime.now(UTC)
    for demo in DEMO_CUSTOMERS:
        account = session.scalar(
            select(Account).where(Account.account_number == demo.account_number)
        )
        assert account is not None  # seed_demo just made sure
        line1, city, region, postal = demo.address
        account.address_line1, account.address_line2 = line1, ""
        account.city, account.region, account.postal_code = city, region, postal
        account.card_status = CardStatus.active
        account.balance = Decimal(demo.balance)
        session.execute(delete(Transaction).where(Transaction.account_id == account.id))
        for days_ago, description, amount in demo.transactions:
            session.add(
                Transaction(
                    account_id=account.id,
                    posted_at=now - timedelta(days=days_ago),
                    description=description,
                    amount=Decimal(amount),
                )
            )
    session.flush()


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
        accounts = {
            row.account_number: AccountState(
                card_status=str(row.card_status.value),
                address=(row.address_line1, row.city, row.region, row.postal_code),
                balance=str(row.balance),
            )
            for row in session.scalars(select(Account))
        }
        numbers = {
            account_id: number
            for account_id, number in session.execute(select(Account.id, Account.account_number))
        }
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
        tools = [
            ToolUse(
                row.name,
                str(row.status.value),
                row.turn_seq,
                dict(row.result or {}),
                dict(row.arguments or {}),
            )
            for row in session.scalars(
                select(ToolInvocation)
                .where(ToolInvocation.call_id == call.id)
                .order_by(ToolInvocation.id)
            )
        ]
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
