"""Slot types: what a flow collects from the caller, how a turn is read as a value of that
type, how the value is checked, how it is read back, and which ASR mode suits it.

Parsing is exact where it can be (digits, dates, amounts, yes/no); free-text slots
(a street, a payee, "tomorrow afternoon") take the caller's words, cleaned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from callcenter.text.dates import parse_date, say_date
from callcenter.text.digits import expected_digits, keyed_digits, read_back
from callcenter.text.money import parse_amount, say_amount, words_to_number
from callcenter.text.yes_no import words

SlotKind = Literal["digits", "date", "money", "address", "text", "yes_no", "choice", "secret"]
AsrHint = Literal["digits", "date", "yes_no"]

# Leading filler a caller wraps a free-text answer in ("it's", "I want to pay ...").
_LEAD = re.compile(
    r"^(?:(?:uh|um|er|well|so|okay|ok|yes|yeah|sure|it's|it is|that's|that is|the|my|"
    r"i want to pay|i'd like to pay|pay|to|please|is|"
    r"call me back|call me|back)[\s,.]+)+",
    re.IGNORECASE,
)
_TRAIL = re.compile(r"[\s,.!?]+$")


def clean_text(text: str) -> str:
    """The caller's words without leading filler and trailing punctuation."""
    cleaned = _LEAD.sub("", text.strip())
    return _TRAIL.sub("", cleaned).strip()


@dataclass(frozen=True)
class Secret:
    """What verifies a caller besides the account number: a PIN or a date of birth."""

    method: Literal["pin", "date_of_birth"]
    value: str  # digits, or an ISO date


@dataclass(frozen=True)
class SlotType:
    kind: SlotKind
    min_len: int = 1
    max_len: int = 64
    # choice: value -> words that mean it ("stolen": ("stolen", "stole", "theft")).
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # text: an answer of at most this many words is whole (a town, a state); 0 = never,
    # the caller may go on (a payee's long name, "tomorrow ... after three").
    whole_words: int = 0

    def parse(self, text: str) -> Any | None:
        """The value the turn gives for this slot, or None."""
        if self.kind == "digits":
            return expected_digits(text, self.min_len, self.max_len)
        if self.kind == "date":
            return parse_date(text)
        if self.kind == "money":
            return parse_amount(text)
        if self.kind == "secret":
            return _secret(text)
        if self.kind == "choice":
            said = set(words(text))
            for value, synonyms in self.choices.items():
                if said & set(synonyms):
                    return value
            return None
        if self.kind == "address":
            return _street(text)
        if keyed_digits(text) is not None:
            return None  # keys are not words
        value = clean_text(text)
        return value if self.min_len <= len(value) <= self.max_len else None

    def is_whole(self, text: str) -> bool:
        """Whether the words wholly answer this slot, so a short pause ends the turn:
        a value its exact parser reads; a street that ends on its kind ("12 Oak
        Street"); a short town or state. Other free text may go on after a breath."""
        if self.kind == "address":
            words = re.findall(r"[a-z]+", text.lower())
            return (
                bool(words)
                and _STREET_WORD.fullmatch(words[-1]) is not None
                and (_street(text) is not None)
            )
        if self.kind == "text":
            count = len(re.findall(r"[\w']+", text))
            return 0 < count <= self.whole_words and self.parse(text) is not None
        return self.parse(text) is not None

    def spoken(self, value: Any) -> str:
        """How the agent reads a value back."""
        if self.kind == "digits":
            return read_back(str(value))
        if isinstance(value, date):
            return say_date(value)
        if isinstance(value, Decimal):
            return say_amount(value)
        if isinstance(value, Secret):
            return "your details"  # never read a secret back
        return str(value)

    @property
    def asr_hint(self) -> AsrHint | None:
        if self.kind in ("digits", "secret"):
            return "digits"
        if self.kind == "date":
            return "date"
        if self.kind == "yes_no":
            return "yes_no"
        return None

    @property
    def keypad(self) -> bool:
        """Whether the caller may type it on the phone instead."""
        return self.kind in ("digits", "date", "secret", "money")


def _secret(text: str) -> Secret | None:
    born = parse_date(text) or _date_from_digits(text)
    if born is not None:
        return Secret("date_of_birth", born.isoformat())
    if _MONTH.search(text) or _part_of_a_date(text):
        return None  # a date we could not read: not a PIN (it would cost an attempt)
    pin = expected_digits(text, 4, 6)
    if pin is not None and len(pin) != 8:
        return Secret("pin", pin)
    return None


_MONTH = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|"
    r"december|birthday|born)\b",
    re.IGNORECASE,
)


def _part_of_a_date(text: str) -> bool:
    """Numbers with a birth year among others ("1, 1984" for a misheard "March 7, 1984"):
    the rest of a date, not a PIN. A PIN said digit by digit ("4 3 2 1") is not this."""
    groups = re.findall(r"\d+", text)
    this_year = date.today().year
    return (
        len(groups) > 1
        and any(len(g) == 4 and 1900 <= int(g) <= this_year for g in groups)
        and not all(len(g) == 1 for g in groups)
    )


_YEAR_END = re.compile(r"^(\d{1,2})(\d{1,2})((?:19|20)\d\d)$")


def _date_from_digits(text: str) -> date | None:
    """A date of birth that digit-mode ASR wrote as numbers ("3 7 1984" for "March
    seventh, 1984"): month, day and a 19xx/20xx year. PINs never end in a year here."""
    groups = re.findall(r"\d+", text)
    if len(groups) == 3 and len(groups[2]) == 4:
        month, day, year = (int(g) for g in groups)
    else:
        match = _YEAR_END.match("".join(groups)) if len(groups) <= 2 else None
        if match is None:
            return None
        month, day, year = (int(g) for g in match.groups())
    if not 1900 <= year <= date.today().year:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


_STREET_WORD = re.compile(
    r"\b(street|st|road|rd|avenue|ave|lane|ln|drive|dr|way|boulevard|blvd|court|ct|place|"
    r"terrace|highway|parkway|circle)\b",
    re.IGNORECASE,
)
_STREET_NUMBER = re.compile(r"^\D*?(\d+[a-z]?)\b\s*(.+)$", re.IGNORECASE)


def _street(text: str) -> str | None:
    """'forty two Elm Street' / '42 Elm Street': a house number and a street name."""
    if keyed_digits(text) is not None:
        return None
    cleaned = clean_text(text)
    tokens = cleaned.split()
    lowered = [t.lower().strip(",.") for t in tokens]
    parsed = words_to_number(lowered)
    if parsed is not None and not lowered[0].isdigit():
        value, used = parsed
        cleaned = " ".join([str(value), *tokens[used:]])
    match = _STREET_NUMBER.match(cleaned)
    if match is None or len(match.group(2)) < 2:
        # No house number heard, but clearly a street ("Main Street"): take it; the
        # read-back lets the caller correct it.
        if _STREET_WORD.search(cleaned) and len(cleaned.split()) >= 2:
            return _title(cleaned)
        return None
    return f"{match.group(1)} {_title(match.group(2))}"


def _title(text: str) -> str:
    return " ".join(w if any(c.isupper() for c in w) else w.capitalize() for w in text.split())


def tidy_place(value: str) -> str:
    """A city or state as the caller said it, capitalised ("springfield" -> "Springfield")."""
    return _title(value)
