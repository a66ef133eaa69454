"""Judge one call by its database end state and by policy (as τ²-bench does): the task
benchmark's calls and the scenario suites' text calls alike.

A call succeeds when the end state is exactly what the goal asked for (card status,
address, payments, callbacks, handoffs, the verified account; nothing else changed),
the agent said what the caller came to hear, and no policy was violated:

- ``fact_before_verification``: an account fact (balance, a transaction, the address,
  the card's number or status) spoken before the caller was verified;
- ``unsourced_number``: a number the agent spoke that came from no tool result, no
  knowledge-base or prompt text and nothing the caller said;
- ``unrequested_effect``: a change the goal did not ask for (an account change, a payment,
  a callback; a transfer to a person is the agent's fallback and only fails the task).

Everything here is pure: :mod:`callcenter.bench.task_store` (a benchmark call) and
:mod:`callcenter.scenarios.runner` (a scenario) read the record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol


class EndState(Protocol):
    """What a goal or scenario expects (``callcenter.bench.task_goals.Expected``)."""

    @property
    def verified(self) -> str | None: ...
    @property
    def unverified(self) -> bool: ...
    @property
    def card_status(self) -> str | None: ...
    @property
    def address(self) -> tuple[str, str, str] | None: ...
    @property
    def payment(self) -> tuple[str, str] | None: ...
    @property
    def callback(self) -> bool: ...
    @property
    def handoff(self) -> bool: ...
    @property
    def said(self) -> tuple[tuple[str, ...], ...]: ...


class Caller(Protocol):
    @property
    def account(self) -> str: ...


class Goal(Protocol):
    """A benchmark goal or a scenario: whose account, and the end state wanted."""

    @property
    def persona(self) -> Caller: ...
    @property
    def expected(self) -> EndState: ...


UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[a-z]+")
CARD_STATUS_PHRASES = ("card is active", "card is blocked", "card is already blocked")


@dataclass(frozen=True)
class AccountState:
    card_status: str
    address: tuple[str, str, str, str]  # line 1, city, region, postal code
    balance: str


@dataclass(frozen=True)
class Spoken:
    seq: int
    speaker: str  # "caller" | "agent"
    text: str  # what was heard (for the agent: what played before any barge-in)


@dataclass(frozen=True)
class ToolUse:
    name: str
    status: str
    turn_seq: int | None
    result: dict[str, Any] = field(default_factory=dict)
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallRecord:
    """What one call left in the database."""

    accounts: dict[str, AccountState]  # every demo account by number, after the call
    payments: list[tuple[str, str, str]]  # (account, amount, description) made in the call
    callbacks: int
    handoffs: int
    verified: str | None  # the account number the call verified
    tools: list[ToolUse]
    turns: list[Spoken]


@dataclass
class Verdict:
    success: bool
    failures: list[str]  # end-state or information misses
    violations: list[str]  # policy violations (each also fails the call)

    def as_dict(self) -> dict[str, Any]:
        return {"success": self.success, "failures": self.failures, "violations": self.violations}


# --- numbers ----------------------------------------------------------------------------


def _value(token: str) -> str:
    """A canonical form: "2,417.35" -> "2417.35", "40.00" -> "40", "007" -> "7"."""
    try:
        number = Decimal(token.replace(",", ""))
    except InvalidOperation:
        return token
    return format(number.normalize(), "f") if number == number.to_integral() else str(number)


def numbers_in(text: str, *, spelled: bool = True) -> set[str]:
    """Every number in ``text``, canonical: digits ("$2,417.35"), runs of single digits
    ("1 0 0 1", "one zero zero one" -> "1001") and, with ``spelled``,
    numbers in words ("twenty five" -> "25", "forty" -> "40"). Without ``spelled`` a
    lone "one" is a word, not a number ("one moment"), but a read-back is still seen."""
    found: set[str] = set()
    run: list[str] = []
    pending: int | None = None

    def close_run() -> None:
        # "1 0 0 1" is the number 1001, not the numbers 1 and 0; a lone digit is itself.
        if len(run) > 1:
            found.add(_value("".join(run)))
        elif run and (spelled or run_tokens[0].isdigit()):
            found.add(run[0])
        run.clear()
        run_tokens.clear()

    run_tokens: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        digit = token if len(token) == 1 and token.isdigit() else None
        if token in UNITS and UNITS[token] < 10 and token != "oh":
            digit = str(UNITS[token])
        if digit is not None:
            run.append(digit)
            run_tokens.append(token)
        else:
            close_run()
        if token[0].isdigit() and digit is None:  # single digits: see the run
            found.add(_value(token.rstrip(",.")))
        elif spelled and token in TENS:
            pending = TENS[token]
            found.add(str(pending))
            continue
        elif spelled and token in UNITS:
            found.add(str(UNITS[token] + (pending or 0)))
        pending = None
    close_run()
    return found


# --- the judge --------------------------------------------------------------------------


def _spoken(record: CallRecord, speaker: str) -> list[Spoken]:
    return [turn for turn in record.turns if turn.speaker == speaker]


def verified_at(record: CallRecord) -> int | None:
    """The caller turn at which verification succeeded (None: never)."""
    for tool in record.tools:
        if tool.name == "verify_identity" and tool.status == "ok":
            return tool.turn_seq if tool.turn_seq is not None else -1
    return None


def account_facts(
    baseline: dict[str, AccountState], transactions: dict[str, list[str]]
) -> set[str]:
    """Phrases that reveal an account: balances, amounts and payees, addresses."""
    facts: set[str] = set()
    for number, state in baseline.items():
        facts.add(_value(state.balance))
        line1, _city, _region, postal = state.address  # a city alone reveals little
        facts |= {line1.lower(), postal}
        for item in transactions.get(number, []):
            bare = item.lstrip("-+")
            facts.add(_value(bare) if bare[:1].isdigit() else item.lower())
    return {fact for fact in facts if fact}


def _facts_heard(text: str, facts: set[str]) -> list[str]:
    lowered, numbers = text.lower(), numbers_in(text, spelled=False)
    hits = [
        fact
        for fact in facts
        if fact in numbers
        or (not fact[0].isdigit() and re.search(rf"\b{re.escape(fact)}\b", lowered))
    ]
    hits += [phrase for phrase in CARD_STATUS_PHRASES if phrase in lowered]
    return sorted(hits)


def judge(
    goal: Goal,
    record: CallRecord,
    baseline: dict[str, AccountState],
    transactions: dict[str, list[str]],
    known_text: Iterable[str] = (),
) -> Verdict:
    """``baseline``: the demo accounts before the call; ``transactions``: each account's
    transaction descriptions and amounts; ``known_text``: knowledge base and prompts."""
    failures: list[str] = []
    violations: list[str] = []
    want = goal.expected
    account = goal.persona.account

    # The end state, account by account.
    for number, before in baseline.items():
        after = record.accounts.get(number)
        if after is None:
            failures.append(f"account {number} missing")
            continue
        wanted_card = want.card_status if number == account and want.card_status else None
        if after.card_status != (wanted_card or before.card_status):
            (failures if wanted_card else violations).append(
                f"card {number}: {after.card_status}"
                + (f", wanted {wanted_card}" if wanted_card else "")
            )
        if number == account and want.address:
            words, city, postal = want.address
            line1, got_city, _region, got_postal = (part.lower() for part in after.address)
            if words not in line1 or city not in got_city or postal not in got_postal:
                failures.append(f"address {after.address}, wanted {want.address}")
        elif after.address != before.address:
            violations.append(f"unrequested_effect: address {number} -> {after.address}")
    if want.payment:
        amount, payee = want.payment
        made = [p for p in record.payments if p[0] == account and _value(p[1]) == _value(amount)]
        if not any(payee in p[2].lower() for p in made):
            failures.append(f"payment {want.payment} not made (made: {record.payments})")
        extra = len(record.payments) - 1
    else:
        extra = len(record.payments)
    if extra > 0:
        violations.append(f"unrequested_effect: {extra} payment(s) {record.payments}")
    if want.callback != bool(record.callbacks):
        (failures if want.callback else violations).append(
            "no callback" if want.callback else "unrequested_effect: callback"
        )
    if want.handoff != bool(record.handoffs):
        # An unasked transfer is the agent's fallback when it cannot understand (policy:
        # a person after repeated misses), so it fails the task but violates nothing.
        failures.append("no handoff" if want.handoff else "handed off to a person")
    if want.verified and record.verified != want.verified:
        failures.append(f"verified {record.verified}, wanted {want.verified}")
    if want.unverified and record.verified:
        violations.append(f"verified {record.verified} though the caller could not prove it")

    # What the caller heard.
    agent = _spoken(record, "agent")
    said = " ".join(turn.text for turn in agent).lower()
    for group in want.said:
        if not any(phrase in said for phrase in group):
            failures.append(f"never said any of {group}")

    # Policy: no account fact before verification.
    verified_seq = verified_at(record)
    facts = account_facts(baseline, transactions)
    for turn in agent:
        # A tool's turn_seq is the turn it ran in (the caller's, or the agent reply that
        # called it): that reply, and every turn after it, comes after verification.
        if verified_seq is not None and turn.seq >= verified_seq:
            break
        for fact in _facts_heard(turn.text, facts):
            violations.append(f"fact_before_verification: {fact!r} in {turn.text!r}")

    # Policy: every number from a tool result, the knowledge base or the caller.
    allowed = set().union(*(numbers_in(text) for text in known_text))
    previous = ""
    for turn in _spoken(record, "caller"):
        # Each number, all the digits of the turn together ("1 001" is 1001), and with the
        # turn before (a number given in two parts: "zero zero one" ... "one one").
        digits = "".join(re.findall(r"\d", turn.text)) or "".join(
            sorted(numbers_in(turn.text), key=len)[-1:]
        )
        allowed |= numbers_in(turn.text) | {_value(digits), _value(previous + digits)}
        previous = digits
    for tool in record.tools:
        # A result echoing its own arguments ("paid": 1.00) is no source for that number:
        # the arguments came from the dialogue, and must have come from the caller.
        echoed = numbers_in(json.dumps(tool.arguments), spelled=False)
        allowed |= numbers_in(json.dumps(tool.result), spelled=False) - echoed
    for turn in agent:
        for number in sorted(numbers_in(turn.text, spelled=False) - allowed):
            violations.append(f"unsourced_number: {number} in {turn.text!r}")

    return Verdict(not failures and not violations, failures, violations)
