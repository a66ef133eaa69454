"""Money amounts as callers say them: "$120.50", "120 dollars and 50 cents",
"one hundred twenty dollars", "fifty bucks", "two fifty" (= 2.50 only with "dollars"
between; otherwise 250 is not guessed: the read-back catches what we misheard)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from callcenter.text.digits import keyed_keys
from callcenter.text.spoken_numbers import DIGIT_WORDS, TEENS, TENS, tokenize

_NUMERIC = re.compile(r"\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")
_UNITS = {word: value for word, value in DIGIT_WORDS.items() if word not in ("o", "oh")}
_CURRENCY = frozenset(["dollar", "dollars", "bucks", "usd"])
_CENTS = frozenset(["cent", "cents"])


def words_to_number(tokens: list[str]) -> tuple[int, int] | None:
    """A cardinal number spelled out at the start of ``tokens``: (value, tokens used)."""
    total, current, used = 0, 0, 0
    seen = False
    for token in tokens:
        if token.isdigit() and not seen:
            return int(token), 1
        if token in _UNITS:
            current += _UNITS[token]
        elif token in TEENS:
            current += TEENS[token]
        elif token in TENS:
            current += TENS[token]
        elif token == "hundred" and seen:
            current = max(current, 1) * 100
        elif token == "thousand" and seen:
            total += max(current, 1) * 1000
            current = 0
        elif token == "and" and seen:
            pass
        elif (
            token == "a" and not seen and tokens[used + 1 : used + 2] in (["hundred"], ["thousand"])
        ):
            used += 1
            current = 1  # "a hundred dollars"; a lone "a" ("a payment") is no number
            seen = True
            continue
        else:
            break
        seen = True
        used += 1
    if not seen:
        return None
    while used and tokens[used - 1] == "and":
        used -= 1
    return total + current, used


def states_money(text: str) -> bool:
    """The text names money ("$40", "forty dollars", "25 bucks"), not just a number."""
    return "$" in text or bool(set(tokenize(text)) & (_CURRENCY | _CENTS))


_KEYED_AMOUNT = re.compile(r"^(\d{3,9})#?$")


def keyed_amount(text: str) -> Decimal | None:
    """An amount typed on the keypad including cents, as phone banking IVRs take it:
    "2550#" is $25.50 and "2500#" $25.00 (star is the keypad's erase key, so it cannot be
    a decimal point). Fewer than three keys is no amount: "25" would be 25 cents, which
    nobody means; the caller is asked again rather than given a guess."""
    keys = keyed_keys(text)
    match = _KEYED_AMOUNT.match(keys) if keys is not None else None
    if match is None:
        return None
    digits = match.group(1)
    return Decimal(f"{int(digits[:-2])}.{digits[-2:]}")


def parse_amount(text: str) -> Decimal | None:
    """The one amount of money the turn states, else None."""
    if keyed_keys(text) is not None:
        return keyed_amount(text)
    numeric = _NUMERIC.search(text.replace("$ ", "$"))
    if numeric is not None:
        whole = numeric.group(1).replace(",", "")
        cents = (numeric.group(2) or "0").ljust(2, "0")
        try:
            amount = Decimal(f"{whole}.{cents}")
        except InvalidOperation:
            return None
        rest = tokenize(text[numeric.end() :])
        extra = _cents_after(rest) if numeric.group(2) is None else None
        return amount + extra if extra is not None else amount
    tokens = tokenize(text)
    for i in range(len(tokens)):
        parsed = words_to_number(tokens[i:])
        if parsed is None:
            continue
        value, used = parsed
        amount = Decimal(value)
        extra = _cents_after(tokens[i + used :])
        return amount + extra if extra is not None else amount
    return None


def _cents_after(tokens: list[str]) -> Decimal | None:
    """'dollars and fifty cents' / 'dollars fifty' after the whole amount."""
    i = 0
    if i < len(tokens) and tokens[i] in _CURRENCY:
        i += 1
    else:
        return None
    if i < len(tokens) and tokens[i] == "and":
        i += 1
    parsed = words_to_number(tokens[i:])
    if parsed is None:
        return None
    value, used = parsed
    if value >= 100:
        return None
    after = tokens[i + used : i + used + 1]
    if after and after[0] not in _CENTS:
        return None
    return Decimal(value) / 100


def say_amount(amount: Decimal) -> str:
    """'$120.50' (the voice reads it as dollars and cents)."""
    return f"${amount:,.2f}"
