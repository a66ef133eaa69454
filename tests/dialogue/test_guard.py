"""Model text spoken to an unverified caller carries no amounts or digits they did not give."""

from __future__ import annotations

import pytest

from callcenter.dialogue.guard import mentions_internals, unverified_leak
from callcenter.tools.context import CallContext, VerifiedIdentity


@pytest.mark.parametrize(
    "clause",
    [
        "Your balance is $1001.",
        "You have 2,417 dollars and 35 cents.",
        "Your card ending 4417 is active.",
        "The last payment was 84.12 dollars.",
    ],
)
def test_invented_account_data_is_withheld_before_verification(clause: str) -> None:
    assert unverified_leak(clause, CallContext(call_id="c"))


@pytest.mark.parametrize(
    "clause",
    ["We are open from 8 AM to 8 PM.", "Sure, I can help with that.", "Call us on weekdays."],
)
def test_ordinary_answers_pass(clause: str) -> None:
    assert not unverified_leak(clause, CallContext(call_id="c"))


def test_digits_the_caller_said_may_be_read_back() -> None:
    ctx = CallContext(call_id="c")
    ctx.record_caller_utterance("my account number is one zero zero one")
    assert not unverified_leak("Thanks, account 1001.", ctx)
    assert unverified_leak("Thanks, account 1002.", ctx)


def test_a_verified_caller_hears_their_data() -> None:
    ctx = CallContext(call_id="c")
    ctx.verified = VerifiedIdentity(1, "1001", "Dana Whitfield", "pin")
    assert not unverified_leak("Your balance is $2,417.35.", ctx)


def test_tool_names_are_never_spoken() -> None:
    assert mentions_internals("You can check it by calling the `get_balance` function.")
    assert mentions_internals("Please call verify_identity with your PIN.")
    assert not mentions_internals("I can check your balance once you are verified.")


def test_a_number_in_a_model_line_must_come_from_a_source() -> None:
    from callcenter.dialogue.guard import numbers_in, ungrounded

    article = "An outgoing domestic wire transfer costs 25 dollars. Fees: 2 dollars 50."
    assert not ungrounded("A wire costs 25 dollars.", [article])
    assert not ungrounded("It costs twenty five dollars.", [article])  # words = digits
    assert ungrounded("It costs 30 dollars.", [article])
    assert ungrounded("Your balance is $1,250.00.", [article, "what's my balance"])
    assert not ungrounded("Your balance is $1,250.00.", ['{"balance": "1250.00"}'])
    assert not ungrounded("We can help with that.", [])  # no number, nothing to check
    assert numbers_in("$2,417.35 and 8 AM") == numbers_in("2417.35, eight")
