"""Dates and digits as callers say them; yes/goodbye detection; redaction."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from callcenter.text.dates import parse_dates
from callcenter.text.spoken_numbers import spell_digits
from callcenter.tools.context import CallContext
from callcenter.tools.policy import is_affirmative, is_closing
from callcenter.tools.redaction import is_secret_key, redact

MONTH_NAMES = [
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
]  # fmt: skip
ORDINAL = [
    "", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth", "twentieth",
]  # fmt: skip
UNITS = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
         "seventeen", "eighteen", "nineteen"]  # fmt: skip
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def say_ordinal(day: int) -> str:
    if day <= 20:
        return ORDINAL[day]
    if day == 30:
        return "thirtieth"
    return f"{TENS[day // 10]} {ORDINAL[day % 10]}"


def say_two_digits(n: int) -> str:
    if n < 10:
        return f"oh {UNITS[n]}"
    if n < 20:
        return TEENS[n - 10]
    return f"{TENS[n // 10]} {UNITS[n % 10]}".strip()


def say_year(year: int) -> str:
    if year == 2000:
        return "two thousand"
    if 2000 < year < 2010:
        return f"two thousand and {UNITS[year % 10]}"
    if year % 100 == 0:
        return f"{say_two_digits(year // 100)} hundred"
    return f"{say_two_digits(year // 100)} {say_two_digits(year % 100)}"


@given(st.dates(min_value=date(1920, 1, 1), max_value=date(2009, 12, 31)))
def test_every_spoken_form_of_a_birth_date_parses(born: date) -> None:
    month = MONTH_NAMES[born.month - 1]
    forms = [
        born.isoformat(),
        f"{born.month}/{born.day}/{born.year}",
        f"{month} {born.day}th {born.year}",
        f"{born.day} {month} {born.year}",
        f"the {say_ordinal(born.day)} of {month} {say_year(born.year)}",
        f"{month} {say_ordinal(born.day)}, {say_year(born.year)}",
    ]
    for form in forms:
        assert born in parse_dates(form), form


def test_keyed_dates_and_non_dates() -> None:
    assert date(1984, 3, 7) in parse_dates("03071984")
    assert parse_dates("May I ask something?") == set()
    assert parse_dates("my pin is 4321") == set()


@given(st.text("0123456789", min_size=3, max_size=8))
def test_spoken_digits_split_over_turns_count_as_said(digits: str) -> None:
    ctx = CallContext(call_id="x")
    half = len(digits) // 2
    ctx.record_caller_utterance(spell_digits(digits[:half]) or "um")
    ctx.record_caller_utterance(spell_digits(digits[half:]))
    assert ctx.caller_said_digits(digits)


def test_digits_from_unrelated_sentences_do_not_combine() -> None:
    ctx = CallContext(call_id="x")
    ctx.record_caller_utterance("I have 2 cards")
    ctx.record_caller_utterance("and 3 accounts with you")
    assert not ctx.caller_said_digits("23")


def test_affirmative_and_closing() -> None:
    ctx = CallContext(call_id="x")
    yes = ["Yes.", "yeah that's right", "Correct", "confirm", "Yes please, go ahead", "OK"]
    yes += ["Please.", "Go ahead."]  # whole answers that say yes without "yes"
    not_yes = ["no", "yes but change it", "is that right?", "hello", "", "yes, ignore that"]
    not_yes += ["please what", "please wait", "go ahead and cancel"]
    for text in yes:
        assert is_affirmative(ctx.record_caller_utterance(text)), text
    for text in not_yes:
        assert not is_affirmative(ctx.record_caller_utterance(text)), text
    assert is_affirmative(ctx.record_dtmf("1"))
    assert not is_affirmative(ctx.record_dtmf("9"))
    assert is_closing(ctx.record_caller_utterance("That's all, thanks. Bye!"))
    assert not is_closing(ctx.record_caller_utterance("Hello?"))


def test_redaction() -> None:
    data = {
        "pin": "4321",
        "nested": [{"date_of_birth": "1984-03-07"}, "card 4111 1111 1111 1111 lost"],
        "topic": "my pin 4321",
        "amount": 12.5,
    }
    assert redact(data, {"4321"}) == {
        "pin": "[redacted]",
        "nested": [{"date_of_birth": "[redacted]"}, "card [card ending 1111] lost"],
        "topic": "my pin [redacted]",
        "amount": 12.5,
    }


def test_redaction_scrubs_a_secret_whole_even_with_a_card_like_digit_run_inside() -> None:
    # A random hex API key can hold 13+ digits in a row; masking them as a card first
    # once left the rest of the key in the clear.
    secret = "key-8f7e4345012345678901234cfb7350e2a"
    text = f'{{"echoed_key": "{secret}", "card": "4111-1111-1111-1111"}}'
    scrubbed = redact(text, {secret})
    assert secret not in scrubbed and "7350e2a" not in scrubbed
    assert '"echoed_key": "[redacted]"' in scrubbed
    assert "[card ending 1111]" in scrubbed
    # Without knowing the secret, a digit run inside a longer token is not a card.
    assert redact(f"ref {secret}") == f"ref {secret}"


def test_secret_keys() -> None:
    for key in ["pin", "PIN", "pin_code", "userPin", "date_of_birth", "dob", "card_number",
                "cardNumber", "security_code", "password"]:  # fmt: skip
        assert is_secret_key(key), key
    for key in ["shipping", "account_number", "spin", "topic", "reason", "opinion"]:
        assert not is_secret_key(key), key
