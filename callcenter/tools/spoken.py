"""What the caller said, as values: digit strings and dates from speech or keypad.

The policy compares the model's tool arguments with these values, so an account
number, PIN or date of birth the caller never said cannot reach a tool. Digits come
from the ASR engineer's normaliser (:mod:`callcenter.text.spoken_numbers`); dates from
:mod:`callcenter.text.dates` (re-exported here for the tools).
"""

from __future__ import annotations

from callcenter.text.dates import parse_dates, parse_one_date
from callcenter.text.spoken_numbers import extract_digits

__all__ = ["digits_in", "parse_dates", "parse_one_date"]


def digits_in(text: str) -> str:
    """Every digit the text says, spoken or written ("one zero zero one" -> "1001")."""
    return extract_digits(text)
