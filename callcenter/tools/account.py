"""Read-only account tools and block_card. All act on the account verified in this call."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from callcenter.store.models import Account, CardStatus, Transaction
from callcenter.tools.base import ToolResult, ToolRun

NO_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}

TRANSACTIONS_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "limit": {
            "type": "integer",
            "minimum": 1,
            "maximum": 10,
            "description": "How many of the latest transactions to list (default 5).",
        }
    },
    "additionalProperties": False,
}
BLOCK_CARD_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {
            "type": "string",
            "enum": ["lost", "stolen"],
            "description": "Whether the caller lost the card or it was stolen.",
        }
    },
    "required": ["reason"],
    "additionalProperties": False,
}


def money(amount: Decimal, currency: str = "USD") -> str:
    if currency == "USD":
        sign = "-" if amount < 0 else ""
        return f"{sign}${abs(amount):,.2f}"
    return f"{amount:,.2f} {currency}"


def verified_account(run: ToolRun, *, for_update: bool = False) -> Account:
    """The one account this call may touch (the policy already checked it is verified)."""
    assert run.ctx.verified is not None, "policy.check_scope runs before account tools"
    query = select(Account).where(Account.id == run.ctx.verified.account_id)
    if for_update:
        # Serialises concurrent changes to the same account (two calls, one customer).
        query = query.with_for_update()
    account = run.session.scalar(query)
    if account is None:
        raise LookupError(f"verified account {run.ctx.verified.account_id} no longer exists")
    return account


def get_balance(run: ToolRun) -> ToolResult:
    account = verified_account(run)
    amount = money(account.balance, account.currency)
    return ToolResult.ok(
        f"Your current balance is {amount}.",
        balance=str(account.balance),
        currency=account.currency,
    )


def list_recent_transactions(run: ToolRun) -> ToolResult:
    account = verified_account(run)
    limit = int(run.arguments.get("limit", 5))
    rows = run.session.scalars(
        select(Transaction)
        .where(Transaction.account_id == account.id)
        .order_by(Transaction.posted_at.desc(), Transaction.id.desc())
        .limit(limit)
    ).all()
    items = [
        {
            "date": row.posted_at.date().isoformat(),
            "description": row.description,
            "amount": str(row.amount),
        }
        for row in rows
    ]
    if not items:
        return ToolResult.ok("There are no recent transactions on your account.", transactions=[])
    # One short sentence per transaction: speech starts after the first is synthesised,
    # not after the whole list (one long sentence took seconds on a busy CPU).
    spoken = " ".join(
        f"{item['description']}, {money(Decimal(item['amount']), account.currency)}."
        for item in items
    )
    return ToolResult.ok(f"Here are your latest transactions. {spoken}", transactions=items)


def block_card(run: ToolRun) -> ToolResult:
    account = verified_account(run, for_update=True)
    reason = str(run.arguments["reason"])
    if account.card_status == CardStatus.none:
        return ToolResult.refused("no_card", "There's no card on this account to block.")
    if account.card_status in (CardStatus.blocked_lost, CardStatus.blocked_stolen):
        return ToolResult.ok(
            f"Your card ending {account.card_last4} is already blocked.",
            card_status=account.card_status.value,
            already_blocked=True,
        )
    account.card_status = CardStatus.blocked_lost if reason == "lost" else CardStatus.blocked_stolen
    run.session.flush()
    return ToolResult.ok(
        f"I've blocked your card ending {account.card_last4}. It can no longer be used.",
        card_status=account.card_status.value,
        card_last4=account.card_last4,
    )
