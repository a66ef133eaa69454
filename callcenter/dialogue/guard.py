"""A last check on what the model says before an unverified caller hears it.

The tools refuse account data until the caller is verified, but a small model can still
*invent* it ("Your balance is $1,001."). To a caller that is indistinguishable from a
leak, so model text spoken to an unverified caller may not carry money amounts or long
digit strings the caller did not give themselves. And for any caller, a number in model
text must come from a tool result, the knowledge-base article used, or the caller
(:func:`ungrounded`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from callcenter.text.digits import digit_runs
from callcenter.text.money import words_to_number
from callcenter.tools.context import CallContext

MONEY = re.compile(
    r"[$€£]\s?\d|\b\d[\d,]*(?:\.\d+)?\s*(?:dollars?|cents?|usd|euros?|pounds?)\b", re.IGNORECASE
)
LONG_DIGITS = re.compile(r"\d(?:[\d ,.-]*\d){3,}")
SAFE_LINE = (
    "I can help with your account once I've verified your identity. What's your account number?"
)


# Code identifiers ("get_balance", `verify_identity`) are never speech: a small model
# that talks about its tools ("call the get_balance function") confuses callers.
INTERNALS = re.compile(r"`|\b[a-z]+_[a-z_]+\b")


def mentions_internals(clause: str) -> bool:
    return bool(INTERNALS.search(clause))


def unverified_leak(clause: str, ctx: CallContext) -> bool:
    """True when ``clause`` must not be spoken to this (unverified) caller."""
    if ctx.verified is not None:
        return False
    if MONEY.search(clause):
        return True
    for match in LONG_DIGITS.finditer(clause):
        digits = re.sub(r"\D", "", match.group())
        if len(digits) >= 4 and not ctx.caller_said_digits(digits):
            return True
    return False


# --- grounding: every number a model line states must come from somewhere ------------------

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_NUMBER_WORDS = re.compile(
    r"\b(?:(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundred|thousand)(?:[\s-]+(?:and[\s-]+)?)?)+",
    re.IGNORECASE,
)


def numbers_in(text: str) -> set[Decimal]:
    """Every number a text states, in digits or in words ("five" and "5" are the same)."""
    found: set[Decimal] = set()
    for match in _NUMBER.finditer(text):
        raw = match.group().replace(",", "").rstrip(".")
        with contextlib.suppress(InvalidOperation):
            found.add(Decimal(raw).normalize())
    for match in _NUMBER_WORDS.finditer(text):
        said = match.group().lower().replace("-", " ").split()
        if said == ["one"]:
            continue  # "one moment", "one of our colleagues": a word, not a stated number
        parsed = words_to_number(said)
        if parsed is not None:
            found.add(Decimal(parsed[0]).normalize())
    return found


def ungrounded(clause: str, sources: Iterable[str]) -> bool:
    """True when the clause states a number none of ``sources`` (tool results, the
    knowledge-base article used, the caller's words) states: an invented fact."""
    claimed = numbers_in(clause)
    if not claimed:
        return False
    known: set[Decimal] = set()
    for source in sources:
        known |= numbers_in(source)
        # Digits said one by one ("one zero zero one") state the number 1001.
        known |= {Decimal(run).normalize() for run in digit_runs(source) if run}
    return not claimed <= known


GROUNDED_SAFE_LINE = (
    "I'm sorry, I don't have that information. I can connect you with a colleague who can help."
)
