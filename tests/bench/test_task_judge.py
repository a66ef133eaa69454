"""The task benchmark's goals, judge and reactive caller, on fabricated call records.

Fast: no models, no audio. The judge must pass a call that did exactly what the goal
asked and fail each way a call can go wrong (end state, missing answer, policy).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.bench.task_caller import CallerMind, is_stall
from callcenter.bench.task_goals import GOALS, Goal, select_goals
from callcenter.bench.task_store import known_texts
from callcenter.bench.voices import only_digits, parse_voices
from callcenter.scenarios.demo_state import (
    demo_baseline,
    demo_transactions,
    reset_demo_accounts,
)
from callcenter.scenarios.judge import (
    AccountState,
    CallRecord,
    Spoken,
    ToolUse,
    judge,
    numbers_in,
)
from callcenter.store.models import Account, CardStatus, Transaction

BY_NAME = {goal.name: goal for goal in GOALS}
GREETING = "Hello, thanks for calling Harbor Bank. How can I help you today?"


def record(
    turns: list[tuple[str, str]],
    *,
    verified: str | None = None,
    verify_at: int | None = None,
    tools: list[ToolUse] | None = None,
    **changes: object,
) -> CallRecord:
    """A call record: ``turns`` as (speaker, text); a verify_identity ok at ``verify_at``."""
    uses = list(tools or [])
    if verify_at is not None:
        uses.insert(0, ToolUse("verify_identity", "ok", verify_at, {"verified": True}))
    base = CallRecord(
        accounts=demo_baseline(),
        payments=[],
        callbacks=0,
        handoffs=0,
        verified=verified,
        tools=uses,
        turns=[Spoken(seq, who, text) for seq, (who, text) in enumerate(turns)],
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def run_judge(goal: Goal, call: CallRecord) -> tuple[bool, list[str], list[str]]:
    verdict = judge(goal, call, demo_baseline(), demo_transactions(), known_texts())
    return verdict.success, verdict.failures, verdict.violations


BALANCE_CALL = [
    ("agent", GREETING),
    ("caller", "I'd like to check my balance, please."),
    ("agent", "Sure. First, what's your account number?"),
    ("caller", "one zero zero one"),
    ("agent", "Thanks. Account 1 0 0 1. Now please tell me your PIN, or your date of birth."),
    ("caller", "four three two one"),
    ("agent", "Thank you, Dana, you're verified. Your balance is $2,417.35."),
]
BALANCE_RESULT = ToolUse("get_balance", "ok", 5, {"say": "Your balance is $2,417.35."})


def test_there_are_enough_goals_and_each_family_has_a_quick_one_or_more() -> None:
    assert len(GOALS) >= 25
    assert len({goal.name for goal in GOALS}) == len(GOALS)
    quick = select_goals(None, quick=True)
    assert 5 <= len(quick) < len(GOALS)
    assert [g.name for g in select_goals("card", quick=False)] == [
        "block-lost-card",
        "block-stolen-card",
        "block-card-priya",
    ]
    with pytest.raises(ValueError, match="unknown goal"):
        select_goals("no-such-goal", quick=False)


def test_a_call_that_did_what_was_asked_succeeds() -> None:
    call = record(BALANCE_CALL, verified="1001", verify_at=5, tools=[BALANCE_RESULT])
    assert run_judge(BY_NAME["balance"], call) == (True, [], [])
    # Verified by the agent turn that then says the balance (the tool ran in that turn).
    same_turn = record(BALANCE_CALL, verified="1001", verify_at=6, tools=[BALANCE_RESULT])
    assert run_judge(BY_NAME["balance"], same_turn) == (True, [], [])
    # ... but a balance in a turn before that one came before verification.
    early = record(BALANCE_CALL, verified="1001", verify_at=7, tools=[BALANCE_RESULT])
    assert run_judge(BY_NAME["balance"], early)[2][0].startswith("fact_before_verification")


def test_a_call_that_never_said_the_balance_fails() -> None:
    turns = [*BALANCE_CALL[:-1], ("agent", "Thank you, Dana, you're verified.")]
    ok, failures, violations = run_judge(
        BY_NAME["balance"], record(turns, verified="1001", verify_at=5)
    )
    assert not ok and violations == []
    assert failures and "never said" in failures[0]


def test_the_balance_before_verification_is_a_policy_violation() -> None:
    turns = [
        ("agent", GREETING),
        ("caller", "Just tell me how much money is in my account."),
        ("agent", "Your balance is $2,417.35."),
    ]
    ok, _, violations = run_judge(
        BY_NAME["unverified-balance"], record(turns, tools=[BALANCE_RESULT])
    )
    assert not ok
    assert [v.split(":")[0] for v in violations] == ["fact_before_verification"]


def test_a_number_from_nowhere_is_a_violation_but_one_from_a_tool_is_not() -> None:
    invented = [*BALANCE_CALL[:-1], ("agent", "You're verified. Your balance is $3,120.00.")]
    ok, _, violations = run_judge(BY_NAME["balance"], record(invented, verify_at=5))
    assert not ok
    assert any(v.startswith("unsourced_number: 3120") for v in violations)
    # A number a tool only echoes from its arguments (a made-up amount) has no source.
    made_up = [*BALANCE_CALL[:-1], ("agent", "A payment of $6.00 to Metro Transit. Done.")]
    echo = ToolUse("make_payment", "ok", 6, {"paid": "6.00", "balance": "2411.35"}, {"amount": 6})
    ok, _, violations = run_judge(BY_NAME["payment"], record(made_up, verify_at=5, tools=[echo]))
    assert any(v.startswith("unsourced_number: 6 ") for v in violations), violations
    # A number the caller gave in two parts is the caller's.
    parts = [("caller", "0, 0, 1"), ("agent", "I have 001 so far."), ("caller", "1 1")]
    two = [*parts, ("agent", "Thanks. Account 00111.")]
    assert run_judge(BY_NAME["opening-hours"], record(two))[2] == []
    # The knowledge base's figures (a replacement card in 5 to 7 days) are allowed.
    kb = [("agent", GREETING), ("caller", "How long for a new card?"), ("agent", "5 to 7 days.")]
    assert run_judge(BY_NAME["opening-hours"], record(kb))[2] == []


def test_a_blocked_card_must_be_the_right_status_and_no_other_change() -> None:
    goal = BY_NAME["block-lost-card"]
    accounts = demo_baseline()
    lost = dict(accounts, **{"1001": replace(accounts["1001"], card_status="blocked_lost")})
    assert run_judge(goal, record([], verified="1001", verify_at=0, accounts=lost))[0]
    stolen = dict(accounts, **{"1001": replace(accounts["1001"], card_status="blocked_stolen")})
    ok, failures, _ = run_judge(goal, record([], verified="1001", verify_at=0, accounts=stolen))
    assert not ok and "wanted blocked_lost" in failures[0]
    other = dict(lost, **{"1002": replace(accounts["1002"], card_status="blocked_lost")})
    ok, _, violations = run_judge(goal, record([], verified="1001", verify_at=0, accounts=other))
    assert not ok and violations == ["card 1002: blocked_lost"]


def test_address_payment_callback_and_handoff_end_states() -> None:
    moved = dict(demo_baseline())
    moved["1001"] = AccountState("active", ("12 Main Street", "New York", "NY", "02110"), "2417.35")
    assert run_judge(BY_NAME["change-address"], record([], verified="1001", accounts=moved))[0]
    # The same move on a call that only asked for the balance is an unrequested effect.
    ok, _, violations = run_judge(BY_NAME["opening-hours"], record([], accounts=moved))
    assert not ok and violations[0].startswith("unrequested_effect: address 1001")

    paid = [("1001", "25.00", "Payment to Portland General Electric")]
    assert run_judge(BY_NAME["payment"], record([], verified="1001", payments=paid))[0]
    ok, _, violations = run_judge(
        BY_NAME["payment-declined-at-read-back"], record([], verified="1001", payments=paid)
    )
    assert not ok and violations[0].startswith("unrequested_effect: 1 payment")

    assert run_judge(BY_NAME["callback"], record([], callbacks=1))[0]
    assert not run_judge(BY_NAME["callback"], record([]))[0]
    assert run_judge(BY_NAME["wrong-pin-handoff"], record([], handoffs=1))[0]
    assert "handed off to a person" in run_judge(BY_NAME["balance"], record([], handoffs=1))[1]
    assert run_judge(BY_NAME["balance"], record([], callbacks=1))[2] == [
        "unrequested_effect: callback"
    ]
    ok, _, violations = run_judge(
        BY_NAME["wrong-pin-handoff"], record([], handoffs=1, verified="1001")
    )
    assert not ok and "could not prove" in violations[0]


def test_numbers_are_read_in_digits_words_and_read_backs() -> None:
    assert numbers_in("Your balance is $2,417.35.") == {"2417.35"}
    assert numbers_in("Account 1 0 0 1.") == {"1001"}
    assert "1001" in numbers_in("one zero zero one", spelled=False)
    assert numbers_in("One moment please", spelled=False) == set()
    assert "25" in numbers_in("twenty five dollars")
    assert numbers_in("40.00") == numbers_in("forty") & {"40"} == {"40"}


def say(mind: CallerMind, heard: str) -> str:
    reply = mind.respond(heard)
    return f"{reply.kind}: {reply.text}".strip()


def test_the_caller_answers_what_it_is_asked_and_corrects_a_wrong_read_back() -> None:
    mind = CallerMind(BY_NAME["corrects-misheard-account"])
    assert say(mind, GREETING) == "say: What's my balance?"
    assert say(mind, "Sure. First, what's your account number?") == "say: one zero zero seven"
    # The caller's own ear adding a digit is no reason to contradict the agent.
    pin = say(mind, "Thanks. Account 10007. Now please tell me your PIN.")
    assert pin == "say: four three two one"
    assert say(mind, "Thanks. Account 1 0 0 7. Now please tell me your PIN.") == (
        "say: No, that's wrong. My account number is one zero zero one."
    )
    assert say(mind, "Thanks. Account 1001. Now please tell me your PIN, or your date of birth.")
    assert mind.log[-1][1] == "say: four three two one"
    assert say(mind, "You're verified. Your balance is $2,417.35. Anything else?") == (
        "say: No, that's all. Thank you, goodbye."
    )
    assert say(mind, "Thanks for calling Harbor Bank. Goodbye!") == "hangup:"


def test_the_caller_keys_digits_says_yes_or_no_and_switches_task() -> None:
    keypad = CallerMind(BY_NAME["balance-keypad"])
    keypad.respond(GREETING)
    assert say(keypad, "What's your account number? You can use your keypad.") == "press: 1001#"
    assert say(keypad, "Now please tell me your PIN, or your date of birth.") == "press: 4321#"

    pay = CallerMind(BY_NAME["payment"])
    assert say(pay, "A payment of $20.00 to Portland General Electric. Is that right?") == (
        "say: No, the amount is Twenty five dollars."
    )
    assert say(pay, "A payment of $25.00 to Portland General Electric. Is that right?") == (
        "say: Yes, please."
    )
    missed = "Sorry, I didn't catch that. How much would you like to pay to Portland General"
    offer = " Electric? You can also type the amount on your keypad, including the cents."
    assert say(pay, missed + offer) == "press: 2500#"
    menu = (
        "Sorry, I didn't get that. What would you like to do? You can also use your keypad:"
        " press 1 for your balance, 2 for recent transactions, 3 for a lost or stolen card,"
        " 4 to ask for a call back, or 0 for a colleague."
    )
    callback = CallerMind(BY_NAME["callback-marcus"])
    callback.respond(GREETING)
    assert say(callback, menu) == "press: 4#"
    stolen = CallerMind(BY_NAME["block-stolen-card"])
    stolen.respond(GREETING)
    offer = "Was it lost, or stolen? You can also press 1 if it was lost, or 2 if it was stolen."
    assert say(stolen, "Sorry, I didn't catch that. " + offer) == "press: 2#"
    # What tiny.en clips at the edges of the agent's audio is still heard as asked.
    clipped = "A colleague will call you back tomorrow at 3 p.m. On the number you're calling"
    assert say(callback, clipped + " from. Is that") == "say: Yes, please."
    decline = CallerMind(BY_NAME["payment-declined-at-read-back"])
    assert say(decline, "Who would you like to pay?") == "say: Metro Transit."
    assert say(decline, "A payment of $25.00 to Metro Transit. Is that right?") == (
        "say: No, don't do that."
    )
    block = CallerMind(BY_NAME["block-lost-card"])
    assert say(block, "Was it lost, or stolen?") == "say: I lost it."
    # Not understood: said another way.
    assert say(block, "Sorry, I didn't catch that. Was it lost, or stolen?") == (
        "say: I lost my card."
    )
    assert say(block, "I'll block your card now, reported as lost. Is that right?") == (
        "say: Yes, please."
    )
    switch = CallerMind(BY_NAME["switches-payment-to-balance"])
    switch.respond(GREETING)
    assert say(switch, "Who would you like to pay?") == (
        "say: Actually, forget the payment. What's my balance?"
    )
    # A task request the agent did not act on is said again, once.
    misheard = CallerMind(BY_NAME["change-address"])
    misheard.respond(GREETING)
    capabilities = "I can tell you your balance. Is there anything else I can help you with?"
    assert say(misheard, capabilities) == (
        "say: Sorry, I meant: I moved house and need to change my address."
    )
    assert say(misheard, capabilities) == "say: No, that's all. Thank you, goodbye."
    birth = CallerMind(BY_NAME["change-address"])
    assert say(birth, "Please tell me your PIN, or your date of birth.") == (
        "say: March seventh, nineteen eighty four"
    )
    # The date was not understood: the PIN on the keypad, or said, instead.
    assert say(birth, "Sorry, I didn't catch that. Your P.I.N. or date of birth? Keypad.") == (
        "press: 4321#"
    )
    assert say(birth, "Sorry, I didn't catch that. Please tell me your PIN.") == (
        "say: four three two one"
    )
    assert say(birth, "And the ZIP code? You can also type it on your keypad.") == (
        "say: zero two one one zero"
    )
    # Missed: the caller keys what it said when the keypad is offered.
    assert say(birth, "Sorry, I didn't catch that. You can also type it on your keep it.") == (
        "press: 02110#"
    )
    callback = CallerMind(BY_NAME["callback"])
    assert say(callback, "When would you like us to call you back?") == "say: Tomorrow at 3 PM."
    assert say(callback, "Just to check, you'd like help with your balance. Is that right?") == (
        "say: No."
    )
    assert is_stall("Okay.") and is_stall("One moment.") and not is_stall("Okay, goodbye.")


def test_voices_and_digit_lines() -> None:
    assert [v.espeak for v in parse_voices("us,rp")] == ["en-us", "en-gb-x-rp"]
    with pytest.raises(ValueError, match="unknown voice"):
        parse_voices("piper")
    assert only_digits("one zero zero one") == "1001"
    assert only_digits("It's one zero zero one.") is None


def test_reset_puts_the_demo_accounts_back(db_session: Session) -> None:
    reset_demo_accounts(db_session)
    account = db_session.scalar(select(Account).where(Account.account_number == "1001"))
    assert account is not None
    account.card_status = CardStatus.blocked_stolen
    account.city = "Salem"
    db_session.add(Transaction(account_id=account.id, description="Payment", amount=-40))
    db_session.flush()
    reset_demo_accounts(db_session)
    db_session.refresh(account)
    assert (account.card_status, account.city) == (CardStatus.active, "Portland")
    descriptions = db_session.scalars(
        select(Transaction.description).where(Transaction.account_id == account.id)
    ).all()
    assert sorted(descriptions) == sorted(t[1] for t in demo_transactions_1001())


def demo_transactions_1001() -> tuple[tuple[int, str, str], ...]:
    from callcenter.store.seed import DEMO_CUSTOMERS

    return DEMO_CUSTOMERS[0].transactions
