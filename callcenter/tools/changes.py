"""Tools that change an account: read back first, then run only on the caller's yes.

Each is called twice by the model: first without ``confirm`` (the tool stores the
pending change and returns a read-back for the caller), then with ``confirm=true``
after the caller answered. :mod:`callcenter.tools.policy` decides whether that answer
was a yes to this read-back; the model's ``confirm`` flag alone never is.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from callcenter.store.models import Account, AccountStatus, Transaction
from callcenter.tools import policy
from callcenter.tools.account import money, verified_account
from callcenter.tools.base import ToolResult, ToolRun

CONFIRM_PROPERTY = {
    "type": "boolean",
    "description": "false (default) to read the change back to the caller; true only "
    "after the caller said yes to that read-back.",
}
PAYMENT_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "amount": {"type": "number", "description": "Amount in dollars, e.g. 120.50."},
        "payee": {"type": "string", "minLength": 1, "maxLength": 100},
        "reference": {"type": "string", "maxLength": 64, "description": "Optional bill reference."},
        "confirm": CONFIRM_PROPERTY,
    },
    "required": ["amount", "payee"],
    "additionalProperties": False,
}
ADDRESS_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "address_line1": {"type": "string", "minLength": 1, "maxLength": 200},
        "address_line2": {"type": "string", "maxLength": 200},
        "city": {"type": "string", "minLength": 1, "maxLength": 100},
        "region": {"type": "string", "minLength": 1, "maxLength": 100},
        "postal_code": {"type": "string", "minLength": 1, "maxLength": 20},
        "confirm": CONFIRM_PROPERTY,
    },
    "required": ["address_line1", "city", "region", "postal_code"],
    "additionalProperties": False,
}
CENT = Decimal("0.01")


def make_payment(run: ToolRun) -> ToolResult:
    account = verified_account(run, for_update=True)
    try:
        amount = Decimal(str(run.arguments["amount"])).quantize(CENT, ROUND_HALF_UP)
    except InvalidOperation:
        return ToolResult.invalid("bad_amount", "Sorry, what amount would you like to pay?")
    payee = " ".join(str(run.arguments["payee"]).split())
    reference = " ".join(str(run.arguments.get("reference") or "").split())
    change = {"amount": str(amount), "payee": payee, "reference": reference}
    refusal = _payment_limits(run, account, amount)
    if refusal is not None:
        run.ctx.pending.pop("make_payment", None)
        return refusal
    read_back = f"A payment of {money(amount, account.currency)} to {payee}" + (
        f", reference {reference}." if reference else "."
    )

    def execute(key: str, yes_index: int) -> ToolResult:
        tx_reference = f"pay-{run.ctx.call_id}-{yes_index}"
        if run.session.scalar(select(Transaction.id).where(Transaction.reference == tx_reference)):
            return ToolResult.ok("That payment has already been made.", already_done=True)
        account.balance = account.balance - amount
        run.session.add(
            Transaction(
                account_id=account.id,
                description=(f"Payment to {payee}" + (f" ({reference})" if reference else ""))[
                    :200
                ],
                amount=-amount,
                reference=tx_reference,
            )
        )
        run.session.flush()
        return ToolResult.ok(
            f"Done. I've paid {money(amount, account.currency)} to {payee}. Your new balance "
            f"is {money(account.balance, account.currency)}.",
            paid=str(amount),
            payee=payee,
            new_balance=str(account.balance),
            transaction_reference=tx_reference,
        )

    return _confirm_then(run, "make_payment", change, read_back, execute)


def _payment_limits(run: ToolRun, account: Account, amount: Decimal) -> ToolResult | None:
    if account.status != AccountStatus.active:
        return ToolResult.refused(
            "account_not_active", "Payments aren't possible on this account right now."
        )
    if not amount.is_finite() or amount <= 0:
        return ToolResult.refused("amount_not_positive", "The amount has to be more than zero.")
    limit = Decimal(str(run.settings.max_payment)).quantize(CENT)
    if amount > limit:
        return ToolResult.refused(
            "amount_over_limit",
            f"I can make payments of up to {money(limit, account.currency)} over the phone.",
            limit=str(limit),
        )
    if amount > account.balance:
        # Say no more than needed: the balance itself is one tool call away if asked.
        return ToolResult.refused(
            "insufficient_funds", "There isn't enough money in the account for that payment."
        )
    return None


def update_address(run: ToolRun) -> ToolResult:
    account = verified_account(run, for_update=True)
    fields = ("address_line1", "address_line2", "city", "region", "postal_code")
    change = {name: " ".join(str(run.arguments.get(name) or "").split()) for name in fields}
    if account.status == AccountStatus.closed:
        return ToolResult.refused("account_closed", "This account is closed.")
    parts = [change["address_line1"], change["address_line2"], change["city"]]
    spoken = ", ".join(part for part in parts if part)
    read_back = f"Your new address will be {spoken}, {change['region']} {change['postal_code']}."

    def execute(key: str, yes_index: int) -> ToolResult:
        for name, value in change.items():
            setattr(account, name, value)
        run.session.flush()
        return ToolResult.ok("Done. I've updated your address.", address=change)

    return _confirm_then(run, "update_address", change, read_back, execute)


def _confirm_then(
    run: ToolRun,
    tool: str,
    change: dict[str, Any],
    read_back: str,
    execute: Callable[[str, int], ToolResult],
) -> ToolResult:
    ctx = run.ctx
    if policy.done_earlier_in_call(ctx, tool, change):
        # Make a repeat deliberate: the caller hears that it would be the second time.
        read_back = f"You already asked for this exact change earlier in this call. {read_back}"
    if not run.arguments.get("confirm"):
        return policy.start_read_back(ctx, tool, change, read_back)
    earlier = policy.previous_result(ctx, tool, change)
    if earlier is not None:
        # The model repeated a call that already ran for this same yes: no second write.
        return ToolResult.ok(
            str(earlier.get("say", "")), **_without_say(earlier), already_done=True
        )
    key = policy.confirmed_by_caller(ctx, tool, change)
    if key is None:
        pending = ctx.pending.get(tool)
        if pending is None or pending.arguments != change:
            # confirm=true without a read-back of these exact details: read back first.
            return policy.start_read_back(ctx, tool, change, read_back)
        latest = ctx.latest_input
        if latest is not None and latest.index > pending.after_input and policy.is_negative(latest):
            ctx.pending.pop(tool, None)
            return ToolResult.refused(
                "caller_declined", "Okay, I won't make that change. What would you like to do?"
            )
        return ToolResult.refused(
            "not_confirmed",
            f"{pending.read_back} Would you like me to go ahead? Please say yes, or press 1.",
        )
    assert ctx.latest_input is not None
    result = execute(key, ctx.latest_input.index)

    def remember() -> None:
        ctx.pending.pop(tool, None)
        ctx.completed[key] = result.data

    run.on_commit.append(remember)
    return result


def _without_say(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("say", "ok", "already_done")}
