from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcenter.text.spoken_numbers import extract_digits, parse_digits, spell_digits

NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@pytest.mark.parametrize(
    ("spoken", "digits"),
    [
        ("four three two one", "4321"),
        ("Four, three, two, one.", "4321"),
        ("oh one oh", "010"),
        ("double five seven", "557"),
        ("triple zero", "000"),
        ("1-0-0-1", "1001"),
        ("4 3 2 1", "4321"),
        ("4321", "4321"),
        ("twenty three", "23"),
        ("twenty", "20"),
        ("nineteen eighty five", "1985"),
        ("three hundred and five", "305"),
        ("four thousand", "4000"),
        ("uh, my PIN is one two three four", "1234"),
        ("For.", "4"),
        ("Two.", "2"),
        ("It's 7 seven 7.", "777"),
    ],
)
def test_parse_digits(spoken: str, digits: str) -> None:
    assert parse_digits(spoken) == digits


@pytest.mark.parametrize("spoken", ["I don't remember it", "", "yes please", "Thank you."])
def test_parse_digits_rejects_non_numbers(spoken: str) -> None:
    assert parse_digits(spoken) is None


def test_extract_digits_ignores_words_and_homophones() -> None:
    assert extract_digits("I called for my bill, account four two, uh, 7") == "427"
    assert extract_digits("nothing here to see") == ""


@given(st.text(alphabet="0123456789", min_size=1, max_size=12), st.data())
def test_any_spelling_of_a_digit_string_parses_back(digits: str, data: st.DataObject) -> None:
    words = []
    for ch in digits:
        forms = [NAMES[int(ch)], ch, NAMES[int(ch)].capitalize()] + (["oh"] if ch == "0" else [])
        words.append(data.draw(st.sampled_from(forms)))
    separator = data.draw(st.sampled_from([" ", ", ", "-", " - ", ". "]))
    assert parse_digits(separator.join(words)) == digits


@given(st.text(alphabet="0123456789", min_size=1, max_size=12))
def test_spell_then_parse_round_trips(digits: str) -> None:
    assert parse_digits(spell_digits(digits)) == digits


@given(st.integers(min_value=10, max_value=99))
def test_two_digit_numbers_in_words(number: int) -> None:
    teens = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
             "seventeen", "eighteen", "nineteen"]  # fmt: skip
    tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    if number < 20:
        spoken = teens[number - 10]
    else:
        spoken = tens[number // 10] + ("" if number % 10 == 0 else " " + NAMES[number % 10])
    assert parse_digits(spoken) == str(number)


@given(st.text(max_size=40))
def test_parsers_never_crash_and_only_return_digits(text: str) -> None:
    parsed = parse_digits(text)
    assert parsed is None or parsed.isdigit()
    assert extract_digits(text) == "" or extract_digits(text).isdigit()
