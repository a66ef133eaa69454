"""The speech normaliser: what the LLM writes for a screen, rewritten for a voice."""

from __future__ import annotations

import pytest

from callcenter.tts.speakable import digits_to_words, ordinal, speakable


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Your balance is $2,417.35.", "Your balance is 2,417 dollars and 35 cents."),
        ("That's $1.50 a day.", "That's 1 dollar and 50 cents a day."),
        ("Only $1 or $0.05 or $12.5", "Only 1 dollar or 5 cents or 12 dollars and 50 cents"),
        ("A fee of $2,000.00 applies.", "A fee of 2,000 dollars applies."),
        ("About $1.2 million.", "About 1.2 million dollars."),
        ("A refund of -$5.", "A refund of minus 5 dollars."),
    ],
)
def test_money(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        (
            "Account <digits>12345678</digits> is open.",
            "Account one two three four five six seven eight is open.",
        ),
        ('Code <say-as interpret-as="digits">042</say-as>.', "Code zero four two."),
        ("Card ending in 4417 was charged.", "Card ending in four four one seven was charged."),
        ("Call 555-123-4567 now.", "Call five five five, one two three, four five six seven now."),
        (
            "Ref 9876543210, thanks.",
            "Ref nine eight seven six five four three two one zero, thanks.",
        ),
        # Quantities and years stay numbers: the voice reads them as amounts.
        ("We have 2,417 items since 2019.", "We have 2,417 items since 2019."),
        ("Pi is 3.14159 and 50% more.", "Pi is 3.14159 and 50 percent more."),
    ],
)
def test_digits(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Due 2024-03-05.", "Due March fifth, 2024."),
        ("Paid on 12/31/2023, thanks.", "Paid on December thirty-first, 2023, thanks."),
        ("Ref 2024-13-45 is odd.", "Ref two zero two four, one three, four five is odd."),
    ],
)
def test_dates(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("**Great news!** Your payment `went through`.", "Great news! Your payment went through."),
        ("See [our site](https://example.com) & call.", "See our site and call."),
        ("## Options\n- Pay a bill\n- Talk to an agent", "Options. Pay a bill. Talk to an agent"),
        ("All set ✅ have a great day 😀!", "All set have a great day!"),
        ("Thanks 👋🏽", "Thanks"),
        ("_Note_: it's *done*.", "Note: it's done."),
    ],
)
def test_markdown_and_emoji_are_stripped(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


def test_helpers() -> None:
    assert digits_to_words("0042") == "zero zero four two"
    assert [ordinal(d) for d in (1, 2, 3, 11, 21, 22, 30, 31)] == [
        "first",
        "second",
        "third",
        "eleventh",
        "twenty-first",
        "twenty-second",
        "thirtieth",
        "thirty-first",
    ]


def test_plain_text_is_unchanged() -> None:
    text = "Hello, thank you for calling. How can I help you today?"
    assert speakable(text) == text
