"""What a judged call left in the database, read the same way for scenario suites (text
calls in a rolled-back transaction) and the task benchmark (voice calls)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.scenarios.judge import AccountState, ToolUse
from callcenter.store.models import Account, ToolInvocation


def account_states(
    session: Session, only: Collection[str] | None = None
) -> tuple[dict[str, AccountState], dict[Any, str]]:
    """Each account's card, address and balance by account number (only the given
    numbers, when given), and account numbers by row id."""
    query = select(Account)
    if only is not None:
        query = query.where(Account.account_number.in_(list(only)))
    rows = list(session.scalars(query))
    states = {
        row.account_number: AccountState(
            card_status=str(row.card_status.value),
            address=(row.address_line1, row.city, row.region, row.postal_code),
            balance=str(row.balance),
        )
        for row in rows
    }
    return states, {row.id: row.account_number for row in rows}


def tool_uses(session: Session, call_id: Any) -> list[ToolUse]:
    """The call's tool invocations in the order they ran."""
    return [
        ToolUse(
            row.name,
            str(row.status.value),
            row.turn_seq,
            dict(row.result or {}),
            dict(row.arguments or {}),
        )
        for row in session.scalars(
            select(ToolInvocation)
            .where(ToolInvocation.call_id == call_id)
            .order_by(ToolInvocation.id)
        )
    ]
