"""Shared set-up for tool and escalation tests: a seeded store, a call, a context."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.settings import Settings, load_settings
from callcenter.store.db import transaction
from callcenter.store.models import Account, Call, ToolInvocation
from callcenter.store.seed import seed_demo
from callcenter.tools import CallContext, ToolExecutor, ToolOutcome, load_toolset
from callcenter.tools.base import ToolCall

CALLER_NUMBER = "+15551230001"


def tool_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"max_verification_attempts": 3, "max_payment": 5000.0}
    return load_settings(**(values | overrides))


def seed_and_open_call(factory: sessionmaker[Session]) -> CallContext:
    with transaction(factory) as session:
        seed_demo(session)
        call = Call(call_sid="CA" + uuid.uuid4().hex, from_number=CALLER_NUMBER)
        session.add(call)
        session.flush()
        return CallContext(call_id=call.id, caller_number=CALLER_NUMBER)


def make_executor(factory: sessionmaker[Session], **settings: Any) -> ToolExecutor:
    with factory() as session:
        toolset = load_toolset(session)
    return ToolExecutor(factory, toolset, tool_settings(**settings))


def call_tool(executor: ToolExecutor, ctx: CallContext, name: str, **arguments: Any) -> ToolOutcome:
    request = ToolCall(id=f"call_{uuid.uuid4().hex[:8]}", name=name, arguments=arguments)
    return executor.execute(ctx, request)


def verify_dana(executor: ToolExecutor, ctx: CallContext) -> ToolOutcome:
    ctx.record_caller_utterance("My account number is one zero zero one.")
    ctx.record_caller_utterance("And my PIN is four three two one.")
    outcome = call_tool(executor, ctx, "verify_identity", account_number="1001", pin="4321")
    assert outcome.result["verified"] is True, outcome.result
    return outcome


def account(factory: sessionmaker[Session], number: str) -> Account:
    with factory() as session:
        found = session.scalar(select(Account).where(Account.account_number == number))
        assert found is not None
        session.expunge(found)
        return found


def invocations(factory: sessionmaker[Session], call_id: str) -> list[ToolInvocation]:
    with factory() as session:
        rows = list(
            session.scalars(
                select(ToolInvocation)
                .where(ToolInvocation.call_id == call_id)
                .order_by(ToolInvocation.id)
            )
        )
        session.expunge_all()
        return rows
