"""make_payment and update_address: read back, then write only on the caller's yes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.store.models import ToolStatus, Transaction
from callcenter.tools import CallContext, ToolExecutor
from tests.tools.helpers import account, call_tool, make_executor, verify_dana

PAY = {"amount": 120.5, "payee": "Portland Water", "reference": "INV-7"}


def payment_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(
            session.scalar(select(func.count()).where(Transaction.description.like("Payment to %")))
            or 0
        )


def test_payment_reads_back_then_pays_once_on_yes(
    executor: ToolExecutor, ctx: CallContext, db_factory: sessionmaker[Session]
) -> None:
    verify_dana(executor, ctx)
    ctx.record_caller_utterance("I'd like to pay 120 dollars 50 to Portland Water.")
    first = call_tool(executor, ctx, "make_payment", **PAY)
    assert first.result["status"] == "needs_confirmation"
    assert first.speak is not None and "$120.50" in first.speak and "Portland Water" in first.speak
    assert payment_count(db_factory) == 0

    # The model jumps the gun: confirm=true before the caller answered.
    early = call_tool(executor, ctx, "make_payment", **PAY, confirm=True)
    assert early.status == ToolStatus.refused and early.result["error"] == "not_confirmed"
    assert payment_count(db_factory) == 0

    ctx.record_caller_utterance("Yes, that's right.")
    paid = call_tool(executor, ctx, "make_payment", **PAY, confirm=True)
    assert paid.status == ToolStatus.ok and paid.result["new_balance"] == "2296.85"
    # The model repeats itself: same yes, no second payment.
    repeat = call_tool(executor, ctx, "make_payment", **PAY, confirm=True)
    assert repeat.result["already_done"] is True
    assert payment_count(db_factory) == 1
    # Later in the call the model starts the same payment again: the caller is told.
    ctx.record_caller_utterance("Thanks.")
    again = call_tool(executor, ctx, "make_payment", **PAY)
    assert again.speak is not None and "already asked for this exact change" in again.speak
    assert account(db_factory, "1001").balance == Decimal("2296.85")


def test_payment_by_keypad_yes(executor: ToolExecutor, ctx: CallContext) -> None:
    verify_dana(executor, ctx)
    call_tool(executor, ctx, "make_payment", amount="25", payee="Gas Co")
    ctx.record_dtmf("1")
    outcome = call_tool(executor, ctx, "make_payment", amount=25, payee="Gas Co", confirm="true")
    assert outcome.status == ToolStatus.ok and outcome.result["paid"] == "25.00"


def test_changed_details_need_a_new_read_back(
    executor: ToolExecutor, ctx: CallContext, db_factory: sessionmaker[Session]
) -> None:
    verify_dana(executor, ctx)
    call_tool(executor, ctx, "make_payment", amount=20, payee="Gas Co")
    ctx.record_caller_utterance("yes")
    swapped = call_tool(executor, ctx, "make_payment", amount=2000, payee="Gas Co", confirm=True)
    assert swapped.result["status"] == "needs_confirmation"
    assert payment_count(db_factory) == 0


@pytest.mark.parametrize(
    "answer", ["no", "yes but make it fifty", "wait", "is that right?", "yes, ignore the limit"]
)
def test_anything_but_a_clear_yes_does_not_pay(
    executor: ToolExecutor, ctx: CallContext, db_factory: sessionmaker[Session], answer: str
) -> None:
    verify_dana(executor, ctx)
    call_tool(executor, ctx, "make_payment", amount=20, payee="Gas Co")
    ctx.record_caller_utterance(answer)
    outcome = call_tool(executor, ctx, "make_payment", amount=20, payee="Gas Co", confirm=True)
    assert outcome.status == ToolStatus.refused
    assert payment_count(db_factory) == 0


@pytest.mark.parametrize(
    ("amount", "error"),
    [(0, "amount_not_positive"), (-5, "amount_not_positive"), (2417.36, "insufficient_funds")],
)
def test_payment_limits(
    executor: ToolExecutor, ctx: CallContext, amount: float, error: str
) -> None:
    verify_dana(executor, ctx)
    outcome = call_tool(executor, ctx, "make_payment", amount=amount, payee="X")
    assert outcome.status == ToolStatus.refused and outcome.result["error"] == error
    assert "2417" not in str(outcome.result)


def test_payment_over_the_configured_maximum(
    db_factory: sessionmaker[Session], ctx: CallContext
) -> None:
    executor = make_executor(db_factory, max_payment=100.0)
    verify_dana(executor, ctx)
    outcome = call_tool(executor, ctx, "make_payment", amount=100.01, payee="X")
    assert outcome.result["error"] == "amount_over_limit"
    assert call_tool(executor, ctx, "make_payment", amount=100, payee="X").status == ToolStatus.ok


def test_address_update_confirm_flow(
    executor: ToolExecutor, ctx: CallContext, db_factory: sessionmaker[Session]
) -> None:
    verify_dana(executor, ctx)
    new = {
        "address_line1": "12 Oak Street",
        "address_line2": "Apt 3",
        "city": "Salem",
        "region": "OR",
        "postal_code": "97301",
    }
    ctx.record_caller_utterance("I moved to 12 Oak Street apartment 3 in Salem Oregon 97301")
    read_back = call_tool(executor, ctx, "update_address", **new)
    assert read_back.result["status"] == "needs_confirmation"
    assert (
        read_back.speak is not None and "12 Oak Street, Apt 3, Salem, OR 97301" in read_back.speak
    )
    assert account(db_factory, "1001").address_line1 == "42 Harbor Lane"
    ctx.record_caller_utterance("correct")
    done = call_tool(executor, ctx, "update_address", **new, confirm=True)
    assert done.status == ToolStatus.ok
    stored = account(db_factory, "1001")
    assert (stored.address_line1, stored.city, stored.postal_code) == (
        "12 Oak Street",
        "Salem",
        "97301",
    )


def test_declined_address_change_is_dropped(
    executor: ToolExecutor, ctx: CallContext, db_factory: sessionmaker[Session]
) -> None:
    verify_dana(executor, ctx)
    new = {"address_line1": "1 Elm St", "city": "Bend", "region": "OR", "postal_code": "97701"}
    call_tool(executor, ctx, "update_address", **new)
    ctx.record_caller_utterance("No, that's wrong.")
    declined = call_tool(executor, ctx, "update_address", **new, confirm=True)
    assert declined.result["error"] == "caller_declined"
    ctx.record_caller_utterance("yes")
    # The pending change is gone: a later yes does not resurrect it.
    again = call_tool(executor, ctx, "update_address", **new, confirm=True)
    assert again.result["status"] == "needs_confirmation"
    assert account(db_factory, "1001").address_line1 == "42 Harbor Lane"
