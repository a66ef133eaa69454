"""A last check on what the model says before an unverified caller hears it.

The tools refuse account data until the caller is verified, but a small model can still
*invent* it ("Your balance is $1,001."). To a caller that is indistinguishable from a
leak, so model text spoken to an unverified caller may not carry money amounts or long
digit strings the caller did not give themselves.
"""

from __future__ import annotations

import re

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
