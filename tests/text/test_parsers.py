"""Exact parsers for what callers say and key: digits, dates, money, yes/no."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from callcenter.text.dates import parse_date, say_date
from callcenter.text.digits import digit_runs, expected_digits, keyed_digits, read_back
from callcenter.text.money import parse_amount
from callcenter.text.yes_no import is_correction, yes_or_no


@pytest.mark.parametrize(
    ("said", "runs"),
    [
        ("one zero zero one", ["1001"]),
        ("1001", ["1001"]),
        ("1-0-0-1", ["1001"]),
        ("10 01", ["1001"]),
        ("It is 4, 3, 2, 1.", ["4321"]),
        ("one oh oh one", ["1001"]),
        ("double four two one", ["4421"]),
        ("won zero zero won", ["1001"]),  # tiny ASR homophones, next to digits
        ("for three to one", ["4321"]),
        ("eight six for two", ["8642"]),
        ("uh one zero, um, zero two", ["1002"]),
        ("My account number is one zero zero one and my PIN is four three two one.",
         ["1001", "4321"]),
        ("I called for my bill", []),  # a lone "for" is a word
        ("I want to go to the bank", []),
        ("(keyed on the phone) 1001#", ["1001"]),
        ("twenty three fifty", ["2350"]),
    ],
)  # fmt: skip
def test_digit_runs(said: str, runs: list[str]) -> None:
    assert digit_runs(said) == runs


def test_expected_digits_takes_the_run_of_the_right_length() -> None:
    assert expected_digits("account one zero zero one, PIN 4321", 4, 4) == "1001"
    assert expected_digits("the zip is six two seven zero four", 5, 5) == "62704"
    assert expected_digits("one two", 4, 4) is None
    assert expected_digits("Might be I animate 6 or 2", 4, 12) is None


def test_keyed_and_read_back() -> None:
    assert keyed_digits("(keyed on the phone) 4321") == "4321"
    assert keyed_digits("four three two one") is None
    assert read_back("1001") == "one zero, zero one"
    assert read_back("123456") == "one two three, four five six"
    assert read_back("42") == "four two"


@pytest.mark.parametrize(
    "said",
    [
        "March 7th 1984",
        "march seventh nineteen eighty four",
        "the seventh of March, 1984",
        "3/7/1984",
        "1984-03-07",
        "I was born on March 7, 1984",
        "(keyed on the phone) 03071984",
        # The year in two halves, as small ASR models write "nineteen eighty four".
        "March 7th, 19 84",
        "March seventh, 19 eighty four",
    ],
)
def test_dates(said: str) -> None:
    assert parse_date(said) == date(1984, 3, 7)


def test_a_year_in_two_halves_is_not_read_as_20xx() -> None:
    # "November 21, 19, 90" was November 21, 2019: a wrong date of birth, never verified.
    assert parse_date("November 21, 19, 90") == date(1990, 11, 21)
    assert parse_date("the twenty first of November, 19 ninety") == date(1990, 11, 21)
    assert parse_date("June 30th, 20 01") == date(2001, 6, 30)


def test_no_date_or_ambiguous() -> None:
    assert parse_date("I may call later") is None
    assert parse_date("four three two one") is None
    assert say_date(date(1990, 11, 21)) == "November 21, 1990"


@pytest.mark.parametrize(
    ("said", "amount"),
    [
        ("$120.50", "120.50"),
        ("120 dollars and 50 cents", "120.50"),
        ("one hundred twenty dollars", "120"),
        ("fifty bucks", "50"),
        ("two hundred and fifty dollars", "250"),
        ("pay 75 dollars to City Power", "75"),
        ("seventy five dollars and twenty cents", "75.20"),
        ("a hundred dollars", "100"),
        ("$1,250", "1250"),
    ],
)
def test_amounts(said: str, amount: str) -> None:
    assert parse_amount(said) == Decimal(amount)


@pytest.mark.parametrize(
    ("keys", "amount"),
    [("2550#", "25.50"), ("2500", "25.00"), ("100#", "1.00"), ("012000#", "120.00")],
)
def test_keyed_amounts_include_the_cents(keys: str, amount: str) -> None:
    assert parse_amount(f"(keyed on the phone) {keys}") == Decimal(amount)


@pytest.mark.parametrize("keys", ["25#", "*2", "25*50#", "#"])
def test_keys_that_are_no_amount_are_not_guessed(keys: str) -> None:
    assert parse_amount(f"(keyed on the phone) {keys}") is None


def test_no_amount() -> None:
    assert parse_amount("I want to pay my bill") is None
    assert parse_amount("I'd like to make a payment to Metro Transit") is None  # "a" is no 1
    assert parse_amount("I want to pay a bill") is None


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("yes", "yes"),
        ("Yeah, that's right.", "yes"),
        ("correct", "yes"),
        ("yes please go ahead", "yes"),
        ("(keyed on the phone) 1", "yes"),
        # "Yes, please." as tiny.en sometimes writes it, and other yeses without "yes".
        ("Please.", "yes"),
        ("Please do.", "yes"),
        ("Go ahead.", "yes"),
        ("please what", None),
        ("no", "no"),
        ("Nope.", "no"),
        ("No, it's one zero zero two", "no"),
        ("that's wrong", "no"),
        ("(keyed on the phone) 2", "no"),
        ("Is that right?", None),
        ("yes but make it 500", None),
        ("what's my balance", None),
    ],
)
def test_yes_no(said: str, answer: str | None) -> None:
    assert yes_or_no(said) == answer


def test_corrections() -> None:
    assert is_correction("No, it's one zero zero two")
    assert is_correction("actually make it 150 dollars")
    assert not is_correction("yes")
